"""Describing a folder with a tiny real captioner: every image once, bad files reported, resumable, safe."""
from __future__ import annotations

import csv
import json
import os
import sqlite3
from pathlib import Path

import pytest

from describe_aloud.engine.batch import BatchOptions, BatchRunner, scan_folder
from describe_aloud.engine.journal import JOURNAL_NAME, Journal
from describe_aloud.engine.outputs import OutputConflict
from tests.fixtures.photo_folder import encode, make_many_images, noise_image


@pytest.fixture(scope="module")
def tiny_captioner(tmp_path_factory):
    from describe_aloud.engine.captioners import load_captioner
    from tests.fixtures.tiny_models import build_tiny_git

    path = build_tiny_git(tmp_path_factory.mktemp("tiny-git") / "git")
    return load_captioner(str(path))


def run(folder: Path, captioner, **kw) -> tuple[BatchRunner, object]:
    kw.setdefault("use_ocr", False)  # OCR has its own tests; keeps these fast
    kw.setdefault("batch_size", 3)
    kw.setdefault("checkpoint_seconds", 0)
    runner = BatchRunner(BatchOptions(folder=str(folder), **kw), captioner=captioner)
    return runner, runner.run()


def csv_rows(path: Path) -> list[dict]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def journal_rows(folder: Path) -> dict[str, tuple]:
    with sqlite3.connect(folder / JOURNAL_NAME) as db:
        return {r[0]: r[1:] for r in db.execute("SELECT path, status, described_at, error FROM entries")}


def test_scan_skips_hidden_and_non_image_files(photo_folder):
    found = scan_folder(photo_folder.root, recursive=True)
    assert sorted(found) == sorted(photo_folder.good + list(photo_folder.bad))
    top = scan_folder(photo_folder.root, recursive=False)
    assert all("/" not in p for p in top) and "beach.jpg" in top


def test_every_good_image_described_once_bad_ones_reported(photo_folder, tiny_captioner, tmp_path):
    out = tmp_path / "results.csv"
    hashes = photo_folder.hashes()

    _, summary = run(photo_folder.root, tiny_captioner, recursive=True, out=str(out))

    assert summary.described == len(photo_folder.good)
    assert summary.skipped == 0
    failed = dict(summary.failed)
    assert set(failed) == set(photo_folder.bad)
    for rel, what in photo_folder.bad.items():
        assert what in failed[rel], failed[rel]
    rows = csv_rows(out)
    assert sorted(r["path"] for r in rows) == sorted(photo_folder.good + list(photo_folder.bad))
    for r in rows:
        if r["path"] in photo_folder.good:
            assert r["status"] == "described" and r["caption"] and r["alt_text"]
            assert r["model_id"] == tiny_captioner.model_id
        else:
            assert r["status"] == "failed" and r["error"]
    # Without --write-metadata no image is touched (only the journal and our results file are new).
    assert photo_folder.hashes() == hashes


def test_second_run_skips_done_and_redescribes_changed_file(photo_folder, tiny_captioner):
    run(photo_folder.root, tiny_captioner, recursive=True)
    first = journal_rows(photo_folder.root)
    changed = photo_folder.root / "garden.png"
    changed.write_bytes(encode(noise_image(999), "PNG"))

    _, summary = run(photo_folder.root, tiny_captioner, recursive=True)

    assert summary.described == 1
    assert summary.skipped == len(photo_folder.good) - 1
    assert len(summary.failed) == len(photo_folder.bad)  # bad files are retried, and still bad
    second = journal_rows(photo_folder.root)
    for rel in photo_folder.good:
        if rel == "garden.png":
            assert second[rel][1] >= first[rel][1]
        else:
            assert second[rel] == first[rel]


def test_hash_option_catches_content_change_with_same_size_and_mtime(tmp_path, tiny_captioner):
    folder = tmp_path / "f"
    make_many_images(folder, 2)
    run(folder, tiny_captioner, hash_files=True)
    target = folder / "img_000.jpg"
    st = target.stat()
    data = bytearray(target.read_bytes())
    data[-10] ^= 0x01  # same size
    target.write_bytes(bytes(data))
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))

    _, without_hash = run(folder, tiny_captioner, hash_files=False)
    assert without_hash.described == 0  # size + mtime alone cannot see it (documented)
    _, with_hash = run(folder, tiny_captioner, hash_files=True)
    assert with_hash.described == 1 and with_hash.skipped == 1


def test_cancel_then_resume_gives_every_image_exactly_once(tmp_path, tiny_captioner):
    folder = tmp_path / "many"
    names = make_many_images(folder, 9)
    out = tmp_path / "r.jsonl"
    runner = BatchRunner(BatchOptions(folder=str(folder), out=str(out), batch_size=2, use_ocr=False,
                                      checkpoint_seconds=0), captioner=tiny_captioner,
                         on_progress=lambda p: runner.cancel() if p.done >= 2 else None)
    summary = runner.run()
    assert summary.cancelled
    assert 2 <= summary.described < 9
    partial = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(partial) == summary.described

    _, rest = run(folder, tiny_captioner, out=str(out))
    assert rest.skipped == summary.described
    assert rest.described == 9 - summary.described
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert sorted(r["path"] for r in rows) == names


def test_pause_blocks_until_resumed(tmp_path, tiny_captioner):
    import threading

    folder = tmp_path / "p"
    make_many_images(folder, 4)
    seen = []
    runner = BatchRunner(BatchOptions(folder=str(folder), batch_size=1, use_ocr=False), captioner=tiny_captioner,
                         on_progress=lambda p: (seen.append(p.done), runner.pause() if p.done == 1 else None))
    thread = threading.Thread(target=runner.run)
    thread.start()
    thread.join(timeout=3)
    assert thread.is_alive() and runner.paused and max(seen) == 1
    runner.resume()
    thread.join(timeout=60)
    assert not thread.is_alive() and max(seen) == 4


def test_write_metadata_then_rerun_does_not_describe_again(photo_folder, tiny_captioner):
    _, summary = run(photo_folder.root, tiny_captioner, recursive=True, write_metadata=True)
    written = {"beach.jpg", "garden.png", "street.webp", "scan.tif", "holiday/day1.jpg", "holiday/2024/night.png",
               "holiday/2024/lossless.webp"}
    assert summary.metadata_written == len(written)
    assert {p for p, _ in summary.metadata_problems} == {"old.bmp", "anim.gif"}
    from describe_aloud.engine.metadata import read_alt_text

    with Journal(photo_folder.root / JOURNAL_NAME) as journal:
        for rel in written:
            assert read_alt_text(photo_folder.root / rel) == journal.get(rel).alt_text
    hashes = photo_folder.hashes()

    _, again = run(photo_folder.root, tiny_captioner, recursive=True, write_metadata=True)
    assert again.described == 0 and again.skipped == len(photo_folder.good)
    assert again.metadata_written == 0 and again.metadata_problems == []  # unsupported ones are not retried
    assert photo_folder.hashes() == hashes


def test_metadata_flag_on_a_later_run_writes_without_describing_again(tmp_path, tiny_captioner):
    folder = tmp_path / "later"
    make_many_images(folder, 3)
    run(folder, tiny_captioner)
    _, summary = run(folder, tiny_captioner, write_metadata=True, sidecar="txt")
    assert summary.described == 0 and summary.skipped == 3
    assert summary.metadata_written == 3 and summary.sidecars_written == 3
    assert (folder / "img_001.jpg.txt").read_text(encoding="utf-8").strip()


def test_existing_results_file_not_ours_is_never_overwritten(photo_folder, tiny_captioner, tmp_path):
    out = tmp_path / "results.csv"
    out.write_text("name,notes\nmine,important\n", encoding="utf-8")
    with pytest.raises(OutputConflict):
        run(photo_folder.root, tiny_captioner, out=str(out))
    assert out.read_text(encoding="utf-8") == "name,notes\nmine,important\n"
    assert not (photo_folder.root / JOURNAL_NAME).exists() or not journal_rows(photo_folder.root)

    ours = tmp_path / "ours.csv"
    run(photo_folder.root, tiny_captioner, out=str(ours))
    run(photo_folder.root, tiny_captioner, out=str(ours))  # our own file is replaced, no error
    top_level = [p for p in photo_folder.good + list(photo_folder.bad) if "/" not in p]
    assert sorted(r["path"] for r in csv_rows(ours)) == sorted(top_level)


def test_results_list_only_the_images_of_this_run(photo_folder, tiny_captioner, tmp_path):
    out = tmp_path / "r.csv"
    run(photo_folder.root, tiny_captioner, recursive=True, out=str(out))
    (photo_folder.root / "beach.jpg").unlink()
    run(photo_folder.root, tiny_captioner, recursive=False, out=str(out))
    paths = {r["path"] for r in csv_rows(out)}
    assert "beach.jpg" not in paths and "holiday/day1.jpg" not in paths and "garden.png" in paths


def test_text_sidecar_of_someone_else_is_kept(tmp_path, tiny_captioner):
    folder = tmp_path / "s"
    make_many_images(folder, 2)
    theirs = folder / "img_000.jpg.txt"
    theirs.write_text("written by a person", encoding="utf-8")
    _, summary = run(folder, tiny_captioner, sidecar="txt")
    assert theirs.read_text(encoding="utf-8") == "written by a person"
    assert [p for p, _ in summary.sidecar_problems] == ["img_000.jpg"]
    assert (folder / "img_001.jpg.txt").exists()


def test_json_output_has_every_image(photo_folder, tiny_captioner, tmp_path):
    out = tmp_path / "r.json"
    run(photo_folder.root, tiny_captioner, recursive=True, out=str(out))
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["generator"] == "describe-aloud"
    paths = [r["path"] for r in doc["images"]]
    assert sorted(paths) == sorted(photo_folder.good + list(photo_folder.bad))
    assert len(paths) == len(set(paths))


def test_second_batch_on_the_same_folder_is_refused(tmp_path, tiny_captioner):
    from describe_aloud.engine.errors import UserFacingError

    folder = tmp_path / "busy"
    make_many_images(folder, 1)
    with Journal(folder / JOURNAL_NAME, exclusive=True):
        with pytest.raises(UserFacingError, match="Another batch is already describing"):
            run(folder, tiny_captioner)
    _, summary = run(folder, tiny_captioner)  # the lock went with the first run
    assert summary.described == 1


class _BrokenOnce:
    """The real tiny captioner, except that its first call fails as a model can (out of memory...)."""

    def __init__(self, inner) -> None:
        self.inner, self.calls = inner, 0
        self.model_id, self.capabilities, self.beam_size = inner.model_id, inner.capabilities, None

    def warm_up(self) -> None:
        self.inner.warm_up()

    def caption(self, images, **kw):
        self.calls += 1
        if self.calls == 1:
            raise RuntimeError("out of memory")
        return self.inner.caption(images, **kw)


def test_model_failure_is_reported_not_recorded_as_done(tmp_path, tiny_captioner):
    folder = tmp_path / "flaky"
    names = make_many_images(folder, 4)
    _, first = run(folder, _BrokenOnce(tiny_captioner), batch_size=2)
    assert first.described == 2
    assert [p for p, _ in first.failed] == names[:2]
    assert all("out of memory" in reason for _, reason in first.failed)
    _, second = run(folder, tiny_captioner, batch_size=2)
    assert second.described == 2 and second.skipped == 2 and not second.failed


def test_alt_text_follows_the_trust_rules():
    from describe_aloud.engine.description import Description, ImageKind, TextLine
    from describe_aloud.engine.render import alt_text as alt_text_for

    line = TextLine("OPEN 9 to 5", (0, 0, 10, 10), 0.99)
    assert alt_text_for(Description(ImageKind.PHOTO, caption="a shop front")) == "A shop front."
    assert alt_text_for(Description(ImageKind.PHOTO, caption="a shop front", text_lines=[line])) == \
        'A shop front. Sign reads: "OPEN 9 to 5".'
    doc = alt_text_for(Description(ImageKind.DOCUMENT, caption="a letter", text_lines=[line]))
    assert doc.startswith('Document. Text: "OPEN 9 to 5".')  # the read text leads
    assert alt_text_for(Description(ImageKind.BLANK, blank_reason="all black")) == "Blank image: all black."


def test_detail_gives_detailed_captions_and_changes_what_counts_as_done(tmp_path, tiny_florence2_dir):
    from describe_aloud.engine.captioners import load_captioner

    florence = load_captioner(str(tiny_florence2_dir))
    folder = tmp_path / "detail"
    make_many_images(folder, 2)
    out = tmp_path / "d.csv"
    _, plain = run(folder, florence, out=str(out))
    assert plain.described == 2
    assert all(not r["detailed_caption"] for r in csv_rows(out))
    _, detailed = run(folder, florence, out=str(out), detail=True)
    assert detailed.described == 2 and detailed.skipped == 0  # a different setting: described again
    rows = csv_rows(out)
    assert len(rows) == 2 and all(r["detailed_caption"] for r in rows)
    assert all(r["alt_text"].startswith(r["detailed_caption"][:1].upper()) for r in rows)


def test_unusable_journal_in_the_folder_falls_back_to_the_data_folder(tmp_path, tiny_captioner):
    folder = tmp_path / "share"
    make_many_images(folder, 2)
    (folder / JOURNAL_NAME).mkdir()  # SQLite cannot open it (as on a share without WAL support)
    _, summary = run(folder, tiny_captioner)
    assert summary.described == 2
    assert Path(summary.journal).parent.name == "batch-journals"
    _, again = run(folder, tiny_captioner)
    assert again.skipped == 2 and again.described == 0


def test_many_files_with_the_same_metadata_problem_are_said_in_one_line():
    """A folder of GIFs gave one identical sentence per file to listen to; now one line per reason, with the
    first names and a count (a single file keeps its own line)."""
    from describe_aloud.engine.batch_types import BatchSummary

    gif = "GIF files cannot hold alt text here; use --sidecar xmp instead"
    summary = BatchSummary(folder="f")
    summary.metadata_problems = [(f"anim{i}.gif", gif) for i in range(7)] + [("old.bmp", "BMP: another reason")]
    lines = summary.problem_lines()
    assert lines == [f"Metadata not written into 7 files ({gif}): anim0.gif, anim1.gif, anim2.gif, anim3.gif, "
                     "anim4.gif and 2 more",
                     "Metadata not written: old.bmp: BMP: another reason"]
    assert set(lines) <= set(summary.lines())
