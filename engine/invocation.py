"""How the user runs this program, so that every message naming a command names one that works for them.

Installed with pip, the command is `describe-aloud` (or the full path to it when its folder is not on
PATH, as in a virtual environment that is not activated); from a source checkout it is
`.venv/bin/python main.py`; as a module it is `python -m describe_aloud.cli`.
"""
from __future__ import annotations

import os
import shlex
import shutil
import sys
from pathlib import Path

COMMAND = "describe-aloud"  # the console script (pyproject [project.scripts])
GUI_COMMAND = "describe-aloud-gui"  # the launcher for desktop menus (pyproject [project.gui-scripts])
MODULE = "describe_aloud.cli"


def _shown_path(path: Path) -> str:
    """`path` relative to the current folder when it lies below it (shorter to read aloud), else whole."""
    # Not resolve(): a virtual environment's python is a link to the system one, and the link is what works.
    absolute = Path(os.path.abspath(path))
    try:
        return str(absolute.relative_to(Path(os.path.abspath(Path.cwd()))))
    except ValueError:
        return str(absolute)


def _script_words(argv0: Path) -> list[str]:
    # The GUI launcher's sibling is the console command; both live in the same scripts folder.
    script = argv0.with_name(COMMAND + argv0.suffix) if argv0.suffix.lower() == ".exe" else argv0.with_name(COMMAND)
    on_path = shutil.which(COMMAND)
    if on_path and (not script.exists() or os.path.samefile(on_path, script)):
        return [COMMAND]
    return [str(script)] if script.exists() else [COMMAND]


def command_words(argv0: str | None = None) -> list[str]:
    """The words that start this program the way the user started it."""
    argv0 = sys.argv[0] if argv0 is None and sys.argv else (argv0 or "")
    path = Path(argv0)
    name = path.name.lower()
    if name.startswith(COMMAND):
        return _script_words(path)
    if name == "main.py":
        return [_shown_path(Path(sys.executable)), _shown_path(path)]
    if name == "__main__.py" and path.parent.name == "cli":
        return [_shown_path(Path(sys.executable)), "-m", MODULE]
    return [COMMAND]  # embedded, or under a test runner: the installed command is the documented one


def user_command(*args: str) -> str:
    """A command line for the user to type, e.g. `user_command("models", "download", "git-base")`."""
    return shlex.join([*command_words(), *args])


def pip_install_command(*packages: str) -> str:
    """The command that installs optional Python packages into the environment this program runs in
    (a virtual environment's own pip, whatever is on PATH)."""
    return shlex.join([_shown_path(Path(sys.executable)), "-m", "pip", "install", *packages])
