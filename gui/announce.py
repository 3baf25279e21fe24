"""Tell the screen reader about a status change, without moving focus.

Qt 6.8+ has QAccessibleAnnouncementEvent (PySide6 6.12 does): screen readers speak its message as a
live-region announcement. On an older Qt we fall back to a NameChanged + Alert event on the status label,
which NVDA, Orca and VoiceOver also report.

Threading contract: GUI thread only (it touches widgets).
"""
from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtGui import QAccessible, QAccessibleEvent
from PySide6.QtWidgets import QLabel
from describe_aloud.engine.i18n import _

try:  # Qt >= 6.8
    from PySide6.QtGui import QAccessibleAnnouncementEvent
except ImportError:  # pragma: no cover - depends on the installed Qt
    QAccessibleAnnouncementEvent = None

HAS_ANNOUNCEMENT_EVENT = QAccessibleAnnouncementEvent is not None


def announce(source: QObject, message: str, *, assertive: bool = False, label: QLabel | None = None) -> None:
    """Announce `message` to assistive technology on behalf of `source` (a widget in the window).

    `assertive` interrupts what the screen reader is saying (errors); otherwise it waits its turn.
    When `label` is given its text is set to the message as well (the visible status line)."""
    if label is not None:
        label.setText(message)
        label.setAccessibleName(_("Status: {message}").format(message=message))
    if not message:
        return
    if HAS_ANNOUNCEMENT_EVENT:
        event = QAccessibleAnnouncementEvent(source, message)
        politeness = QAccessible.AnnouncementPoliteness
        event.setPoliteness(politeness.Assertive if assertive else politeness.Polite)
        QAccessible.updateAccessibility(event)
    elif label is not None:  # pragma: no cover - older Qt
        QAccessible.updateAccessibility(QAccessibleEvent(label, QAccessible.Event.NameChanged))
        if assertive:
            QAccessible.updateAccessibility(QAccessibleEvent(label, QAccessible.Event.Alert))
