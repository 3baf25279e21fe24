"""Earcons: the committed sounds are the generator's, they start at once, and a missing audio device is harmless."""
from __future__ import annotations

import json
import os
import time
import wave
from pathlib import Path

import pytest

from describe_aloud.gui.earcons import EARCON_DIR, NAMES, Earcons

REPO = Path(__file__).resolve().parents[2]


def _wait_for(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return False


def test_committed_wavs_are_short_soft_and_exactly_what_the_generator_makes(tmp_path):
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_earcons", REPO / "assets" / "make_earcons.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main(["--out", str(tmp_path)])
    for name in NAMES:
        committed = EARCON_DIR / f"{name}.wav"
        assert committed.read_bytes() == (tmp_path / f"{name}.wav").read_bytes(), name
        with wave.open(str(committed)) as wav:
            seconds = wav.getnframes() / wav.getframerate()
            frames = wav.readframes(wav.getnframes())
        assert 0.1 < seconds < 0.6, (name, seconds)
        samples = [int.from_bytes(frames[i:i + 2], "little", signed=True) for i in range(0, len(frames), 2)]
        assert 0.3 * 32767 < max(abs(s) for s in samples) < 0.5 * 32767  # audible, never harsh
        assert abs(samples[0]) < 200 and abs(samples[-1]) < 200  # no click at either end
    # "capturing" is the shortest: it plays while the user waits for the description.
    durations = {n: (EARCON_DIR / f"{n}.wav").stat().st_size for n in NAMES}
    assert durations["capturing"] < durations["done"] < durations["error"]


def test_play_returns_at_once_and_the_sound_reaches_the_sink(tmp_path, monkeypatch):
    sink = tmp_path / "sink"
    monkeypatch.setenv("DESCRIBE_ALOUD_AUDIO_SINK", str(sink))
    earcons = Earcons()
    try:
        started = time.perf_counter()
        earcons.play("capturing")
        returned_after = time.perf_counter() - started
        assert returned_after < 0.1  # generous: it only queues
        assert _wait_for(lambda: (sink / "0001.wav").exists(), timeout=2.0)
        assert (sink / "0001.wav").read_bytes() == (EARCON_DIR / "capturing.wav").read_bytes()
        assert _wait_for(lambda: (sink / "playback.jsonl").exists())
        entry = json.loads((sink / "playback.jsonl").read_text().splitlines()[0])
        assert entry["text"] == "earcon:capturing"
        earcons.play("done")
        assert _wait_for(lambda: (sink / "0002.wav").exists())
        assert (sink / "0002.wav").read_bytes() == (EARCON_DIR / "done.wav").read_bytes()
        assert earcons.played == ["capturing", "done"]
    finally:
        earcons.close()


def test_disabled_earcons_are_silent(tmp_path, monkeypatch):
    sink = tmp_path / "sink"
    monkeypatch.setenv("DESCRIBE_ALOUD_AUDIO_SINK", str(sink))
    earcons = Earcons(enabled=False)
    earcons.play("error")
    time.sleep(0.3)
    earcons.close()
    assert not sink.exists() or not list(sink.glob("*.wav"))
    assert earcons.played == []


def test_unknown_earcon_is_a_programming_error():
    with pytest.raises(ValueError):
        Earcons().play("fanfare")


def test_no_audio_device_does_not_raise(tmp_path, monkeypatch):
    # An "aplay" that fails as it does without a sound card.
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    player = fake_bin / "aplay"
    player.write_text("#!/bin/sh\necho 'aplay: main:831: audio open error: No such file or directory' >&2\nexit 1\n")
    player.chmod(0o755)
    monkeypatch.delenv("DESCRIBE_ALOUD_AUDIO_SINK", raising=False)
    monkeypatch.setenv("DESCRIBE_ALOUD_AUDIO_PLAYER", "aplay")
    monkeypatch.setenv("PATH", f"{fake_bin}{os.pathsep}{os.environ['PATH']}")
    earcons = Earcons()
    try:
        for name in NAMES:
            earcons.play(name)  # must not raise
        assert _wait_for(lambda: len(earcons.played) == 3, timeout=5.0)
        assert earcons._thread is not None and earcons._thread.is_alive()  # survived the failing player
        assert _wait_for(lambda: earcons._player.name == "null")  # and moved on to the silent player
    finally:
        earcons.close()


def test_missing_files_do_not_raise(tmp_path, monkeypatch):
    monkeypatch.setenv("DESCRIBE_ALOUD_AUDIO_SINK", str(tmp_path / "sink"))
    earcons = Earcons(folder=tmp_path / "nowhere")
    try:
        earcons.play("done")
        time.sleep(0.3)
        assert earcons._thread.is_alive()
    finally:
        earcons.close()
