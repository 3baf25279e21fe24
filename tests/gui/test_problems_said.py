"""Problems found outside a request (at start, in a settings file edited while the app runs, a history that
cannot be written) are said by the voice that speaks, not only announced: with the own voice (no screen
reader running, the case in these tests) an announcement alone reaches nobody."""
from __future__ import annotations

import sqlite3

from tests.fixtures.images import TEXT_LINES, text_image

JOB_MS = 120_000


def test_a_history_that_cannot_be_kept_is_said_at_start(qtbot, make_app, tiny_git_dir, tmp_path, monkeypatch):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the data folder should be")
    monkeypatch.setenv("DESCRIBE_ALOUD_DATA_DIR", str(blocked))
    controller = make_app(model=tiny_git_dir, wait_ready=False)
    qtbot.waitUntil(lambda: any("history" in t.lower() for t in controller.test_speaker.texts()), timeout=5000)
    said = next(t for t in controller.test_speaker.texts() if "history" in t.lower())
    assert "kept until the app closes" in said


def test_an_unusable_value_in_a_hand_edited_settings_file_is_said(qtbot, make_app, tiny_git_dir):
    from describe_aloud.engine.config import settings_path

    controller = make_app(model=tiny_git_dir)
    settings_path().parent.mkdir(parents=True, exist_ok=True)
    settings_path().write_text('{"rate": "fast", "volume": 0.5}', encoding="utf-8")
    qtbot.waitUntil(lambda: controller.settings.volume == 0.5, timeout=5000)
    qtbot.waitUntil(lambda: any("rate" in t for t in controller.test_speaker.texts()), timeout=5000)
    said = [t for t in controller.test_speaker.texts() if "cannot be used" in t]
    assert len(said) == 1 and "rate" in said[0]


def test_a_description_the_history_cannot_keep_is_said_after_it(qtbot, make_app, tiny_git_dir, monkeypatch):
    controller = make_app(model=tiny_git_dir)

    def disk_full(*args, **kwargs):
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(controller.history, "add", disk_full)
    controller.describe_image(text_image(TEXT_LINES), "list")
    qtbot.waitUntil(lambda: any("history" in t.lower() for t in controller.test_speaker.texts()), timeout=JOB_MS)
    texts = controller.test_speaker.texts()
    problem = next(i for i, t in enumerate(texts) if "history" in t.lower())
    assert any("shopping" in t.lower() for t in texts[:problem])  # the description first, then the problem


def test_a_mistake_in_a_hand_edited_settings_file_is_said_with_where_it_is(qtbot, make_app, tiny_git_dir):
    from describe_aloud.engine.config import settings_path

    controller = make_app(model=tiny_git_dir, rate=180)
    settings_path().parent.mkdir(parents=True, exist_ok=True)
    settings_path().write_text('{"rate": 120,,\n "volume": 0.5}', encoding="utf-8")  # a stray comma
    qtbot.waitUntil(lambda: any("mistake" in t for t in controller.test_speaker.texts()), timeout=5000)
    qtbot.wait(1000)
    said = [t for t in controller.test_speaker.texts() if "mistake" in t]
    assert len(said) == 1 and "line 1, column 14" in said[0]  # said once, where the stray comma is
    assert controller.settings.rate == 180  # the app keeps its settings until the file is corrected
    settings_path().write_text('{"rate": 120, "volume": 0.5}', encoding="utf-8")
    qtbot.waitUntil(lambda: controller.settings.rate == 120, timeout=5000)
