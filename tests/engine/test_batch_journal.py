"""The batch journal: durable rows keyed by path + size + mtime (+ hash), never duplicated."""
from __future__ import annotations

import sqlite3

from describe_aloud.engine.journal import JOURNAL_NAME, Entry, FileKey, Journal, default_journal_path


def entry(path: str, key: FileKey, status: str = "done", **kw) -> Entry:
    return Entry(path=path, key=key, status=status, model_id=kw.pop("model_id", "m"), **kw)


def test_rows_survive_reopening_and_are_never_duplicated(tmp_path):
    path = tmp_path / JOURNAL_NAME
    key = FileKey(10, 123)
    with Journal(path) as journal:
        journal.record([entry("a.jpg", key, alt_text="first"), entry("b.jpg", key, "failed", error="bad")])
        journal.record([entry("a.jpg", key, alt_text="second")])
    with Journal(path) as journal:
        assert [e.path for e in journal.entries()] == ["a.jpg", "b.jpg"]
        assert journal.get("a.jpg").alt_text == "second"
        assert journal.counts() == {"done": 1, "failed": 1}
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_is_done_follows_size_mtime_hash_model_and_detail(tmp_path):
    with Journal(tmp_path / JOURNAL_NAME) as journal:
        journal.record([entry("a.jpg", FileKey(10, 123, "h1"), detail=False)])
        journal.record([entry("b.jpg", FileKey(10, 123), "failed", error="bad")])
        assert journal.is_done("a.jpg", FileKey(10, 123), model_id="m", detail=False)
        assert journal.is_done("a.jpg", FileKey(10, 123, "h1"))
        assert not journal.is_done("a.jpg", FileKey(11, 123))  # size changed
        assert not journal.is_done("a.jpg", FileKey(10, 124))  # mtime changed
        assert not journal.is_done("a.jpg", FileKey(10, 123, "h2"))  # content changed
        assert not journal.is_done("a.jpg", FileKey(10, 123), model_id="other")
        assert not journal.is_done("a.jpg", FileKey(10, 123), detail=True)
        assert not journal.is_done("b.jpg", FileKey(10, 123))  # failed files are tried again
        assert not journal.is_done("c.jpg", FileKey(10, 123))


def test_key_update_after_metadata_write(tmp_path):
    with Journal(tmp_path / JOURNAL_NAME) as journal:
        journal.record([entry("a.jpg", FileKey(10, 123))])
        journal.update_file_state("a.jpg", key=FileKey(900, 123), metadata_status="written")
        assert journal.is_done("a.jpg", FileKey(900, 123))
        assert journal.get("a.jpg").metadata_status == "written"


def test_default_journal_lives_in_the_folder(tmp_path):
    assert default_journal_path(tmp_path) == tmp_path.resolve() / JOURNAL_NAME


def test_a_stop_between_begin_and_its_end_does_not_block_the_results_on_the_way_out(tmp_path):
    """SIGTERM is raised as KeyboardInterrupt; landing right after a BEGIN (before the `with` took over) it
    left the transaction open, and writing the results on the way out failed with 'cannot start a
    transaction within a transaction' (seen in the Ctrl+C test)."""
    with Journal(tmp_path / JOURNAL_NAME) as journal:
        journal.set_written_hash("/r.csv", "a" * 64)
        journal._db.execute("BEGIN IMMEDIATE")  # where the interrupt left it
        journal._db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('half', 'done')")
        journal.set_written_hash("/r.csv", "b" * 64)
        assert journal.written_hash("/r.csv") == "b" * 64
    with Journal(tmp_path / JOURNAL_NAME) as journal:
        assert journal.written_hash("/r.csv") == "b" * 64
