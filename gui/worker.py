"""The describe worker: a JobWorker (gui.job_worker) that owns the captioner and turns images into
Descriptions.

Threading contract
- Everything in `run()` (model loading, image decoding, OCR, captioning, thumbnails) happens on the worker
  thread. It never touches a widget: results go back to the GUI thread through signals (queued
  connections, because the receivers live in the GUI thread).
- `submit()`, `submit_many()`, `set_model()`, `stop()` may be called from any thread (the GUI thread in
  practice); they only touch the pending-job slot under a lock and never wait for the model.
- Newest request wins: a new request replaces every job still waiting (those get `job_dropped`), so the queue
  never holds more than one request (a request may carry several files, bounded by MAX_FILES_PER_REQUEST).
  A job already running is not interrupted: it finishes, then the newest request runs.
- `stop()` then `wait()` ends the thread; a model load in progress is finished first (it cannot be
  interrupted), nothing else runs after `stop()`.

Start-up (docs/architecture.md): the text reader loads and warms up first, then `text_ready` ("Ready.": a
hotkey now gets the screen's text); only then does the captioner load, on a helper thread
(gui.captioner_loader), while this thread already takes requests. A request that comes before the captioner
is loaded is read at once (`job_progress` with `awaiting_caption`: its text, and that the picture's
description follows) and waits, alone, for the captioner; its caption then comes as its `job_result`. A
newer request replaces it (`job_dropped`) like any waiting job. After `model_ready` nothing differs from a
start that loaded everything first.

Signals, per job, in order (JobWorker's): `job_started(job)`, for a screen capture with text
`job_progress(JobPartial)` (its read text, before the caption: speak it at once; for "more detail", the
detail before the objects), then `job_result(JobResult)` or `job_error(job, message)`, then
`job_finished(job)`; a job replaced before it ran, or while it waited for the captioner, gets
`job_dropped(job)` instead. Model state: `status(text)`, `text_ready()`, `model_ready(model_id)`,
`model_failed(message)`.
"""
from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, Signal

from describe_aloud.engine.captioners import Captioner
from describe_aloud.engine.describer import Describer, ReadImage
from describe_aloud.engine.description import Description, ImageKind
from describe_aloud.engine.images import load_image
from describe_aloud.engine.i18n import _
from describe_aloud.engine.memory_release import release_idle_memory
from describe_aloud.engine.ocr import OcrEngine
from describe_aloud.gui.ask_jobs import AskJob, AskRunner
from describe_aloud.gui.captioner_loader import CaptionerLoad, Loaded
from describe_aloud.gui.describe_jobs import (
    DescribeJob,
    JobPartial,
    JobResult,
    make_thumbnail_quickly,
    model_label,
    set_torch_threads,
    usable_cores,
)
from describe_aloud.gui.job_worker import JobWorker
from describe_aloud.gui.worker_models import OUT_OF_MEMORY, WorkerModels, describing_failed

log = logging.getLogger(__name__)

MAX_FILES_PER_REQUEST = 200
# Seconds without a request after which the memory the last requests freed is given back to the system
# (engine/memory_release.py): longer than the gap between the hotkeys of a user reading a screen.
IDLE_TRIM_S = 20.0
# Seconds without a request after which the text reader's own buffers (OpenVINO's, engine/ocr_memory.py:
# ~180 MB) go too. Longer: the next read allocates them again (+0.1-0.2 s on its OCR, measured), so only a
# user who has stopped reading screens for a while pays that, once.
IDLE_RELEASE_S = 120.0

@dataclass
class _Awaiting:
    """A request read before the captioner had loaded, waiting for its caption."""

    job: DescribeJob
    read: ReadImage
    image: Any
    thumbnail: bytes | None
    started: float


class DescribeWorker(JobWorker, WorkerModels):
    text_ready = Signal()
    model_ready = Signal(str)
    model_failed = Signal(str)
    job_dropped = Signal(object)
    # Questions about an image (gui.ask_jobs): started, each sentence as it is ready, the answer or an error.
    ask_started = Signal(object)
    ask_sentence = Signal(object)
    ask_result = Signal(object)
    ask_error = Signal(object, str)

    def __init__(
        self,
        model: str | None,
        *,
        detail_model: str | None = None,
        precision: str = "auto",
        device: str = "auto",
        screen_size: tuple[int, int] | None = None,
        language: str | None = None,
        translate_text: bool = False,
        captioner_loader: Callable[..., Captioner] | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("DescribeWorker")
        # Descriptions in the app's language (engine.translation); the translator loads with the captioner.
        self._language = language
        self.translate_text = translate_text  # a bool read by the worker thread at each job
        self._translator: Any = None
        self._screen_size = screen_size  # in device pixels: what a capture of the main screen will be
        self._model = model
        self._detail_model = detail_model
        self._precision = precision
        self._device = device
        self._cond = threading.Condition()
        self._pending: deque[DescribeJob] = deque()
        self._stopping = False
        self._reload_requested = False
        self._busy = False
        self._loading = False  # a captioner load runs on its helper thread
        self._loaded: Loaded | None = None  # what it delivered, not yet taken by the worker thread
        self._awaiting: _Awaiting | None = None  # read before the captioner loaded, waiting for its caption
        self._generation = 0  # + 1 per request: a read job parks only if no newer request came meanwhile
        self._captioner_loader = captioner_loader  # None: engine.load_captioner
        # Only touched on the worker thread:
        self._ocr: OcrEngine | None = None
        self._screen_reading_warm = False
        self._load: CaptionerLoad | None = None
        self._describer: Describer | None = None
        self._captioner: Captioner | None = None
        self._detail_describer: Describer | None = None
        self._detail_describer_spec: str | None = None
        # OCR, then the caption, each with every core: measured on the 2-core test machine
        # (bench/bench_hotkey.py, full-size GIT-base bf16), OCR and caption side by side on one core each
        # took 1.19 s and 1.09 s (first words after 1.28 s), against 0.43 s and 0.36 s one after the
        # other with both cores, so the text, which a screen's description speaks first, is ready about
        # three times sooner.
        self._threads = usable_cores()
        self.max_pending_seen = 0  # for tests and diagnostics: the queue never grows past one request
        self.ask_model: str | None = None  # None: the catalog's default ask model
        self.asks = AskRunner(self, lambda: self.ask_model, lambda: self._precision,
                              lambda: self._describer.ocr if self._describer is not None else None)

    # Called from the GUI thread ---------------------------------------------------------------------
    def submit(self, job: DescribeJob) -> DescribeJob:
        """Queue `job`, dropping every job still waiting (newest wins). Returns the job."""
        self.submit_many([job])
        return job

    def submit_many(self, jobs: list[DescribeJob]) -> list[DescribeJob]:
        """Queue several jobs as one request (dropped files), replacing whatever was waiting."""
        jobs = list(jobs)[:MAX_FILES_PER_REQUEST]
        with self._cond:
            if self._stopping:
                return []
            stale = list(self._pending)
            if self._awaiting is not None:  # its text was said; the user has moved on to a newer request
                stale.insert(0, self._awaiting.job)
                self._awaiting = None
            self._generation += 1
            self._pending.clear()
            self.asks.cancel_all()  # newest wins: an answer still being generated stops at its next token
            self._pending.extend(jobs)
            self.max_pending_seen = max(self.max_pending_seen, len(self._pending))
            self._cond.notify_all()
        for job in stale:
            self.job_dropped.emit(job)
        return jobs

    def submit_if_idle(self, job: AskJob) -> bool:
        """Queue background work (preparing to answer) only when nothing waits: it never replaces a request."""
        with self._cond:
            if self._stopping or self._pending or self._awaiting is not None:
                return False
            self._pending.append(job)
            self._cond.notify_all()
        return True

    def pending_count(self) -> int:
        with self._cond:
            return len(self._pending)

    def is_loading(self) -> bool:
        """A captioner is being loaded (it cannot be interrupted: a stop waits for it)."""
        with self._cond:
            return self._loading

    def is_busy(self) -> bool:
        with self._cond:
            return self._busy or bool(self._pending) or self._awaiting is not None

    def set_model(self, model: str | None, *, detail_model: str | None = None, precision: str | None = None):
        """Load another model (after a settings change); meanwhile requests are read at once and get their
        caption when it has loaded."""
        with self._cond:
            self._model = model
            if detail_model is not None:
                self._detail_model = detail_model
            if precision is not None:
                self._precision = precision
            self._reload_requested = True
            self._cond.notify_all()

    def stop(self) -> None:
        """Ask the thread to end after the current step; pending jobs are dropped. Follow with wait()."""
        with self._cond:
            self._stopping = True
            self._pending.clear()
            self._awaiting = None
            self._cond.notify_all()
        self.asks.cancel_all()
        self.requestInterruption()

    def stop_and_wait(self, timeout_ms: int = 30_000) -> bool:
        self.stop()
        return self.wait(timeout_ms)

    # The worker thread -------------------------------------------------------------------------------
    def run(self) -> None:  # noqa: D401 - Qt entry point
        self._start_text_reader()
        self._start_captioner_load()
        idle_stages = 0  # after a request: 2 (give freed memory back, then the text reader's buffers)
        while True:
            with self._cond:
                if not self._wait_for_work_locked(self._idle_wait(idle_stages)):
                    step = None
                elif self._stopping:
                    self._busy = False
                    break
                else:
                    step = self._next_step_locked()
                    self._busy = True
            if step is None:  # a quiet spell: the pages the last requests freed go back to the system
                release_idle_memory(self._text_readers() if idle_stages == 1 else ())
                idle_stages -= 1
                continue
            step()
            with self._cond:
                self._busy = False
            idle_stages = 2
        if self._load is not None:
            self._load.join()  # a load cannot be interrupted: the thread ends after it
        self._close_describers()

    def _text_readers(self) -> list[OcrEngine]:
        """The OCR engines this thread reads with (the screen's, and the describer's when it has its own)."""
        engines = [self._ocr, self._describer.ocr if self._describer is not None else None]
        return [ocr for i, ocr in enumerate(engines) if ocr is not None and ocr not in engines[:i]]

    @staticmethod
    def _idle_wait(idle_stages: int) -> float | None:
        """Seconds to wait for work before the next idle stage (None: no stage left, wait for work)."""
        if idle_stages == 2:
            return IDLE_TRIM_S
        return max(0.0, IDLE_RELEASE_S - IDLE_TRIM_S) if idle_stages == 1 else None

    def _wait_for_work_locked(self, timeout: float | None) -> bool:
        """Wait until there is work (True). With memory to give back, False instead once `timeout` passed
        without any: given back after every request, its pages had to be faulted in again by the next one
        (measured: hotkey -> first audio p95 0.34-0.40 s without, 0.49-0.50 s with)."""
        while not self._has_work_locked():
            if timeout is None:
                self._cond.wait()
            elif not self._cond.wait(timeout) and not self._has_work_locked():
                return False
        return True

    def _has_work_locked(self) -> bool:
        if self._stopping or self._loaded is not None or (self._reload_requested and not self._loading):
            return True
        return bool(self._pending) and self._can_take_locked(self._pending[0])

    def _can_take_locked(self, job: DescribeJob | AskJob) -> bool:
        if self._awaiting is not None:
            return False  # one request waits for the captioner at a time; the rest of it waits in the queue
        return not (job.more_detail and self._loading)  # more detail needs the captioner

    def _next_step_locked(self) -> Callable[[], None]:
        if self._loaded is not None:
            loaded, self._loaded = self._loaded, None
            return lambda: self._adopt(loaded)
        if self._reload_requested and not self._loading:
            self._reload_requested = False
            return self._reload
        job, generation = self._pending.popleft(), self._generation
        return lambda: self._run_job(job, generation)

    def _run_job(self, job: DescribeJob | AskJob, generation: int) -> None:
        if isinstance(job, AskJob):
            self.asks.run(job)
            return
        spec = self._detail_model if job.more_detail else self._model
        with self._cond:
            captioner_coming = self._captioner is None and (self._loading or self._loaded is not None)
        if captioner_coming and not job.more_detail:
            work = lambda: self._read_now_caption_later(job, generation)  # noqa: E731
        else:
            work = lambda: self._describe(job)  # noqa: E731
        self.run_job(job, work, doing=describing_failed(spec), memory=_(OUT_OF_MEMORY))

    def _read_now_caption_later(self, job: DescribeJob, generation: int) -> object:
        """Before the captioner has loaded: read the text now and hand it over (said at once, with the news
        that the picture's description follows), then wait for the captioner (`_finish_awaiting`)."""
        started = time.perf_counter()
        image = self._image_of(job)
        if self._describer is None:
            raise RuntimeError("the describing engine could not be started")
        self._describer.translate_text = self.translate_text
        read = self._describer.read_first(image, source=job.source, kind_hint=job.kind_hint)
        thumbnail = make_thumbnail_quickly(image)
        if read.description.kind is ImageKind.BLANK:  # nothing for a captioner to add
            return self._result(job, self._describer.caption_read(read), image, thumbnail, started)
        self.job_progress.emit(JobPartial(job, read.partial(), awaiting_caption=True))
        with self._cond:
            if self._generation == generation and not self._stopping:
                self._awaiting = _Awaiting(job, read, image, thumbnail, started)
                return self.LATER
        self.job_dropped.emit(job)  # a newer request came while it was read
        return self.LATER

    def _finish_awaiting(self) -> None:
        """The caption of the request that was read before the captioner loaded (or the reason there is none)."""
        with self._cond:
            waiting, self._awaiting = self._awaiting, None
        if waiting is None:
            return
        job = waiting.job

        def caption() -> JobResult:
            assert self._describer is not None
            self._describer.translate_text = self.translate_text  # a new describer: the setting is set per job
            description = self._describer.caption_read(waiting.read, detail=job.detail)
            return self._result(job, description, waiting.image, waiting.thumbnail, waiting.started)

        self.run_job(job, caption, doing=describing_failed(self._model), memory=_(OUT_OF_MEMORY), resumed=True)

    @staticmethod
    def _image_of(job: DescribeJob) -> Any:
        if job.image is not None:
            return job.image
        if job.path is None:
            raise ValueError("nothing to describe")
        return load_image(job.path)

    def _describe(self, job: DescribeJob) -> JobResult:
        started = time.perf_counter()
        thumbnails: list[bytes | None] = []
        image = self._image_of(job)
        if job.more_detail:
            def on_detail(partial: Description) -> None:  # on this thread; the GUI speaks it meanwhile
                self.job_progress.emit(JobPartial(job, partial))

            describer = self._detail()
            describer.translate_text = self.translate_text
            description = describer.add_detail(image, source=job.source, on_detail=on_detail)
            return self._result(job, description, image, None, started)
        if self._describer is None:
            raise RuntimeError("the describing engine could not be started")
        on_text = None
        if job.kind_hint == "screen":
            def on_text(partial: Description) -> None:  # on this thread; the GUI speaks it, queued
                self.job_progress.emit(JobPartial(job, partial))
                # Made here or after the caption, the thumbnail costs the same; here it is done. A dense
                # screen's text comes twice (its first lines, then all): one thumbnail.
                if not thumbnails:
                    thumbnails.append(make_thumbnail_quickly(image))
        self._describer.translate_text = self.translate_text
        description = self._describer.describe(image, detail=job.detail, source=job.source,
                                               on_text=on_text, kind_hint=job.kind_hint)
        thumbnail = thumbnails[0] if thumbnails else make_thumbnail_quickly(image)
        return self._result(job, description, image, thumbnail, started)

    @staticmethod
    def _result(job: DescribeJob, description: Description, image: Any, thumbnail: bytes | None,
                started: float) -> JobResult:
        description.timings_ms.update(job.timings_ms)
        description.timings_ms["queue_wait"] = (started - job.submitted_at) * 1000.0
        description.timings_ms["worker_total"] = (time.perf_counter() - started) * 1000.0
        log.info("described %s: %s", job.source,
                 ", ".join(f"{k} {v:.0f} ms" for k, v in description.timings_ms.items()))
        return JobResult(job, description, image, thumbnail)


__all__ = [  # the job types live in gui.describe_jobs; named here for the worker's callers
    "DescribeJob",
    "DescribeWorker",
    "JobPartial",
    "JobResult",
    "make_thumbnail_quickly",
    "model_label",
    "set_torch_threads",
    "usable_cores",
]
