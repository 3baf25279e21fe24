"""`python main.py describe` end to end (in-process), with tiny real models and real OCR."""
from __future__ import annotations

import json
import os
import socket

import pytest

from describe_aloud.engine.invocation import user_command
from describe_aloud.cli import main
from describe_aloud.engine.config import hub_cache_dir
from tests.fixtures.images import TEXT_LINES
from tests.fixtures.tiny_models import install_in_hub_cache

JSON_KEYS = {"path", "kind", "caption", "detailed_caption", "objects", "text", "text_lines", "model_id",
             "timings_ms", "speech", "error"}


def _describe(capsys, *argv: str) -> tuple[int, str, str]:
    code = main.main(["describe", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


def test_plain_output_gives_path_kind_and_spoken_parts(capsys, image_files, tiny_git_dir):
    code, out, err = _describe(capsys, image_files["text"], image_files["blank"], "--model", tiny_git_dir)
    assert code == 0, err
    text_block, blank_block = out.strip().split("\n", 6)[:6], out.strip().splitlines()[-2:]
    assert text_block[0] == f"{image_files['text']}: document"
    assert text_block[1] == "  Text:"
    assert [line.strip() for line in text_block[2:5]] == TEXT_LINES
    assert text_block[5].startswith("  Could be: ")
    assert blank_block == [f"{image_files['blank']}: blank", "  The image is blank: all dark grey."]


def test_json_one_object_per_line_with_the_schema(capsys, image_files, tiny_git_dir, bad_image_files):
    code, out, err = _describe(capsys, image_files["photo"], bad_image_files["not_image"], image_files["blank"],
                               "--json", "--no-ocr", "--model", tiny_git_dir)
    assert code == 1
    records = [json.loads(line) for line in out.splitlines()]
    assert [r["path"] for r in records] == [str(image_files["photo"]), str(bad_image_files["not_image"]),
                                            str(image_files["blank"])]
    for r in records:
        assert JSON_KEYS <= r.keys()
    photo, bad, blank = records
    assert photo["kind"] == "photo" and photo["error"] is None
    assert isinstance(photo["caption"], str) and photo["caption"]
    assert photo["model_id"] == str(tiny_git_dir)
    assert photo["speech"].startswith("Picture. The model guesses: ")
    assert {"load", "convert", "blank_check", "preprocess", "vision", "decode", "caption", "total"} <= photo["timings_ms"].keys()
    assert all(isinstance(v, (int, float)) for v in photo["timings_ms"].values())
    assert photo["text_lines"] == [] and photo["objects"] == [] and photo["detailed_caption"] is None
    assert bad["kind"] is None and "is not an image" in bad["error"]
    assert blank["kind"] == "blank" and blank["caption"] is None and blank["speech"] == "The image is blank: all dark grey."
    assert "is not an image" in err


def test_json_text_lines_carry_boxes_and_confidence(capsys, image_files, tiny_git_dir):
    code, out, _ = _describe(capsys, image_files["text"], "--json", "--model", tiny_git_dir)
    assert code == 0
    record = json.loads(out)
    assert [t["text"] for t in record["text_lines"]] == TEXT_LINES
    assert record["text"] == "\n".join(TEXT_LINES)
    for t in record["text_lines"]:
        x0, y0, x1, y1 = t["box"]
        assert 0 <= x0 < x1 <= 520 and 0 <= y0 < y1 <= 260 and 0.5 <= t["confidence"] <= 1


def test_one_bad_file_among_good_ones_exits_1_and_the_others_are_described(
    capsys, image_files, bad_image_files, tiny_git_dir
):
    code, out, err = _describe(capsys, bad_image_files["truncated"], image_files["photo"], bad_image_files["missing"],
                               image_files["blank"], "--no-ocr", "--model", tiny_git_dir)
    assert code == 1
    assert f"{bad_image_files['truncated']} is damaged or incomplete" in err
    assert f"{bad_image_files['missing']} does not exist." in err
    assert f"{image_files['photo']}: photo\n  The model guesses: " in out
    assert f"{image_files['blank']}: blank" in out


def test_missing_model_exits_2_names_the_download_and_still_prints_the_text(capsys, image_files):
    code, out, err = _describe(capsys, image_files["text"], image_files["blank"], "--model", "org/not-downloaded")
    assert code == 2
    assert user_command("models", "download", "org/not-downloaded") in err
    assert [line.strip() for line in out.splitlines()[2:5]] == TEXT_LINES  # the OCR text, for every image
    assert "The model is not downloaded, so only the text was read." in out
    assert f"{image_files['blank']}: blank" in out


def test_detail_without_model_uses_the_detail_model(capsys, image_files):
    code, _, err = _describe(capsys, image_files["blank"], "--detail")
    assert code == 2
    assert user_command("models", "download", "florence-2-base") in err


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a network connection fails the test."""
    attempts: list[object] = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise AssertionError(f"network connection attempted: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    return attempts


def test_cached_hub_model_is_used_without_any_connection(capsys, image_files, tiny_git_dir, no_network):
    install_in_hub_cache(tiny_git_dir, "org/tiny", hub_cache_dir())
    code, out, err = _describe(capsys, image_files["photo"], "--json", "--no-ocr", "--model", "org/tiny")
    assert code == 0, err
    record = json.loads(out)
    assert record["model_id"] == "org/tiny" and record["caption"]
    assert no_network == []
    assert os.environ["HF_HUB_OFFLINE"] == "1"


def test_save_audio_writes_the_spoken_description(capsys, image_files, tmp_path):
    wav = tmp_path / "out.wav"
    code, out, err = _describe(capsys, image_files["blank"], "--save-audio", wav, "--model", "org/none")
    assert code == 2  # the model is missing; the blank image is described and saved anyway
    import wave

    with wave.open(str(wav)) as w:
        assert w.getnframes() / w.getframerate() > 0.5
    assert f"Saved the spoken description to {wav}" in out


def test_speak_plays_the_description(capsys, image_files, tmp_path, monkeypatch):
    sink = tmp_path / "sink"  # the speech engine's test sink: records what was played, silently
    monkeypatch.setenv("DESCRIBE_ALOUD_AUDIO_SINK", str(sink))
    code, out, err = _describe(capsys, image_files["blank"], "--speak", "--no-ocr", "--model", "org/none")
    assert code == 2, err
    played = [json.loads(line) for line in (sink / "playback.jsonl").read_text().splitlines()]
    assert " ".join(p["text"] for p in played) == "The image is blank: all dark grey."
    assert all(p["completed"] for p in played)


def test_speak_starts_with_the_text_and_says_nothing_twice(capsys, tmp_path, monkeypatch):
    from tests.fixtures.images import text_image

    sink = tmp_path / "sink"
    monkeypatch.setenv("DESCRIBE_ALOUD_AUDIO_SINK", str(sink))
    path = tmp_path / "label.png"
    text_image(["Fresh oranges"], size=(300, 80), origin=(16, 20)).save(path)
    code, out, err = _describe(capsys, path, "--speak", "--rate", "450", "--model", "org/none")
    assert code == 2, err
    played = [json.loads(line)["text"] for line in (sink / "playback.jsonl").read_text().splitlines()]
    assert " ".join(played) == (
        "Document with text. Text: Fresh oranges. The model is not downloaded, so only the text was read."
    )


def test_detail_with_a_model_that_has_none_says_so(capsys, image_files, tiny_git_dir):
    code, out, err = _describe(capsys, image_files["photo"], "--detail", "--no-ocr", "--model", tiny_git_dir)
    assert code == 0
    assert "has no detailed description; its short caption is given instead" in err
    assert "The model guesses: " in out


def test_detail_with_a_capable_model_gives_the_detailed_caption(capsys, image_files, tiny_florence2_dir):
    code, out, err = _describe(capsys, image_files["photo"], "--detail", "--no-ocr", "--json",
                               "--model", tiny_florence2_dir)
    assert code == 0, err
    record = json.loads(out)
    assert record["detailed_caption"] and record["caption"]
    assert record["speech"].startswith("Picture. The model guesses: ")


def test_more_detail_without_the_app_says_what_to_do_instead(capsys):
    code = main.main(["more-detail"])
    out, err = capsys.readouterr()
    assert code == 1
    assert "not running" in err and user_command("describe-screen", "--detail") in err


def test_an_unreadable_clipboard_says_what_to_install_and_the_command_not_pillows_words(capsys, monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")  # neither wl-paste nor xclip
    monkeypatch.setattr("sys.platform", "linux")
    code = main.main(["describe-clipboard", "--standalone"])
    err = capsys.readouterr().err
    assert code == 1 and "xclip" in err and user_command("describe-clipboard") in err
    assert "ImageGrab" not in err and "grabclipboard" not in err


def test_a_language_without_a_catalog_is_said_and_its_missing_translation_once(capsys):
    from describe_aloud.engine.translation import translator_or_reason

    main.main(["--language", "xx_YY", "history"])
    assert "There is no catalog for the language xx_YY" in capsys.readouterr().err
    main.main(["--language", "de_AT", "history"])
    assert "no catalog" not in capsys.readouterr().err  # German is spoken ("de")
    main.main(["--language", "en", "history"])
    capsys.readouterr()
    translator, reason = translator_or_reason("fr")
    assert translator is None and reason.count("English") == 1 and "fr" in reason
    assert "not loaded" not in capsys.readouterr().err  # no raw log line before the sentence
