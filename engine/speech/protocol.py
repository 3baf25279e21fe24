"""What the app and the command line need from a speech output: the contract `Speaker` fulfils.

The GUI, the batch dialog and the CLI are typed against this, not against `Speaker`, so a test double or
a future output (a screen reader that is not behind `Speaker`) is checked by the type checker, and no
caller asks `hasattr(speaker, ...)` of a method.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from describe_aloud.engine.speech.speaker import Voice


@runtime_checkable
class SpeechOutput(Protocol):
    """Every method returns at once unless it says otherwise; none may be called after `close()`."""

    def say(self, text: str, interrupt: bool = True) -> None: ...

    def stop(self) -> None: ...

    def repeat(self) -> None: ...

    def is_speaking(self) -> bool: ...

    def wait_until_idle(self, timeout: float | None = None) -> bool:
        """Blocks until nothing is queued or playing (or `timeout` seconds); True when idle."""
        ...

    def voices(self) -> list["Voice"]: ...

    def set_voice(self, voice_id: str | None) -> None: ...

    def set_rate(self, words_per_minute: int) -> None: ...

    def set_volume(self, volume: float) -> None: ...

    def set_output(self, output: str) -> None: ...

    def save_wav(self, text: str, path: str | Path) -> Path:
        """Blocks until the file is written."""
        ...

    def close(self, timeout: float = 3.0) -> None: ...
