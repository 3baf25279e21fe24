"""Send text to the user's running screen reader instead of our own voice.

Back ends, tried in order (the first that is available wins):
  1. prismatoid (`pip install prismatoid`, optional): NVDA, JAWS, VoiceOver, Orca, speech-dispatcher...
     Only its screen-reader back ends are used; a plain system voice is not a screen reader.
  2. Windows: the NVDA controller client DLL (nvdaControllerClient64.dll / nvdaControllerClient.dll on the
     DLL search path) when NVDA is running.
  3. Linux: speech-dispatcher (the voice Orca speaks through), via the `speechd` Python binding or `spd-say`.

`DESCRIBE_ALOUD_SCREEN_READER=none|prismatoid|nvda|speech-dispatcher` forces one (none: never found).

Threading: a `ScreenReader` is used from one thread at a time (the speaker's controller thread), except
`stop()`, which may be called from any thread. `speak()` raises `ScreenReaderError` when the text did not
reach the screen reader, so the caller can fall back to the own voice without losing the text.
"""
from __future__ import annotations

import ctypes
import logging
import platform
import shutil
import subprocess
from typing import Any, Callable, Protocol

from describe_aloud.engine import environment

log = logging.getLogger(__name__)

SCREEN_READER_ENV = environment.SCREEN_READER.name

# prismatoid back-end names that are screen readers (compared lower-case, as substrings).
_PRISM_SCREEN_READERS = (
    "nvda", "jaws", "voiceover", "orca", "speech dispatcher", "speech-dispatcher", "speechd", "narrator",
    "zdsr", "zhengdu", "system access", "supernova", "dolphin", "pc talker", "window-eyes", "window eyes",
    "boy", "talkback",
)


class ScreenReaderError(Exception):
    """The text could not be handed to the screen reader."""


class ScreenReader(Protocol):
    name: str

    def speak(self, text: str, interrupt: bool) -> None: ...
    def stop(self) -> None: ...
    def close(self) -> None: ...


class PrismScreenReader:
    def __init__(self, backend: Any) -> None:
        self._backend = backend
        self.name = f"{backend.name} (prismatoid)"

    def speak(self, text: str, interrupt: bool) -> None:
        try:
            self._backend.speak(text, interrupt=interrupt)
        except Exception as exc:  # noqa: BLE001 - prism raises PrismError and friends
            raise ScreenReaderError(str(exc)) from exc

    def stop(self) -> None:
        try:
            self._backend.stop()
        except Exception:  # noqa: BLE001 - stopping is best effort
            log.debug("prism stop failed", exc_info=True)

    def close(self) -> None:
        self._backend = None


def _find_prism() -> ScreenReader | None:
    try:
        import prism  # type: ignore[import-not-found]  # the prismatoid package
    except Exception:  # noqa: BLE001 - not installed, or its native library does not load here
        return None
    try:
        backend = prism.Context().acquire_best()
    except Exception:  # noqa: BLE001
        return None
    name = str(getattr(backend, "name", "")).lower()
    if not any(key in name for key in _PRISM_SCREEN_READERS):
        return None  # a plain system voice: our own voice is better controlled
    return PrismScreenReader(backend)


class NvdaScreenReader:
    name = "NVDA"

    def __init__(self, dll: Any) -> None:
        self._dll = dll

    def speak(self, text: str, interrupt: bool) -> None:
        if interrupt:
            self._dll.nvdaController_cancelSpeech()
        if self._dll.nvdaController_speakText(ctypes.c_wchar_p(text)) != 0:
            raise ScreenReaderError("NVDA did not accept the text")

    def stop(self) -> None:
        self._dll.nvdaController_cancelSpeech()

    def close(self) -> None:
        pass


def _find_nvda() -> ScreenReader | None:
    if platform.system() != "Windows":
        return None
    for name in ("nvdaControllerClient64.dll", "nvdaControllerClient.dll", "nvdaControllerClient32.dll"):
        try:
            dll = ctypes.windll.LoadLibrary(name)  # type: ignore[attr-defined]
        except OSError:
            continue
        if dll.nvdaController_testIfRunning() == 0:
            return NvdaScreenReader(dll)
    return None


class SpdSayScreenReader:
    """speech-dispatcher through its command-line client (what Orca speaks through on Linux)."""

    name = "speech-dispatcher"

    def __init__(self, executable: str) -> None:
        self._exe = executable

    def _run(self, *args: str) -> None:
        try:
            done = subprocess.run(
                [self._exe, *args], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE, timeout=3, check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ScreenReaderError(str(exc)) from exc
        if done.returncode != 0:
            raise ScreenReaderError(done.stderr.decode("utf-8", "replace").strip() or f"exit {done.returncode}")

    def speak(self, text: str, interrupt: bool) -> None:
        # Never "spd-say --cancel": it cancels every client's speech, the screen reader's included.
        # spd-say cannot cancel only its own messages, so `interrupt` and stop() do nothing here.
        self._run("--", text)

    def stop(self) -> None:
        """Nothing: see speak()."""

    def close(self) -> None:
        pass


class SpeechdScreenReader:
    """speech-dispatcher through its Python binding."""

    name = "speech-dispatcher"

    def __init__(self, client: Any, language: str | None = None) -> None:
        self._client = client
        self._language = language  # the app's language, None: speech-dispatcher's own default

    def speak(self, text: str, interrupt: bool) -> None:
        """Mixed-language text (Chinese and English...) goes in runs, each with its language set, so that
        speech-dispatcher picks a voice for it; then the app's language is set back."""
        from describe_aloud.engine.i18n import current_language

        from .language_runs import language_switches

        own = self._language or current_language()
        try:
            if interrupt:
                self._client.cancel()
            runs = language_switches(text, own)
            if len(runs) <= 1:
                self._client.speak(text)
                return
            for run in runs:
                self._client.set_language(run.language or own)
                self._client.speak(run.text)
            self._client.set_language(own)
        except Exception as exc:  # noqa: BLE001 - SSIPCommunicationError and socket errors
            raise ScreenReaderError(str(exc)) from exc

    def stop(self) -> None:
        try:
            self._client.cancel()
        except Exception:  # noqa: BLE001
            log.debug("speechd cancel failed", exc_info=True)

    def close(self) -> None:
        try:
            self._client.close()
        except Exception:  # noqa: BLE001
            pass


def _find_speech_dispatcher() -> ScreenReader | None:
    if platform.system() != "Linux":
        return None
    try:
        import speechd  # type: ignore[import-not-found]

        return SpeechdScreenReader(speechd.SSIPClient("describe-aloud"))
    except Exception:  # noqa: BLE001 - binding missing or the daemon cannot be reached
        pass
    executable = shutil.which("spd-say")
    return SpdSayScreenReader(executable) if executable else None


_FINDERS: dict[str, Callable[[], ScreenReader | None]] = {
    "prismatoid": _find_prism,
    "nvda": _find_nvda,
    "speech-dispatcher": _find_speech_dispatcher,
}


def find_screen_reader() -> ScreenReader | None:
    """The running screen reader's output, or None. May take a moment (loads libraries): call it off the
    GUI thread."""
    forced = (environment.SCREEN_READER.get() or "").lower()
    if forced == "none":
        return None
    names = [forced] if forced in _FINDERS else list(_FINDERS)
    for name in names:
        try:
            reader = _FINDERS[name]()
        except Exception:  # noqa: BLE001 - a broken back end must not break speech
            log.warning("screen reader back end %s failed to load", name, exc_info=True)
            reader = None
        if reader is not None:
            return reader
    return None
