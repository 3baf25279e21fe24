"""`voices` and `say` on the command line, and the shared speech options (remembered in the settings)."""
from __future__ import annotations

import argparse
import json
import wave

import pytest

from describe_aloud.engine.config import Settings
from describe_aloud.engine.speech import add_speech_arguments, settings_from_args
from describe_aloud.cli.main import main


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_speech_arguments(parser)
    return parser.parse_args(list(argv))


def test_speech_options_are_applied_and_remembered():
    settings = settings_from_args(parse("--voice", "en-us", "--rate", "220", "--volume", "0.5",
                                        "--speech-output", "screen-reader"))
    assert (settings.voice, settings.rate, settings.volume, settings.speech_output) == (
        "en-us", 220, 0.5, "screen_reader")
    again = Settings.load()
    assert (again.voice, again.rate, again.volume, again.speech_output) == ("en-us", 220, 0.5, "screen_reader")


def test_queue_is_for_this_run_only_and_no_options_change_nothing():
    settings = settings_from_args(parse("--queue"))
    assert settings.interrupt is False
    assert Settings.load().interrupt is True
    assert settings_from_args(parse()).rate == Settings().rate


@pytest.mark.parametrize("argv", [["--rate", "fast"], ["--rate", "5000"], ["--volume", "2"], ["--speech-output", "x"]])
def test_bad_speech_options_are_refused_with_a_message(argv, capsys):
    with pytest.raises(SystemExit):
        parse(*argv)
    assert "error" in capsys.readouterr().err


def test_voices_json_lists_installed_voices(capsys):
    assert main(["voices", "--json", "--language", "en-us"]) == 0
    voices = json.loads(capsys.readouterr().out)
    assert {"id": "gmw/en-us", "name": "English (America)", "languages": ["en-us"]} in voices


def test_voices_with_options_saves_them(capsys):
    assert main(["voices", "--voice", "en-us", "--rate", "200"]) == 0
    out, err = capsys.readouterr()
    assert "gmw/en-us" in out and "Saved" in err
    assert (Settings.load().voice, Settings.load().rate) == ("en-us", 200)


def test_voices_warns_about_an_unknown_voice_and_saves_nothing(capsys):
    assert main(["voices", "--voice", "xx-none", "--rate", "300"]) == 2
    assert "not installed, so nothing was saved" in capsys.readouterr().err
    assert (Settings.load().voice, Settings.load().rate) == (Settings().voice, Settings().rate)


@pytest.mark.parametrize("text", ["", "   "])
def test_say_with_nothing_to_say_says_so(text, capsys):
    assert main(["say", text]) == 1
    assert "There is nothing to say" in capsys.readouterr().err


def test_say_save_audio_writes_a_wav(tmp_path, capsys):
    out = tmp_path / "hello.wav"
    assert main(["say", "Hello", "there.", "--save-audio", str(out)]) == 0
    with wave.open(str(out), "rb") as wav:
        assert wav.getnframes() > 0


def test_say_with_missing_voice_prints_what_to_install(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("DESCRIBE_ALOUD_TTS_DRIVER", "not_installed_driver")
    assert main(["say", "Hello.", "--save-audio", str(tmp_path / "x.wav")]) == 1
    assert "Speech is unavailable" in capsys.readouterr().err
    assert not (tmp_path / "x.wav").exists()
