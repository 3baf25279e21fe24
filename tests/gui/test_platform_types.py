"""The Windows and macOS code (RegisterHotKey, NVDA's controller client, SPI_GETSCREENREADER, Carbon hot
keys, VoiceOver) cannot run here: it is type-checked for those platforms instead, so a name that does not
exist there (a misspelt ctypes.windll function is fine, but `ctypes.windll` itself outside a win32 check, a
wintypes structure that does not exist...) fails the build."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PLATFORM_MODULES = [
    "gui/hotkeys_windows.py", "gui/hotkeys_macos.py", "gui/nvda_client.py", "gui/macos_voiceover.py",
    "gui/screen_reader_presence.py", "gui/speech_router.py", "gui/hotkeys_x11.py",
]


def mypy(platform: str, *files: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--platform", platform, "--python-version", "3.11", "--follow-imports=silent",
         "--ignore-missing-imports", "--no-error-summary", "--no-incremental", "--cache-dir", "/dev/null", *files],
        cwd=cwd, capture_output=True, text=True, timeout=600,
    )


@pytest.mark.parametrize("platform", ["win32", "darwin", "linux"])
def test_platform_code_type_checks_for_its_platform(platform):
    done = mypy(platform, *PLATFORM_MODULES)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_check_catches_a_name_missing_on_that_platform(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import ctypes\nfrom ctypes import wintypes\n\n"
                   "def f() -> None:\n    ctypes.windll.user32.MessageBeep(0)\n    wintypes.NOSUCHSTRUCT()\n")
    done = mypy("win32", str(bad), cwd=tmp_path)
    assert done.returncode != 0 and "NOSUCHSTRUCT" in done.stdout, done.stdout
    done = mypy("linux", str(bad), cwd=tmp_path)
    assert done.returncode != 0 and "windll" in done.stdout, done.stdout  # unguarded Windows-only name
