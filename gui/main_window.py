"""The main window: commands (menus, buttons, shortcuts), the result view and the status line.

It does no work itself: every command is a QAction made from the action table (gui.actions) that the
AppController connects to; dropped and pasted images come out as signals. Threading contract: GUI thread only.

Accessibility: every action has a shortcut, shown in its menu entry and in its tooltip; every focusable
control has an accessible name (and a description where the name is not enough); the result view is a
read-only text view with a keyboard caret, so a screen reader can read it line by line; status changes are
announced (gui.announce). No fixed colours or pixel font sizes: the system theme and font scaling apply.
"""
from __future__ import annotations

from PySide6.QtCore import QMimeData, Qt, Signal
from PySide6.QtGui import QAction, QCloseEvent, QIcon, QImage, QKeySequence, QPixmap
from PySide6.QtWidgets import (
    QApplication,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from describe_aloud.engine.i18n import N_, _
from describe_aloud.gui.actions import ACTIONS, BUTTON_ACTIONS, MENU_ORDER, MENU_TITLES, plain_text
from describe_aloud.gui.announce import announce
from describe_aloud.gui.flow_layout import FlowLayout
from describe_aloud.gui.image_input import local_paths

APP_TITLE = N_("Describe Aloud")


def shortcut_text(action: QAction) -> str:
    return ", ".join(s.toString(QKeySequence.SequenceFormat.NativeText) for s in action.shortcuts())


def app_icon() -> QIcon:
    """The app's icon: the theme's icon when there is one, else a standard one (follows the style)."""
    icon = QIcon.fromTheme("accessories-screen-reader")
    if icon.isNull():
        style = QApplication.style()
        icon = style.standardIcon(QStyle.StandardPixmap.SP_MessageBoxInformation)
    return icon


class MainWindow(QMainWindow):
    """Signals: `files_dropped(list[str])` local files dropped on the window; `image_dropped(QImage)`
    image data dropped; `close_requested()` the user closed the window (the controller decides whether
    that hides to the tray or quits)."""

    files_dropped = Signal(list)
    image_dropped = Signal(QImage)
    close_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("MainWindow")
        self.setWindowTitle(_(APP_TITLE))
        self.setWindowIcon(app_icon())
        self.setAcceptDrops(True)
        self.quitting = False  # set by the controller so closeEvent lets the window close for real
        self.actions_by_name: dict[str, QAction] = {}
        self._create_actions()
        self._create_menus()
        self._create_central()
        self.resize(720, 480)

    # Construction -----------------------------------------------------------------------------------
    def _create_actions(self) -> None:
        for spec in ACTIONS:
            action = QAction(_(spec.text), self)
            action.setObjectName(f"action_{spec.name}")
            action.setShortcuts([QKeySequence(s) for s in spec.shortcuts])
            # Shortcuts work whenever this window (or one of its dialogs' parent chain) has focus.
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            keys = shortcut_text(action)
            label = plain_text(_(spec.text))
            action.setToolTip(f"{label} ({keys})" if keys else label)
            action.setStatusTip(_(spec.help))
            action.setWhatsThis(_(spec.help))
            self.addAction(action)  # so the shortcut works even where no menu shows it
            self.actions_by_name[spec.name] = action

    def _create_menus(self) -> None:
        menus = {name: self.menuBar().addMenu(_(MENU_TITLES[name])) for name in MENU_ORDER}
        for spec in ACTIONS:
            menu = menus.get(spec.menu)
            if menu is None:
                continue
            if spec.name == "quit":
                menu.addSeparator()
            menu.addAction(self.actions_by_name[spec.name])
        for menu in menus.values():
            menu.setToolTipsVisible(True)
        # F10 opens the menu bar, as in most desktop applications (Qt only does Alt).
        open_menu = QAction(self)
        open_menu.setObjectName("action_open_menu_bar")
        open_menu.setShortcut(QKeySequence("F10"))
        open_menu.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        open_menu.triggered.connect(self._open_menu_bar)
        self.addAction(open_menu)

    def _open_menu_bar(self) -> None:
        bar = self.menuBar()
        first = next((action for action in bar.actions() if action.isVisible()), None)
        if first is not None:
            bar.setFocus(Qt.FocusReason.ShortcutFocusReason)
            bar.setActiveAction(first)

    def _create_central(self) -> None:
        central = QWidget(self)
        layout = QVBoxLayout(central)

        self.hint_label = QLabel(
            _("Drop or paste images here, open one with Ctrl+O, or describe the screen with Ctrl+1."), central
        )
        self.hint_label.setWordWrap(True)
        layout.addWidget(self.hint_label)

        self.result_view = QPlainTextEdit(central)
        self.result_view.setObjectName("result_view")
        self.result_view.setReadOnly(True)
        # Read-only but with a keyboard caret, so the description can be read line by line.
        self.result_view.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByKeyboard | Qt.TextInteractionFlag.TextSelectableByMouse
        )
        self.result_view.setTabChangesFocus(True)
        self.result_view.setAcceptDrops(False)  # drops go to the window
        self.result_view.setAccessibleName(_("Description"))
        self.result_view.setAccessibleDescription(
            _("The latest description. Use the arrow keys to read it line by line.")
        )
        self.result_view.setPlaceholderText(_("No image described yet."))

        self.preview = QLabel(central)
        self.preview.setObjectName("preview")
        self.preview.setAccessibleName(_("Preview of the described image"))
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.preview.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Preferred)
        self.preview.setMinimumWidth(self.fontMetrics().averageCharWidth() * 22)

        row = QHBoxLayout()
        row.addWidget(self.result_view, 1)
        row.addWidget(self.preview)
        layout.addLayout(row, 1)

        # Buttons wrap into more rows rather than forcing the window wider (200 % text, narrow screens).
        button_bar = QWidget(central)
        buttons = FlowLayout(button_bar)
        buttons.setContentsMargins(0, 0, 0, 0)
        self.buttons: dict[str, QPushButton] = {}
        for name in BUTTON_ACTIONS:
            button = self._button_for(self.actions_by_name[name], button_bar)
            buttons.addWidget(button)
            self.buttons[name] = button
        layout.addWidget(button_bar)

        self.status_label = QLabel(_("Starting…"), central)
        self.status_label.setObjectName("status_label")
        self.status_label.setTextFormat(Qt.TextFormat.PlainText)  # it shows file names: never markup
        self.status_label.setWordWrap(True)
        self.status_label.setAccessibleName(_("Status: Starting…"))
        # Reachable with Tab, so the last status can be read again at any time.
        self.status_label.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse | Qt.TextInteractionFlag.TextSelectableByKeyboard
        )
        self.status_label.setFocusPolicy(Qt.FocusPolicy.TabFocus)
        layout.addWidget(self.status_label)

        self.setCentralWidget(central)
        # Tab order: the result first (where focus lands after each description), the buttons, the status.
        previous: QWidget = self.result_view
        for name in BUTTON_ACTIONS:
            QWidget.setTabOrder(previous, self.buttons[name])
            previous = self.buttons[name]
        QWidget.setTabOrder(previous, self.status_label)

    def _button_for(self, action: QAction, parent: QWidget) -> QPushButton:
        label = plain_text(action.text())
        button = QPushButton(label, parent)
        button.setObjectName(f"button_{action.objectName().removeprefix('action_')}")
        button.setToolTip(action.toolTip())
        button.setAccessibleName(label)
        button.setAccessibleDescription(_("{help} Shortcut: {keys}.").format(help=action.statusTip(), keys=shortcut_text(action)))
        button.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        button.clicked.connect(action.trigger)
        action.enabledChanged.connect(button.setEnabled)
        return button

    # What the controller calls ---------------------------------------------------------------------
    def action(self, name: str) -> QAction:
        return self.actions_by_name[name]

    def set_status(self, message: str, *, assertive: bool = False, spoken: bool = False,
                   written: str | None = None) -> None:
        """Show `message` on the status line and announce it to the screen reader, unless the caller says
        it (`spoken`): then it is only shown, so the screen reader hears it once. `written` (with `spoken`):
        a longer form of `message` shown instead (a whole path), while the label's name stays short."""
        if spoken:
            self.status_label.setText(written or message)
            self.status_label.setAccessibleName(_("Status: {message}").format(message=message))
        else:
            announce(self.status_label, message, assertive=assertive, label=self.status_label)

    def show_result(self, text: str, *, focus: bool = True) -> None:
        """Put a description in the result view and, if the window is active, move focus there."""
        self.result_view.setPlainText(text)
        cursor = self.result_view.textCursor()
        cursor.movePosition(cursor.MoveOperation.Start)
        self.result_view.setTextCursor(cursor)
        if focus:
            self.result_view.setFocus(Qt.FocusReason.OtherFocusReason)

    def append_result(self, text: str) -> None:
        """Add a paragraph ("more detail") below the current description."""
        self.result_view.appendPlainText("\n" + text)  # the focus stays where the user has it

    def result_text(self) -> str:
        return self.result_view.toPlainText()

    def set_preview(self, png: bytes | None) -> None:
        pixmap = QPixmap()
        if png and pixmap.loadFromData(png, "PNG"):
            self.preview.setPixmap(pixmap)
        else:
            self.preview.clear()

    # Events ----------------------------------------------------------------------------------------
    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt override
        """A main window does not ask for height-for-width: at a narrow width the wrapped hint and status
        lines and the wrapped button rows need more height than its minimum, and overlapped. The central
        widget's minimum height follows its width instead (200 % text, narrow screens)."""
        super().resizeEvent(event)
        central = self.centralWidget()
        layout = central.layout() if central is not None else None
        if layout is not None:
            needed = layout.totalMinimumHeightForWidth(central.width())
            if needed > 0 and central.minimumHeight() != needed:
                central.setMinimumHeight(needed)

    def dragEnterEvent(self, event) -> None:  # noqa: N802 - Qt override
        if _has_usable_data(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:  # noqa: N802 - Qt override
        self.dragEnterEvent(event)

    def dropEvent(self, event) -> None:  # noqa: N802 - Qt override
        mime = event.mimeData()
        paths = local_paths(mime)
        if paths:
            event.acceptProposedAction()
            self.files_dropped.emit(paths)
        elif mime.hasImage():
            image = QImage(mime.imageData())
            if not image.isNull():
                event.acceptProposedAction()
                self.image_dropped.emit(image)
                return
            event.ignore()
        else:
            event.ignore()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        if self.quitting:
            event.accept()
            return
        # The controller decides: hide to the tray, or quit (which sets `quitting` and closes again).
        event.ignore()
        self.close_requested.emit()


def _has_usable_data(mime: QMimeData) -> bool:
    return bool(local_paths(mime)) or mime.hasImage()
