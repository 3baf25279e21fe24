"""The parent's side of the voice process: start it, talk to it, watch it, restart it.

`VoiceProcess` is thread-safe: any thread may submit requests; each request returns a
`concurrent.futures.Future`. Three background threads per client: a writer (so a caller never blocks on a
full pipe), a reader per running process (answers -> futures), and a watchdog that kills and restarts a
process that does not answer in time. Restarts fail the outstanding futures with `VoiceRestarted`; the
caller resubmits what it still needs. When the voice cannot start at all, every future fails with
`SpeechUnavailable` and `on_problem` is called once with the message for the user.
"""
from __future__ import annotations

import itertools
import json
import logging
import os
import queue
import subprocess
import sys
import threading
import time
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from describe_aloud.engine.errors import UserFacingError
from describe_aloud.engine.i18n import N_, _, current_language

log = logging.getLogger(__name__)

STARTUP_TIMEOUT_S = 20.0
# The voice process's entry module; tests run a faulty one that wraps it (tests/fixtures).
WORKER_MODULE = "describe_aloud.engine.speech.worker"
# Synthesis is ~50-100x faster than real time with espeak-ng; these bounds only catch a hang.
SYNTH_TIMEOUT_BASE_S = 4.0
SYNTH_TIMEOUT_PER_CHAR_S = 0.01
MAX_RESTARTS = 3
RESTART_WINDOW_S = 60.0

HUNG_MESSAGE = N_("The voice stopped responding and was restarted.")
DIED_MESSAGE = N_("The voice stopped unexpectedly and was restarted.")
GAVE_UP_MESSAGE = N_("The voice keeps failing, so speech is switched off until the app is restarted.")


class SpeechUnavailable(UserFacingError):
    """The own voice cannot speak on this computer (str() says what to install)."""


class VoiceRestarted(Exception):
    """The voice process was restarted while this request was outstanding; resubmit it."""


def synth_timeout(text: str, base: float = SYNTH_TIMEOUT_BASE_S) -> float:
    return base + SYNTH_TIMEOUT_PER_CHAR_S * len(text)


@dataclass
class _Request:
    message: dict[str, Any]
    future: Future
    text: str = ""
    begun_at: float | None = None


@dataclass
class _Incarnation:
    """One running worker process and what it was asked."""

    process: subprocess.Popen[str]
    started_at: float
    ready: bool = False
    outstanding: dict[int, _Request] = field(default_factory=dict)


class VoiceProcess:
    def __init__(
        self,
        on_problem: Callable[[str], None] | None = None,
        *,
        timeout_base: float = SYNTH_TIMEOUT_BASE_S,
        startup_timeout: float = STARTUP_TIMEOUT_S,
        worker_module: str = WORKER_MODULE,
    ) -> None:
        self._worker_module = worker_module
        self._on_problem = on_problem
        self._timeout_base = timeout_base
        self._startup_timeout = startup_timeout
        self._lock = threading.RLock()
        self._ids = itertools.count(1)
        self._outbox: queue.Queue[tuple[_Incarnation, str] | None] = queue.Queue()
        self._current: _Incarnation | None = None
        self._unavailable: str | None = None
        self._closed = False
        self._restarts: list[float] = []
        self._wake = threading.Event()
        self._threads: list[threading.Thread] = []
        self._writer = self._spawn_thread(self._write_loop, "speech-writer")
        self._watchdog = self._spawn_thread(self._watch_loop, "speech-watchdog")
        with self._lock:
            self._start_process()

    # --- public -----------------------------------------------------------------------------------

    @property
    def unavailable(self) -> str | None:
        """The user-facing reason the voice cannot speak, or None."""
        return self._unavailable

    def synthesise(self, text: str, path: Path, *, gen: int | None, voice: str | None, rate: int | None,
                   volume: float | None) -> Future:
        """Ask for `text` as a WAV at `path`. The future's result is the path. Never blocks."""
        return self._submit(
            {"op": "synth", "gen": gen, "text": text, "path": str(path), "voice": voice, "rate": rate,
             "volume": volume},
            text,
        )

    def list_voices(self) -> Future:
        return self._submit({"op": "voices"}, "")

    def cancel_below(self, gen: int) -> None:
        """Queued speech requests of older generations are skipped by the worker. Never blocks."""
        with self._lock:
            if self._current is not None:
                self._outbox.put((self._current, json.dumps({"op": "cancel", "below": gen})))

    def close(self, timeout: float = 2.0) -> None:
        """Stop the process and all threads. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            incarnation, self._current = self._current, None
        if incarnation is not None:
            self._outbox.put((incarnation, json.dumps({"op": "quit"})))
        self._outbox.put(None)
        self._wake.set()
        self._writer.join(timeout)
        if incarnation is not None:
            try:
                # "quit" is answered after the current synthesis (milliseconds); longer means it hangs.
                incarnation.process.wait(min(timeout, 1.0))
            except subprocess.TimeoutExpired:
                incarnation.process.kill()
                incarnation.process.wait()
            self._end(incarnation, SpeechUnavailable(_("Speech was closed.")))
        for thread in self._threads:
            thread.join(timeout)

    # --- requests ---------------------------------------------------------------------------------

    def _submit(self, message: dict[str, Any], text: str) -> Future:
        future: Future = Future()
        with self._lock:
            if self._unavailable or self._closed:
                future.set_exception(SpeechUnavailable(self._unavailable or _("Speech was closed.")))
                return future
            rid = next(self._ids)
            message["id"] = rid
            incarnation = self._current
            assert incarnation is not None
            incarnation.outstanding[rid] = _Request(message, future, text)
            self._outbox.put((incarnation, json.dumps(message)))
        return future

    def _write_loop(self) -> None:
        while True:
            item = self._outbox.get()
            if item is None:
                return
            incarnation, line = item
            stdin = incarnation.process.stdin
            try:
                assert stdin is not None
                stdin.write(line + "\n")
                stdin.flush()
            except (OSError, ValueError):
                pass  # the process died; the reader notices and restarts it

    # --- processes --------------------------------------------------------------------------------

    def _start_process(self) -> None:
        """Start a worker (lock held)."""
        env = dict(os.environ)
        env.setdefault("PYTHONUNBUFFERED", "1")
        # The voice process's own messages (a missing voice, no speech engine) in the app's language, which
        # --language or Settings may have set apart from the system's.
        env["LANGUAGE"] = current_language()
        try:
            process = subprocess.Popen(
                [sys.executable, "-m", self._worker_module],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=None, text=True, encoding="utf-8",
                env=env, bufsize=1,
            )
        except OSError as exc:  # no Python to run it with, too many processes...: speech off, app on
            self._current = None
            if self._unavailable is None:
                self._unavailable = _("Speech is unavailable: the voice process could not start ({reason}).").format(reason=exc)
                if self._on_problem:
                    self._on_problem(self._unavailable)
            return
        incarnation = _Incarnation(process, time.monotonic())
        self._current = incarnation
        self._spawn_thread(lambda: self._read_loop(incarnation), f"speech-reader-{process.pid}")

    def _spawn_thread(self, target: Callable[[], None], name: str) -> threading.Thread:
        thread = threading.Thread(target=target, name=name, daemon=True)
        self._threads = [t for t in self._threads if t.is_alive()]
        self._threads.append(thread)
        thread.start()
        return thread

    def _read_loop(self, incarnation: _Incarnation) -> None:
        stdout = incarnation.process.stdout
        assert stdout is not None
        for line in stdout:
            try:
                message = json.loads(line)
            except ValueError:
                continue
            self._handle(incarnation, message)
        # End of output: the process exited (or was killed by us).
        incarnation.process.wait()
        for stream in (incarnation.process.stdout, incarnation.process.stdin):
            try:
                if stream is not None:
                    stream.close()
            except (OSError, ValueError):
                pass  # the writer may be failing on it at the same moment; nothing to save
        with self._lock:
            if self._current is not incarnation or self._closed:
                return
            self._recover(incarnation, _(DIED_MESSAGE))

    def _handle(self, incarnation: _Incarnation, message: dict[str, Any]) -> None:
        kind = message.get("type")
        with self._lock:
            if kind == "ready":
                incarnation.ready = True
                return
            if kind == "unavailable":
                self._give_up(incarnation, str(message.get("message")))
                return
            request = incarnation.outstanding.get(message.get("id", -1))
            if request is None:
                return
            if kind == "begin":
                request.begun_at = time.monotonic()
                return
            del incarnation.outstanding[message["id"]]
        # Settle the future outside the lock: its callbacks may call back into us.
        if kind == "done":
            if message.get("voice_warning") and self._on_problem:
                self._on_problem(message["voice_warning"])
            if not _settle(request.future, result=Path(message["path"])):
                Path(message["path"]).unlink(missing_ok=True)  # nobody wants it any more
        elif kind == "skipped":
            request.future.cancel()
        elif kind == "failed":
            _settle(request.future, error=RuntimeError(message.get("message", "synthesis failed")))
        elif kind == "voices":
            _settle(request.future, result=message.get("voices", []))

    def _watch_loop(self) -> None:
        """Kill and restart a worker that does not start, or does not finish a synthesis, in time."""
        while not self._wake.wait(0.05):
            now = time.monotonic()
            with self._lock:
                incarnation = self._current
                if incarnation is None or self._closed:
                    continue
                if not incarnation.ready:
                    if now - incarnation.started_at > self._startup_timeout:
                        self._recover(incarnation, _(HUNG_MESSAGE))
                    continue
                for request in incarnation.outstanding.values():
                    if request.begun_at is not None and now - request.begun_at > synth_timeout(
                        request.text, self._timeout_base
                    ):
                        log.warning("voice process hung on %r; restarting it", request.text[:60])
                        self._recover(incarnation, _(HUNG_MESSAGE))
                        break

    def _recover(self, incarnation: _Incarnation, message: str) -> None:
        """Replace a hung or dead worker (lock held); give up after too many restarts."""
        now = time.monotonic()
        self._restarts = [t for t in self._restarts if now - t < RESTART_WINDOW_S] + [now]
        if len(self._restarts) > MAX_RESTARTS:
            self._give_up(incarnation, _(GAVE_UP_MESSAGE))
            return
        incarnation.process.kill()
        self._start_process()
        self._end(incarnation, VoiceRestarted(message))
        if self._on_problem:
            self._on_problem(message)

    def _give_up(self, incarnation: _Incarnation, message: str) -> None:
        """The voice cannot work: tell the user once; from now on every request fails at once."""
        first = self._unavailable is None
        self._unavailable = self._unavailable or message
        if incarnation.process.poll() is None:
            incarnation.process.kill()
        if self._current is incarnation:
            self._current = None
        self._end(incarnation, SpeechUnavailable(self._unavailable))
        if first and self._on_problem:
            self._on_problem(message)

    @staticmethod
    def _end(incarnation: _Incarnation, error: Exception) -> None:
        requests, incarnation.outstanding = list(incarnation.outstanding.values()), {}
        for request in requests:
            _settle(request.future, error=error)


def _settle(future: Future, *, result: Any = None, error: BaseException | None = None) -> bool:
    """Set a future's outcome unless it was cancelled meanwhile; True when set."""
    try:
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)
        return True
    except InvalidStateError:
        return False
