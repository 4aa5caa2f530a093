#!/usr/bin/env bash
# One command on a fresh machine: set up, load the demo, serve on http://127.0.0.1:8000/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/quorum demo "$@"
