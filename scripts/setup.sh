#!/usr/bin/env bash
# Set up Quorum on this machine: a virtual environment in .venv with Quorum installed.
# With --test: also the test tools, and from Debian Chromium for the browser tests and nginx
# for the deployment tests. Then the stylesheet: GOV.UK Frontend and dart-sass from npm at the
# versions package-lock.json pins, compiled into src/quorum/static/quorum/quorum.css.
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
if ! "$python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
  echo "Quorum needs Python 3.11 or newer (found: $("$python" --version 2>&1))" >&2
  exit 1
fi

# Installs Debian packages (as root, or through sudo).
debian_install() {
  echo "Installing from Debian: $*"
  local sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "$@" >/dev/null
}

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
  command -v npm >/dev/null || missing+=(nodejs npm)   # the stylesheet's build (below)
  [ -f /usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf ] || missing+=(fonts-dejavu-core)  # the paper forms' typeface
  if [ ${#missing[@]} -gt 0 ]; then
    debian_install "${missing[@]}"
  fi
else
  .venv/bin/python -m pip install --quiet -e .
  command -v npm >/dev/null || debian_install nodejs npm   # the stylesheet's build (below)
  [ -f /usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf ] || debian_install fonts-dejavu-core  # the paper forms' typeface
fi

# The stylesheet is built here, not committed: the packages come from npm at the exact versions
# of package-lock.json (checked against its hashes; no install scripts run), and the page loads
# only what this builds, from Quorum itself. Rebuilt only when a source is newer than the CSS.
css=src/quorum/static/quorum/quorum.css
if [ ! -d node_modules/govuk-frontend ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
fi
if [ ! -f "$css" ] || [ -n "$(find src/quorum/static_src package.json package-lock.json -newer "$css" -print -quit)" ]; then
  npm run --silent build
fi
