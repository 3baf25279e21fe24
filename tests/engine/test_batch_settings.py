"""A batch never reuses a result made with other settings (review item 2): an image described with OCR off
is described again by a run with OCR on, and a record in another language is not this run's."""
from __future__ import annotations

import sqlite3

import pytest

from describe_aloud.engine.batch import BatchOptions, BatchRunner
from describe_aloud.engine.batch_types import record_settings
from describe_aloud.engine.journal import JOURNAL_NAME, FileKey, Journal
from tests.engine.test_batch import csv_rows, run
from tests.fixtures.photo_folder import make_many_images


@pytest.fixture(scope="module")
def tiny_captioner(tmp_path_factory):
    from describe_aloud.engine.captioners import load_captioner
    from tests.fixtures.tiny_models import build_tiny_git

    return load_captioner(str(build_tiny_git(tmp_path_factory.mktemp("tiny-git") / "git")))


def test_ocr_on_after_an_ocr_off_run_describes_again(tmp_path, tiny_captioner):
    folder = tmp_path / "b3"
    make_many_images(folder, 2)
    _, first = run(folder, tiny_captioner, use_ocr=False, out=str(tmp_path / "r1.json"))
    assert first.described == 2
    _, same = run(folder, tiny_captioner, use_ocr=False, out=str(tmp_path / "r1.json"))
    assert same.described == 0 and same.skipped == 2  # same settings: nothing to redo

    _, second = run(folder, tiny_captioner, use_ocr=True, out=str(tmp_path / "r2.csv"))
    assert second.described == 2 and second.skipped == 0
    assert len(csv_rows(tmp_path / "r2.csv")) == 2
    with Journal(folder / JOURNAL_NAME) as journal:
        assert all('"ocr": true' in e.settings for e in journal.entries())


def test_a_record_in_another_language_is_not_done(tmp_path):
    image = tmp_path / "a.png"
    image.write_bytes(b"x")
    options = BatchOptions(folder=str(tmp_path), use_ocr=False)
    from describe_aloud.engine.journal import Entry

    key = FileKey.of(image)
    with Journal(tmp_path / "j.sqlite") as journal:
        journal.record([Entry(path="a.png", key=key, status="done", model_id="m", alt_text="一个红色的方块。",
                              settings=record_settings(options, "zh_CN"), described_at="2026-12-02T00:00:00+00:00")])
        assert journal.is_done("a.png", key, model_id="m", settings=record_settings(options, "zh_CN"))
        assert not journal.is_done("a.png", key, model_id="m", settings=record_settings(options, "en"))
        translated = BatchOptions(folder=str(tmp_path), use_ocr=False, translate_text=True)
        assert not journal.is_done("a.png", key, model_id="m", settings=record_settings(translated, "zh_CN"))


def test_a_journal_from_before_settings_were_recorded_still_opens_and_is_described_again(tmp_path):
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as db:  # the schema of the first release, without the settings column
        db.execute("CREATE TABLE entries (path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, "
                   "sha256 TEXT, status TEXT NOT NULL, model_id TEXT, detail INTEGER NOT NULL DEFAULT 0, "
                   "description TEXT, alt_text TEXT, error TEXT, described_at TEXT NOT NULL, metadata_status TEXT, "
                   "metadata_note TEXT, sidecar_status TEXT, sidecar_note TEXT)")
        db.execute("INSERT INTO entries (path, size, mtime_ns, status, model_id, described_at) "
                   "VALUES ('a.png', 1, 2, 'done', 'm', 'then')")
    with Journal(path) as journal:
        entry = journal.get("a.png")
        assert entry.settings is None and entry.status == "done"
        assert journal.is_done("a.png", FileKey(1, 2), model_id="m")
        assert not journal.is_done("a.png", FileKey(1, 2), model_id="m",
                                   settings=record_settings(BatchOptions(folder="."), "en"))
