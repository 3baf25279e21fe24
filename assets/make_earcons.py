"""Generate the app's earcons: short, soft chimes that say "I heard you", "done" and "something went wrong".

    python assets/make_earcons.py            # writes assets/earcons/{capturing,done,error}.wav

The output is deterministic (same bytes every run), so the committed WAVs can be checked against it.
Design: sine tones with a little 2nd/3rd harmonic (a bell, not a beep), a 5 ms attack so there is no
click, and an exponential decay. "capturing" is the shortest (it plays while the user waits), rising;
"done" is a bright rising major sixth; "error" is lower and falls, so it is told apart without looking.
"""
from __future__ import annotations

import argparse
import math
import struct
import wave
from pathlib import Path

RATE = 22050
PEAK = 0.42  # of full scale: audible next to speech, never harsh

# name -> list of (start seconds, frequency Hz, length seconds, relative loudness)
EARCONS: dict[str, list[tuple[float, float, float, float]]] = {
    "capturing": [(0.0, 880.0, 0.09, 0.8), (0.06, 1174.66, 0.12, 1.0)],  # A5 -> D6, quick
    "done": [(0.0, 783.99, 0.18, 0.9), (0.11, 1318.51, 0.30, 1.0)],  # G5 -> E6
    "error": [(0.0, 493.88, 0.20, 1.0), (0.16, 349.23, 0.34, 1.0)],  # B4 -> F4, falling tritone
}


def _note(frequency: float, length: float, loudness: float) -> list[float]:
    samples = []
    count = int(length * RATE)
    attack = int(0.005 * RATE)
    for i in range(count):
        t = i / RATE
        envelope = min(1.0, i / attack) * math.exp(-5.0 * t / length)
        # The last 10 ms fade to zero so the note never ends with a click.
        envelope *= min(1.0, (count - i) / (0.01 * RATE))
        tone = (math.sin(2 * math.pi * frequency * t)
                + 0.25 * math.sin(2 * math.pi * 2 * frequency * t)
                + 0.08 * math.sin(2 * math.pi * 3 * frequency * t)) / 1.33
        samples.append(loudness * envelope * tone)
    return samples


def render(name: str) -> list[float]:
    """The earcon as floats in -1..1."""
    notes = EARCONS[name]
    total = max(start + length for start, _, length, _ in notes)
    mix = [0.0] * int(total * RATE + 1)
    for start, frequency, length, loudness in notes:
        offset = int(start * RATE)
        for i, value in enumerate(_note(frequency, length, loudness)):
            mix[offset + i] += value
    peak = max(abs(v) for v in mix) or 1.0
    return [PEAK * v / peak for v in mix]


def write_wav(path: Path, samples: list[float]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    frames = b"".join(struct.pack("<h", int(round(max(-1.0, min(1.0, s)) * 32767))) for s in samples)
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(RATE)
        wav.writeframes(frames)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "earcons")
    args = parser.parse_args(argv)
    for name in EARCONS:
        target = args.out / f"{name}.wav"
        write_wav(target, render(name))
        print(target)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
