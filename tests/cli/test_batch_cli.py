"""`python main.py batch` as a user runs it: in a subprocess, killed with SIGKILL mid-run, run again."""
from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from describe_aloud.engine.journal import JOURNAL_NAME
from tests.fixtures.photo_folder import make_many_images

ROOT = Path(__file__).resolve().parents[2]


def batch_cmd(*args: str) -> list[str]:
    return [sys.executable, str(ROOT / "main.py"), "batch", *args]


def env() -> dict[str, str]:
    e = dict(os.environ)
    e["OMP_NUM_THREADS"] = "1"
    e["PYTHONUNBUFFERED"] = "1"
    return e


def done_count(folder: Path) -> int:
    journal = folder / JOURNAL_NAME
    if not journal.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{journal}?mode=ro", uri=True, timeout=1) as db:
            return db.execute("SELECT COUNT(*) FROM entries WHERE status = 'done'").fetchone()[0]
    except sqlite3.Error:
        return 0


def test_sigkill_mid_run_then_resume_has_every_image_exactly_once(tmp_path, tiny_git_dir):
    folder = tmp_path / "photos"
    count = 200  # enough that a quiet machine is still in the middle when the kill comes
    names = make_many_images(folder, count)
    out = tmp_path / "results.jsonl"
    args = batch_cmd(str(folder), "--model", str(tiny_git_dir), "--out", str(out), "--batch-size", "1",
                     "--no-ocr", "--no-progress")

    proc = subprocess.Popen(args, env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 240
        while done_count(folder) < 1 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert proc.poll() is None, proc.communicate()[1].decode()[-2000:]
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    killed_at = done_count(folder)
    assert 1 <= killed_at < count

    second = subprocess.run(args, env=env(), capture_output=True, text=True, timeout=300)

    assert second.returncode == 0, second.stderr[-2000:]
    # Nothing done before the kill was described again: the second run described only the rest.
    described = int(second.stdout.split(" described, ")[0].rsplit(": ", 1)[1])
    skipped = int(second.stdout.split(" already done")[0].rsplit(", ", 1)[1])
    assert skipped == killed_at and described == count - killed_at
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert sorted(r["path"] for r in rows) == names  # every image exactly once
    assert all(r["status"] == "described" and r["caption"] for r in rows)


def test_summary_and_exit_code_with_bad_files(photo_folder, tiny_git_dir, tmp_path):
    out = tmp_path / "r.csv"
    result = subprocess.run(
        batch_cmd(str(photo_folder.root), "-r", "--model", str(tiny_git_dir), "--out", str(out), "--no-ocr"),
        env=env(), capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 1  # some files failed
    n_all = len(photo_folder.good) + len(photo_folder.bad)
    assert f"{n_all} images found: {len(photo_folder.good)} described, 0 already done (skipped), " \
           f"{len(photo_folder.bad)} failed." in result.stdout
    for rel in photo_folder.bad:
        assert f"Failed: {rel}" in result.stderr
    assert "img/s" in result.stderr  # the progress bar (count, rate, ETA) is on stderr
    assert out.exists()


def test_default_results_file_when_no_output_is_asked(tmp_path, tiny_git_dir):
    folder = tmp_path / "p"
    make_many_images(folder, 2)
    result = subprocess.run(batch_cmd(str(folder), "--model", str(tiny_git_dir), "--no-ocr", "--no-progress"),
                            env=env(), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert (folder / "describe-aloud-results.csv").exists()


def test_missing_model_exit_2_names_download_command(tmp_path):
    folder = tmp_path / "p"
    make_many_images(folder, 1)
    result = subprocess.run(batch_cmd(str(folder), "--model", "git-base", "--no-progress"),
                            env=env(), capture_output=True, text=True, timeout=300)
    assert result.returncode == 2
    assert "main.py models download git-base" in result.stderr  # the command this user ran
    assert not (folder / "describe-aloud-results.csv").exists()


def test_foreign_results_file_exit_2_untouched(tmp_path, tiny_git_dir):
    folder = tmp_path / "p"
    make_many_images(folder, 1)
    out = tmp_path / "mine.csv"
    out.write_text("my,own\n1,2\n", encoding="utf-8")
    result = subprocess.run(batch_cmd(str(folder), "--model", str(tiny_git_dir), "--out", str(out), "--no-progress"),
                            env=env(), capture_output=True, text=True, timeout=300)
    assert result.returncode == 2
    assert "was not written by Describe Aloud" in result.stderr
    assert out.read_text(encoding="utf-8") == "my,own\n1,2\n"


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_ctrl_c_stops_cleanly_writes_results_and_resumes(tmp_path, tiny_git_dir, sig):
    folder = tmp_path / "photos"
    # Enough images that a quiet machine cannot finish them all between the first result and the signal.
    count = 300
    names = make_many_images(folder, count)
    out = tmp_path / "results.csv"
    args = batch_cmd(str(folder), "--model", str(tiny_git_dir), "--out", str(out), "--batch-size", "1",
                     "--no-ocr", "--no-progress")
    # As in a terminal: a runner that started us in the background may have left SIGINT ignored, and a
    # Python started with SIGINT ignored never turns Ctrl+C into KeyboardInterrupt.
    proc = subprocess.Popen(args, env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 240
    while done_count(folder) < 1 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr[-2000:]
    assert "Stopped early" in stdout and "Run the same command again" in stdout
    first_rows = out.read_text(encoding="utf-8-sig").splitlines()[1:]
    assert 1 <= len(first_rows) < count  # the results written so far were saved on the way out

    second = subprocess.run(args, env=env(), capture_output=True, text=True, timeout=300)
    assert second.returncode == 0, second.stderr[-2000:]
    import csv

    with open(out, encoding="utf-8-sig", newline="") as fh:
        assert sorted(r["path"] for r in csv.DictReader(fh)) == names
