"""The speaker's small value types: a Voice the user can choose, one Utterance (a text on its way to the
speakers, with the WAV of each sentence), and the rate and volume limits a damaged setting is held to."""
from __future__ import annotations

import threading
from concurrent.futures import Future
from dataclasses import dataclass, field

from describe_aloud.engine.config import Settings

MIN_RATE, MAX_RATE = 80, 500


@dataclass(frozen=True)
class Voice:
    id: str
    name: str
    languages: list[str] = field(default_factory=list)


@dataclass
class Utterance:
    text: str
    gen: int
    interrupt: bool
    cancelled: threading.Event = field(default_factory=threading.Event)
    futures: dict[int, Future] = field(default_factory=dict)  # sentence index -> its WAV
    voices: list[str | None] = field(default_factory=list)  # sentence index -> voice (None: the chosen one)

    def cancel(self) -> None:
        self.cancelled.set()
        for future in list(self.futures.values()):
            future.cancel()


def clamp_volume(volume: float) -> float:
    try:
        return max(0.0, min(1.0, float(volume)))
    except (TypeError, ValueError):
        return 1.0  # a damaged settings value: speak at full volume rather than not at all


def clamp_rate(words_per_minute: int) -> int:
    try:
        return max(MIN_RATE, min(MAX_RATE, int(words_per_minute)))
    except (TypeError, ValueError):
        return Settings().rate
