"""Where speech goes: the screen reader (with the own voice taking over when it is missing or fails),
audio players that stop at once, and the fallback when no player works."""
from __future__ import annotations

import os
import stat
import sys
import time
import wave
from pathlib import Path

import pytest

from describe_aloud.engine.config import Settings
from describe_aloud.engine.speech.players import (
    CommandPlayer,
    FallbackPlayer,
    NullPlayer,
    PlayerChoice,
    SinkPlayer,
    choose_players,
    wav_duration,
)
from describe_aloud.engine.speech.speaker import NO_SCREEN_READER_MESSAGE, SCREEN_READER_FAILED_MESSAGE


def write_script(folder: Path, name: str, body: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(f"#!{sys.executable}\n{body}", encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def silent_wav(path: Path, seconds: float) -> Path:
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(22050)
        wav.writeframes(b"\0\0" * int(22050 * seconds))
    return path


@pytest.fixture
def fake_spd_say(tmp_path, monkeypatch):
    """An `spd-say` on PATH that records its arguments (speech-dispatcher's command-line contract)."""
    log = tmp_path / "spd-say.log"
    bin_dir = tmp_path / "bin"
    write_script(
        bin_dir, "spd-say",
        "import sys, os\n"
        f"open({str(log)!r}, 'a').write(repr(sys.argv[1:]) + '\\n')\n"
        "sys.exit(int(os.environ.get('FAKE_SPD_EXIT', '0')))\n",
    )
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("DESCRIBE_ALOUD_SCREEN_READER", "speech-dispatcher")
    return log


@pytest.mark.skipif(sys.platform != "linux", reason="speech-dispatcher is the Linux screen reader path")
def test_screen_reader_output_sends_the_text_to_speech_dispatcher(speaker_factory, audio_sink, fake_spd_say):
    speaker, events = speaker_factory(Settings(speech_output="screen_reader"))
    speaker.say("Hello screen reader.")
    speaker.say("And a queued one.", interrupt=False)
    assert speaker.wait_until_idle(10)
    calls = fake_spd_say.read_text().splitlines()
    # Never --cancel: it would cut off every other client's speech, the screen reader's own included.
    assert calls == ["['--', 'Hello screen reader.']", "['--', 'And a queued one.']"]
    assert audio_sink.entries() == []  # the own voice stayed silent
    assert events.of("error") == []
    speaker.stop()
    time.sleep(0.2)
    assert "--cancel" not in fake_spd_say.read_text()


@pytest.mark.skipif(sys.platform != "linux", reason="speech-dispatcher is the Linux screen reader path")
def test_failing_screen_reader_falls_back_to_own_voice_without_losing_text(
    speaker_factory, audio_sink, fake_spd_say, monkeypatch
):
    monkeypatch.setenv("FAKE_SPD_EXIT", "1")
    speaker, events = speaker_factory(Settings(speech_output="screen_reader", rate=400))
    speaker.say("Nothing is lost.")
    assert speaker.wait_until_idle(15)
    speaker.say("Still the own voice.", interrupt=False)
    assert speaker.wait_until_idle(15)
    assert audio_sink.texts() == ["Nothing is lost.", "Still the own voice."]
    assert events.wait_for("error")
    assert events.of("error") == [SCREEN_READER_FAILED_MESSAGE]


def test_no_screen_reader_found_uses_own_voice_and_says_so_once(speaker_factory, audio_sink, monkeypatch):
    monkeypatch.setenv("DESCRIBE_ALOUD_SCREEN_READER", "none")
    speaker, events = speaker_factory(Settings(speech_output="screen_reader", rate=400))
    speaker.say("First.")
    speaker.say("Second.", interrupt=False)
    assert speaker.wait_until_idle(15)
    assert audio_sink.texts() == ["First.", "Second."]
    assert events.wait_for("error")
    assert events.of("error") == [NO_SCREEN_READER_MESSAGE]


def test_switching_output_back_to_own_voice(speaker_factory, audio_sink, fake_spd_say):
    speaker, _ = speaker_factory(Settings(speech_output="screen_reader", rate=400))
    speaker.set_output("own")
    speaker.say("Own voice again.")
    assert speaker.wait_until_idle(15)
    assert audio_sink.texts() == ["Own voice again."]
    assert not fake_spd_say.exists()


def test_command_player_is_killed_at_once_by_stop(tmp_path):
    wav = silent_wav(tmp_path / "long.wav", 5.0)
    player = CommandPlayer("sleeper", [sys.executable, "-c", "import time; time.sleep(30)"])
    playback = player.play(wav)
    assert playback.wait(0.2) is None  # still playing
    start = time.perf_counter()
    playback.stop()
    assert playback.wait(2) is False
    assert time.perf_counter() - start < 0.5


def test_broken_player_falls_back_to_silent_timing_with_one_message(tmp_path):
    wav = silent_wav(tmp_path / "short.wav", 0.3)
    broken = CommandPlayer("broken", [sys.executable, "-c", "import sys; sys.exit(1)"])
    messages: list[str] = []
    player = FallbackPlayer(PlayerChoice([broken, NullPlayer()], silent_on_purpose=False), messages.append)
    start = time.perf_counter()
    assert player.play(wav).wait() is True
    assert time.perf_counter() - start >= 0.25  # the null player still took the sound's real time
    assert player.play(wav).wait() is True
    assert player.name == "null"
    assert len(messages) == 1 and messages[0].startswith("Speech cannot be heard")
    assert "broken" in messages[0]


def test_missing_player_program_is_skipped(tmp_path, monkeypatch):
    monkeypatch.delenv("DESCRIBE_ALOUD_AUDIO_PLAYER", raising=False)
    monkeypatch.setenv("DESCRIBE_ALOUD_AUDIO_PLAYER", "aplay")
    monkeypatch.setenv("PATH", str(tmp_path))  # no aplay anywhere
    messages: list[str] = []
    player = FallbackPlayer(choose_players(), messages.append)
    assert player.play(silent_wav(tmp_path / "a.wav", 0.05)).wait() is True
    assert len(messages) == 1


def test_null_player_takes_the_real_duration_and_stops_at_once(tmp_path):
    wav = silent_wav(tmp_path / "one.wav", 1.0)
    assert wav_duration(wav) == pytest.approx(1.0)
    playback = NullPlayer().play(wav)
    time.sleep(0.1)
    start = time.perf_counter()
    playback.stop()
    assert playback.wait() is False
    assert time.perf_counter() - start < 0.05


def test_sink_player_numbers_and_logs_each_playback(tmp_path):
    sink = SinkPlayer(tmp_path / "sink")
    first = sink.play(silent_wav(tmp_path / "a.wav", 0.05), "first")
    assert first.wait() is True
    second = sink.play(silent_wav(tmp_path / "b.wav", 2.0), "second")
    second.stop()
    assert second.wait() is False
    assert sorted(p.name for p in (tmp_path / "sink").glob("*.wav")) == ["0001.wav", "0002.wav"]
    log = (tmp_path / "sink" / "playback.jsonl").read_text().splitlines()
    assert '"text": "first"' in log[0] and '"completed": true' in log[0]
    assert '"text": "second"' in log[1] and '"completed": false' in log[1]


@pytest.mark.skipif(sys.platform == "win32", reason="command-line players are for Linux and macOS")
def test_stop_kills_a_real_player_process_at_once(speaker_factory, tmp_path, monkeypatch):
    """Through the whole speaker: an external player (here an `aplay` stand-in that takes the sound's
    real time) is killed by stop(), so the sound ends at once rather than at the end of the sentence."""
    log = tmp_path / "aplay.log"
    bin_dir = tmp_path / "bin"
    write_script(
        bin_dir, "aplay",
        "import sys, time, wave\n"
        "path = sys.argv[-1]\n"
        "with wave.open(path) as w: seconds = w.getnframes() / w.getframerate()\n"
        f"open({str(log)!r}, 'a').write('start\\n')\n"
        "time.sleep(seconds)\n"
        f"open({str(log)!r}, 'a').write('end\\n')\n",
    )
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("DESCRIBE_ALOUD_AUDIO_PLAYER", "aplay")
    speaker, events = speaker_factory(Settings())
    speaker.say("This first sentence is long enough to take a few seconds to speak aloud.")
    assert events.wait_for("started")
    deadline = time.monotonic() + 5
    while not (log.exists() and log.read_text()) and time.monotonic() < deadline:
        time.sleep(0.01)  # the player process has started playing
    start = time.perf_counter()
    speaker.stop()
    assert speaker.wait_until_idle(0.5)
    assert time.perf_counter() - start < 0.5
    time.sleep(0.3)
    assert log.read_text().splitlines() == ["start"]  # killed: it never reached its end
    assert events.of("error") == []
