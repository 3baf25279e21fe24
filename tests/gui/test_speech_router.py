"""One voice at a time: texts go to the running screen reader (as a notification window Orca speaks, on
Linux) or to the own voice, chosen by itself; the notification never takes the focus."""
from __future__ import annotations

from PySide6.QtGui import QAccessible
from PySide6.QtWidgets import QApplication, QWidget

from describe_aloud.gui.notification_popup import NotificationWindow
from describe_aloud.gui.screen_reader_presence import ScreenReaderPresence, detect_screen_reader
from describe_aloud.gui.speech_router import AccessibleChannel, SpeechRouter
from tests.fixtures.qt import RecordingSpeaker


def notifications() -> list[NotificationWindow]:
    return [w for w in QApplication.topLevelWidgets() if isinstance(w, NotificationWindow) and w.isVisible()]


def make_router(qtbot, output: str, monkeypatch, screen_reader: str) -> tuple[SpeechRouter, RecordingSpeaker]:
    monkeypatch.setenv("DESCRIBE_ALOUD_SCREEN_READER", screen_reader)
    window = QWidget()
    qtbot.addWidget(window)
    own = RecordingSpeaker()
    return SpeechRouter(own, output, AccessibleChannel(lambda: window, platform="linux"),
                        ScreenReaderPresence(cache_s=0)), own


def test_automatic_output_uses_the_screen_reader_when_one_runs_and_the_own_voice_otherwise(qtbot, monkeypatch):
    router, own = make_router(qtbot, "auto", monkeypatch, "Orca")
    router.say("Screen with text. HELLO WORLD.")
    assert own.said == []  # two voices never talk at once
    shown = notifications()
    assert [w.label.text() for w in shown] == ["Screen with text. HELLO WORLD."]
    interface = QAccessible.queryAccessibleInterface(shown[0])
    assert interface.role() == QAccessible.Role.Notification  # what Orca speaks when it becomes visible
    router.say("Second.")  # a new window each time (re-shown, the old text was read), the old one gone
    assert [w.label.text() for w in notifications()] == ["Second."]
    router.announce("Loading the model…")
    assert [w.label.text() for w in notifications()] == ["Loading the model…"]

    monkeypatch.setenv("DESCRIBE_ALOUD_SCREEN_READER", "none")  # the screen reader quit
    router.say("Own voice now.")
    router.announce("A status the own voice does not say.")
    assert own.said == [("Own voice now.", True)]
    router.stop()
    assert notifications() == []


def test_the_users_choice_wins_over_the_detection(qtbot, monkeypatch):
    router, own = make_router(qtbot, "own", monkeypatch, "Orca")
    router.say("Mine.")
    router.announce("Not to Orca either.")
    assert own.said == [("Mine.", True)] and notifications() == []
    router.set_output("screen_reader")
    monkeypatch.setenv("DESCRIBE_ALOUD_SCREEN_READER", "none")
    router.say("To the screen reader anyway.")
    assert [w.label.text() for w in notifications()] == ["To the screen reader anyway."]
    router.stop()


def test_no_screen_reader_without_an_accessibility_bus(monkeypatch):
    monkeypatch.delenv("DESCRIBE_ALOUD_SCREEN_READER", raising=False)
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus")
    assert detect_screen_reader() is None
