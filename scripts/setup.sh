#!/usr/bin/env bash
# Sets up a fresh machine: checks Java, makes .venv, installs the pinned package (and dev tools with --dev).
set -euo pipefail
cd "$(dirname "$0")/.."

java_major=$(java -version 2>&1 | sed -nE 's/.*version "([0-9]+).*/\1/p' | head -n1 || true)
if [ -z "${java_major}" ] || [ "${java_major}" -lt 17 ]; then
    echo "sagespark needs Java 17 or newer for Spark 4 (found: ${java_major:-none})." >&2
    echo "On Debian/Ubuntu: sudo apt-get install -y openjdk-17-jre-headless" >&2
    exit 1
fi

python=${PYTHON:-python3.11}
command -v "$python" >/dev/null 2>&1 || python=python3
if ! "$python" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
    echo "sagespark needs Python 3.11 (found: $("$python" --version 2>&1))." >&2
    exit 1
fi

[ -x .venv/bin/python ] || "$python" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
extra=""
[ "${1:-}" = "--dev" ] && extra="[dev]"
.venv/bin/python -m pip install -q -e ".${extra}"
bash bridge/build.sh .venv/bin/python
echo "sagespark is installed in .venv"
