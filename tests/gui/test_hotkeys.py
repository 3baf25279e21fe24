"""Global hotkeys: parsing, reporting what cannot be registered, and a real key press under Xvfb."""
from __future__ import annotations

import subprocess
import threading
import time

import pytest

from describe_aloud.engine.invocation import user_command
from describe_aloud.gui.hotkeys import ComboError, HotkeyManager, parse_combo


def test_parse_combo_normalises_and_translates_to_pynput():
    combo = parse_combo("Alt + Ctrl + D")
    assert combo.text == "ctrl+alt+d"
    assert combo.pynput() == "<ctrl>+<alt>+d"
    assert parse_combo("super+shift+F5").pynput() == "<shift>+<cmd>+<f5>"
    assert parse_combo("ctrl+alt+PageDown").pynput() == "<ctrl>+<alt>+<page_down>"
    assert parse_combo("pause").text == "pause"


@pytest.mark.parametrize("bad", ["", "ctrl+alt", "ctrl+alt+banana", "d", "ctrl+a+b"])
def test_parse_combo_rejects_unusable_shortcuts_with_a_reason(bad):
    with pytest.raises(ComboError) as info:
        parse_combo(bad)
    assert str(info.value)


class _FakeListener(threading.Thread):
    """Stands in for pynput's listener when we only test the bookkeeping (not the keyboard)."""

    def __init__(self, mapping):
        super().__init__(daemon=True)
        self.mapping = mapping
        self._ready = False
        self._stopped = threading.Event()

    def run(self):
        self._ready = True
        self._stopped.wait(5)

    def stop(self):
        self._stopped.set()


def _manager_with_fake_listener(monkeypatch):
    """A HotkeyManager on X11 with no conflict probe, the listeners it made, and the failures it reported."""
    monkeypatch.delenv("DISPLAY", raising=False)  # no conflict probe
    monkeypatch.setenv("XDG_SESSION_TYPE", "x11")
    made: list[_FakeListener] = []
    manager = HotkeyManager(listener_factory=lambda mapping: made.append(_FakeListener(mapping)) or made[-1])
    failures: list[tuple] = []
    manager.registration_failed.connect(lambda *args: failures.append(args))
    return manager, made, failures


def test_bad_and_duplicate_combos_are_reported_and_the_rest_registered(qtbot, monkeypatch):
    manager, made, failures = _manager_with_fake_listener(monkeypatch)
    registered = manager.apply({"describe_screen": "ctrl+alt+d", "describe_window": "alt+ctrl+d",
                                "describe_region": "ctrl+alt+nothing", "stop_speech": ""})
    assert registered == {"describe_screen": "ctrl+alt+d"}
    assert set(made[0].mapping) == {"<ctrl>+<alt>+d"}
    reasons = {action: reason for action, _combo, reason in failures}
    assert set(reasons) == {"describe_window", "describe_region"}
    assert "describe screen" in reasons["describe_window"].lower()  # names the action that owns the combo
    assert "nothing" in reasons["describe_region"]
    # The listener's callback emits the action; the listener thread is joined on stop.
    with qtbot.waitSignal(manager.activated, timeout=2000) as blocker:
        made[0].mapping["<ctrl>+<alt>+d"]()
    assert blocker.args == ["describe_screen"]
    manager.stop()
    assert not made[0].is_alive()
    assert manager.registered == {}


def test_a_shortcut_given_to_stop_speech_and_another_action_stays_with_stop_speech(qtbot, monkeypatch):
    """A hand-edited settings file gives describe_screen stop speech's key: the user keeps the key that
    silences the app, and hears why the other action has none."""
    manager, made, failures = _manager_with_fake_listener(monkeypatch)
    registered = manager.apply({"describe_screen": "ctrl+alt+s", "describe_window": "ctrl+alt+w",
                                "stop_speech": "ctrl+alt+s"})
    assert registered == {"stop_speech": "ctrl+alt+s", "describe_window": "ctrl+alt+w"}
    assert [(action, combo) for action, combo, _reason in failures] == [("describe_screen", "ctrl+alt+s")]
    assert "stop speech" in failures[0][2].lower()  # says which action owns the key
    with qtbot.waitSignal(manager.activated, timeout=2000) as blocker:
        made[0].mapping["<ctrl>+<alt>+s"]()
    assert blocker.args == ["stop_speech"]
    manager.stop()


def test_wayland_reports_every_hotkey_with_the_command_to_bind(qtbot, monkeypatch):
    monkeypatch.setenv("XDG_SESSION_TYPE", "wayland")
    monkeypatch.delenv("DISPLAY", raising=False)
    manager = HotkeyManager(listener_factory=lambda mapping: pytest.fail("no listener on Wayland"))
    failures = []
    manager.registration_failed.connect(lambda *args: failures.append(args))
    assert manager.apply({"describe_screen": "ctrl+alt+d", "describe_window": "ctrl+alt+w"}) == {}
    assert [f[0] for f in failures] == ["describe_screen", "describe_window"]
    assert user_command("describe-screen") in failures[0][2]
    assert "Wayland" in failures[0][2]


def test_no_x_server_is_reported_not_raised(qtbot, monkeypatch):
    monkeypatch.setenv("XDG_SESSION_TYPE", "x11")
    monkeypatch.setenv("DISPLAY", ":9999")  # nothing listens there

    def broken_factory(mapping):
        raise OSError("cannot connect to the X server")

    manager = HotkeyManager(listener_factory=broken_factory)
    failures = []
    manager.registration_failed.connect(lambda *args: failures.append(args))
    assert manager.apply({"describe_screen": "ctrl+alt+d"}) == {}
    assert failures and user_command("describe-screen") in failures[0][2]


def _xdotool(display: str, *args: str) -> None:
    env = {"DISPLAY": display, "PATH": "/usr/bin:/bin"}
    subprocess.run(["xdotool", *args], env=env, check=True, timeout=10)


@pytest.mark.xvfb
def test_real_key_press_under_xvfb_fires_activated(qtbot, xvfb):
    manager = HotkeyManager()
    failures = []
    manager.registration_failed.connect(lambda *args: failures.append(args))
    try:
        registered = manager.apply({"describe_screen": "ctrl+alt+d", "stop_speech": "ctrl+alt+s"})
        assert failures == []
        assert registered == {"describe_screen": "ctrl+alt+d", "stop_speech": "ctrl+alt+s"}
        with qtbot.waitSignal(manager.activated, timeout=5000) as blocker:
            _xdotool(xvfb.display, "key", "ctrl+alt+d")
        assert blocker.args == ["describe_screen"]
        with qtbot.waitSignal(manager.activated, timeout=5000) as blocker:
            _xdotool(xvfb.display, "key", "ctrl+alt+s")
        assert blocker.args == ["stop_speech"]
        # A plain "d" (typing) is not the hotkey.
        with qtbot.assertNotEmitted(manager.activated, wait=300):
            _xdotool(xvfb.display, "key", "d")
    finally:
        manager.stop()
    threads = [t for t in threading.enumerate() if "pynput" in type(t).__module__]
    assert threads == []


@pytest.mark.xvfb
def test_shortcut_grabbed_by_another_program_is_reported_as_a_conflict(qtbot, xvfb):
    from Xlib import X, XK, display

    other = display.Display(xvfb.display)  # "another program" holding ctrl+alt+w
    keycode = other.keysym_to_keycode(XK.string_to_keysym("w"))
    other.screen().root.grab_key(keycode, X.ControlMask | X.Mod1Mask, False, X.GrabModeAsync, X.GrabModeAsync)
    other.sync()
    manager = HotkeyManager()
    failures = []
    manager.registration_failed.connect(lambda *args: failures.append(args))
    try:
        registered = manager.apply({"describe_screen": "ctrl+alt+d", "describe_window": "ctrl+alt+w"})
    finally:
        manager.stop()
        other.close()
    assert registered == {"describe_screen": "ctrl+alt+d"}
    assert failures == [("describe_window", "ctrl+alt+w", "Another program already uses this shortcut.")]


# Another application: an X window with the input focus that prints every key press it receives
# ("press <keysym name>"), straight from the X server (no toolkit shortcut handling in between).
_KEY_RECORDER = r"""
from Xlib import X, XK, display
dpy = display.Display()
root = dpy.screen().root
window = root.create_window(0, 0, 200, 100, 0, dpy.screen().root_depth, event_mask=X.KeyPressMask | X.ExposureMask)
window.set_wm_name("recorder")
window.map()
dpy.sync()
window.set_input_focus(X.RevertToParent, X.CurrentTime)
dpy.sync()
print("ready", flush=True)
while True:
    event = dpy.next_event()
    if event.type == X.KeyPress:
        print("press", XK.keysym_to_string(dpy.keycode_to_keysym(event.detail, 0)) or event.detail, flush=True)
"""


@pytest.mark.xvfb
def test_a_global_hotkey_is_consumed_the_application_in_front_never_receives_it(qtbot, xvfb):
    import sys

    recorder = subprocess.Popen([sys.executable, "-c", _KEY_RECORDER], env=xvfb.env(), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
    manager = HotkeyManager()
    lines: list[str] = []

    def reader() -> None:  # a thread: select() on a buffered pipe misses lines already read ahead
        for line in recorder.stdout:
            lines.append(line.strip())

    threading.Thread(target=reader, daemon=True).start()

    def read_for(seconds: float) -> None:
        time.sleep(seconds)

    try:
        read_for(0.1)
        while "ready" not in lines and recorder.poll() is None and len(lines) < 50:
            read_for(0.5)
        assert "ready" in lines, recorder.stderr.read() if recorder.poll() is not None else lines
        # Without the app, Ctrl+Alt+D reaches the application in front (so the check below can fail).
        _xdotool(xvfb.display, "key", "ctrl+alt+d")
        read_for(1.0)
        assert "d" in [line.split()[1] for line in lines if line.startswith("press")], lines
        assert manager.apply({"describe_screen": "ctrl+alt+d"}) == {"describe_screen": "ctrl+alt+d"}
        lines.clear()
        # The hotkey fires, with Num Lock on as well, and the recorder hears nothing of it.
        with qtbot.waitSignal(manager.activated, timeout=5000) as blocker:
            _xdotool(xvfb.display, "key", "ctrl+alt+d")
        assert blocker.args == ["describe_screen"]
        _xdotool(xvfb.display, "key", "Num_Lock")
        with qtbot.waitSignal(manager.activated, timeout=5000):
            _xdotool(xvfb.display, "key", "ctrl+alt+d")
        _xdotool(xvfb.display, "key", "Num_Lock")
        read_for(1.0)
        # Ctrl and Alt alone reach it (they are not the hotkey); the D never does.
        keys = [line.split()[1] for line in lines if line.startswith("press")]
        assert "d" not in keys, lines
    finally:
        manager.stop()
        recorder.kill()
        recorder.wait(10)
