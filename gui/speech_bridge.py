"""The app's speech output: the engine's Speaker, its callbacks brought to the GUI thread, and a silent
stand-in for when speech cannot start at all.

Threading contract: the Speaker calls back on its own thread; SpeechBridge only re-emits those calls as
signals, which arrive queued in the GUI thread. NullSpeaker is called on the GUI thread.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from describe_aloud.engine.config import Settings
from describe_aloud.engine.errors import user_message
from describe_aloud.engine.i18n import _
from describe_aloud.engine.speech import SpeechOutput, SpeechUnavailable, Voice, create_speaker

log = logging.getLogger(__name__)


class NullSpeaker:
    """Used only when the speech module cannot be started at all: the app still shows every result and
    announces it to the screen reader, and the status line says why our voice is silent."""

    def say(self, text: str, interrupt: bool = True) -> None:
        log.info("(no voice) %s", text)

    def stop(self) -> None: ...

    def repeat(self) -> None: ...

    def is_speaking(self) -> bool:
        return False

    def wait_until_idle(self, timeout: float | None = None) -> bool:
        return True

    def voices(self) -> list[Voice]:
        return []

    def set_voice(self, voice_id: str | None) -> None: ...

    def set_rate(self, words_per_minute: int) -> None: ...

    def set_volume(self, volume: float) -> None: ...

    def set_output(self, output: str) -> None: ...

    def save_wav(self, text: str, path: str | Path) -> Path:
        raise SpeechUnavailable(_("Speech is off, so nothing can be saved as sound."))

    def close(self, timeout: float = 3.0) -> None: ...


class SpeechBridge(QObject):
    """Re-emits the Speaker's callbacks (called on a speech thread) as signals handled in the GUI thread."""

    speech_started = Signal()
    speech_finished = Signal()
    speech_error = Signal(str)

    def on_started(self, *args: object) -> None:
        self.speech_started.emit()

    def on_finished(self, *args: object) -> None:
        self.speech_finished.emit()

    def on_error(self, *args: object) -> None:
        message = next((str(a) for a in args if a), _("Speech failed."))
        self.speech_error.emit(message)


SpeakerFactory = Callable[[Settings, SpeechBridge], SpeechOutput]


def default_speaker_factory(settings: Settings, bridge: SpeechBridge) -> SpeechOutput:
    return create_speaker(settings, on_started=bridge.on_started, on_finished=bridge.on_finished,
                          on_error=bridge.on_error)


def start_speech(factory: SpeakerFactory, settings: Settings, bridge: SpeechBridge) -> tuple[SpeechOutput, str | None]:
    """The app's speech output, and a sentence when speech could not start (the app then runs silent: every
    result is still shown and announced to the screen reader)."""
    try:
        return factory(settings, bridge), None
    except Exception as exc:  # noqa: BLE001 - the app must start even when speech cannot
        log.warning("speech unavailable: %s", exc, exc_info=True)
        return NullSpeaker(), user_message(exc, doing=_("Speech is off"))
