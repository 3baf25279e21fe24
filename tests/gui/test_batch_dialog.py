"""The "Describe folder…" dialog, offscreen, with a tiny real model: progress, speech, pause, cancel, summary."""
from __future__ import annotations

import csv

import pytest

pytest.importorskip("PySide6")

from PySide6.QtWidgets import QAbstractButton, QComboBox, QLabel, QLineEdit  # noqa: E402

from describe_aloud.engine.invocation import user_command
from describe_aloud.engine.config import Settings  # noqa: E402
from describe_aloud.gui.batch_dialog import BatchDialog  # noqa: E402
from tests.fixtures.photo_folder import make_many_images  # noqa: E402
from tests.fixtures.qt import RecordingSpeaker  # noqa: E402

TIMEOUT_MS = 180_000


@pytest.fixture
def dialog(qtbot, tiny_git_dir):
    settings = Settings(model=str(tiny_git_dir), speak_ocr=False, batch_progress_every_percent=25)
    speaker = RecordingSpeaker()
    dlg = BatchDialog(None, settings, speaker)
    qtbot.addWidget(dlg)
    dlg.test_speaker = speaker
    yield dlg
    dlg.shutdown()


def test_every_control_has_an_accessible_name_and_a_keyboard_path(dialog):
    controls = dialog.findChildren(QAbstractButton) + dialog.findChildren(QComboBox) + dialog.findChildren(QLineEdit)
    assert len(controls) >= 9
    for widget in controls:
        assert widget.accessibleName(), widget
        if isinstance(widget, (QAbstractButton,)) and widget.text():
            assert "&" in widget.text(), widget.text()  # an Alt+letter mnemonic
    labels = [w.text() for w in dialog.findChildren(QAbstractButton)] + [w.text() for w in dialog.findChildren(QLabel)]
    keys = [t[t.index("&") + 1].lower() for t in labels if "&" in t]
    assert len(keys) == len(set(keys)), keys  # no two controls share an Alt+letter
    assert dialog.progress_bar.accessibleName() == "Progress"
    assert dialog.summary_view.accessibleName() == "Summary"


def test_describes_folder_speaks_progress_and_summary(qtbot, dialog, tmp_path):
    folder = tmp_path / "photos"
    names = make_many_images(folder, 12)
    dialog.folder_edit.setText(str(folder))
    dialog.output_combo.setCurrentIndex(0)  # CSV
    dialog.sidecar_combo.setCurrentIndex(1)  # text sidecars

    dialog.start_button.click()
    assert dialog.running and not dialog.start_button.isEnabled()
    qtbot.waitUntil(lambda: dialog.summary is not None, timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: not dialog.running, timeout=10_000)

    summary = dialog.summary
    assert summary.described == 12 and not summary.failed
    said = dialog.test_speaker.texts()
    assert any("percent" in s and "of 12 images" in s for s in said), said
    assert any(s.startswith("12 images found: 12 described") for s in said), said
    assert "12 described" in dialog.summary_view.toPlainText()
    assert dialog.progress_bar.value() == 100
    with open(folder / "describe-aloud-results.csv", encoding="utf-8-sig", newline="") as fh:
        assert sorted(r["path"] for r in csv.DictReader(fh)) == names
    assert all((folder / f"{n}.txt").exists() for n in names)
    assert dialog.start_button.isEnabled()


def test_pause_resume_and_cancel_keep_the_app_responsive(qtbot, dialog, tmp_path):
    folder = tmp_path / "many"
    make_many_images(folder, 40)
    dialog.folder_edit.setText(str(folder))
    dialog.output_combo.setCurrentIndex(3)  # no results file: the journal only

    dialog.start_button.click()
    qtbot.waitUntil(lambda: dialog.progress_bar.value() > 0, timeout=TIMEOUT_MS)
    dialog.pause_button.click()
    assert "Paused" in dialog.status_label.text()
    assert dialog.pause_button.accessibleName() == "Resume"
    qtbot.wait(2000)  # the batch in flight (and progress already on its way) may still arrive
    settled = dialog.progress_bar.value()
    qtbot.wait(2000)
    assert dialog.progress_bar.value() == settled < 100  # paused: nothing moves
    assert dialog.running
    dialog.pause_button.click()
    assert dialog.pause_button.accessibleName() == "Pause"
    dialog.cancel_button.click()
    qtbot.waitUntil(lambda: not dialog.running, timeout=TIMEOUT_MS)

    assert dialog.summary is not None and dialog.summary.cancelled
    assert 0 < dialog.summary.described < 40
    assert "continue where it stopped" in dialog.summary_view.toPlainText()


def test_missing_folder_is_said_and_nothing_starts(qtbot, dialog, tmp_path):
    dialog.folder_edit.setText(str(tmp_path / "nope"))
    dialog.start_button.click()
    assert not dialog.running
    assert "existing folder" in dialog.status_label.text()


def test_missing_model_is_reported(qtbot, tmp_path):
    settings = Settings(model="git-base", speak_ocr=False)
    speaker = RecordingSpeaker()
    dlg = BatchDialog(None, settings, speaker)
    qtbot.addWidget(dlg)
    folder = tmp_path / "p"
    make_many_images(folder, 1)
    dlg.folder_edit.setText(str(folder))
    dlg.start_button.click()
    qtbot.waitUntil(lambda: not dlg.running, timeout=TIMEOUT_MS)
    assert user_command("models", "download", "git-base") in dlg.status_label.text()
    assert any("models download" in s for s in speaker.texts())


def test_shutdown_while_running_stops_the_worker_promptly(qtbot, dialog, tmp_path):
    import time

    folder = tmp_path / "quit"
    make_many_images(folder, 40)
    dialog.folder_edit.setText(str(folder))
    dialog.start_button.click()
    qtbot.waitUntil(lambda: dialog.progress_bar.value() > 0, timeout=TIMEOUT_MS)
    started = time.monotonic()
    assert dialog.shutdown(timeout_ms=30_000)  # what the app does on quit
    assert time.monotonic() - started < 20
    assert not dialog.running


def test_replacing_others_alt_text_is_off_and_only_offered_with_write_metadata(dialog, tmp_path):
    dialog.folder_edit.setText(str(tmp_path))
    assert not dialog.replace_alt_check.isEnabled() and not dialog.options().replace_alt_text
    dialog.metadata_check.setChecked(True)
    assert dialog.replace_alt_check.isEnabled() and not dialog.options().replace_alt_text
    dialog.replace_alt_check.setChecked(True)
    assert dialog.options().replace_alt_text and dialog.options().write_metadata
    dialog.metadata_check.setChecked(False)  # no alt text is written at all: nothing is replaced
    assert not dialog.replace_alt_check.isEnabled() and not dialog.options().replace_alt_text


def test_enter_starts_the_batch_after_browse_was_used(qtbot, dialog, tmp_path, monkeypatch):
    """After choosing a folder with Browse, Enter in the folder field (or on the summary) opened Browse
    again: that button had stayed the default. Enter on a focused button still presses that button."""
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QFileDialog

    folder = tmp_path / "p"
    make_many_images(folder, 1)
    asked: list[str] = []
    monkeypatch.setattr(QFileDialog, "getExistingDirectory",
                        staticmethod(lambda *a, **k: asked.append("browse") or str(folder)))
    dialog.show()
    dialog.activateWindow()
    qtbot.waitUntil(dialog.isActiveWindow)
    dialog.browse_button.setFocus()
    qtbot.waitUntil(dialog.browse_button.hasFocus)
    qtbot.keyClick(dialog.browse_button, Qt.Key.Key_Space)
    assert asked == ["browse"] and dialog.folder_edit.text() == str(folder)
    dialog.folder_edit.setFocus()
    qtbot.waitUntil(dialog.folder_edit.hasFocus)
    qtbot.keyClick(dialog.folder_edit, Qt.Key.Key_Return)
    assert asked == ["browse"] and dialog.running  # started, not browsing again
    qtbot.waitUntil(lambda: not dialog.running, timeout=TIMEOUT_MS)


def test_a_folder_is_described_with_the_model_the_app_runs_with(qtbot, tmp_path, tiny_git_dir):
    """`gui --model X`: the app described with X, the folder dialog with the saved setting (not downloaded)."""
    settings = Settings(model="git-base", speak_ocr=False)
    dlg = BatchDialog(None, settings, RecordingSpeaker(), model=lambda: (str(tiny_git_dir), "fp32"))
    qtbot.addWidget(dlg)
    folder = tmp_path / "p"
    make_many_images(folder, 1)
    dlg.folder_edit.setText(str(folder))
    assert dlg.options().model == str(tiny_git_dir) and dlg.options().precision == "fp32"
    dlg.start_button.click()
    qtbot.waitUntil(lambda: not dlg.running, timeout=TIMEOUT_MS)
    assert "1 described" in dlg.summary_view.toPlainText() and "not downloaded" not in dlg.status_label.text()
    dlg.shutdown()
