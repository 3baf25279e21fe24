"""HEIC photos are never left out of a batch silently (review item 3): without pillow-heif the summary says
how many were left out and the command that installs it, and the exit code is 1; an empty folder is said
plainly."""
from __future__ import annotations

from PIL import Image

import describe_aloud.engine.batch_inputs as batch_inputs
from describe_aloud.cli.main import main


def test_heic_without_pillow_heif_is_reported_with_the_install_command(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(batch_inputs, "heif_available", lambda: False)  # as on a machine without pillow-heif
    folder = tmp_path / "b5"
    folder.mkdir()
    Image.new("RGB", (16, 16), (10, 200, 10)).save(folder / "IMG_0001.HEIC", format="PNG")
    (folder / "IMG_0002.heif").write_bytes(b"\x00\x00\x00\x18ftypheic")
    code = main(["batch", str(folder), "--no-ocr", "--no-progress", "--model", str(tmp_path / "unused")])
    out = capsys.readouterr().out
    assert code == 1
    assert "2 HEIC/HEIF photos were left out" in out
    assert "-m pip install pillow-heif" in out
    assert "No images were found" not in out  # there are images, just not readable here


def test_an_empty_folder_is_said_plainly(tmp_path, capsys):
    folder = tmp_path / "empty"
    folder.mkdir()
    (folder / "notes.txt").write_text("not an image", encoding="utf-8")
    assert main(["batch", str(folder), "--no-progress", "--model", str(tmp_path / "unused")]) == 0
    assert f"No images were found in {folder}." in capsys.readouterr().out
