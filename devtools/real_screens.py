"""Real screens for the OCR bench (bench/bench_ocr.py) and tests: real programs drawn by a real X server.

Not app code (not packaged, imports nothing of the app). Each screen is one program run on a private Xvfb
(devtools/xvfb.py) and captured with mss, as the app captures: a terminal (xterm, two font sizes), GTK
dialogs (zenity: a message, a list) and a web browser (NetSurf) showing HTML manuals Debian ships in
/usr/share/doc. No window manager runs, so windows land where their geometry says, undecorated.

The text sizes span what a user meets: xterm at 8 pt draws 11 px capitals, GTK 11-13 px, NetSurf's body text
12-16 px, headings larger. Programs that are not installed are left out (the caller prints which).

    build_screens(folder) -> [Screen(name, path, program)]    # PNGs, 1280x720 unless asked otherwise
"""
from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from devtools.xvfb import XServer, start_xvfb, stop_xvfb

SIZE = (1280, 720)

_LS = "ls -l /usr/share/doc | tail -n +2 | head -n 58"  # 58 rows: nothing scrolls off
_FEW = ("printf 'Backup finished at 10:42.\\n\\nCopied 1,204 files (3.2 GB) to /media/backup.\\n"
        "Press Enter to close this window.\\n'")
_LIST_ROWS = [
    ("Invoice March.pdf", "212 KB", "Yesterday"), ("Holiday photos", "Folder", "2 May"),
    ("budget-2026.ods", "48 KB", "Today 09:15"), ("notes.txt", "3 KB", "Today 10:02"),
    ("Letter to the council.odt", "27 KB", "12 April"), ("scan_0042.png", "1.4 MB", "3 March"),
    ("Recipes", "Folder", "18 January"), ("train tickets.pdf", "96 KB", "Last week"),
]


@dataclass(frozen=True)
class ScreenSpec:
    name: str
    program: str  # the executable that must be installed
    argv: tuple[str, ...]
    title: str  # a window name to wait for (xdotool search --name)
    settle_s: float = 1.5  # after the window appears: time to paint (a browser lays out the page)
    truth: str | None = None  # the text on the screen when it is known exactly (a shell command's output
    # when it starts with "$ "), for scoring what was read


@dataclass(frozen=True)
class Screen:
    name: str
    path: Path
    program: str
    truth: str | None = None  # the text shown, one line per line, when known


def _doc(path: str) -> str:
    return "file://" + path


SPECS: tuple[ScreenSpec, ...] = (
    ScreenSpec("xterm-few-lines", "xterm",
               ("xterm", "-fa", "DejaVu Sans Mono", "-fs", "12", "-geometry", "70x8+120+160", "-T", "term-few",
                "-e", "sh", "-c", _FEW + "; sleep 600"), "term-few",
               truth="Backup finished at 10:42.\nCopied 1,204 files (3.2 GB) to /media/backup.\n"
                     "Press Enter to close this window."),
    ScreenSpec("xterm-dense-small", "xterm",
               ("xterm", "-fa", "DejaVu Sans Mono", "-fs", "8", "-geometry", "200x60+0+0", "-T", "term-dense",
                "-e", "sh", "-c", _LS + "; sleep 600"), "term-dense", truth="$ " + _LS),
    ScreenSpec("gtk-message", "zenity",
               ("zenity", "--info", "--title", "Software Update", "--width", "420",
                "--text", "Updates are ready to install.\nThe computer will restart when they are installed.\n"
                          "Save your documents first."), "Software Update",
               truth="Updates are ready to install.\nThe computer will restart when they are installed.\n"
                     "Save your documents first.\nOK"),
    ScreenSpec("gtk-file-list", "zenity",
               ("zenity", "--list", "--title", "Open a recent file", "--width", "900", "--height", "520",
                "--column", "Name", "--column", "Size", "--column", "Modified",
                *[cell for row in _LIST_ROWS for cell in row]), "Open a recent file",
               truth="\n".join(["Select items from the list below.", "Name Size Modified",
                                *(" ".join(row) for row in _LIST_ROWS), "Cancel OK"])),
    ScreenSpec("browser-bc-manual", "netsurf-gtk",
               ("netsurf-gtk", _doc("/usr/share/doc/bc/bc.html")), "NetSurf", settle_s=4.0),
    ScreenSpec("browser-fontconfig-guide", "netsurf-gtk",
               ("netsurf-gtk", _doc("/usr/share/doc/fontconfig/fontconfig-user.html")), "NetSurf", settle_s=4.0),
)


def available_specs() -> tuple[list[ScreenSpec], list[str]]:
    """(specs whose program and page are installed, names of the programs/pages that are missing)."""
    usable, missing = [], []
    for spec in SPECS:
        page = next((a[len("file://"):] for a in spec.argv if a.startswith("file://")), None)
        if shutil.which(spec.program) is None:
            missing.append(spec.program)
        elif page is not None and not Path(page).is_file():
            missing.append(page)
        else:
            usable.append(spec)
    return usable, sorted(set(missing))


def build_screens(folder: Path, size: tuple[int, int] = SIZE, names: set[str] | None = None) -> list[Screen]:
    """Run each available program on a private Xvfb of `size`, capture the whole screen to folder/<name>.png.
    Screens already in `folder` are reused (building takes a few seconds each)."""
    folder.mkdir(parents=True, exist_ok=True)
    specs, _ = available_specs()
    specs = [s for s in specs if names is None or s.name in names]
    todo = [s for s in specs if not (folder / f"{s.name}.png").is_file()]
    if todo:
        server = start_xvfb(*size)
        try:
            for spec in todo:
                _capture(server, spec, folder / f"{spec.name}.png")
                truth = _truth(spec)
                if truth is not None:
                    (folder / f"{spec.name}.txt").write_text(truth, encoding="utf-8")
        finally:
            stop_xvfb(server)
    screens = []
    for s in specs:
        png, txt = folder / f"{s.name}.png", folder / f"{s.name}.txt"
        if png.is_file():
            screens.append(Screen(s.name, png, s.program, txt.read_text(encoding="utf-8") if txt.is_file() else None))
    return screens


def _truth(spec: ScreenSpec) -> str | None:
    """The text the screen shows, when known: a command's output is run again at capture time."""
    if spec.truth is None or not spec.truth.startswith("$ "):
        return spec.truth
    out = subprocess.run(["sh", "-c", spec.truth[2:]], capture_output=True, text=True, env={**os.environ,
                         "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"})
    return out.stdout.rstrip("\n")


# A program may still be painting after `settle_s` on a slow machine (xterm printing a long listing):
# the screen is taken once two grabs STILL_GAP_S apart are the same, or at STILL_TIMEOUT_S.
STILL_GAP_S = 0.4
STILL_TIMEOUT_S = 15.0


def _settled_shot(grabber, deadline: float):  # noqa: ANN001, ANN202 - an mss grabber and its shot
    shot = grabber.grab(grabber.monitors[1])
    while time.monotonic() < deadline:
        time.sleep(STILL_GAP_S)
        again = grabber.grab(grabber.monitors[1])
        if again.rgb == shot.rgb:
            return again
        shot = again
    return shot


def _capture(server: XServer, spec: ScreenSpec, out: Path, timeout: float = 30.0) -> None:
    import mss
    import mss.tools

    env = server.env(HOME=os.environ.get("HOME", "/tmp"), GTK_THEME="Adwaita", NO_AT_BRIDGE="1",
                     LANG="C.UTF-8")
    program = subprocess.Popen(spec.argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = subprocess.run(["xdotool", "search", "--onlyvisible", "--name", spec.title], env=env,
                                   capture_output=True, text=True)
            if found.stdout.strip():
                break
            if program.poll() is not None:
                raise RuntimeError(f"{spec.program} ended before showing a window")
            time.sleep(0.2)
        else:
            raise RuntimeError(f"{spec.program} showed no window within {timeout:.0f} s")
        time.sleep(spec.settle_s)
        previous = os.environ.get("DISPLAY")
        os.environ["DISPLAY"] = server.display
        try:
            with (getattr(mss, "MSS", None) or mss.mss)() as grabber:  # mss 10 renamed the class
                shot = _settled_shot(grabber, deadline=time.monotonic() + STILL_TIMEOUT_S)
                mss.tools.to_png(shot.rgb, shot.size, output=str(out))
        finally:
            if previous is None:
                os.environ.pop("DISPLAY", None)
            else:
                os.environ["DISPLAY"] = previous
    finally:
        program.terminate()
        try:
            program.wait(timeout=5)
        except subprocess.TimeoutExpired:
            program.kill()
            program.wait(timeout=5)
