#!/usr/bin/env bash
# Make this checkout ready to run (`setup.sh run`) or to test (`setup.sh test`), installing only what is
# missing: the Debian/Ubuntu packages (apt-get, through sudo when not root; each one is named before it is
# installed), then the virtual environment in $VENV with the project and its Python packages.
# A .venv that is broken or half-made (an interrupted install, a removed package, an older pyproject.toml)
# is repaired, never trusted. Called by `make run` and `make test`; safe to run again at any time.
#
# Options (environment): PYTHON=python3.12 (the interpreter for a new .venv), VENV=.venv,
# TORCH=cpu (install the CPU-only build of torch from download.pytorch.org: about 1 GB instead of the
# several GB of the default CUDA build on Linux x86_64), NO_APT=1 (do not touch system packages).
set -euo pipefail
cd "$(dirname "$0")/.."

what=${1:-run}
VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}

# Run time: the voice, an audio player, and the libraries Qt's xcb platform plugin loads.
RUN_PACKAGES=(
    espeak-ng libespeak-ng1 alsa-utils fonts-dejavu-core
    libxcb-cursor0 libxkbcommon-x11-0 libxkbcommon0 libegl1 libgl1 libopengl0 libglib2.0-0
    libfontconfig1 libfreetype6 libdbus-1-3 libx11-xcb1 libxcb1 libxcb-icccm4 libxcb-image0
    libxcb-keysyms1 libxcb-randr0 libxcb-render-util0 libxcb-render0 libxcb-shape0 libxcb-shm0
    libxcb-sync1 libxcb-xfixes0 libxcb-xinerama0 libxcb-xkb1 libxcb-util1 libxrender1 libxi6
)
# Tests also need: a virtual X server and a window driver, an independent metadata reader (exiftool),
# a Java runtime for the METEOR metric, real programs to make real screens for OCR (a terminal, GTK
# dialogs, a web browser: devtools/real_screens.py), strace, the independent observer that proves no
# connection leaves the machine (tests/engine/test_security_network.py), and a screen-reader desktop (a D-Bus
# session, the AT-SPI bus, a window manager, Orca with speech-dispatcher, Debian's pyatspi for the system
# Python: tests/gui/test_screen_reader_e2e.py; devtools/a11y_session.py).
TEST_PACKAGES=(
    make xvfb xauth xdotool x11-utils libimage-exiftool-perl default-jre-headless strace
    xterm zenity netsurf-gtk
    dbus at-spi2-core orca speech-dispatcher-espeak-ng python3-pyatspi openbox
    # The reading corpus (devtools/reading_corpus.py): real GTK dialogs, a terminal, X window dumps,
    # Debian's PDF manuals rendered, Chinese fonts, Debian's desktop artwork.
    x11-apps poppler-utils fonts-noto-cjk desktop-base shared-mime-info fontconfig bzip2-doc
)

say() { printf '%s\n' "$*" >&2; }

missing_packages() {
    local pkg
    for pkg in "$@"; do
        if [ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null)" != "install ok installed" ]; then
            printf '%s\n' "$pkg"
        fi
    done
}

install_system_packages() {
    local wanted=("${RUN_PACKAGES[@]}")
    [ "$what" = test ] && wanted+=("${TEST_PACKAGES[@]}")
    # The interpreter needs venv + ensurepip (Debian ships them apart as python3-venv).
    if ! "$PYTHON" -c 'import ensurepip, venv' >/dev/null 2>&1; then
        wanted+=(python3-venv)
    fi
    if [ -n "${NO_APT:-}" ]; then
        return
    fi
    if ! command -v dpkg-query >/dev/null || ! command -v apt-get >/dev/null; then
        say "This is not a Debian or Ubuntu system: install the equivalents of these packages yourself:"
        say "  ${wanted[*]}"
        return
    fi
    local missing
    mapfile -t missing < <(missing_packages "${wanted[@]}")
    [ ${#missing[@]} -eq 0 ] && return
    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        if ! command -v sudo >/dev/null; then
            say "These system packages are missing and there is no sudo to install them; as root, run:"
            say "  apt-get install ${missing[*]}"
            exit 1
        fi
        sudo=(sudo)
    fi
    say "Installing system packages (${#missing[@]}): ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get update -qq
    "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

make_venv() {
    say "Creating the virtual environment $VENV with $("$PYTHON" --version 2>&1)"
    rm -rf "$VENV"
    "$PYTHON" -m venv "$VENV"
}

setup_venv() {
    local py="$VENV/bin/python" extras stamp
    extras=$([ "$what" = test ] && echo test || echo "")
    stamp="$VENV/.installed-${what}"
    if ! "$py" -c 'import sys' >/dev/null 2>&1; then
        make_venv
    elif ! "$py" -m pip --version >/dev/null 2>&1; then
        say "The virtual environment $VENV has no working pip: making it again."
        make_venv
    fi
    local reason=""
    if [ ! -f "$stamp" ]; then
        reason="first setup"
    elif [ pyproject.toml -nt "$stamp" ]; then
        reason="pyproject.toml changed"
    elif ! "$py" devtools/venv_ok.py $extras 2>/tmp/describe-aloud-venv.$$; then
        reason="incomplete: $(tr '\n' ';' </tmp/describe-aloud-venv.$$)"
    fi
    rm -f /tmp/describe-aloud-venv.$$
    [ -z "$reason" ] && return
    say "Installing the Python packages into $VENV ($reason)..."
    rm -f "$VENV"/.installed-*
    if [ "${TORCH:-}" = cpu ]; then
        "$py" -m pip install -q --index-url https://download.pytorch.org/whl/cpu torch torchvision
    fi
    local target="."
    [ -n "$extras" ] && target=".[${extras}]"
    "$py" -m pip install -q -e "$target"
    if ! "$py" devtools/venv_ok.py $extras; then
        say "The virtual environment $VENV is still incomplete after installing; see the messages above."
        exit 1
    fi
    touch "$stamp"
    [ "$what" = test ] && touch "$VENV/.installed-run"
    say "Ready: $(du -sh "$VENV" 2>/dev/null | cut -f1) in $VENV."
}

case "$what" in
    run|test) ;;
    *) say "usage: $0 run|test"; exit 2 ;;
esac
install_system_packages
setup_venv
# The translation catalogs: .po in git, .mo compiled here for a checkout (setup.py does it for a wheel).
"$VENV/bin/python" devtools/compile_catalogs.py --if-stale
