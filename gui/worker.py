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

Signals, per job, in order (JobWorker's): `job_started(job)`, for a screen capture with text
`job_progress(JobPartial)` (its read text, before the caption: speak it at once; for "more detail", the
detail before the objects), then `job_result(JobResult)` or `job_error(job, message)`, then
`job_finished(job)`; a job replaced before it ran gets `job_dropped(job)`. Model state: `status(text)`,
`model_ready(model_id)`, `model_failed(message)`.
"""
from __future__ import annotations

import logging
import threading
import time
from collections import deque
from typing import Any

from PySide6.QtCore import QObject, Signal

from describe_aloud.engine.captioners import Captioner, load_captioner
from describe_aloud.engine.describer import Describer
from describe_aloud.engine.description import Description
from describe_aloud.engine.errors import UserFacingError, user_message
from describe_aloud.engine.images import load_image
from describe_aloud.engine.i18n import N_, _
from describe_aloud.engine.ocr import OcrEngine
from describe_aloud.gui.ask_jobs import AskJob, AskRunner
from describe_aloud.engine.translation import translator_or_reason
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

log = logging.getLogger(__name__)

MAX_FILES_PER_REQUEST = 200
OUT_OF_MEMORY = N_("There is not enough memory to describe this image.")

class DescribeWorker(JobWorker):
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
        # Only touched on the worker thread:
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
            if self._stopping or self._pending:
                return False
            self._pending.append(job)
            self._cond.notify_all()
        return True

    def pending_count(self) -> int:
        with self._cond:
            return len(self._pending)

    def is_busy(self) -> bool:
        with self._cond:
            return self._busy or bool(self._pending)

    def set_model(self, model: str | None, *, detail_model: str | None = None, precision: str | None = None):
        """Load another model (after a settings change); jobs wait until it is loaded."""
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
            self._cond.notify_all()
        self.asks.cancel_all()
        self.requestInterruption()

    def stop_and_wait(self, timeout_ms: int = 30_000) -> bool:
        self.stop()
        return self.wait(timeout_ms)

    # The worker thread -------------------------------------------------------------------------------
    def run(self) -> None:  # noqa: D401 - Qt entry point
        self._load_main_model()
        while True:
            with self._cond:
                while not (self._pending or self._stopping or self._reload_requested):
                    self._cond.wait()
                if self._stopping:
                    self._busy = False
                    break
                if self._reload_requested:
                    self._reload_requested = False
                    job = None
                else:
                    job = self._pending.popleft()
                self._busy = True
            if job is None:
                self._close_describers()
                self._load_main_model()
            else:
                self._run_job(job)
            with self._cond:
                self._busy = False
        self._close_describers()

    def _close_describers(self) -> None:
        """Drop the models (ending the describers' caption threads first)."""
        for describer in {id(d): d for d in (self._describer, self._detail_describer) if d is not None}.values():
            describer.close()
        self._describer = self._captioner = None
        self._detail_describer = None
        self.asks.close()

    def _load_main_model(self) -> None:
        with self._cond:
            spec, precision = self._model, self._precision
        self.status.emit(_("Loading model {model}…").format(model=model_label(spec)))
        started = time.perf_counter()
        # The OCR models load and run once on their own thread while torch and the captioner load here:
        # cold start to Ready is the longer of the two instead of their sum (bench/bench_hotkey.py).
        ocr = self._start_ocr_warm_up()
        try:
            self._describer, self._captioner = self._make_describer(spec, precision, ocr=ocr)
        except Exception as exc:  # noqa: BLE001 - any failure becomes a spoken message, OCR still works
            message = user_message(exc, doing=_failure(spec), memory=_(OUT_OF_MEMORY))
            log.warning("captioner %s not loaded: %s", spec, exc, exc_info=not isinstance(exc, UserFacingError))
            self._describer = self._ocr_only_describer(message, ocr=ocr)
            self._warm_up(self._describer)
            self.status.emit(_("Ready, reading text only: {reason}").format(reason=message))
            self.model_failed.emit(message)
            return
        self._attach_translator()
        loaded = time.perf_counter()
        self._wait_for_text_reader(ocr)
        log.info("ready: captioner loaded in %.2f s, text reader ready %.2f s later",
                 loaded - started, time.perf_counter() - loaded)
        self.status.emit(_("Ready"))
        self.model_ready.emit(str(self._captioner.model_id or spec or ""))
        # Ready is said first: the captioner's warm-up (0.12-0.19 s of one tiny caption) and one read of a
        # screen-sized page only make the first request faster; a request that comes meanwhile waits for
        # them in the queue, which is no longer than it would have taken to do them itself.
        self._warm_up(self._describer)
        self._warm_up_screen_reading(ocr)

    def _attach_translator(self) -> None:
        """Load the translator into the app's language (nothing for English) and give it to the describers.
        A missing translation model is said once; descriptions then stay in English."""
        if self._translator is None and self._language is not None:
            self._translator, problem = translator_or_reason(self._language)
            if problem:
                self._language = None  # do not try again on every model change
                self.status.emit(problem)
        for describer in (self._describer, self._detail_describer):
            if describer is not None:
                describer.translator = self._translator

    @staticmethod
    def _warm_up(describer: Describer | None) -> None:
        # Load the OCR models and run the captioner once, so the first hotkey pays for neither (nothing big
        # is loaded on the hotkey path).
        if describer is None:
            return
        try:
            describer.warm_up()
        except Exception:  # noqa: BLE001 - a failure here shows up (and is reported) on the first job
            log.warning("warm-up failed", exc_info=True)

    def _warm_up_screen_reading(self, ocr: OcrEngine | None) -> None:
        if ocr is None or not self._screen_size or self._stopping:
            return
        try:
            ocr.warm_up_for_size(self._screen_size)
        except Exception:  # noqa: BLE001 - only a warm-up: the first capture reports real problems
            log.warning("OCR warm-up at screen size failed", exc_info=True)

    @staticmethod
    def _wait_for_text_reader(ocr: OcrEngine | None) -> None:
        try:
            if ocr is not None:
                ocr.warm_up()  # joins the warm-up running on its own thread
        except Exception:  # noqa: BLE001 - said with the first description that needs the text
            log.warning("OCR is not ready", exc_info=True)

    def _start_ocr_warm_up(self) -> OcrEngine | None:
        """A new OCR engine for the main describer, already warming up on a helper thread (joined by
        `_wait_for_text_reader`); None when the OCR engine cannot even be created (reported later)."""
        try:
            ocr = OcrEngine(threads=self._threads)
            ocr.warm_up_in_background()
            return ocr
        except Exception:  # noqa: BLE001 - the describer's own OCR engine reports the failure on first use
            log.warning("OCR warm-up could not start", exc_info=True)
            return None

    def _make_describer(self, spec: str | None, precision: str, *, use_ocr: bool = True,
                        ocr: OcrEngine | None = None):
        """The main describer reads the text, hands it over (spoken at once), then captions, each stage
        with every core. The detail model's describer (no OCR) adds only the detail and objects."""
        captioner = load_captioner(spec, precision=precision, device=self._device, local_files_only=True)
        if not use_ocr:
            return Describer(captioner, use_ocr=False), captioner
        set_torch_threads(self._threads)
        return Describer(captioner, ocr=ocr or OcrEngine(threads=self._threads)), captioner

    def _ocr_only_describer(self, message: str, *, ocr: OcrEngine | None = None) -> Describer | None:
        try:
            return Describer(None, ocr=ocr or OcrEngine(threads=self._threads), caption_error=message)
        except Exception:  # noqa: BLE001 - the engine itself is broken: every job will report it
            log.exception("no describer at all")
            return None

    def _detail(self) -> Describer:
        """The detail model's describer, loaded on first use (on this thread)."""
        with self._cond:
            spec, precision = self._detail_model, self._precision
        if self._detail_describer is not None and self._detail_describer_spec == spec:
            return self._detail_describer
        if spec == self._model and self._captioner is not None:
            self._detail_describer = self._describer
        else:
            self.status.emit(_("Loading detail model {model}…").format(model=model_label(spec)))
            # Only the added caption and objects are used: the text was read the first time.
            self._detail_describer, _unused = self._make_describer(spec, precision, use_ocr=False)
            self._attach_translator()
        self._detail_describer_spec = spec
        return self._detail_describer

    def _run_job(self, job: DescribeJob | AskJob) -> None:
        if isinstance(job, AskJob):
            self.asks.run(job)
            return
        spec = self._detail_model if job.more_detail else self._model
        self.run_job(job, lambda: self._describe(job), doing=_failure(spec), memory=_(OUT_OF_MEMORY))

    def _describe(self, job: DescribeJob) -> JobResult:
        started = time.perf_counter()
        thumbnails: list[bytes | None] = []
        image = job.image
        if image is None:
            if job.path is None:
                raise ValueError("nothing to describe")
            image = load_image(job.path)
        if job.more_detail:
            def on_detail(partial: Description) -> None:  # on this thread; the GUI speaks it meanwhile
                self.job_progress.emit(JobPartial(job, partial))

            describer = self._detail()
            describer.translate_text = self.translate_text
            description = describer.add_detail(image, source=job.source, on_detail=on_detail)
        else:
            if self._describer is None:
                raise RuntimeError("the describing engine could not be started")
            on_text = None
            if job.kind_hint == "screen":
                def on_text(partial: Description) -> None:  # on this thread; the GUI speaks it, queued
                    self.job_progress.emit(JobPartial(job, partial))
                    # Made here or after the caption, the thumbnail costs the same; here it is done.
                    thumbnails.append(make_thumbnail_quickly(image))
            self._describer.translate_text = self.translate_text
            description = self._describer.describe(image, detail=job.detail, source=job.source,
                                                   on_text=on_text, kind_hint=job.kind_hint)
        description.timings_ms.update(job.timings_ms)
        description.timings_ms["queue_wait"] = (started - job.submitted_at) * 1000.0
        description.timings_ms["worker_total"] = (time.perf_counter() - started) * 1000.0
        log.info("described %s: %s", job.source,
                 ", ".join(f"{k} {v:.0f} ms" for k, v in description.timings_ms.items()))
        if job.more_detail:
            thumbnail = None
        else:
            thumbnail = thumbnails[0] if thumbnails else make_thumbnail_quickly(image)
        return JobResult(job, description, image, thumbnail)


def _failure(spec: str | None) -> str:
    """What failed, for user_message: "Describing failed (git-base)"."""
    return _("Describing failed ({model})").format(model=model_label(spec))


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
