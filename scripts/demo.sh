#!/usr/bin/env bash
# One command on a fresh machine: set up, load the demo, serve on http://127.0.0.1:8000/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# The demo's data stays with this checkout (delete var/ to start afresh); without the variable
# Quorum uses $XDG_DATA_HOME/quorum.
export QUORUM_DATA_DIR="${QUORUM_DATA_DIR:-$PWD/var}"
exec .venv/bin/quorum demo "$@"
