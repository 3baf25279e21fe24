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


def test_a_journal_that_came_with_the_folder_is_not_trusted(tmp_path, tiny_git_dir):
    """A folder from an archive or a share may hold a journal saying its photos were described, with alt
    text of someone's choosing; without this user's mark it is kept aside and the photos are described."""
    import csv

    from describe_aloud.engine.batch import BatchOptions, BatchRunner
    from describe_aloud.engine.captioners import load_captioner
    from describe_aloud.engine.config import data_dir
    from describe_aloud.engine.journal import OWNER_KEY_FILE
    from tests.fixtures.photo_folder import make_many_images

    folder = tmp_path / "photos"
    make_many_images(folder, 2)
    captioner = load_captioner(str(tiny_git_dir))

    def run():
        options = BatchOptions(folder=str(folder), out=str(tmp_path / "r.csv"), use_ocr=False, checkpoint_seconds=0)
        return BatchRunner(options, captioner=captioner).run()

    assert run().described == 2
    assert run().skipped == 2  # this user's own journal: trusted
    with Journal(folder / JOURNAL_NAME) as journal:  # what the folder's sender would put in it
        journal._db.execute("UPDATE entries SET alt_text = 'A signed contract, amount paid in full.'")
    (data_dir() / OWNER_KEY_FILE).unlink()  # as on another computer or account: another key
    summary = run()
    assert summary.described == 2 and summary.skipped == 0
    assert any("not made by Describe Aloud for you" in note for note in summary.output_notes)
    assert list(folder.glob(JOURNAL_NAME + ".foreign-*"))  # kept, not deleted
    rows = list(csv.DictReader((tmp_path / "r.csv").read_text(encoding="utf-8-sig").splitlines(keepends=True)))
    assert len(rows) == 2 and not any("contract" in row["alt_text"] for row in rows)
    assert run().skipped == 2  # the new journal is this user's
