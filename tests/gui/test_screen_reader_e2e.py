"""Heard through a real screen reader: Debian's Orca, started headless on Xvfb with a D-Bus session and the
AT-SPI bus (devtools.a11y_session), and the app as its own process with a tiny model.

What is asserted comes from the real clients: Orca's debug log ("SPEECH OUTPUT" lines: what Orca said,
in its voice, through speech-dispatcher) and, from a separate process, Debian's pyatspi with the system
Python (tests/gui/clients/atspi_probe.py): the focused object after Ctrl+1, unnamed controls. The own
voice speaks into DESCRIBE_ALOUD_AUDIO_SINK, which shows that it stayed silent while Orca ran.
"""
from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from devtools.a11y_session import A11ySession, open_session
from tests.gui.test_e2e_xvfb import (
    READY_TIMEOUT,
    WORDS,
    _App,
    _history_entries,
    _known_text_picture,
    _sink_entries,
    _wait_until,
)

PROBE = Path(__file__).resolve().parent / "clients" / "atspi_probe.py"
SYSTEM_PYTHON = "/usr/bin/python3"  # Debian's, with python3-pyatspi


def probe(session: A11ySession, *args: str, timeout: float = 60) -> dict:
    done = subprocess.run([SYSTEM_PYTHON, str(PROBE), *args], env=session.env, capture_output=True, text=True,
                          timeout=timeout)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def said_with_words(said: list[str]) -> list[str]:
    return [s for s in said if all(word in s.upper() for word in WORDS)]


def x_window(session: A11ySession, title: str) -> str:
    found = subprocess.run(["xdotool", "search", "--onlyvisible", "--name", f"^{title}$"], env=session.env,
                           capture_output=True, text=True, timeout=10)
    ids = found.stdout.split()
    assert ids, f"no window called {title!r}"
    return ids[0]


def active_x_window(session: A11ySession) -> str:
    return subprocess.run(["xdotool", "getactivewindow"], env=session.env, capture_output=True, text=True,
                          timeout=10).stdout.strip()


def stacking(session: A11ySession) -> list[str]:
    """Top-level X windows bottom to top (the window manager's frames are the root's children)."""
    from Xlib import display as xdisplay

    d = xdisplay.Display(session.display)
    try:
        root = d.screen().root
        prop = root.get_full_property(d.intern_atom("_NET_CLIENT_LIST_STACKING"), 0)
        return [str(w) for w in prop.value] if prop is not None else []
    finally:
        d.close()


@pytest.mark.xvfb
@pytest.mark.timeout(900)
def test_orca_speaks_every_description_once_and_the_focus_stays_where_the_user_left_it(
        xvfb, show_picture, tiny_git_dir, tmp_path, isolated_user_dirs, monkeypatch):
    from describe_aloud.engine.ipc import send_command

    session = open_session(xvfb.env(), xvfb.display)
    app = None
    try:
        session.start_orca()
        sink = tmp_path / "sink"
        env = dict(session.env, DESCRIBE_ALOUD_AUDIO_SINK=str(sink), OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1",
                   DESCRIBE_ALOUD_CONFIG_DIR=os.environ["DESCRIBE_ALOUD_CONFIG_DIR"],
                   DESCRIBE_ALOUD_DATA_DIR=os.environ["DESCRIBE_ALOUD_DATA_DIR"])
        env.pop("DESCRIBE_ALOUD_SCREEN_READER", None)  # found by itself: Orca on the accessibility bus
        monkeypatch.setenv("XDG_RUNTIME_DIR", env["XDG_RUNTIME_DIR"])  # where the app's socket is
        app = _App(env, tiny_git_dir, tmp_path / "app.log")

        def diagnostics() -> str:
            return (f"Orca said: {session.spoken()}\nown voice: {[e.get('text') for e in _sink_entries(sink)]}\n"
                    f"app output:\n{app.output()}\nOrca log tail:\n{session.orca_tail(2500)}")

        # The status "Ready" reaches Orca (Orca 43 has no announcement listener: a notification does it).
        _wait_until(lambda: app.process.poll() is not None or send_command("ping", 500), READY_TIMEOUT,
                    "the app's socket", diagnostics)
        assert session.wait_spoken(lambda said: any("Ready" in s for s in said), READY_TIMEOUT), diagnostics()

        # 1. From another application (the desktop shortcut's command): Orca speaks the on-screen words,
        # once, and the application in front keeps the focus, not covered by our window.
        words = show_picture(_known_text_picture(tmp_path / "words.png"), x=300, y=300, title="words")
        subprocess.run(["xdotool", "windowactivate", str(words.window_id)], env=session.env,
                       timeout=20, check=False)
        _wait_until(lambda: active_x_window(session) == str(words.window_id), 10, "the words window in front",
                    diagnostics)
        before = len(_history_entries())
        assert send_command("describe_screen", 3000)
        _wait_until(lambda: len(_history_entries()) > before, 180, "the description", diagnostics)
        said = session.wait_spoken(lambda s: len(said_with_words(s)) >= 1, 60)
        assert said, diagnostics()
        time.sleep(3)  # anything said twice would be in the log by now
        assert len(said_with_words(session.spoken())) == 1, diagnostics()
        assert active_x_window(session) == str(words.window_id), diagnostics()
        ours = x_window(session, "Describe Aloud")
        order = stacking(session)
        if ours in order and str(words.window_id) in order:
            assert order.index(ours) < order.index(str(words.window_id)), (order, diagnostics())
        # The own voice stayed silent while Orca spoke: one voice.
        own = " ".join((e.get("text") or "") for e in _sink_entries(sink)).upper()
        assert not all(word in own for word in WORDS), diagnostics()

        # 2. Ctrl+1 in our window: the control that had the focus has it again, the screen reader knows,
        # and the description is spoken once more by Orca.
        subprocess.run(["xdotool", "windowactivate", ours], env=session.env, timeout=20, check=False)
        _wait_until(lambda: active_x_window(session) == ours, 10, "our window in front",
                    lambda: f"ours {ours}, active {active_x_window(session)}, stacking {stacking(session)}\n"
                            + diagnostics())
        subprocess.run(["xdotool", "key", "--clearmodifiers", "Tab"], env=session.env, timeout=10, check=True)
        _wait_until(lambda: (probe(session, "describe-aloud")["focused"] or [None])[0] == "push button", 20,
                    "a focused button", diagnostics)
        focused_before = probe(session, "describe-aloud")["focused"]
        before = len(_history_entries())
        subprocess.run(["xdotool", "key", "--clearmodifiers", "ctrl+1"], env=session.env, timeout=10, check=True)
        _wait_until(lambda: len(_history_entries()) > before, 180, "the Ctrl+1 description", diagnostics)
        assert session.wait_spoken(lambda s: len(said_with_words(s)) >= 2, 60), diagnostics()
        seen = probe(session, "describe-aloud")
        assert seen["found"] and not seen["unnamed"], seen
        assert seen["focused"] == focused_before and active_x_window(session) == ours, (seen, diagnostics())
        # Tab moves on from there, and Orca hears it (a focus event it speaks).
        spoken_before = len(session.spoken())
        subprocess.run(["xdotool", "key", "--clearmodifiers", "Tab"], env=session.env, timeout=10, check=True)
        assert session.wait_spoken(lambda s: len(s) > spoken_before, 20), diagnostics()
        time.sleep(3)
        assert len(said_with_words(session.spoken())) == 2, diagnostics()

        assert send_command("quit", 3000)
        app.process.wait(30)
    finally:
        if app is not None:
            app.stop()
        session.close()
