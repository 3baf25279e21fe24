#!/usr/bin/env bash
# Install what is missing (Debian/Ubuntu packages through apt, the .venv), then start the app.
# Arguments go to the app: ./run.sh --model blip-base ; ./run.sh describe photo.jpg
set -euo pipefail
cd "$(dirname "$0")"
devtools/setup.sh run
exec "${VENV:-.venv}/bin/python" main.py "$@"
