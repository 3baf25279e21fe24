"""The speech engine with the real espeak-ng voice, played through the audio sink (there is no sound card).

What a user would notice: speech starts, a new text cuts the old one, queued texts come in order, stop
is immediate, a hung or missing voice is reported and never freezes or crashes the caller.
"""
from __future__ import annotations

import os
import statistics
import time
import wave
from pathlib import Path

import pytest

from describe_aloud.engine.config import Settings
from describe_aloud.engine.speech import SpeechUnavailable
from describe_aloud.engine.speech.client import DIED_MESSAGE, HUNG_MESSAGE
from tests.fixtures import faulty_speech_worker

LONG_TEXT = (
    "This is the first sentence of a long description. "
    "The second sentence talks about a red bicycle leaning against a wall. "
    "The third sentence mentions a window with blue curtains and a plant. "
    "The fourth sentence is here only to make the text take a while to speak."
)


# Fast speech keeps the tests short where only order and completeness matter.
FAST = 450


def wav_seconds(path: Path) -> float:
    with wave.open(str(path), "rb") as wav:
        assert wav.getnchannels() == 1
        assert wav.getsampwidth() == 2
        return wav.getnframes() / wav.getframerate()


def test_save_wav_writes_valid_audio_whose_length_grows_with_the_text(speaker_factory, tmp_path):
    speaker, events = speaker_factory(Settings())
    short = speaker.save_wav("Hello.", tmp_path / "short.wav")
    long = speaker.save_wav(LONG_TEXT, tmp_path / "out" / "long.wav")
    assert short == tmp_path / "short.wav"
    assert 0.2 < wav_seconds(short) < wav_seconds(long)
    assert wav_seconds(long) > 8
    assert events.of("error") == []


def test_rate_setting_changes_how_long_speech_takes(speaker_factory, tmp_path):
    speaker, _ = speaker_factory(Settings(rate=120))
    slow = wav_seconds(speaker.save_wav(LONG_TEXT, tmp_path / "slow.wav"))
    speaker.set_rate(360)
    fast = wav_seconds(speaker.save_wav(LONG_TEXT, tmp_path / "fast.wav"))
    assert fast < slow * 0.6


def test_say_never_blocks_the_caller(speaker_factory, audio_sink):
    speaker, _ = speaker_factory(Settings())
    durations = []
    for i in range(20):
        start = time.perf_counter()
        speaker.say(f"{LONG_TEXT} Round {i}.", interrupt=i % 2 == 0)
        durations.append(time.perf_counter() - start)
    speaker.stop()
    # The figure that matters is the median (a few microseconds, see bench/); the max only guards
    # against blocking on the voice, with room for a busy 2-core CI machine.
    assert statistics.median(durations) < 0.005, durations
    assert max(durations) < 0.25, durations


def test_speech_starts_plays_whole_text_in_sentences_and_finishes(speaker_factory, audio_sink):
    speaker, events = speaker_factory(Settings(rate=FAST))
    speaker.say("A dog runs on the beach. The sea is calm.")
    assert speaker.is_speaking()
    assert speaker.wait_until_idle(15)
    assert not speaker.is_speaking()
    assert audio_sink.texts() == ["A dog runs on the beach.", "The sea is calm."]
    assert all(e["completed"] and e["duration"] > 0.3 for e in audio_sink.entries())
    assert all(wav_seconds(p) > 0.3 for p in audio_sink.wavs())
    assert events.wait_for("finished")  # callbacks come on their own thread, maybe just after idle
    assert events.of("started") == events.of("finished") == ["A dog runs on the beach. The sea is calm."]


def test_a_new_text_interrupts_the_one_playing(speaker_factory, audio_sink):
    speaker, events = speaker_factory(Settings())
    speaker.say(LONG_TEXT)
    assert events.wait_for("started")
    time.sleep(0.3)
    speaker.say("Second text.")
    assert speaker.wait_until_idle(15)
    entries = audio_sink.entries()
    assert entries[0]["text"] == "This is the first sentence of a long description."
    assert not entries[0]["completed"] and entries[0]["played"] < entries[0]["duration"]
    assert [e["text"] for e in entries[1:]] == ["Second text."]  # nothing more of the first text
    assert entries[-1]["completed"]
    assert events.wait_for("finished", 2)
    assert events.of("finished") == [LONG_TEXT, "Second text."]


def test_queued_texts_are_spoken_in_order(speaker_factory, audio_sink):
    speaker, _ = speaker_factory(Settings(rate=FAST))
    speaker.say("First text.")
    speaker.say("Second text.", interrupt=False)
    speaker.say("Third text.", interrupt=False)
    assert speaker.wait_until_idle(15)
    assert audio_sink.texts() == ["First text.", "Second text.", "Third text."]
    assert all(e["completed"] for e in audio_sink.entries())


def test_stop_silences_at_once_and_drops_the_queue(speaker_factory, audio_sink):
    speaker, events = speaker_factory(Settings())
    speaker.say(LONG_TEXT)
    speaker.say("Queued text.", interrupt=False)
    assert events.wait_for("started")
    time.sleep(0.2)
    start = time.perf_counter()
    speaker.stop()
    returned = time.perf_counter() - start
    assert speaker.wait_until_idle(0.5)
    silent_after = time.perf_counter() - start
    assert returned < 0.2 and silent_after < 0.5, (returned, silent_after)
    time.sleep(0.5)  # nothing else starts later
    entries = audio_sink.entries()
    assert len(entries) == 1 and not entries[0]["completed"]
    assert "Queued text." not in audio_sink.texts()


def test_repeat_says_the_last_text_again(speaker_factory, audio_sink):
    speaker, _ = speaker_factory(Settings(rate=FAST))
    speaker.say("Say it again.")
    assert speaker.wait_until_idle(15)
    assert speaker.last_text == "Say it again."
    speaker.repeat()
    assert speaker.wait_until_idle(15)
    assert audio_sink.texts() == ["Say it again.", "Say it again."]


def test_the_voice_survives_100_say_stop_cycles(speaker_factory, audio_sink):
    speaker, events = speaker_factory(Settings())
    pid = speaker._process._current.process.pid  # noqa: SLF001 - the same voice process throughout
    for i in range(100):
        speaker.say(f"Cycle {i}. {LONG_TEXT}")
        if i % 10 == 0:
            time.sleep(0.05)  # sometimes let playback begin before it is cut
        speaker.stop()
    assert speaker.wait_until_idle(2)
    speaker.say("Still talking.")
    assert speaker.wait_until_idle(15)
    assert audio_sink.texts()[-1] == "Still talking." and audio_sink.entries()[-1]["completed"]
    assert speaker._process._current.process.pid == pid  # noqa: SLF001
    assert events.of("error") == []


def test_a_hung_voice_is_restarted_and_the_text_still_spoken(speaker_factory, audio_sink, tmp_path, monkeypatch):
    marker = tmp_path / "hang-now"
    marker.touch()
    faulty = faulty_speech_worker.use(monkeypatch, f"hang-once:{marker}")
    speaker, events = speaker_factory(Settings(rate=FAST), watchdog_timeout=1.0, **faulty)
    start = time.perf_counter()
    speaker.say("Spoken after the restart.")
    assert speaker.wait_until_idle(15)
    assert time.perf_counter() - start < 10
    assert events.wait_for("error")
    assert events.of("error") == [HUNG_MESSAGE]
    assert audio_sink.texts() == ["Spoken after the restart."]
    assert not marker.exists()


def test_a_crashed_voice_is_restarted_and_the_text_still_spoken(speaker_factory, audio_sink, tmp_path, monkeypatch):
    marker = tmp_path / "crash-now"
    marker.touch()
    faulty = faulty_speech_worker.use(monkeypatch, f"crash-once:{marker}")
    speaker, events = speaker_factory(Settings(rate=FAST), **faulty)
    speaker.say("Spoken after the crash.")
    assert speaker.wait_until_idle(15)
    assert events.wait_for("error")
    assert events.of("error") == [DIED_MESSAGE]
    assert audio_sink.texts() == ["Spoken after the crash."]


def test_a_voice_that_always_hangs_is_given_up_with_one_message(speaker_factory, monkeypatch):
    faulty = faulty_speech_worker.use(monkeypatch, "hang")
    speaker, events = speaker_factory(Settings(), watchdog_timeout=0.2, **faulty)
    speaker.say("Never spoken.")
    assert speaker.wait_until_idle(20)
    assert events.wait_until(lambda e: any(m.startswith("The voice keeps failing") for m in e.of("error")))
    errors = events.of("error")
    assert errors[:-1] == [HUNG_MESSAGE] * (len(errors) - 1)  # each restart was told, then it gave up
    assert errors[-1].startswith("The voice keeps failing")
    assert speaker.unavailable_reason == errors[-1]
    speaker.say("Still no exception.")  # silent, but every call works
    assert speaker.wait_until_idle(2)


def test_missing_voice_back_end_gives_one_clear_message_and_no_exception(speaker_factory, tmp_path, monkeypatch):
    monkeypatch.setenv("DESCRIBE_ALOUD_TTS_DRIVER", "not_installed_driver")
    speaker, events = speaker_factory(Settings())
    for text in ("One.", "Two.", "Three."):
        speaker.say(text)
        speaker.say(text, interrupt=False)
    speaker.repeat()
    assert speaker.wait_until_idle(10)
    speaker.stop()
    speaker.set_rate(200)
    speaker.set_voice("en-us")
    speaker.set_volume(0.5)
    assert speaker.voices() == []
    with pytest.raises(SpeechUnavailable, match="espeak-ng"):
        speaker.save_wav("Nothing.", tmp_path / "none.wav")
    assert not (tmp_path / "none.wav").exists()
    assert events.wait_for("error")
    time.sleep(0.2)
    errors = events.of("error")
    assert len(errors) == 1
    if os.uname().sysname == "Linux":
        assert errors[0].startswith("Speech is unavailable: install espeak-ng (sudo apt install espeak-ng)")
    assert speaker.unavailable_reason == errors[0]


def test_unknown_voice_falls_back_to_default_and_says_so_once(speaker_factory, audio_sink):
    speaker, events = speaker_factory(Settings(rate=FAST, voice="xx-nonexistent"))
    speaker.say("One.")
    speaker.say("Two.", interrupt=False)
    assert speaker.wait_until_idle(15)
    assert audio_sink.texts() == ["One.", "Two."]
    assert events.wait_for("error")
    assert events.of("error") == ["The voice 'xx-nonexistent' is not installed; using the default voice."]


def test_voices_lists_installed_espeak_voices(speaker_factory):
    speaker, _ = speaker_factory(Settings())
    voices = speaker.voices()
    assert len(voices) > 10
    english = [v for v in voices if v.id.endswith("/en-us")]
    assert english and english[0].languages == ["en-us"] and english[0].name


def test_chosen_voice_changes_the_audio(speaker_factory, tmp_path):
    speaker, events = speaker_factory(Settings(voice="en-us"))
    us = (speaker.save_wav("Tomato and water.", tmp_path / "us.wav")).read_bytes()
    speaker.set_voice("fr")
    fr = (speaker.save_wav("Tomato and water.", tmp_path / "fr.wav")).read_bytes()
    assert us != fr
    assert events.of("error") == []


def test_close_is_idempotent_and_calls_after_close_do_nothing(speaker_factory):
    speaker, _ = speaker_factory(Settings())
    speaker.say(LONG_TEXT)
    start = time.perf_counter()
    speaker.close()
    speaker.close()
    assert time.perf_counter() - start < 3
    speaker.say("After close.")
    speaker.stop()
    assert not speaker.is_speaking()


def test_a_long_text_of_many_lines_is_spoken_completely_in_order(speaker_factory, audio_sink):
    lines = [f"Line {n}." for n in range(1, 11)]
    speaker, events = speaker_factory(Settings(rate=500))
    speaker.say("\n".join(lines))
    assert speaker.wait_until_idle(30)
    assert audio_sink.texts() == lines
    assert all(e["completed"] for e in audio_sink.entries())
    assert events.of("error") == []


def test_close_while_the_voice_hangs_is_quick_and_leaves_no_process(speaker_factory, monkeypatch):
    faulty = faulty_speech_worker.use(monkeypatch, "hang")
    speaker, _ = speaker_factory(Settings(), **faulty)  # the default watchdog would wait seconds
    process = speaker._process._current.process  # noqa: SLF001
    speaker.say("This hangs.")
    time.sleep(0.5)
    start = time.perf_counter()
    speaker.close()
    assert time.perf_counter() - start < 2.5
    assert process.poll() is not None


def test_close_from_a_callback_does_not_deadlock(speaker_factory, audio_sink):
    speaker, events = speaker_factory(Settings(rate=FAST))
    closed = []
    speaker._on_finished = lambda text: (speaker.close(), closed.append(text))  # noqa: SLF001
    speaker.say("Close me.")
    deadline = time.monotonic() + 10
    while not closed and time.monotonic() < deadline:
        time.sleep(0.02)
    assert closed == ["Close me."]


def test_volume_setting_makes_the_audio_quieter(speaker_factory, tmp_path):
    import array

    def peak(path: Path) -> int:
        with wave.open(str(path), "rb") as wav:
            samples = array.array("h", wav.readframes(wav.getnframes()))
        return max(abs(s) for s in samples)

    speaker, _ = speaker_factory(Settings(volume=1.0))
    loud = peak(speaker.save_wav("Loud and clear.", tmp_path / "loud.wav"))
    speaker.set_volume(0.2)
    quiet = peak(speaker.save_wav("Loud and clear.", tmp_path / "quiet.wav"))
    assert 0 < quiet < loud * 0.5


def test_callbacks_have_run_when_wait_until_idle_returns(speaker_factory, audio_sink):
    speaker, events = speaker_factory(Settings(rate=FAST))
    slow_calls = []
    speaker._on_finished = lambda text: (time.sleep(0.3), slow_calls.append(text))  # noqa: SLF001
    speaker.say("Done soon.")
    assert speaker.wait_until_idle(15)
    assert slow_calls == ["Done soon."]


def test_voice_process_that_cannot_start_leaves_the_app_working(speaker_factory, monkeypatch, tmp_path):
    monkeypatch.setattr("sys.executable", str(tmp_path / "no-python"))
    speaker, events = speaker_factory(Settings())
    speaker.say("Silently dropped.")
    assert speaker.wait_until_idle(5)
    assert speaker.voices() == []
    assert events.wait_for("error")
    assert events.of("error")[0].startswith("Speech is unavailable: the voice process could not start")
