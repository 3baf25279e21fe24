"""The one action table: every command the socket carries is an action, hotkeys and socket commands reach
the command the menu runs, and the window, tray and buttons show only actions from the table."""
from __future__ import annotations

from PySide6.QtGui import QKeySequence

from describe_aloud.engine import ipc
from describe_aloud.gui.actions import ACTIONS, ACTIONS_BY_NAME, BUTTON_ACTIONS, TRAY_ACTIONS, remote_action
from describe_aloud.gui.hotkey_report import HotkeyFailures
from describe_aloud.gui.main_window import MainWindow


class RecordingTarget:
    """Implements gui.actions.ActionTarget by recording each call."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def __getattr__(self, name: str):
        return lambda *args: self.calls.append((name, *args))


def run(name: str) -> list[tuple]:
    target = RecordingTarget()
    ACTIONS_BY_NAME[name].run(target)
    return target.calls


def test_every_socket_command_is_a_remote_action_and_runs_what_the_menu_runs():
    for command in ipc.COMMANDS:
        if command == "ping":  # answered by the server itself
            continue
        spec = remote_action(command.replace("_", "-"))  # as the command line spells it
        assert spec is not None and spec.name == command, command
    assert run("describe_window") == [("capture_and_describe", "active_window")]
    assert run("describe_clipboard") == run("paste") == [("paste",)]
    assert run("stop_speech") == [("stop_speech",)]


def test_commands_only_the_window_offers_cannot_be_triggered_from_outside():
    for name in ("open_image", "describe_folder", "copy", "history", "settings", "shortcuts", "format_disk"):
        assert remote_action(name) is None, name


def test_the_window_the_buttons_and_the_tray_use_only_actions_from_the_table(qtbot):
    assert set(BUTTON_ACTIONS) <= set(ACTIONS_BY_NAME)
    assert {name for name in TRAY_ACTIONS if name} <= set(ACTIONS_BY_NAME)
    window = MainWindow()
    qtbot.addWidget(window)
    assert set(window.actions_by_name) == {spec.name for spec in ACTIONS}
    for spec in ACTIONS:
        action = window.action(spec.name)
        assert action.statusTip() == spec.help
        assert action.shortcuts() == [QKeySequence(keys) for keys in spec.shortcuts]


def test_hotkey_failures_are_batched_and_nothing_is_said_after_shutdown():
    reports: list[tuple] = []
    deferred: list = []
    failures = HotkeyFailures(lambda message, **kw: reports.append((message, kw)),
                              defer=lambda ms, run: deferred.append(run))
    failures.add("describe_screen", "ctrl+alt+d", "Another program already uses this shortcut.")
    assert len(deferred) == 1 and reports == []
    deferred.pop()()
    assert reports == [("The hotkey ctrl+alt+d could not be set up. Another program already uses this shortcut.",
                        {"interrupt": False})]
    failures.add("describe_window", "ctrl+alt+w", "No X server.")
    failures.closed = True
    deferred.pop()()
    assert len(reports) == 1
