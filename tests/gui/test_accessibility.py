"""Accessible first: every focusable control has a name a screen reader can say, Tab reaches every one of
them, shortcuts are shown, status changes reach the status line's accessible name, and nothing fixes
colours or pixel font sizes (the system theme, high contrast and font scaling apply)."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAccessible
from PySide6.QtWidgets import QApplication, QWidget

from describe_aloud.engine.config import Settings
from describe_aloud.engine.description import Description, ImageKind
from describe_aloud.engine.history import HistoryStore
from describe_aloud.gui.history_view import HistoryDialog
from describe_aloud.engine.speech import Voice
from describe_aloud.gui.actions import BUTTON_ACTIONS
from describe_aloud.gui.main_window import MainWindow
from describe_aloud.gui.settings_dialog import SettingsDialog


def focusable_widgets(root: QWidget) -> list[QWidget]:
    """What Tab should reach: visible, enabled widgets that take Tab focus (a widget that hands its focus
    to a proxy, like an editable combo box's line edit, counts once, as the proxy's owner)."""
    found = []
    for widget in [root, *root.findChildren(QWidget)]:
        if not (widget.isVisibleTo(root) and widget.isEnabled()):
            continue
        if not (widget.focusPolicy() & Qt.FocusPolicy.TabFocus):
            continue
        if widget.focusProxy() is not None:
            continue
        owner = widget.parentWidget()
        if owner is not None and owner.focusProxy() is widget:
            widget = owner
        found.append(widget)
    return list(dict.fromkeys(found))


def accessible_name(widget: QWidget) -> str:
    iface = QAccessible.queryAccessibleInterface(widget)
    assert iface is not None and iface.isValid(), widget
    return iface.text(QAccessible.Text.Name).strip()


def declared_name(widget: QWidget) -> str:
    """The name we gave it (on Linux Qt exposes a combo box's value as its name and the label through a
    relation, so the interface alone would not catch a missing label)."""
    text = getattr(widget, "text", None)
    own_text = text() if callable(text) and hasattr(widget, "setCheckable") else ""
    return (widget.accessibleName() or own_text.replace("&", "")).strip()


def tab_cycle(qtbot, root: QWidget, first: QWidget) -> list[QWidget]:
    """Press Tab from `first` until focus comes back; return the widgets focused on the way."""
    first.setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.waitUntil(lambda: QApplication.focusWidget() is not None)
    start = QApplication.focusWidget()
    seen = [start]
    for _ in range(200):
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
        current = QApplication.focusWidget()
        if current is start:
            break
        seen.append(current)
    return seen


def owners(widgets: list[QWidget]) -> set[QWidget]:
    """Map a focused inner widget (a combo's line edit) to the widget the user thinks of."""
    result = set()
    for w in widgets:
        parent = w.parentWidget()
        result.add(parent if parent is not None and parent.focusProxy() is w else w)
    return result


def check_tree(qtbot, root: QWidget, first: QWidget) -> None:
    root.show()
    root.activateWindow()
    qtbot.waitUntil(root.isActiveWindow)
    focusable = focusable_widgets(root)
    assert len(focusable) >= 3
    unnamed = [f"{type(w).__name__} {w.objectName()!r}" for w in focusable
               if not accessible_name(w) or not declared_name(w)]
    assert unnamed == [], f"focusable controls without an accessible name: {unnamed}"
    reached = owners(tab_cycle(qtbot, root, first))
    missing = [f"{type(w).__name__} {accessible_name(w)!r}" for w in focusable if w not in reached]
    assert missing == [], f"Tab never reaches: {missing}"
    for widget in [root, *root.findChildren(QWidget)]:
        assert not widget.styleSheet(), f"{widget} sets a style sheet (fixed colours)"
        assert not widget.testAttribute(Qt.WidgetAttribute.WA_SetPalette), f"{widget} fixes its colours"
        assert widget.font().pixelSize() == -1 or not widget.testAttribute(Qt.WidgetAttribute.WA_SetFont), \
            f"{widget} uses a pixel font size"


def test_main_window_tree_names_and_tab_order(qtbot):
    window = MainWindow()
    qtbot.addWidget(window)
    check_tree(qtbot, window, window.result_view)
    # Tab order: the result view first, then the buttons left to right.
    order = tab_cycle(qtbot, window, window.result_view)
    assert order == [window.result_view, *(window.buttons[n] for n in BUTTON_ACTIONS), window.status_label]


def test_an_unnamed_control_is_caught(qtbot):
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    window.buttons["copy"].setText("")
    window.buttons["copy"].setAccessibleName("")
    assert [w for w in focusable_widgets(window) if not accessible_name(w)] == [window.buttons["copy"]]


def test_buttons_say_their_shortcut(qtbot):
    window = MainWindow()
    qtbot.addWidget(window)
    for name, button in window.buttons.items():
        keys = window.action(name).shortcuts()[0].toString()
        assert keys in button.toolTip(), name
        iface = QAccessible.queryAccessibleInterface(button)
        assert keys in iface.text(QAccessible.Text.Description), name


def test_result_view_is_read_only_with_a_keyboard_caret(qtbot):
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    window.show_result("Screen with text.\nText: File Edit View.\nCould be: a menu bar.")
    view = window.result_view
    assert view.isReadOnly()
    assert view.textInteractionFlags() & Qt.TextInteractionFlag.TextSelectableByKeyboard
    assert QApplication.focusWidget() is view or not window.isActiveWindow()
    view.setFocus()
    qtbot.keyClick(view, Qt.Key.Key_Down)
    cursor = view.textCursor()
    assert cursor.block().text() == "Text: File Edit View."  # read line by line with the arrow keys


def test_status_changes_reach_the_accessible_name(qtbot):
    window = MainWindow()
    qtbot.addWidget(window)
    window.set_status("Loading model git-base…")
    assert accessible_name(window.status_label) == "Status: Loading model git-base…"
    window.set_status("The file is damaged.", assertive=True)
    assert window.status_label.text() == "The file is damaged."
    assert accessible_name(window.status_label) == "Status: The file is damaged."


def test_announcements_with_an_active_accessibility_bridge(qtbot):
    """With a screen reader attached Qt's accessibility is active and the announcement event is really
    sent (QAccessibleAnnouncementEvent on Qt 6.8+); this must work for polite and assertive messages."""
    from describe_aloud.gui.announce import HAS_ANNOUNCEMENT_EVENT

    assert HAS_ANNOUNCEMENT_EVENT  # PySide6 6.12 has it
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    was_active = QAccessible.isActive()
    QAccessible.setActive(True)
    try:
        window.set_status("Ready")
        window.set_status("The model could not be loaded.", assertive=True)
    finally:
        QAccessible.setActive(was_active)
    assert accessible_name(window.status_label) == "Status: The model could not be loaded."


def test_settings_dialog_tree_names_and_tab_order(qtbot):
    dialog = SettingsDialog(Settings(), voices=[Voice(id="en", name="English", languages=["en"])])
    qtbot.addWidget(dialog)
    check_tree(qtbot, dialog, dialog.model_combo)


def test_history_dialog_tree_names_and_tab_order(qtbot):
    with HistoryStore() as store:
        store.add(Description(kind=ImageKind.PHOTO, caption="a red bicycle"), source="bike.jpg")
        dialog = HistoryDialog(store, lambda text: None)
        qtbot.addWidget(dialog)
        check_tree(qtbot, dialog, dialog.search_edit)
        dialog.close()


def test_f10_opens_the_menu_bar(qtbot):
    from describe_aloud.gui.main_window import MainWindow

    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    window.findChild(type(window.action("quit")), "action_open_menu_bar").trigger()
    assert window.menuBar().activeAction() is not None
    assert window.menuBar().activeAction().text() == "&File"


def test_status_lines_name_a_file_not_its_whole_path():
    from pathlib import Path

    from describe_aloud.gui.presenter import short_source
    from describe_aloud.gui.worker import DescribeJob

    job = DescribeJob(source="/home/someone/Pictures/holiday/beach.jpg", path=Path("/home/someone/Pictures/holiday/beach.jpg"))
    assert short_source(job) == "beach.jpg"
    assert short_source(DescribeJob(source="screen")) == "screen"


def test_hotkey_fields_say_their_whole_combination_or_none(qtbot):
    settings = Settings()
    settings.hotkeys = {**settings.hotkeys, "stop_speech": ""}
    dialog = SettingsDialog(settings, voices=[])
    qtbot.addWidget(dialog)
    filled = dialog.hotkey_edits["describe_screen"]
    assert accessible_name(filled).endswith(": Ctrl+Alt+D")  # the last key too
    empty = dialog.hotkey_edits["stop_speech"]
    assert accessible_name(empty).endswith(": none")  # an empty field is not silent
    empty.setText("Ctrl+Alt+X")
    assert accessible_name(empty).endswith(": Ctrl+Alt+X")  # the name follows what is typed
