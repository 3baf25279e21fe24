"""Tell the screen reader about a status change, without moving focus.

Qt 6.8+ has QAccessibleAnnouncementEvent (PySide6 6.12 does): screen readers speak its message as a
live-region announcement. On an older Qt we fall back to a NameChanged + Alert event on the status label,
which NVDA, Orca and VoiceOver also report.

In the app, `route_announcements` sends them where the app's speech goes (gui.speech_router): a
notification window that Orca speaks on Linux, NVDA or an announcement elsewhere, nothing with the own voice.

Threading contract: GUI thread only (it touches widgets).
"""
from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject
from PySide6.QtGui import QAccessible, QAccessibleEvent
from PySide6.QtWidgets import QLabel
from describe_aloud.engine.i18n import _

try:  # Qt >= 6.8
    from PySide6.QtGui import QAccessibleAnnouncementEvent
except ImportError:  # pragma: no cover - depends on the installed Qt
    QAccessibleAnnouncementEvent = None

HAS_ANNOUNCEMENT_EVENT = QAccessibleAnnouncementEvent is not None
# Set by the app (gui.speech_router.SpeechRouter.announce): statuses then go where the app's speech goes, to
# the screen reader in the way it speaks them, or nowhere while the own voice speaks (two voices never talk
# at once). Unset (dialogs tested alone): a Qt announcement.
_router: Callable[[str, bool], None] | None = None


def route_announcements(router: Callable[[str, bool], None] | None) -> None:
    global _router
    _router = router


def announce(source: QObject, message: str, *, assertive: bool = False, label: QLabel | None = None) -> None:
    """Announce `message` to assistive technology on behalf of `source` (a widget in the window).

    `assertive` interrupts what the screen reader is saying (errors); otherwise it waits its turn.
    When `label` is given its text is set to the message as well (the visible status line)."""
    if label is not None:
        label.setText(message)
        label.setAccessibleName(_("Status: {message}").format(message=message))
    if not message:
        return
    if _router is not None:
        _router(message, assertive)
    elif HAS_ANNOUNCEMENT_EVENT:
        event = QAccessibleAnnouncementEvent(source, message)
        politeness = QAccessible.AnnouncementPoliteness
        event.setPoliteness(politeness.Assertive if assertive else politeness.Polite)
        QAccessible.updateAccessibility(event)
    elif label is not None:  # pragma: no cover - older Qt
        QAccessible.updateAccessibility(QAccessibleEvent(label, QAccessible.Event.NameChanged))
        if assertive:
            QAccessible.updateAccessibility(QAccessibleEvent(label, QAccessible.Event.Alert))
