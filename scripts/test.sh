#!/usr/bin/env bash
# One command on a fresh machine: set up (with Chromium), then run the whole test suite.
# Uses SQLite unless DATABASE_URL points at PostgreSQL. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
export QUORUM_DATA_DIR="${QUORUM_DATA_DIR:-$(mktemp -d)}"
# Two workers: the machine has two cores, and the suite spends much of its time waiting on servers.
exec .venv/bin/python -m pytest -n "${QUORUM_TEST_WORKERS:-2}" "$@"
