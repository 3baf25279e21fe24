"""Questions about an image, run on the model-owning worker thread (gui.worker.DescribeWorker).

An `AskJob` goes through the worker's queue like a description (newest wins: a new question also stops an
answer still being generated, at its next token). The question-answering model is loaded on the first
question (the status line says so) and kept while the app runs.

Signals (on DescribeWorker, queued to the GUI thread): `ask_started(job)`, `ask_sentence(AskPartial)` for
each sentence as soon as it is complete, then `ask_result(AskResult)` or `ask_error(job, message)`.

Threading contract: `AskRunner.run` runs on the worker thread only and never touches a widget; `cancel_all`
may be called from any thread (it only sets events).
"""
from __future__ import annotations

import itertools
import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from describe_aloud.engine.errors import UserFacingError, user_message
from describe_aloud.engine.i18n import N_, _

if TYPE_CHECKING:
    from describe_aloud.engine.ask import Answer, AnswerSentence, Asker, Turn
    from describe_aloud.engine.ocr import OcrEngine

log = logging.getLogger(__name__)

OUT_OF_MEMORY = N_("There is not enough memory to answer questions with this model.")
_ids = itertools.count(1)


@dataclass
class AskJob:
    """A question about `image` (or about the file `image_path`, read in the worker), with the text read in
    it (`lines`; None: read it first) and the conversation so far about the same image."""

    question: str
    source: str
    image: Any = None
    image_path: Path | None = None
    lines: list[str] | None = None
    history: list["Turn"] = field(default_factory=list)
    history_id: int | None = None
    cancel: threading.Event = field(default_factory=threading.Event)
    id: int = field(default_factory=lambda: next(_ids))
    submitted_at: float = field(default_factory=time.perf_counter)
    path: None = None  # never a file to describe (the worker's "files skipped" count ignores it)
    more_detail: bool = False
    interrupt: bool = True
    prepare_only: bool = False  # no question yet: load the model and encode the image while the user types


@dataclass
class AskPartial:
    job: AskJob
    sentence: "AnswerSentence"


@dataclass
class AskResult:
    job: AskJob
    answer: "Answer"
    image: Any
    lines: list[str]


class AskRunner:
    """Owns the Asker (on the worker thread). `emit` is the worker: it has the ask_* signals and `status`."""

    def __init__(self, worker: Any, model_spec: Callable[[], str | None], precision: Callable[[], str],
                 ocr: Callable[[], "OcrEngine | None"]) -> None:
        self._worker = worker
        self._model_spec = model_spec
        self._precision = precision
        self._ocr = ocr
        self._asker: Asker | None = None
        self._asker_spec: str | None = None
        self._running: list[AskJob] = []
        self._lock = threading.Lock()
        self.asker_loads = 0  # for tests: the model is loaded once, not once per question
        # Extra load_asker arguments (max_new_tokens, the confidence thresholds); set before the first question.
        self.asker_options: dict[str, Any] = {}

    def cancel_all(self) -> None:
        """Stop every answer being generated (a newer request came, or the user stopped)."""
        with self._lock:
            for job in self._running:
                job.cancel.set()

    def close(self) -> None:
        self._asker = None

    def run(self, job: AskJob) -> None:
        if job.prepare_only:
            self._prepare(job)
            return
        worker = self._worker
        worker.ask_started.emit(job)
        with self._lock:
            self._running.append(job)
        try:
            result = self._answer(job)
        except Exception as exc:  # noqa: BLE001 - every failure is reported to the user, never swallowed
            log.warning("asking failed: %s", exc, exc_info=not isinstance(exc, UserFacingError))
            worker.ask_error.emit(job, user_message(exc, doing=_("The question could not be answered"),
                                                    memory=_(OUT_OF_MEMORY)))
        else:
            worker.ask_result.emit(result)
        finally:
            with self._lock:
                self._running.remove(job)

    def _answer(self, job: AskJob) -> AskResult:
        from describe_aloud.engine.images import load_image

        image = job.image if job.image is not None else load_image(job.image_path)
        lines = job.lines if job.lines is not None else self._read(image)
        asker = self._load()
        stream = asker.ask(image, job.question, lines=lines, history=job.history, cancel=job.cancel)
        for sentence in stream:
            self._worker.ask_sentence.emit(AskPartial(job, sentence))
        return AskResult(job, stream.answer, image, lines)

    def _prepare(self, job: AskJob) -> None:
        """Load the model and encode the image before the question comes. A failure is reported as for a
        question (a missing model is better said when the dialog opens than after typing)."""
        from describe_aloud.engine.images import load_image

        try:
            image = job.image if job.image is not None else load_image(job.image_path)
            lines = job.lines if job.lines is not None else self._read(image)
            self._load().prepare(image, lines)
        except Exception as exc:  # noqa: BLE001 - reported to the user, never swallowed
            log.warning("preparing to answer failed: %s", exc, exc_info=not isinstance(exc, UserFacingError))
            self._worker.ask_error.emit(job, user_message(exc, doing=_("The question could not be answered"),
                                                          memory=_(OUT_OF_MEMORY)))

    def _read(self, image: Any) -> list[str]:
        ocr = self._ocr()
        if ocr is None:
            return []
        try:
            return [line.text for line in ocr.read(image)]
        except Exception:  # noqa: BLE001 - the question is still answered, from the image alone
            log.warning("reading the text for a question failed", exc_info=True)
            return []

    def _load(self) -> "Asker":
        from describe_aloud.engine.ask import load_asker

        spec = self._model_spec()
        if self._asker is None or self._asker_spec != spec:
            self._asker = None
            self._worker.status.emit(_("Loading the question-answering model; the first answer takes longer…"))
            self._asker = load_asker(spec, precision=self._precision(), local_files_only=True, **self.asker_options)
            self._asker_spec = spec
            self.asker_loads += 1
            self._worker.status.emit(_("Ready to answer."))
        return self._asker
