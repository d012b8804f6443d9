#!/usr/bin/env bash
# Sets up a fresh machine and runs the main demo (examples/demo.py).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PYSPARK_PYTHON="$PWD/.venv/bin/python"
exec .venv/bin/python examples/demo.py "$@"
