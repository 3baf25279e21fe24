"""Batch on a local Ray cluster with a tiny real captioner: the same records as local batch, every image
exactly once through bad files, a killed model actor and a killed driver (then the same command again)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from describe_aloud.engine.batch import BatchOptions, BatchRunner
from describe_aloud.engine.ray_batch import RayBatchOptions, RayBatchRunner
from describe_aloud.engine.ray_batch.manifest import MANIFEST_NAME
from tests.fixtures.photo_folder import make_many_images, make_photo_folder

ROOT = Path(__file__).resolve().parents[2]
# Ray starts worker processes that import torch: minutes, not seconds, when the machine is busy.
pytestmark = pytest.mark.timeout(1200)
IGNORED = {"described_at"}  # the time each image was described: the only field that differs between runs


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    """200 small JPEGs, and a sub-folder of other formats with 4 broken files (truncated, empty, not an
    image, a decompression bomb): 209 images in all."""
    root = tmp_path_factory.mktemp("archive") / "photos"
    names = make_many_images(root, 196)
    mixed = make_photo_folder(root / "mixed")
    good = names + [f"mixed/{rel}" for rel in mixed.good]
    bad = [f"mixed/{rel}" for rel in mixed.bad]
    return root, sorted(good), sorted(bad)


@pytest.fixture(scope="module")
def small_archive(tmp_path_factory):
    """40 small JPEGs and 2 broken files, for the tests that kill things (each costs a restart)."""
    root = tmp_path_factory.mktemp("small") / "photos"
    good = make_many_images(root, 40)
    (root / "truncated.jpg").write_bytes((root / good[0]).read_bytes()[:300])
    (root / "empty.png").write_bytes(b"")
    return root, sorted(good), ["empty.png", "truncated.jpg"]


def jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def ray_run(folder: Path, out: Path, model: Path, **kw):
    kw.setdefault("use_ocr", False)
    kw.setdefault("shard_size", 16)
    kw.setdefault("batch_size", 4)
    on_shard = kw.pop("on_shard", None)
    options = RayBatchOptions(input=str(folder), out=str(out), model=str(model), recursive=True, **kw)
    return RayBatchRunner(options, on_shard=on_shard).run()


def assert_exactly_once(rows: list[dict], good: list[str], bad: list[str]) -> None:
    paths = [r["path"] for r in rows]
    assert len(paths) == len(set(paths)), "an image appears twice"
    assert sorted(paths) == sorted(good + bad)
    failed = sorted(r["path"] for r in rows if r["status"] == "failed")
    assert failed == sorted(bad)
    assert all(r["alt_text"] for r in rows if r["status"] == "described")


def test_every_image_once_and_the_same_records_as_local_batch(ray_local, archive, tiny_git_dir, tmp_path):
    folder, good, bad = archive
    out = tmp_path / "ray.jsonl"
    summary = ray_run(folder, out, tiny_git_dir)
    assert (summary.found, summary.described, len(summary.failed)) == (len(good) + len(bad), len(good), len(bad))
    assert not summary.stopped
    rows = jsonl(out)
    assert_exactly_once(rows, good, bad)
    assert any("truncated" in r["error"] for r in rows if r["path"] == "mixed/truncated.jpg")

    from describe_aloud.engine.captioners import load_captioner

    local_out = tmp_path / "local.jsonl"
    BatchRunner(BatchOptions(folder=str(folder), recursive=True, out=str(local_out), use_ocr=False, batch_size=4,
                             journal_path=str(tmp_path / "journal.sqlite")),
                captioner=load_captioner(str(tiny_git_dir))).run()
    strip = lambda rs: [{k: v for k, v in r.items() if k not in IGNORED} for r in rs]  # noqa: E731
    assert strip(rows) == strip(jsonl(local_out))

    again = ray_run(folder, out, tiny_git_dir)  # nothing left to do: no work, same file
    assert (again.described, again.skipped) == (0, len(good) + len(bad))
    assert jsonl(out) == rows


def test_text_is_read_in_its_own_stage_as_locally_and_sidecars_are_written(ray_local, tiny_git_dir, tmp_path):
    from PIL import Image, ImageDraw

    from describe_aloud.engine.captioners import load_captioner

    folder = tmp_path / "scans"
    make_many_images(folder, 3, size=(160, 120))
    page = Image.new("RGB", (640, 200), "white")
    ImageDraw.Draw(page).text((20, 60), "Museum of Art, room 12", fill="black", font_size=40)
    page.save(folder / "label.png")
    out, local_out = tmp_path / "ray.csv", tmp_path / "local.csv"
    summary = ray_run(folder, out, tiny_git_dir, use_ocr=True, shard_size=2, sidecar="txt")
    assert summary.sidecars_written == 4 and not summary.sidecar_problems
    BatchRunner(BatchOptions(folder=str(folder), out=str(local_out), use_ocr=True, batch_size=4,
                             journal_path=str(tmp_path / "journal.sqlite")),
                captioner=load_captioner(str(tiny_git_dir))).run()
    import csv

    def rows(path):
        with open(path, encoding="utf-8-sig", newline="") as fh:
            return [{k: v for k, v in r.items() if k not in IGNORED} for r in csv.DictReader(fh)]

    ray_rows = rows(out)
    assert "Museum" in next(r for r in ray_rows if r["path"] == "label.png")["ocr_text"]
    assert ray_rows == rows(local_out)
    for row in ray_rows:  # the sidecars next to the images hold the same alt text as the results
        assert (folder / (row["path"] + ".txt")).read_text(encoding="utf-8") == row["alt_text"] + "\n"


def _describe_actor_pids() -> list[int]:
    """The model actors' processes: Ray names them "ray::MapWorker(MapBatches(Describe))" (Linux /proc)."""
    pids = []
    for entry in Path("/proc").iterdir():
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if entry.name.isdigit() and cmdline.startswith("ray::") and "Describe" in cmdline:
            pids.append(int(entry.name))
    return pids


def test_a_killed_model_actor_is_replaced_and_no_image_is_lost_or_doubled(ray_local, small_archive, tiny_git_dir,
                                                                          tmp_path):
    folder, good, bad = small_archive
    killed: list[int] = []

    def kill_once(shard_id: str) -> None:
        if not killed:
            pids = _describe_actor_pids()
            assert pids, "no model actor process found"
            for pid in pids:
                os.kill(pid, signal.SIGKILL)
            killed.extend(pids)

    out = tmp_path / "ray.jsonl"
    summary = ray_run(folder, out, tiny_git_dir, shard_size=4, batch_size=2, on_shard=kill_once)
    assert killed
    assert summary.run_error is None and not summary.stopped, summary.lines()
    assert_exactly_once(jsonl(out), good, bad)


def test_driver_killed_mid_run_then_the_same_command_finishes_the_rest(ray_local, small_archive, tiny_git_dir,
                                                                       tmp_path):
    folder, good, bad = small_archive
    out = tmp_path / "results.jsonl"
    address = ray_local.get_runtime_context().gcs_address
    args = [sys.executable, str(ROOT / "main.py"), "batch", str(folder), "--recursive", "--out", str(out),
            "--model", str(tiny_git_dir), "--no-ocr", "--batch-size", "1", "--shard-size", "4", "--no-progress",
            "--ray", address]
    manifest = Path(str(out) + ".parts") / MANIFEST_NAME
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        deadline = time.monotonic() + 600
        while proc.poll() is None and time.monotonic() < deadline:
            if manifest.exists() and manifest.read_text().count("\n") >= 1:
                break
            time.sleep(0.05)
        assert proc.poll() is None, proc.communicate()[1].decode()[-3000:]
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
    filed_before = manifest.read_text().count("\n")
    assert not out.exists()  # the results file is assembled at the end: the killed run wrote none

    summary = ray_run(folder, out, tiny_git_dir, shard_size=4, batch_size=1)
    assert 0 < summary.skipped < len(good) + len(bad)
    assert summary.skipped >= 4 * filed_before
    assert summary.described + len(summary.failed) + summary.skipped == len(good) + len(bad)
    assert_exactly_once(jsonl(out), good, bad)
