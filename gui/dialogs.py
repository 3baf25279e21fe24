"""The app's other windows: history, settings, describe folder, and the keyboard shortcuts text.

History and Describe folder are not modal (describing goes on meanwhile) and there is one of each,
brought back when asked for again. Threading contract: GUI thread only.
"""
from __future__ import annotations

import logging
from collections.abc import Callable

from describe_aloud.engine.config import Settings
from describe_aloud.engine.history import HistoryStore
from describe_aloud.engine.i18n import _
from describe_aloud.gui.actions import ACTIONS, action_label, plain_text
from describe_aloud.gui.batch_dialog import BatchDialog
from describe_aloud.gui.history_view import HistoryDialog
from describe_aloud.gui.main_window import MainWindow, shortcut_text
from describe_aloud.gui.settings_dialog import SettingsDialog
from describe_aloud.gui.text_dialog import TextDialog
from describe_aloud.gui.spoken_flow import SpokenFlow

log = logging.getLogger(__name__)


class Dialogs:
    """`tray_available()`: whether tray options mean anything now; `apply_settings(changed)`: called with
    the names of the settings the user changed; `model()`: the captioner and precision the app describes
    with now (`gui --model` of this run, else the settings), which a folder is described with too."""

    def __init__(self, window: MainWindow, settings: Settings, history: HistoryStore, flow: SpokenFlow, *,
                 tray_available: Callable[[], bool], apply_settings: Callable[[list[str]], None],
                 model: Callable[[], tuple[str, str]] | None = None) -> None:
        self._model = model
        self.window = window
        self.settings = settings
        self.history = history
        self.flow = flow
        self._tray_available = tray_available
        self._apply_settings = apply_settings
        self.history_dialog: HistoryDialog | None = None
        self.batch_dialog: BatchDialog | None = None
        self.shortcuts_dialog: TextDialog | None = None

    def show_history(self) -> None:
        """Open (or bring back) the history window."""
        if self.history_dialog is None:
            self.history_dialog = HistoryDialog(
                self.history, lambda text: self.flow.speaker.say(text, interrupt=True), self.window)
        else:
            self.history_dialog.refresh()
        self.history_dialog.show()
        self.history_dialog.raise_()
        self.history_dialog.activateWindow()
        self.history_dialog.search_edit.setFocus()

    def show_settings(self) -> None:
        try:
            voices = self.flow.speaker.voices()
        except Exception:  # noqa: BLE001 - the list of voices is optional
            log.warning("could not list voices", exc_info=True)
            voices = []
        dialog = SettingsDialog(self.settings, voices=voices, parent=self.window,
                                tray_available=self._tray_available())
        dialog.settings_changed.connect(self._apply_settings)
        dialog.exec()

    def describe_folder(self, folder: str | None = None) -> None:
        """Open (or bring back) Describe folder, with `folder` filled in unless a batch is running."""
        if self.batch_dialog is None:
            self.batch_dialog = BatchDialog(self.window, self.settings, self.flow.speaker, model=self._model)
        if folder and not self.batch_dialog.running:
            self.batch_dialog.folder_edit.setText(folder)
        self.batch_dialog.show()
        self.batch_dialog.raise_()
        self.batch_dialog.activateWindow()

    def shortcuts_text(self) -> str:
        lines = [_("Keyboard shortcuts in this window:")]
        for spec in ACTIONS:
            keys = shortcut_text(self.window.action(spec.name))
            if keys:
                lines.append(f"{plain_text(_(spec.text))}: {keys}")
        lines.append("")
        lines.append(_("Global hotkeys (work in every application):"))
        for action, combo in self.settings.hotkeys.items():
            if combo:
                lines.append(f"{action_label(action)}: {combo}")
        return "\n".join(lines)

    def show_shortcuts(self) -> None:
        """In a window of their own: the description being read stays where it is."""
        if self.shortcuts_dialog is None:
            self.shortcuts_dialog = TextDialog(_("Keyboard shortcuts"), self.shortcuts_text(), self.window)
        else:
            self.shortcuts_dialog.view.setPlainText(self.shortcuts_text())  # hotkeys may have changed
        self.shortcuts_dialog.show()
        self.shortcuts_dialog.raise_()
        self.shortcuts_dialog.activateWindow()
        self.shortcuts_dialog.view.setFocus()

    def shutdown(self) -> None:
        if self.batch_dialog is not None:
            self.batch_dialog.shutdown()
