"""History as a screen-reader user meets it: entries apart to the second, Delete said once, Ctrl+Z undoes."""
from __future__ import annotations

import re

from describe_aloud.engine.description import Description, ImageKind
from describe_aloud.engine.history import HistoryStore
from describe_aloud.gui.history_view import ENTRY_ROLE, HistoryDialog, entry_label


def test_entries_a_few_seconds_apart_do_not_sound_the_same():
    with HistoryStore() as store:
        first = store.add(Description(kind=ImageKind.PHOTO, caption="a cat"), source="screen", when=1_700_000_000)
        second = store.add(Description(kind=ImageKind.PHOTO, caption="a cat"), source="screen", when=1_700_000_007)
        assert entry_label(first) != entry_label(second)
        assert re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d, screen: ", entry_label(first))


def test_delete_says_deleted_once_and_ctrl_z_puts_the_entry_back_with_its_questions(qtbot):
    with HistoryStore() as store:
        kept = store.add(Description(kind=ImageKind.PHOTO, caption="a red bicycle"), source="bike.jpg", when=1.0)
        gone = store.add(Description(kind=ImageKind.PHOTO, caption="a blue car"), source="car.jpg", when=2.0)
        store.add_answer(gone.id, "What colour?", {"text": "Blue."}, "It looks like blue.")
        dialog = HistoryDialog(store, lambda text: None)
        qtbot.addWidget(dialog)
        dialog.refresh()
        assert int(dialog.list.currentItem().data(ENTRY_ROLE)) == gone.id  # newest first

        dialog.delete_selected()
        assert [e.id for e in store.search("", limit=10)] == [kept.id]
        said = dialog.status_label.text()
        assert "deleted" in said and "found" not in said and "history" not in said and "Ctrl+Z" in said

        dialog.undo_delete()
        assert [e.id for e in store.search("", limit=10)] == [gone.id, kept.id]
        assert store.get(gone.id).display_text == gone.display_text
        assert store.answers(gone.id)[0]["question"] == "What colour?"
        assert int(dialog.list.currentItem().data(ENTRY_ROLE)) == gone.id
        assert "put back" in dialog.status_label.text()
        dialog.undo_delete()
        assert "Nothing to undo" in dialog.status_label.text()
        dialog.close()


def test_the_questions_asked_about_an_entry_show_with_it_and_are_copied(qtbot):
    from PySide6.QtGui import QGuiApplication

    with HistoryStore() as store:
        car = store.add(Description(kind=ImageKind.PHOTO, caption="a blue car"), source="car.jpg", when=2.0)
        store.add_answer(car.id, "What colour?", {"sentences": [{"text": "Blue.", "grounding": "seen"}]},
                         "It looks like blue.")
        dialog = HistoryDialog(store, lambda text: None)
        qtbot.addWidget(dialog)
        dialog.refresh()
        shown = dialog.detail_view.toPlainText()
        assert shown.startswith(car.display_text) and shown.endswith("You asked: What colour?\nIt looks like blue.")
        dialog.copy_selected()
        assert QGuiApplication.clipboard().text().endswith("You asked: What colour?\nIt looks like blue.")
        dialog.close()
