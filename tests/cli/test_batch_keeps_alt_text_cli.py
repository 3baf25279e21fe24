"""`batch --write-metadata` never replaces alt text someone else wrote into a picture (review item 6):
exiftool writes a person's alt text, the batch runs as a user runs it, exiftool reads the files back."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from describe_aloud.engine.journal import Journal
from describe_aloud.engine.metadata import hashes_of_written, read_alt_text, write_alt_text
from describe_aloud.engine.metadata_formats.existing import record_before_writing
from tests.fixtures.photo_folder import make_many_images

ROOT = Path(__file__).resolve().parents[2]
EXIFTOOL = shutil.which("exiftool")
pytestmark = pytest.mark.skipif(EXIFTOOL is None, reason="exiftool (libimage-exiftool-perl) is a test package")
MINE = "My own alt"


def exif(path: Path) -> dict:
    out = subprocess.run([EXIFTOOL, "-j", "-charset", "UTF8", "-XMP-dc:Description", "-EXIF:ImageDescription",
                          "-XMP-iptcCore:AltTextAccessibility", str(path)],
                         capture_output=True, text=True, check=True, encoding="utf-8")
    return json.loads(out.stdout)[0]


def batch(folder: Path, model: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "main.py"), "batch", str(folder), "--model", str(model),
                           "--no-ocr", "--no-progress", "--write-metadata", *extra],
                          capture_output=True, text=True, timeout=600)


def test_alt_text_a_person_wrote_is_kept_until_replace_is_asked(tmp_path, tiny_git_dir):
    folder = tmp_path / "b1"
    make_many_images(folder, 2)  # img_000.jpg, img_001.jpg
    theirs, fresh = folder / "img_000.jpg", folder / "img_001.jpg"
    subprocess.run([EXIFTOOL, "-q", "-overwrite_original", f"-XMP-dc:Description={MINE}",
                    f"-EXIF:ImageDescription={MINE}", str(theirs)], check=True)
    before = theirs.read_bytes()

    result = batch(folder, tiny_git_dir)
    assert theirs.read_bytes() == before  # not a byte changed
    assert exif(theirs)["Description"] == MINE and exif(theirs)["ImageDescription"] == MINE
    assert "already has alt text that Describe Aloud did not write" in result.stdout + result.stderr
    assert "--replace-alt-text" in result.stdout + result.stderr
    assert exif(fresh).get("AltTextAccessibility")  # the other picture did get its alt text

    result = batch(folder, tiny_git_dir, "--replace-alt-text")
    assert result.returncode == 0, result.stdout + result.stderr
    caption = exif(theirs)["AltTextAccessibility"]
    assert caption and caption != MINE
    assert exif(theirs)["Description"] == caption


def test_our_own_earlier_alt_text_is_replaced_and_camera_boilerplate_does_not_count(tmp_path):
    folder = tmp_path / "own"
    make_many_images(folder, 1)
    image = folder / "img_000.jpg"
    subprocess.run([EXIFTOOL, "-q", "-overwrite_original", "-EXIF:ImageDescription=OLYMPUS DIGITAL CAMERA",
                    str(image)], check=True)
    with Journal(folder / "j.sqlite") as journal:
        ours = record_before_writing(journal, image, "An old caption.")
        assert write_alt_text(image, "An old caption.", ours=ours).ok  # boilerplate is not alt text
        ours = record_before_writing(journal, image, "A new caption, other settings.")
        assert hashes_of_written("An old caption.") <= ours
        assert write_alt_text(image, "A new caption, other settings.", ours=ours).ok
    assert read_alt_text(image) == "A new caption, other settings."
    # A person then edits the alt text in their photo manager: that is theirs now.
    subprocess.run([EXIFTOOL, "-q", "-overwrite_original", f"-XMP-iptcCore:AltTextAccessibility={MINE}",
                    str(image)], check=True)
    with Journal(folder / "j.sqlite") as journal:
        result = write_alt_text(image, "Another caption.", ours=record_before_writing(journal, image, "Another caption."))
    assert result.status == "kept" and MINE in result.reason
    assert read_alt_text(image) == MINE


def test_a_ray_batch_keeps_it_too(tmp_path):
    """The Ray driver writes alt text with the same rule (engine.ray_batch.side_effects)."""
    from describe_aloud.engine.ray_batch.driver import RayBatchOptions
    from describe_aloud.engine.ray_batch.side_effects import SideEffects
    from describe_aloud.engine.ray_batch.summary import RaySummary

    make_many_images(tmp_path, 1)
    image = tmp_path / "img_000.jpg"
    subprocess.run([EXIFTOOL, "-q", "-overwrite_original", f"-XMP-dc:Description={MINE}", str(image)], check=True)
    for replace in (False, True):
        options = RayBatchOptions(input=str(tmp_path), out=str(tmp_path / "r.csv"), write_metadata=True,
                                  replace_alt_text=replace)
        summary = RaySummary(input=str(tmp_path))
        with Journal(tmp_path / "lock.sqlite") as journal:
            SideEffects(options, journal, summary)._one(image, "img_000.jpg", "A red square.")
        if not replace:
            assert summary.metadata_written == 0 and "did not write" in summary.metadata_problems[0][1]
            assert exif(image)["Description"] == MINE
    assert summary.metadata_written == 1 and exif(image)["Description"] == "A red square."


def test_alt_text_an_older_version_wrote_is_still_ours_after_the_upgrade(tmp_path, tiny_git_dir):
    """An older version recorded no hashes, but its journal says what it wrote into which file."""
    import sqlite3

    from describe_aloud.engine.journal import JOURNAL_NAME

    folder = tmp_path / "upgraded"
    make_many_images(folder, 2)
    ours, edited = folder / "img_000.jpg", folder / "img_001.jpg"
    for image, text in ((ours, "An old caption."), (edited, "Another old caption.")):
        assert write_alt_text(image, text, ours=set()).ok  # what the older version wrote
    subprocess.run([EXIFTOOL, "-q", "-overwrite_original", f"-XMP-iptcCore:AltTextAccessibility={MINE}",
                    f"-XMP-dc:Description={MINE}", str(edited)], check=True)  # then a person edited one
    with sqlite3.connect(folder / JOURNAL_NAME) as db:  # the older version's journal (no settings column)
        db.execute("CREATE TABLE entries (path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, "
                   "sha256 TEXT, status TEXT NOT NULL, model_id TEXT, detail INTEGER NOT NULL DEFAULT 0, "
                   "description TEXT, alt_text TEXT, error TEXT, described_at TEXT NOT NULL, metadata_status TEXT, "
                   "metadata_note TEXT, sidecar_status TEXT, sidecar_note TEXT)")
        for image, text in ((ours, "An old caption."), (edited, "Another old caption.")):
            db.execute("INSERT INTO entries (path, size, mtime_ns, status, model_id, alt_text, described_at, "
                       "metadata_status) VALUES (?, 1, 2, 'done', 'm', ?, 'then', 'written')", (image.name, text))

    result = batch(folder, tiny_git_dir)
    new = exif(ours).get("AltTextAccessibility")
    assert new and new != "An old caption.", result.stdout + result.stderr  # ours: replaced without asking
    assert exif(edited)["AltTextAccessibility"] == MINE  # the person's edit: kept, and said
    assert "already has alt text that Describe Aloud did not write" in result.stdout + result.stderr
