"""The voice process: the ONLY place that touches pyttsx3. Run as `python -m engine.speech.worker`.

Why a process: pyttsx3 is not thread-safe, its run loop can wedge ("run loop already started") or hang,
and on Linux its own playback goes through an external player that `stop()` cannot cut. Here pyttsx3 only
synthesises sentences to WAV files; the parent plays them with a player it can kill, and kills and
restarts this process if it hangs or dies.

Protocol: JSON lines. Requests arrive on stdin, answers leave on the original stdout (pyttsx3's own
prints are sent to stderr so they cannot corrupt the protocol).

  parent -> worker   {"op": "synth", "id": N, "gen": G|null, "text": ..., "path": ..., "voice": ...,
                      "rate": WPM, "volume": 0..1}
                     {"op": "cancel", "below": G}   drop queued synth requests whose gen < G
                     {"op": "voices", "id": N}
                     {"op": "quit"}
  worker -> parent   {"type": "ready", "driver": ...} | {"type": "unavailable", "message": ...}
                     {"type": "begin", "id": N}      (synthesis of N started: the watchdog's clock)
                     {"type": "done", "id": N, "path": ..., "voice_warning": ...|null}
                     {"type": "skipped", "id": N}    (cancelled before it started)
                     {"type": "failed", "id": N, "message": ...}
                     {"type": "voices", "id": N, "voices": [{"id", "name", "languages"}]}

Threading: the main thread owns pyttsx3 and handles requests one at a time; a reader thread takes
requests from stdin so that "cancel" acts at once even while a synthesis runs.

`serve(..., before_synthesis=...)` lets another entry module wrap this one (the tests' faulty voice in
tests/fixtures/faulty_speech_worker.py hangs or crashes there); the app always runs `main()` below.
DESCRIBE_ALOUD_TTS_DRIVER selects another pyttsx3 driver (e.g. "dummy").
"""
from __future__ import annotations

import json
import os
import platform
import queue
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable, TextIO

from describe_aloud.engine import environment
from describe_aloud.engine.i18n import _

from .players import wav_duration

DRIVER_ENV = environment.TTS_DRIVER.name


def unavailable_message(detail: str = "") -> str:
    """The one sentence a user hears/reads when the voice cannot start, naming what to install."""
    system = platform.system()
    if system == "Linux":
        hint = _("install espeak-ng (sudo apt install espeak-ng)")
    elif system == "Darwin":
        hint = _("install pyobjc (pip install pyobjc), or choose screen reader output")
    elif system == "Windows":
        hint = _("install pywin32 (pip install pywin32), or choose screen reader output")
    else:
        hint = _("install espeak-ng")
    message = _("Speech is unavailable: {hint}.").format(hint=hint)
    if detail:
        message += f" ({detail})"
    return message


class _Channel:
    """Writes protocol lines; safe from the reader and the main thread."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._lock = threading.Lock()

    def send(self, **message: Any) -> None:
        line = json.dumps(message)
        with self._lock:
            try:
                self._stream.write(line + "\n")
                self._stream.flush()
            except (BrokenPipeError, ValueError, OSError):
                os._exit(0)  # the parent is gone: nothing left to serve


def _take_protocol_stdout() -> TextIO:
    """Keep the real stdout for the protocol; send fd 1 / sys.stdout to the null device, because pyttsx3
    prints a line for every file it saves."""
    protocol_fd = os.dup(1)
    null_fd = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null_fd, 1)
    os.close(null_fd)
    sys.stdout = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 - lives as long as the process
    return os.fdopen(protocol_fd, "w", encoding="utf-8", buffering=1)


class _Voice:
    """The pyttsx3 engine and the properties last applied to it. Main thread only."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self._voices: list[dict[str, Any]] | None = None
        self._applied: dict[str, Any] = {}
        self._default_voice = engine.getProperty("voice")

    def voices(self) -> list[dict[str, Any]]:
        if self._voices is None:
            self._voices = [
                {
                    "id": str(v.id),
                    "name": str(v.name or v.id),
                    "languages": [_language_text(lang) for lang in (v.languages or [])],
                }
                for v in self.engine.getProperty("voices")
            ]
        return self._voices

    def resolve(self, requested: str | None) -> str | None:
        """Map what a user typed ("en-us", "gmw/en-us", "English (America)") to an installed voice id."""
        if not requested:
            return None
        wanted = requested.strip().lower()
        voices = self.voices()
        for key in (
            lambda v: v["id"].lower(),
            lambda v: v["id"].lower().rsplit("/", 1)[-1],
            lambda v: v["name"].lower(),
            lambda v: v["languages"][0].lower() if v["languages"] else "",
        ):
            for voice in voices:
                if key(voice) == wanted:
                    return voice["id"]
        return None

    def apply(self, voice: str | None, rate: int | None, volume: float | None) -> str | None:
        """Apply properties that changed; return a warning for an unknown voice (default used)."""
        warning = None
        resolved = self.resolve(voice)
        if voice and resolved is None:
            warning = _("The voice {voice!r} is not installed; using the default voice.").format(voice=voice)
        target = {"voice": resolved or self._default_voice, "rate": rate, "volume": volume}
        changed = False
        for name, value in target.items():
            if value is not None and self._applied.get(name) != value:
                self.engine.setProperty(name, value)
                self._applied[name] = value
                changed = True
        if changed:
            self._settle_espeak()
        return warning

    def _settle_espeak(self) -> None:
        """espeak-ng in asynchronous mode queues property changes in its command queue, and pyttsx3's
        runAndWait begins with endLoop -> stop() -> espeak_Cancel() whenever espeak looks busy, which
        throws those queued changes away (rate and voice silently stay as they were). So wait until
        espeak has taken them."""
        espeak = sys.modules.get("pyttsx3.drivers._espeak")
        if espeak is None or not hasattr(espeak, "IsPlaying"):
            return  # another driver: its properties apply at once
        deadline = time.monotonic() + 1.0
        while espeak.IsPlaying() and time.monotonic() < deadline:
            time.sleep(0.001)

    def synthesise(self, text: str, path: str) -> None:
        """Write `text` to the WAV file `path`. A speakable text that came out silent is synthesised
        again (seen under load: espeak's asynchronous run had not started when pyttsx3 returned, and the
        file held only its header, so a whole sentence would have been skipped without a word)."""
        for _attempt in range(3):
            self._synthesise_once(text, path)
            if wav_duration(Path(path)) > 0 or not any(ch.isalnum() for ch in text):
                return
        raise RuntimeError("the voice produced no audio")

    def _synthesise_once(self, text: str, path: str) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.engine.save_to_file(text, path)
        self.engine.runAndWait()
        # pyttsx3 2.99's espeak driver starts espeak in (asynchronous) retrieval mode and its run loop
        # ends before synthesis does: the WAV is written later, from espeak's thread, which then clears
        # `_speaking` (and may not even have set it yet). Wait until audio is there and espeak is done,
        # or the file is missing or half-written (and the next request's endLoop -> Cancel() would cut
        # this one). The parent's watchdog bounds this wait; an empty result is retried by the caller.
        driver = getattr(self.engine.proxy, "_driver", None)
        started = time.monotonic()
        while True:
            if getattr(driver, "_speaking", False):
                time.sleep(0.002)
                continue
            if wav_duration(Path(path)) > 0 or time.monotonic() - started > SILENT_RESULT_GRACE_S:
                break
            time.sleep(0.002)
        if not Path(path).is_file():
            raise RuntimeError("the voice produced no audio")


# How long to wait for espeak's asynchronous synthesis to start before taking an empty file as final.
SILENT_RESULT_GRACE_S = 0.5


def _language_text(lang: Any) -> str:
    if isinstance(lang, bytes):
        return lang.decode("utf-8", "ignore").lstrip("\x05").strip()
    return str(lang)


def _start_engine() -> tuple[_Voice | None, str]:
    """Start pyttsx3; return (voice, "") or (None, user-facing message)."""
    driver = environment.TTS_DRIVER.get()
    try:
        import pyttsx3
    except ImportError:
        return None, _("Speech is unavailable: install pyttsx3 (pip install pyttsx3).")
    try:
        engine = pyttsx3.init(driver)
        return _Voice(engine), ""
    except Exception as exc:  # noqa: BLE001 - any start failure means "no voice", reported once
        detail = _("voice driver {driver!r}: {reason}").format(driver=driver, reason=exc) if driver else str(exc)
        return None, unavailable_message(detail)


def serve(channel: _Channel, requests: "queue.Queue[dict[str, Any] | None]", state: dict[str, int],
          before_synthesis: Callable[[], None] = lambda: None) -> None:
    """Main-thread loop: start the voice, then answer requests until "quit" or end of input."""
    voice, problem = _start_engine()
    if voice is None:
        channel.send(type="unavailable", message=problem)
        return
    channel.send(type="ready", driver=type(voice.engine.proxy._driver).__name__)
    while True:
        request = requests.get()
        if request is None or request.get("op") == "quit":
            return
        op, rid = request.get("op"), request.get("id")
        if op == "voices":
            channel.send(type="voices", id=rid, voices=voice.voices())
        elif op == "synth":
            gen = request.get("gen")
            if gen is not None and gen < state["below"]:
                channel.send(type="skipped", id=rid)
                continue
            channel.send(type="begin", id=rid)
            try:
                before_synthesis()
                warning = voice.apply(request.get("voice"), request.get("rate"), request.get("volume"))
                voice.synthesise(request["text"], request["path"])
            except Exception as exc:  # noqa: BLE001 - reported to the parent, which tells the user
                channel.send(type="failed", id=rid, message=str(exc) or type(exc).__name__)
            else:
                channel.send(type="done", id=rid, path=request["path"], voice_warning=warning)


def _read_requests(stream: TextIO, requests: "queue.Queue[dict[str, Any] | None]", state: dict[str, int]) -> None:
    """Reader thread: queue requests; apply "cancel" immediately."""
    for line in stream:
        try:
            request = json.loads(line)
        except ValueError:
            continue
        if request.get("op") == "cancel":
            state["below"] = max(state["below"], int(request.get("below", 0)))
            continue
        requests.put(request)
    requests.put(None)  # end of input: the parent is gone


def main(before_synthesis: Callable[[], None] = lambda: None) -> int:
    channel = _Channel(_take_protocol_stdout())
    requests: queue.Queue[dict[str, Any] | None] = queue.Queue()
    state = {"below": 0}
    reader = threading.Thread(
        target=_read_requests, args=(sys.stdin, requests, state), name="speech-worker-stdin", daemon=True
    )
    reader.start()
    serve(channel, requests, state, before_synthesis)
    # Skip interpreter teardown: espeak asserts when torn down from Python (see pyttsx3's driver).
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
