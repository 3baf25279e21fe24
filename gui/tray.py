"""The tray icon: the main commands in its menu, a click shows the window.

Threading contract: GUI thread only. Where the desktop has no tray (`available()` is False, e.g. offscreen
or some Wayland desktops), the controller never hides the window to the tray, so the app cannot vanish.
"""
from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QSystemTrayIcon, QWidget

from describe_aloud.engine.i18n import _
from describe_aloud.gui.actions import TRAY_ACTIONS
from describe_aloud.gui.main_window import APP_TITLE, app_icon


class TrayIcon(QSystemTrayIcon):
    """Signal `show_requested()` when the icon itself is clicked."""

    show_requested = Signal()

    def __init__(self, actions: dict[str, QAction], parent: QWidget | None = None) -> None:
        super().__init__(app_icon(), parent)
        self.setToolTip(_(APP_TITLE))
        self.menu = QMenu(_(APP_TITLE), parent)
        self.menu.setToolTipsVisible(True)
        for name in TRAY_ACTIONS:
            if name is None:
                self.menu.addSeparator()
            elif name in actions:
                self.menu.addAction(actions[name])
        self.setContextMenu(self.menu)
        self.activated.connect(self._on_activated)

    @staticmethod
    def available() -> bool:
        return QSystemTrayIcon.isSystemTrayAvailable()

    def _on_activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason in (QSystemTrayIcon.ActivationReason.Trigger, QSystemTrayIcon.ActivationReason.DoubleClick):
            self.show_requested.emit()
