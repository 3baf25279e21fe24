"""Questions and answers kept with a history entry (the `answers` table), and old history files."""
from __future__ import annotations

import sqlite3

from describe_aloud.engine.description import Description, ImageKind
from describe_aloud.engine.history import HistoryStore

OLD_SCHEMA = """
CREATE TABLE entries (id INTEGER PRIMARY KEY AUTOINCREMENT, time REAL NOT NULL, source TEXT NOT NULL DEFAULT '',
    kind TEXT NOT NULL DEFAULT '', text TEXT NOT NULL DEFAULT '', description TEXT NOT NULL DEFAULT '{}',
    thumbnail BLOB);
INSERT INTO entries (time, source, kind, text) VALUES (1.0, 'old.png', 'photo', 'Picture. A cat.');
"""


def test_an_entry_keeps_its_conversation_in_order_and_loses_it_when_deleted(tmp_path):
    with HistoryStore(tmp_path / "h.sqlite3") as store:
        entry = store.add(Description(kind=ImageKind.PHOTO, caption="a red car"), source="car.png")
        other = store.add(Description(kind=ImageKind.PHOTO, caption="a dog"), source="dog.png")
        store.add_answer(entry.id, "What colour is the car?", {"answer": "Red."}, "It looks like red.")
        store.add_answer(entry.id, "Is it parked?", {"answer": "Yes."}, "It looks like yes.")
        assert [a["question"] for a in store.answers(entry.id)] == ["What colour is the car?", "Is it parked?"]
        assert store.answers(entry.id)[0]["answer"] == {"answer": "Red."}
        assert store.answers(other.id) == []
        store.delete(entry.id)
        assert store.answers(entry.id) == []
    with HistoryStore(tmp_path / "h.sqlite3") as store:  # kept across restarts
        store.add_answer(other.id, "A dog?", {}, "I can't tell from this image.")
        assert store.answers(other.id)[0]["speech"] == "I can't tell from this image."


def test_a_history_file_from_before_questions_opens_keeps_its_entries_and_takes_answers(tmp_path):
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.executescript(OLD_SCHEMA)
    with HistoryStore(path) as store:
        [old] = store.recent()
        assert old.source == "old.png" and old.text == "Picture. A cat."
        store.add_answer(old.id, "What animal?", {"answer": "A cat."}, "It looks like a cat.")
        assert store.answers(old.id)[0]["question"] == "What animal?"


def test_pruning_old_entries_prunes_their_answers(tmp_path):
    with HistoryStore(tmp_path / "h.sqlite3", max_entries=1) as store:
        first = store.add(Description(kind=ImageKind.PHOTO, caption="one"), when=1.0)
        store.add_answer(first.id, "Q?", {}, "A.")
        store.add(Description(kind=ImageKind.PHOTO, caption="two"), when=2.0)
        assert store.answers(first.id) == []
