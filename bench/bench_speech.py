"""Speech latency: say() -> first audio, and stop() -> silence. Prints medians (and p95) over N runs.

    .venv/bin/python bench/bench_speech.py              # 20 runs, null player (no sound card needed)
    .venv/bin/python bench/bench_speech.py --runs 3
    .venv/bin/python bench/bench_speech.py --player auto   # the real audio player of this machine
  .venv/bin/python bench/bench_speech.py --player process  # a stand-in player process, killed by stop

Figures:
  say() call            how long the caller is blocked by say()
  say -> first audio    say() until the player starts the first sentence (the voice process is warm)
  whole text as WAV     save_wav of the same text, i.e. what the first audio would wait for without the
                        sentence pipeline
  stop() call           how long stop() blocks
  stop -> silent        stop() until the playback has ended and nothing is queued
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _machine import cpu_line, load_average  # noqa: E402

TEXT = (
    "A person is riding a bicycle down a city street next to a red bus. "
    "Text on the screen reads: Welcome to the main station, trains leave every ten minutes. "
    "There are trees on the left and a tall building with many windows on the right. "
    "The sky is clear and blue."
)


class RecordingPlayer:
    """Wraps the chosen player; records when each playback starts and ends."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.name = f"recording({inner.name})"
        self.started = threading.Event()
        self.start_time = 0.0
        self.end_time = 0.0

    def reset(self) -> None:
        self.started.clear()
        self.start_time = self.end_time = 0.0

    def play(self, path, text=""):
        playback = self.inner.play(path, text)
        if not self.started.is_set():
            self.start_time = time.perf_counter()
            self.started.set()
        outer = self

        class _Recorded:
            def stop(self) -> None:
                playback.stop()

            def wait(self, timeout=None):
                result = playback.wait(timeout)
                if result is not None:
                    outer.end_time = time.perf_counter()
                return result

        return _Recorded()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def report(name: str, seconds: list[float]) -> None:
    ms = [s * 1000 for s in seconds]
    print(f"{name:<22} median {statistics.median(ms):8.1f} ms   p95 {percentile(ms, 0.95):8.1f} ms   "
          f"(n={len(ms)})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--player", choices=["null", "auto", "process"], default="null",
                        help="null: no sound, real timing (default); auto: this machine's audio player; "
                        "process: a stand-in player process (measures starting and killing a process)")
    parser.add_argument("--rate", type=int, default=180)
    args = parser.parse_args()
    print(f"CPU: {cpu_line()}; at start: {load_average()}", flush=True)

    os.environ.setdefault("DESCRIBE_ALOUD_CONFIG_DIR", tempfile.mkdtemp(prefix="bench-speech-config-"))
    os.environ.pop("DESCRIBE_ALOUD_AUDIO_SINK", None)
    if args.player == "null":
        os.environ["DESCRIBE_ALOUD_AUDIO_PLAYER"] = "null"

    from describe_aloud.engine.config import Settings
    from describe_aloud.engine.speech.players import FallbackPlayer, choose_players
    from describe_aloud.engine.speech.speaker import Speaker

    errors: list[str] = []
    if args.player == "process":
        from describe_aloud.engine.speech.players import CommandPlayer, NullPlayer, PlayerChoice

        stand_in = CommandPlayer("process", [sys.executable, "-S", "-c",
                                             "import sys, time, wave; w = wave.open(sys.argv[1]); "
                                             "time.sleep(w.getnframes() / w.getframerate())"])
        choice = PlayerChoice([stand_in, NullPlayer()], silent_on_purpose=True)
    else:
        choice = choose_players()
    player = RecordingPlayer(FallbackPlayer(choice, on_no_sound=errors.append))
    speaker = Speaker(Settings(rate=args.rate), player=player, on_error=errors.append)
    try:
        # Warm up: the voice process starts and loads its voice once per app run.
        warm = time.perf_counter()
        speaker.say("Ready.")
        player.started.wait(30)
        print(f"voice process start + first word (cold): {(player.start_time - warm) * 1000:.0f} ms")
        speaker.stop()
        speaker.wait_until_idle(5)

        say_calls, first_audio, stop_calls, stop_silent, whole = [], [], [], [], []
        out = Path(tempfile.mkdtemp(prefix="bench-speech-")) / "whole.wav"
        for _ in range(args.runs):
            player.reset()
            start = time.perf_counter()
            speaker.say(TEXT)
            say_calls.append(time.perf_counter() - start)
            if not player.started.wait(10):
                print("no audio started within 10 s", file=sys.stderr)
                return 1
            first_audio.append(player.start_time - start)
            time.sleep(0.3)  # let it speak a little, as a user would before pressing stop
            start = time.perf_counter()
            speaker.stop()
            stop_calls.append(time.perf_counter() - start)
            speaker.wait_until_idle(5)
            stop_silent.append((player.end_time or time.perf_counter()) - start)
            start = time.perf_counter()
            speaker.save_wav(TEXT, out)
            whole.append(time.perf_counter() - start)

        print(f"player: {player.inner.name}; text: {len(TEXT)} characters, {len(TEXT.split())} words; "
              f"rate {args.rate} wpm")
        report("say() call", say_calls)
        report("say -> first audio", first_audio)
        report("whole text as WAV", whole)
        report("stop() call", stop_calls)
        report("stop -> silent", stop_silent)
        for message in dict.fromkeys(errors):
            print(f"note: {message}")
    finally:
        speaker.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
