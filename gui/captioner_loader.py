"""Loading the captioner on a helper thread while the describe worker already reads text (gui.worker).

Why a helper thread: at start the worker brings the text reader up first and says "Ready." as soon as a
hotkey gets the screen's text; torch, transformers and the captioner take longer (bench/bench_start.py).
Loading them on the worker thread would leave a hotkey waiting in the queue for all of it. The load is
started only after the text reader's warm-up, not beside it: importing torch and transformers holds the
GIL almost throughout, and measured side by side it doubled the time to Ready while the captioner was
not ready any sooner (docs/benchmarks.md, "Start-up").

Threading contract: `CaptionerLoad.start()` runs `load` on a daemon thread and calls `deliver(loaded)` there
once, with the captioner or the exception; the worker takes it under its own lock and, from then on,
only the worker thread uses the captioner. Nothing here touches Qt.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

log = logging.getLogger(__name__)


@dataclass
class Loaded:
    """What a load produced: the captioner or the exception that stopped it, and the translator into the
    app's language (None for English) or the sentence that says why there is none."""

    spec: str | None
    captioner: Any = None
    error: BaseException | None = None
    translator: Any = None
    translator_problem: str | None = None
    seconds: float = 0.0


class CaptionerLoad:
    """One load of a captioner (and the translator, once) on its own thread."""

    def __init__(self, spec: str | None, load: Callable[[], Any], *, translator: Callable[[], tuple[Any, str | None]] | None,
                 deliver: Callable[[Loaded], None]) -> None:
        self.spec = spec
        self._load = load
        self._translator = translator
        self._deliver = deliver
        self._thread = threading.Thread(target=self._run, name="captioner-load", daemon=True)

    def start(self) -> "CaptionerLoad":
        self._thread.start()
        return self

    def join(self, timeout: float | None = None) -> None:
        """Wait for the load to end (it cannot be interrupted: a stop waits for it)."""
        self._thread.join(timeout)

    def _run(self) -> None:
        started = time.perf_counter()
        loaded = Loaded(self.spec)
        try:
            loaded.captioner = self._load()
            if self._translator is not None:
                loaded.translator, loaded.translator_problem = self._translator()
        except Exception as exc:  # noqa: BLE001 - the worker reports it (spoken) and keeps reading text
            loaded.error = exc
        loaded.seconds = time.perf_counter() - started
        log.info("captioner %s %s in %.2f s", self.spec, "failed" if loaded.error else "loaded", loaded.seconds)
        self._deliver(loaded)
