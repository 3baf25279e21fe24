"""What the worker reports, shown in the window, kept in the history and said (through the SpokenFlow).

Threading contract: a QObject of the GUI thread; the worker's signals reach its slots queued. After
`close()` (app shutdown) whatever is still queued is dropped: there is nothing left to show it in.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QApplication

from describe_aloud.engine import render
from describe_aloud.engine.config import Settings
from describe_aloud.engine.errors import user_message
from describe_aloud.engine.history import HistoryStore
from describe_aloud.engine.i18n import _
from describe_aloud.gui.main_window import MainWindow
from describe_aloud.gui.spoken_flow import SpokenFlow
from describe_aloud.gui.worker import DescribeJob, DescribeWorker, JobPartial, JobResult

log = logging.getLogger(__name__)


@dataclass
class LastResult:
    """What "repeat", "copy" and "more detail" work on."""

    rendering: render.Rendering  # what was said and shown, more detail included
    image: Any
    source: str
    history_id: int | None
    lines: tuple[str, ...] = ()  # the text read in the image (what questions about it are grounded in)

    @property
    def text(self) -> str:
        return self.rendering.speech


def open_history() -> tuple[HistoryStore, str | None]:
    """The history store, and a sentence when it can only be kept in memory (describing matters more
    than remembering)."""
    try:
        return HistoryStore(), None
    except Exception as exc:  # noqa: BLE001 - sqlite3.Error, OSError: the app still describes
        log.warning("history unavailable: %s", exc, exc_info=True)
        problem = user_message(exc, doing=_("The history cannot be saved"))
        return HistoryStore(Path(":memory:")), _("{problem} It is kept until the app closes.").format(problem=problem)


def short_source(job: DescribeJob) -> str:
    """What a status line says of the job's source: a file's name, not its whole path (read aloud, a path
    is a long string of folder names)."""
    return job.path.name if job.path is not None else job.source


class Presenter(QObject):
    def __init__(self, window: MainWindow, history: HistoryStore, flow: SpokenFlow, settings: Settings,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.window = window
        self.history = history
        self.flow = flow
        self.settings = settings
        self.last: LastResult | None = None
        self.closed = False

    def attach(self, worker: DescribeWorker) -> None:
        worker.status.connect(self._worker_status)
        worker.text_ready.connect(self._text_ready)
        worker.model_ready.connect(self._model_ready)
        worker.model_failed.connect(self._model_failed)
        worker.job_started.connect(self._job_started)
        worker.job_progress.connect(self._job_progress)
        worker.job_result.connect(self._job_result)
        worker.job_error.connect(self._job_error)
        worker.job_dropped.connect(self._job_dropped)

    def close(self) -> None:
        self.closed = True
        self.flow.closed = True

    def report_error(self, message: str, *, shown: str | None = None, interrupt: bool = True) -> None:
        """Shown (`shown`, else the message), announced (assertively), spoken, and the error earcon."""
        self.window.set_status(message, assertive=True, spoken=True)
        # Never over a description: the user may be reading it (the status line has the message); details
        # that have no other place go below it.
        if self.last is None:
            self.window.show_result(shown or message, focus=self._focus_result())
        elif shown:
            self.window.append_result(shown)
        self.flow.report(message, interrupt=interrupt)

    # The model ---------------------------------------------------------------------------------------
    def _worker_status(self, message: str) -> None:
        if not self.closed:
            self.window.set_status(message)

    def _text_ready(self) -> None:
        if self.closed:
            return
        # Shown, not announced: flow.text_ready says "Ready." (the status tells the rest to whoever reads it).
        self.window.set_status(_("Ready; the picture model is still loading."), spoken=True)
        self.flow.text_ready()

    def _model_ready(self, _model_id: str) -> None:
        if self.closed:
            return
        self.window.set_status(_("Ready"), spoken=True)  # said once, by flow.model_ready
        self.flow.model_ready()

    def _model_failed(self, message: str) -> None:
        if self.closed:
            return
        message = _("{problem} Until then only text in images is read.").format(problem=message)
        self.window.set_status(message, assertive=True, spoken=True)
        if self.last is None:
            self.window.show_result(message, focus=False)
        self.flow.model_failed(message)

    # Jobs --------------------------------------------------------------------------------------------
    def _job_started(self, job: DescribeJob) -> None:
        if job.more_detail:
            self.window.set_status(_("Describing {source} in more detail…").format(source=short_source(job)))
        else:
            self.window.set_status(_("Describing {source}…").format(source=short_source(job)))

    def _job_progress(self, partial: JobPartial) -> None:
        """Only said: the window and the history show the whole description when it is complete."""
        if not self.closed:
            self.flow.early(partial)

    def _job_result(self, result: JobResult) -> None:
        if self.closed:  # a result queued just before quit: nothing left to show it in
            return
        try:
            if result.job.more_detail:
                self._show_more_detail(result)
            else:
                self._show_result(result)
        except Exception as exc:  # noqa: BLE001 - never a silent failure: say what went wrong
            log.exception("showing a description failed")
            self.report_error(user_message(exc, doing=_("The description could not be shown")))

    def _show_result(self, result: JobResult) -> None:
        job = result.job
        rendering = render.describe(result.description, include_text=self.settings.speak_ocr)
        # Sound first (both calls return at once): the user is waiting; the window and history can wait.
        self.flow.described(job, rendering)
        history_id = self._record(result, rendering)
        self.last = LastResult(rendering=rendering, image=result.image, source=job.source, history_id=history_id,
                               lines=tuple(line.text for line in result.description.text_lines))
        self.window.show_result(rendering.display, focus=self._focus_result())
        self.window.set_preview(result.thumbnail)
        self.window.set_status(_("Described {source}.").format(source=short_source(job)), spoken=True)  # the description itself is said

    def _show_more_detail(self, result: JobResult) -> None:
        description = result.description
        rendering = render.more_detail(description)
        # Asked again, the same detail is said again but not added a second time.
        new = rendering.after(self.last.rendering) if self.last is not None else rendering
        if self.last is not None and new:
            self.last.rendering = self.last.rendering + new
            if self.last.history_id is not None:
                try:
                    self.history.add_detail(self.last.history_id, description, self.last.rendering)
                except Exception:  # noqa: BLE001 - the detail is shown and spoken anyway
                    log.warning("history update failed", exc_info=True)
        if new:
            self.window.append_result(new.display)
        self.window.set_status(_("More detail added."), spoken=True)
        self.flow.detail_added(result.job, rendering)

    def _focus_result(self) -> bool:
        """Move the focus to the result only where it moves no one: the window is hidden (it shows the
        result first when opened) or has no focused control. Otherwise the focus stays where the user left
        it (a focus change would also cut off the screen reader reading the description)."""
        if not self.window.isVisible():
            return True
        focused = QApplication.focusWidget()
        return self.window.isActiveWindow() and (focused is None or not self.window.isAncestorOf(focused))

    def _record(self, result: JobResult, rendering: render.Rendering) -> int | None:
        """Add to the history; a failure (disk full...) is reported but never costs the description."""
        try:
            return self.history.add(result.description, source=result.job.source, thumbnail=result.thumbnail,
                                    rendering=rendering).id
        except Exception as exc:  # noqa: BLE001 - sqlite3.Error, OSError: say it, go on
            log.warning("history write failed: %s", exc, exc_info=True)
            problem = user_message(exc, doing=_("This description could not be added to the history"))
            self.window.set_status(problem, spoken=True)
            self.flow.say_status(problem)  # after the description; an announcement alone is silent with the own voice
            return None

    def _job_dropped(self, job: DescribeJob) -> None:
        self.flow.file_dropped(job)  # emitted synchronously from submit(), on this thread

    def _job_error(self, job: DescribeJob, message: str) -> None:
        if self.closed:
            return
        self.report_error(message, interrupt=self.flow.job_failed(job))
