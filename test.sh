#!/usr/bin/env bash
# Install what is missing (Debian/Ubuntu packages through apt, the .venv with the test extras), then run
# the import contracts and the whole test suite. Arguments go to pytest: ./test.sh tests/engine -x
set -euo pipefail
cd "$(dirname "$0")"
devtools/setup.sh test
VENV=${VENV:-.venv}
"$VENV/bin/lint-imports"
QT_QPA_PLATFORM=offscreen exec "$VENV/bin/python" -m pytest "$@"
