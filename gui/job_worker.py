"""The one way the GUI runs engine code off the GUI thread: a QThread that runs plain engine calls as jobs
and reports each with the same signals (napari's started / yielded / returned / errored / finished).

    job_started(job)        the job began
    job_progress(value)     something it produced on the way (a screen's read text, a batch's Progress)
    job_result(value)       what it returned
    job_error(job, message) it failed; `message` is a sentence for the user (engine.errors.user_message)
    job_finished(job)       after job_result or job_error, always
    status(text)            what the worker is doing between jobs (loading a model...)

Not named started / finished: QThread already has those (the thread's start and end).

Threading contract: a subclass's `run()` runs on the worker thread and calls `run_job` there; it never
touches a widget, only emits these signals, which Qt queues to receivers in the GUI thread. The engine
code a job runs must not call any UI routine either.
"""
from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QObject, QThread, Signal

from describe_aloud.engine.errors import UserFacingError, user_message

log = logging.getLogger(__name__)


class JobWorker(QThread):
    status = Signal(str)
    job_started = Signal(object)
    job_progress = Signal(object)
    job_result = Signal(object)
    job_error = Signal(object, str)
    job_finished = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)

    # What `work()` returns when the job is not over: it goes on later (another `run_job(..., resumed=True)`).
    LATER = object()

    def run_job(self, job: object, work: Callable[[], object], *, doing: str, memory: str | None = None,
                resumed: bool = False) -> None:
        """Run `work()` as `job`: started, then its result or its error, then finished. Every failure is
        reported as a sentence (`doing` says what failed, `memory` what running out of memory stopped),
        never swallowed; an unexpected one is logged with its traceback. When `work()` returns `LATER` the
        job is not finished yet: its second part runs as `run_job(job, rest, ..., resumed=True)`, which
        does not say it started again."""
        if not resumed:
            self.job_started.emit(job)
        result: object = None
        try:
            result = work()
        except Exception as exc:  # noqa: BLE001 - every failure is reported to the user, never swallowed
            log.warning("%s: %s", doing, exc, exc_info=not isinstance(exc, UserFacingError))
            self.job_error.emit(job, user_message(exc, doing=doing, memory=memory))
        else:
            if result is not self.LATER:
                self.job_result.emit(result)
        finally:
            if result is not self.LATER:
                self.job_finished.emit(job)
