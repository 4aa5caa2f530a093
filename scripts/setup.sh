#!/usr/bin/env bash
# Set up Quorum on this machine: a virtual environment in .venv with Quorum installed.
# With --test: also the test tools, and from Debian Chromium for the browser tests and nginx
# for the deployment tests.
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
if ! "$python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
  echo "Quorum needs Python 3.11 or newer (found: $("$python" --version 2>&1))" >&2
  exit 1
fi

if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
# The build tools, at versions without known vulnerabilities: the venv module brings an old
# setuptools (65.5.0: CVE-2022-40897, CVE-2024-6345, CVE-2025-47273). tests/site checks it.
.venv/bin/python -m pip install --quiet --upgrade "pip>=25.3" "setuptools>=78.1.1" "wheel>=0.46.2"
if [ "${1:-}" = "--test" ]; then
  .venv/bin/python -m pip install --quiet -e '.[test]'
  missing=()
  [ -x /usr/bin/chromium ] || missing+=(chromium)      # browser tests (never downloaded by Playwright)
  command -v msgfmt >/dev/null || missing+=(gettext)   # translation catalogue checks
  [ -x /usr/sbin/nginx ] || missing+=(nginx)           # tests/deploy: the nginx site of deploy/
  command -v openssl >/dev/null || missing+=(openssl)  # … and its self-signed test certificate
  command -v pg_restore >/dev/null || missing+=(postgresql-client)  # quorum backup/restore on PostgreSQL
  if [ ${#missing[@]} -gt 0 ]; then
    echo "Installing from Debian: ${missing[*]}"
    sudo_cmd=""
    [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
else
  .venv/bin/python -m pip install --quiet -e .
fi
