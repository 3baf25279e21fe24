"""A text handed to the screen reader as a notification: what Orca speaks, whatever its version.

Measured with Orca 43.1 (Debian 12): it has no listener for `object:announcement`, and moving the focus to
a text makes it read only the line at the caret; but an accessible object with the Notification role that
becomes visible (`object:state-changed:showing`) is spoken in full ("notification, <text>"), in Orca's voice,
through its queue. Newer Orca keeps that behaviour. So on Linux every text for the screen reader is shown
in a small notification window of its own:

- frameless, never focused (`WindowDoesNotAcceptFocus`, shown without activating), so the user's focus
  stays where it was, in our window or in another application;
- a NEW window each time: re-showing the same object with new text made Orca read the old text (AT-SPI
  caches the label's name), or nothing;
- its accessible role is Notification, which Qt widgets cannot set themselves: an accessibility factory
  gives the window a QAccessibleWidget with that role.

It disappears after a while (long enough for the screen reader to have read the text from it).

Threading contract: GUI thread only.
"""
from __future__ import annotations

from describe_aloud.engine.i18n import _
from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtGui import QAccessible, QGuiApplication
from PySide6.QtWidgets import QAccessibleWidget, QFrame, QLabel, QVBoxLayout, QWidget

# The window goes away after this; Orca has queried its text within milliseconds of the event.
VISIBLE_MS = 8_000
_factory_installed = False


class NotificationWindow(QFrame):
    """One text shown as a notification (see the module docstring)."""

    def __init__(self, text: str) -> None:
        super().__init__(None, Qt.WindowType.Tool | Qt.WindowType.FramelessWindowHint
                         | Qt.WindowType.WindowDoesNotAcceptFocus | Qt.WindowType.WindowStaysOnTopHint)
        self.setObjectName("screen_reader_notification")
        self.setAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setFrameShape(QFrame.Shape.Box)
        self.label = QLabel(text, self)
        self.label.setWordWrap(True)
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        QVBoxLayout(self).addWidget(self.label)
        # Orca says "notification Describe Aloud", then the text. The window title differs from the main
        # window's, so tools (and tests) that look windows up by title find the main window.
        self.setAccessibleName(_("Describe Aloud"))
        self.setWindowTitle(_("Describe Aloud notification"))
        self.setMaximumWidth(480)

    def place(self) -> None:
        """Bottom right of the primary screen, out of the way (sighted helpers may still read it)."""
        screen = QGuiApplication.primaryScreen()
        if screen is None:
            return
        area = screen.availableGeometry()
        self.adjustSize()
        self.move(area.right() - self.width() - 16, area.bottom() - self.height() - 16)


def _notification_factory(_class_name: str, obj: QObject) -> QAccessibleWidget | None:
    if isinstance(obj, NotificationWindow):
        return QAccessibleWidget(obj, QAccessible.Role.Notification)
    return None


def install_factory() -> None:
    """Make NotificationWindow's accessible role Notification (once per process)."""
    global _factory_installed
    if not _factory_installed:
        QAccessible.installFactory(_notification_factory)
        _factory_installed = True


class NotificationPresenter:
    """Shows each text in a new notification window; the previous one goes away."""

    def __init__(self, visible_ms: int = VISIBLE_MS) -> None:
        install_factory()
        self._visible_ms = visible_ms
        self._current: NotificationWindow | None = None

    def show(self, text: str) -> NotificationWindow:
        self.clear()
        window = NotificationWindow(text)
        window.place()
        window.show()
        self._current = window
        QTimer.singleShot(self._visible_ms, window, window.close)
        return window

    def clear(self) -> None:
        window, self._current = self._current, None
        if window is not None:
            try:
                window.close()
            except RuntimeError:  # already deleted (closed by its timer)
                pass

    @property
    def current(self) -> QWidget | None:
        return self._current
