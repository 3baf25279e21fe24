#!/usr/bin/env bash
# Install what is missing (Debian/Ubuntu packages through apt, the .venv), then start the app.
# Arguments go to the app: ./run.sh gui --model blip-base ; ./run.sh describe photo.jpg
# It can be run from any folder: file names in the arguments are taken from where you are.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
(cd "$here" && devtools/setup.sh run)
venv="${VENV:-.venv}"
case "$venv" in /*) ;; *) venv="$here/$venv" ;; esac  # a relative VENV is in the checkout, as setup.sh makes it
exec "$venv/bin/python" "$here/main.py" "$@"
