"""The Ask dialog: a question field, the conversation (read-only, readable line by line with a screen
reader), and buttons to ask, stop speech, copy the conversation and close.

Keys: Enter asks; Escape stops the speech (it does not close the dialog: a user stopping a long answer
must not lose the conversation); Alt+C closes. Focus goes to the question field whenever the dialog is
shown. Plain widgets, no engine calls: the AskFlow (gui.ask_flow) fills it and reacts to its signals.

Threading contract: GUI thread only.
"""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent, QTextCursor
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from describe_aloud.gui.announce import announce
from describe_aloud.engine.i18n import _


def _named(widget: QWidget, name: str, description: str = "") -> QWidget:
    widget.setAccessibleName(name)
    if description:
        widget.setAccessibleDescription(description)
        widget.setToolTip(description)
    return widget


class AskDialog(QDialog):
    question_asked = Signal(str)
    stop_requested = Signal()
    copy_requested = Signal()
    image_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("AskDialog")
        self.setWindowTitle(_("Ask about the image"))
        self.setModal(False)
        layout = QVBoxLayout(self)

        self.about_label = QLabel("", self)
        self.about_label.setTextFormat(Qt.TextFormat.PlainText)  # it shows a file name: never markup
        self.about_label.setWordWrap(True)
        layout.addWidget(self.about_label)

        self.conversation = QPlainTextEdit(self)
        self.conversation.setReadOnly(True)
        # Read-only but still a text a keyboard user and a screen reader can move through and select.
        self.conversation.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByKeyboard
                                                  | Qt.TextInteractionFlag.TextSelectableByMouse)
        _named(self.conversation, _("Conversation"), _("The questions asked about this image and their answers."))
        conversation_label = QLabel(_("Con&versation:"), self)
        conversation_label.setBuddy(self.conversation)
        layout.addWidget(conversation_label)
        layout.addWidget(self.conversation, 1)

        row = QHBoxLayout()
        question_label = QLabel(_("&Question:"), self)
        self.question_edit = QLineEdit(self)
        _named(self.question_edit, _("Question"), _("Type a question about the image and press Enter."))
        question_label.setBuddy(self.question_edit)
        self.ask_button = _named(QPushButton(_("&Ask"), self), _("Ask"), _("Ask the question (Enter)."))
        self.ask_button.setDefault(True)
        row.addWidget(question_label)
        row.addWidget(self.question_edit, 1)
        row.addWidget(self.ask_button)
        layout.addLayout(row)

        buttons = QHBoxLayout()
        self.image_button = _named(QPushButton(_("Choose &image…"), self), _("Choose image"),
                                   _("Ask about an image file instead, without describing it first."))
        self.stop_button = _named(QPushButton(_("&Stop speech"), self), _("Stop speech"), _("Stop speaking (Escape)."))
        self.copy_button = _named(QPushButton(_("C&opy conversation"), self), _("Copy conversation"),
                                  _("Copy every question and answer as text."))
        self.close_button = _named(QPushButton(_("&Close"), self), _("Close"), _("Close this dialog (Alt+C)."))
        for button in (self.image_button, self.stop_button, self.copy_button, self.close_button):
            button.setAutoDefault(False)
            buttons.addWidget(button)
        layout.addLayout(buttons)

        self.status_label = QLabel("", self)
        self.status_label.setTextFormat(Qt.TextFormat.PlainText)
        self.status_label.setWordWrap(True)
        layout.addWidget(self.status_label)

        self.ask_button.clicked.connect(self._ask)
        self.question_edit.returnPressed.connect(self._ask)
        self.stop_button.clicked.connect(self.stop_requested)
        self.copy_button.clicked.connect(self.copy_requested)
        self.image_button.clicked.connect(self.image_requested)
        self.close_button.clicked.connect(self.hide)
        self.resize(560, 420)

    # The flow fills it ---------------------------------------------------------------------------------
    def set_about(self, text: str) -> None:
        self.about_label.setText(text)
        self.setAccessibleDescription(text)

    def set_conversation(self, text: str) -> None:
        self.conversation.setPlainText(text)
        self.conversation.moveCursor(QTextCursor.MoveOperation.End)

    def append(self, text: str, *, new_paragraph: bool = False) -> None:
        """Add a line (a question, a sentence of the answer) at the end of the conversation."""
        current = self.conversation.toPlainText()
        separator = "\n\n" if new_paragraph and current else ("\n" if current else "")
        self.conversation.moveCursor(QTextCursor.MoveOperation.End)
        self.conversation.insertPlainText(separator + text)

    def set_status(self, message: str, *, assertive: bool = False) -> None:
        """Show and announce (the same announcement path as the main window's status line)."""
        announce(self.status_label, message, assertive=assertive, label=self.status_label)

    def set_busy(self, busy: bool) -> None:
        self.ask_button.setText(_("&Ask") if not busy else _("Ask (replaces the &answer)"))

    def focus_question(self) -> None:
        self.raise_()
        self.activateWindow()
        self.question_edit.setFocus(Qt.FocusReason.ActiveWindowFocusReason)

    # Keys ------------------------------------------------------------------------------------------
    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt override
        if event.key() == Qt.Key.Key_Escape:
            self.stop_requested.emit()  # stop the voice, keep the conversation open
            event.accept()
            return
        super().keyPressEvent(event)

    def showEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        self.question_edit.setFocus(Qt.FocusReason.ActiveWindowFocusReason)

    def _ask(self) -> None:
        question = self.question_edit.text().strip()
        if not question:
            self.set_status(_("Type a question first."), assertive=True)
            return
        self.question_edit.clear()
        self.question_asked.emit(question)
