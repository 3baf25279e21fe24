"""Qt windows for devtools/reading_corpus.py: real widgets on the X server, grabbed from the screen.

Run by reading_corpus under its Xvfb: `python devtools/reading_corpus_qt.py OUT_DIR`. Prints one JSON label
per line (name, kind, text to read in order, origin, language).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import (QApplication, QCheckBox, QDialogButtonBox, QFormLayout, QHBoxLayout, QLabel,
                               QLineEdit, QListWidget, QMenuBar, QPlainTextEdit, QPushButton, QTableWidget,
                               QTableWidgetItem, QTextEdit, QVBoxLayout, QWidget)

MAIL = ("Dear all, the team meeting moves to Thursday at ten in the small room on the second floor. "
        "Please bring the budget figures for the third quarter and the draft of the annual report.")


def _dark(w: QWidget) -> None:
    palette = QPalette()
    for role, colour in ((QPalette.ColorRole.Window, "#2b2b2b"), (QPalette.ColorRole.WindowText, "#eeeeee"),
                         (QPalette.ColorRole.Base, "#1e1e1e"), (QPalette.ColorRole.Text, "#eeeeee"),
                         (QPalette.ColorRole.Button, "#3c3c3c"), (QPalette.ColorRole.ButtonText, "#eeeeee")):
        palette.setColor(role, QColor(colour))
    w.setPalette(palette)
    w.setAutoFillBackground(True)


def form(dark: bool = False) -> tuple[QWidget, list[str]]:
    w = QWidget()
    w.setWindowTitle("Account")
    layout = QFormLayout(w)
    rows = (("Full name", "Alice Martin"), ("Email", "alice@example.org"), ("Phone", "0612 345 678"),
            ("City", "Lyon"))
    for label, value in rows:
        layout.addRow(label, QLineEdit(value))
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
    layout.addRow(buttons)
    if dark:
        _dark(w)
    w.resize(520, 260)
    return w, [f"{label}\t{value}" for label, value in rows[:3]]


def table(dark: bool = False) -> tuple[QWidget, list[str]]:
    rows = (("Bread", "2", "3.40"), ("Milk", "1", "1.15"), ("Apples", "6", "2.70"), ("Coffee", "1", "5.90"))
    t = QTableWidget(len(rows), 3)
    t.setWindowTitle("Shopping")
    t.setHorizontalHeaderLabels(["Item", "Quantity", "Price"])
    for r, cells in enumerate(rows):
        for c, cell in enumerate(cells):
            t.setItem(r, c, QTableWidgetItem(cell))
    t.verticalHeader().hide()
    if dark:
        _dark(t)
    t.resize(460, 220)
    return t, ["Item\tQuantity\tPrice", *("\t".join(r) for r in rows[:3])]


def mail() -> tuple[QWidget, list[str]]:
    w = QWidget()
    w.setWindowTitle("Mail")
    layout = QHBoxLayout(w)
    folders = QListWidget()
    folders.addItems(["Inbox", "Sent", "Drafts", "Archive", "Spam", "Trash"])
    folders.setMaximumWidth(150)
    body = QTextEdit()
    body.setPlainText(MAIL)
    layout.addWidget(folders)
    layout.addWidget(body)
    w.resize(760, 360)
    return w, ["Inbox", "Sent", "Trash", "Dear all, the team meeting", "annual report"]


def dialog() -> tuple[QWidget, list[str]]:
    w = QWidget()
    w.setWindowTitle("Unsaved changes")
    layout = QVBoxLayout(w)
    title = QLabel("Unsaved changes")
    title.setFont(QFont("DejaVu Sans", 13, QFont.Weight.Bold))
    layout.addWidget(title)
    layout.addWidget(QLabel("Your changes to “budget.ods” will be lost if you close now."))
    row = QHBoxLayout()
    for label in ("Discard", "Cancel", "Keep"):
        row.addWidget(QPushButton(label))
    layout.addLayout(row)
    w.resize(470, 140)
    return w, ["Unsaved changes", "Your changes to", "Discard", "Cancel", "Keep"]


def settings_zh() -> tuple[QWidget, list[str]]:
    w = QWidget()
    w.setWindowTitle("设置 Settings")
    w.setFont(QFont("Noto Sans CJK SC", 11))
    layout = QVBoxLayout(w)
    layout.addWidget(QLabel("常规设置 General settings"))
    for label in ("启用自动保存", "Enable spell checking", "显示行号"):
        layout.addWidget(QCheckBox(label))
    buttons = QHBoxLayout()
    buttons.addWidget(QPushButton("确定"))
    buttons.addWidget(QPushButton("取消"))
    layout.addLayout(buttons)
    w.resize(420, 240)
    return w, ["常规设置", "启用自动保存", "Enable spell checking", "显示行号"]


def editor() -> tuple[QWidget, list[str]]:
    w = QWidget()
    w.setWindowTitle("Editor")
    layout = QVBoxLayout(w)
    menu = QMenuBar()
    for name in ("File", "Edit", "View", "Help"):
        menu.addMenu(name)
    layout.setMenuBar(menu)
    text = QPlainTextEdit()
    text.setPlainText("Shopping list for Saturday\nBread and milk\nTomatoes for the salad\nBatteries for the radio")
    layout.addWidget(text)
    w.resize(640, 400)
    return w, ["File Edit View Help", "Shopping list for Saturday", "Batteries for the radio"]


def dialog_zh() -> tuple[QWidget, list[str]]:
    w = QWidget()
    w.setWindowTitle("删除文件")
    w.setFont(QFont("Noto Sans CJK SC", 11))
    layout = QVBoxLayout(w)
    layout.addWidget(QLabel("确定要删除这三个文件吗？"))
    layout.addWidget(QLabel("此操作无法撤销。"))
    row = QHBoxLayout()
    for label in ("删除", "取消"):
        row.addWidget(QPushButton(label))
    layout.addLayout(row)
    w.resize(380, 140)
    return w, ["确定要删除这三个文件吗", "此操作无法撤销"]


def editor_long() -> tuple[QWidget, list[str]]:
    w, _ = editor()
    text = w.findChild(QPlainTextEdit)
    text.setPlainText("Minutes of the residents' meeting\n\nThe garden will be cleaned on the first Sunday of May.\n"
                      "Bicycles must not be left in the hall.\nThe next meeting is on the twelfth of June.")
    w.resize(900, 600)
    return w, ["File Edit View Help", "Minutes of the residents' meeting", "The next meeting is on the twelfth of June."]


SCENES = {
    "qt-form": (form, None), "qt-table": (table, None), "qt-mail": (mail, None), "qt-dialog": (dialog, None),
    "qt-settings-zh": (settings_zh, "zh"), "qt-form-dark": (lambda: form(dark=True), None),
    "qt-editor": (editor, None),
}
def mail_full() -> tuple[QWidget, list[str]]:
    """The mail window filling a 1280x720 screen (bench/bench_reading.py times the reading on it)."""
    w, text = mail()
    w.setFixedSize(1280, 720)
    return w, text


HELD_OUT = {"qt-table-dark": (lambda: table(dark=True), None), "qt-dialog-zh": (dialog_zh, "zh"),
            "qt-editor-long": (editor_long, None), "qt-mail-full": (mail_full, None)}


def main() -> None:
    out = Path(sys.argv[1])
    app = QApplication([])
    app.setFont(QFont("DejaVu Sans", 10))
    queue = [(name, scene, "tune") for name, scene in SCENES.items()]
    queue += [(name, scene, "held-out") for name, scene in HELD_OUT.items()]
    current: list = []

    def next_scene() -> None:
        if current:
            widget, name, text, language, split = current.pop()
            shot = app.primaryScreen().grabWindow(0, widget.x(), widget.y(), widget.width(), widget.height())
            shot.save(str(out / f"screen-{name}.png"))
            print(json.dumps({"name": f"screen-{name}", "kind": "screen", "text": text,
                              "origin": "Qt widgets (PySide6)", "language": language,
                              "split": split}, ensure_ascii=False),
                  flush=True)
            widget.close()
        if not queue:
            app.quit()
            return
        name, (make, language), split = queue.pop(0)
        widget, text = make()
        widget.move(0, 0) if name.endswith("-full") else widget.move(40, 40)
        widget.show()
        current.append((widget, name, text, language, split))
        QTimer.singleShot(700, next_scene)

    QTimer.singleShot(0, next_scene)
    app.exec()


if __name__ == "__main__":
    main()
