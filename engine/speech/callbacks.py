"""The speaker's callback thread: user callbacks (on_started, on_finished, on_error) run here, in order,
never under the speaker's locks and never delaying playback."""
from __future__ import annotations

import logging
import queue
import threading
from typing import Any, Callable

log = logging.getLogger(__name__)

Callback = Callable[[str], Any]


class CallbackThread:
    """Runs user callbacks in order on one thread, so they never run under our locks or delay playback."""

    def __init__(self) -> None:
        self._queue: queue.Queue[tuple[Callback, str] | None] = queue.Queue()
        self._progress = threading.Condition()
        self._posted = 0
        self._delivered = 0
        self._thread = threading.Thread(target=self._run, name="speech-callbacks", daemon=True)
        self._thread.start()

    def post(self, callback: Callback | None, argument: str) -> None:
        if callback is not None:
            with self._progress:
                self._posted += 1
            self._queue.put((callback, argument))

    def wait_delivered(self, timeout: float | None) -> bool:
        """Wait until every callback posted so far has run (at once when called from a callback)."""
        if threading.current_thread() is self._thread:
            return True
        with self._progress:
            target = self._posted
            return self._progress.wait_for(lambda: self._delivered >= target, timeout)

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            callback, argument = item
            try:
                callback(argument)
            except Exception:  # noqa: BLE001 - a faulty callback must not stop speech; it is logged
                log.exception("speech callback %r failed", callback)
            finally:
                with self._progress:
                    self._delivered += 1
                    self._progress.notify_all()

    def close(self, timeout: float) -> None:
        self._queue.put(None)
        if threading.current_thread() is not self._thread:  # Speaker.close() may be called from a callback
            self._thread.join(timeout)
