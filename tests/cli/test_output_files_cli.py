"""--save-audio / --save-image never destroy a file the user has (review item 5): an existing file is
refused unless --overwrite, a folder and a file of another kind are refused, and the message names the
real path. Run through main() as a user would."""
from __future__ import annotations

import wave
from pathlib import Path

from PIL import Image

from describe_aloud.cli.main import main


def photo(path: Path) -> bytes:
    Image.new("RGB", (32, 24), (200, 30, 30)).save(path, quality=90)
    return path.read_bytes()


def test_say_refuses_to_write_over_a_photo(tmp_path, capsys):
    picture = tmp_path / "photo.jpg"
    before = photo(picture)
    assert main(["say", "hi", "--save-audio", str(picture)]) == 2
    err = capsys.readouterr().err
    assert str(picture) in err and ".wav" in err
    assert picture.read_bytes() == before  # still the photo
    with Image.open(picture) as im:
        assert im.format == "JPEG"


def test_existing_wav_is_kept_unless_overwrite(tmp_path, capsys):
    out = tmp_path / "speech.wav"
    assert main(["say", "Hello.", "--save-audio", str(out)]) == 0
    first = out.read_bytes()
    capsys.readouterr()
    assert main(["say", "Something much longer this time.", "--save-audio", str(out)]) == 2
    err = capsys.readouterr().err
    assert "already exists" in err and "--overwrite" in err
    assert out.read_bytes() == first
    assert main(["say", "Something much longer this time.", "--save-audio", str(out), "--overwrite"]) == 0
    with wave.open(str(out), "rb") as wav:
        assert wav.getnframes() > 0
    assert out.read_bytes() != first


def test_a_folder_is_refused_naming_a_file_to_give(tmp_path, capsys):
    folder = tmp_path / "img"
    folder.mkdir()
    assert main(["describe", str(tmp_path / "nothing.png"), "--save-audio", str(folder)]) == 2
    err = capsys.readouterr().err
    assert "is a folder" in err and str(folder / "description.wav") in err
    assert list(folder.iterdir()) == []


def test_screen_capture_does_not_replace_an_image_the_user_kept(tmp_path, capsys):
    keep = tmp_path / "keep.png"
    Image.new("RGB", (8, 8), (0, 90, 0)).save(keep)
    before = keep.read_bytes()
    assert main(["describe-screen", "--standalone", "--save-image", str(keep)]) == 2
    err = capsys.readouterr().err
    assert "already exists" in err and "--overwrite" in err
    assert keep.read_bytes() == before
    assert main(["describe-screen", "--standalone", "--save-image", str(tmp_path / "shot.wav")]) == 2
    assert ".png" in capsys.readouterr().err
