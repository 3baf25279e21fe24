"""The history window: search past descriptions, read them, hear them again, copy or delete them.

Threading contract: GUI thread only. Reads and writes the HistoryStore directly (small SQLite queries,
milliseconds). Speaking goes through the `speak` callback, which must not block (the controller hands it to
the Speaker).
"""
from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QSize, Qt, QTimer
from PySide6.QtGui import QIcon, QKeySequence, QPixmap, QShortcut
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from describe_aloud.engine import render
from describe_aloud.engine.history import HistoryEntry, HistoryStore
from describe_aloud.engine.i18n import _, ngettext
from describe_aloud.gui.announce import announce

ENTRY_ROLE = Qt.ItemDataRole.UserRole + 1
PAGE = 200


def entry_label(entry: HistoryEntry) -> str:
    # To the second: two descriptions of the same screen a minute apart must not sound identical.
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(entry.time))
    first = entry.text.strip().splitlines()[0] if entry.text.strip() else "(no text)"
    if len(first) > 120:
        first = first[:117] + "…"
    return f"{when}, {entry.source or _('unknown source')}: {first}"


class HistoryDialog(QDialog):
    def __init__(self, store: HistoryStore, speak: Callable[[str], None], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("HistoryDialog")
        self.setWindowTitle(_("History"))
        self.store = store
        self.speak = speak
        layout = QVBoxLayout(self)

        search_row = QHBoxLayout()
        search_label = QLabel(_("&Search:"), self)
        self.search_edit = QLineEdit(self)
        self.search_edit.setClearButtonEnabled(True)
        self.search_edit.setPlaceholderText(_("Words in the description or the file name"))
        self.search_edit.setAccessibleName(_("Search history"))
        self.search_edit.setAccessibleDescription(_("Type words; the list shows descriptions containing all of them."))
        search_label.setBuddy(self.search_edit)
        search_row.addWidget(search_label)
        search_row.addWidget(self.search_edit, 1)
        layout.addLayout(search_row)

        self.list = QListWidget(self)
        self.list.setAccessibleName(_("Past descriptions"))
        self.list.setAccessibleDescription(_("Newest first. Press Enter to hear one again."))
        icon_side = self.fontMetrics().height() * 3
        self.list.setIconSize(QSize(icon_side, icon_side))
        self.list.setWordWrap(True)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        layout.addWidget(self.list, 2)

        self.detail_view = QPlainTextEdit(self)
        self.detail_view.setReadOnly(True)
        self.detail_view.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByKeyboard | Qt.TextInteractionFlag.TextSelectableByMouse
        )
        self.detail_view.setTabChangesFocus(True)
        self.detail_view.setAccessibleName(_("Selected description"))
        layout.addWidget(self.detail_view, 1)

        buttons = QHBoxLayout()
        self.speak_button = self._button(_("S&peak again"), _("Speak the selected description (Enter)."), buttons)
        self.copy_button = self._button(_("&Copy"), _("Copy the selected description (Ctrl+Shift+C)."), buttons)
        self.delete_button = self._button(_("&Delete"), _("Remove the selected description from the history (Delete)."),
                                          buttons)
        buttons.addStretch(1)
        layout.addLayout(buttons)
        close_box = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        close_box.button(QDialogButtonBox.StandardButton.Close).setAccessibleName(_("Close history"))
        close_box.rejected.connect(self.reject)
        layout.addWidget(close_box)

        self.status_label = QLabel("", self)
        self.status_label.setTextFormat(Qt.TextFormat.PlainText)
        self.status_label.setAccessibleName(_("History status"))
        layout.addWidget(self.status_label)

        self.speak_button.clicked.connect(self.speak_selected)
        self.copy_button.clicked.connect(self.copy_selected)
        self.delete_button.clicked.connect(self.delete_selected)
        self.list.itemActivated.connect(lambda _item: self.speak_selected())
        self.list.currentItemChanged.connect(self._show_current)
        QShortcut(QKeySequence("Ctrl+Shift+C"), self, activated=self.copy_selected)
        QShortcut(QKeySequence(QKeySequence.StandardKey.Delete), self.list, activated=self.delete_selected)
        QShortcut(QKeySequence(QKeySequence.StandardKey.Undo), self, activated=self.undo_delete)
        self._deleted: tuple[HistoryEntry, list[dict]] | None = None  # what Ctrl+Z puts back
        # Search as the user types, but not a query per keystroke.
        self._search_timer = QTimer(self, singleShot=True, interval=250, timeout=self.refresh)
        self.search_edit.textChanged.connect(lambda _t: self._search_timer.start())

        QWidget.setTabOrder(self.search_edit, self.list)
        QWidget.setTabOrder(self.list, self.detail_view)
        QWidget.setTabOrder(self.detail_view, self.speak_button)
        QWidget.setTabOrder(self.speak_button, self.copy_button)
        QWidget.setTabOrder(self.copy_button, self.delete_button)
        self.resize(self.fontMetrics().averageCharWidth() * 110, self.fontMetrics().height() * 30)
        self.refresh()

    def _button(self, text: str, help_text: str, row: QHBoxLayout) -> QPushButton:
        button = QPushButton(text, self)
        button.setAccessibleName(text.replace("&", ""))
        button.setAccessibleDescription(help_text)
        button.setToolTip(help_text)
        row.addWidget(button)
        return button

    # Data --------------------------------------------------------------------------------------------
    def refresh(self, *, say_count: bool = True) -> None:
        query = self.search_edit.text().strip()
        entries = self.store.search(query, limit=PAGE)
        self.list.clear()
        for entry in entries:
            item = QListWidgetItem(entry_label(entry))
            item.setData(ENTRY_ROLE, entry.id)
            item.setToolTip(entry.text)
            if entry.thumbnail:
                pixmap = QPixmap()
                if pixmap.loadFromData(entry.thumbnail, "PNG"):
                    item.setIcon(QIcon(pixmap))
            self.list.addItem(item)
        if entries:
            self.list.setCurrentRow(0)
        else:
            self.detail_view.clear()
        count = len(entries)
        if query:
            message = ngettext("{count} description found for {query}.", "{count} descriptions found for {query}.",
                               count).format(count=count, query=query)
        else:
            message = ngettext("{count} description in the history.", "{count} descriptions in the history.",
                               count).format(count=count)
        if say_count:
            announce(self.list, message, label=self.status_label)

    def selected_entry(self) -> HistoryEntry | None:
        item = self.list.currentItem()
        if item is None:
            return None
        return self.store.get(int(item.data(ENTRY_ROLE)))

    def _show_current(self, *_args) -> None:
        entry = self.selected_entry()
        if entry is None:
            self.detail_view.clear()
            return
        self.detail_view.setPlainText(self._full_text(entry, entry.display_text))

    def _full_text(self, entry: HistoryEntry, text: str) -> str:
        """The description, then the questions asked about its image and their answers."""
        conversation = render.conversation(self.store.conversation(entry.id))
        return text + "\n\n" + conversation if conversation else text

    # Commands ----------------------------------------------------------------------------------------
    def speak_selected(self) -> None:
        entry = self.selected_entry()
        if entry is None:
            announce(self.list, _("Nothing selected."), label=self.status_label)
            return
        self.speak(entry.text)

    def copy_selected(self) -> None:
        entry = self.selected_entry()
        if entry is not None:
            QApplication.clipboard().setText(self._full_text(entry, entry.text))
            announce(self.list, _("Description copied."), label=self.status_label)

    def delete_selected(self) -> None:
        entry = self.selected_entry()
        if entry is None:
            return
        row = self.list.currentRow()
        self._deleted = (entry, self.store.answers(entry.id))
        self.store.delete(entry.id)
        self.refresh(say_count=False)  # one announcement: what happened, and how to take it back
        if self.list.count():
            self.list.setCurrentRow(min(row, self.list.count() - 1))
        announce(self.list, _("Description deleted. Ctrl+Z puts it back."), label=self.status_label)

    def undo_delete(self) -> None:
        if self._deleted is None:
            announce(self.list, _("Nothing to undo."), label=self.status_label)
            return
        entry, answers = self._deleted
        self._deleted = None
        self.store.restore(entry, answers)
        self.refresh(say_count=False)
        for row in range(self.list.count()):
            if int(self.list.item(row).data(ENTRY_ROLE)) == entry.id:
                self.list.setCurrentRow(row)
                break
        announce(self.list, _("Description put back."), label=self.status_label)
