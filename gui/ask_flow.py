"""Asking about the image: the Ask dialog, the questions handed to the worker, the answers spoken (first
sentence as soon as it exists), shown, and kept with the image's history entry.

What is asked about (`Subject`): the last description's image (with the text read in it, and the
conversation already kept with its history entry), or an image file chosen in the dialog before any
description ("ask before describe").

Threading contract: a QObject of the GUI thread; the worker's ask_* signals reach its slots queued. It never
runs a model and never waits on speech.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QWidget

from describe_aloud.engine import render
from describe_aloud.engine.ask import Answer, Turn
from describe_aloud.engine.history import HistoryStore
from describe_aloud.gui.ask_dialog import AskDialog
from describe_aloud.gui.ask_jobs import AskJob, AskPartial, AskResult
from describe_aloud.gui.image_input import choose_images, copy_text
from describe_aloud.gui.presenter import LastResult, Presenter
from describe_aloud.gui.spoken_flow import SpokenFlow
from describe_aloud.gui.worker import DescribeWorker
from describe_aloud.engine.i18n import N_, _

log = logging.getLogger(__name__)

NOTHING_TO_ASK_ABOUT = N_("There is no image to ask about yet. Describe an image first, or choose one in the Ask "
                        "dialog (Ctrl+K).")


@dataclass
class Subject:
    """The image the questions are about, and the conversation about it so far."""

    source: str
    image: Any = None
    image_path: Path | None = None
    lines: list[str] | None = None  # None: not read yet (a chosen file): the worker reads it
    history_id: int | None = None
    turns: list[tuple[str, Answer]] = field(default_factory=list)

    def prompt_history(self) -> list[Turn]:
        return [Turn(q, a.text or render.answer(a).speech) for q, a in self.turns]


class AskFlow(QObject):
    def __init__(self, window: QWidget, worker: DescribeWorker, presenter: Presenter, history: HistoryStore,
                 flow: SpokenFlow, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.window = window
        self.worker = worker
        self.presenter = presenter
        self.history = history
        self.flow = flow
        self.dialog: AskDialog | None = None
        self.subject: Subject | None = None
        self._subject_of: LastResult | None = None  # the description the subject was made from
        self.current: AskJob | None = None
        self._preparing: AskJob | None = None
        self._spoken: list[render.Part] = []
        self._groundings: list[str] = []  # of the sentences said so far (the label goes on the first of a kind)
        self._stopped = False
        self._in_window: Subject | None = None  # the subject whose questions the main window's result shows
        self.closed = False
        worker.ask_started.connect(self._started)
        worker.ask_sentence.connect(self._sentence)
        worker.ask_result.connect(self._result)
        worker.ask_error.connect(self._error)
        worker.job_dropped.connect(self._dropped)

    # Commands --------------------------------------------------------------------------------------
    def open_dialog(self) -> AskDialog:
        """Show the dialog (focus in the question field), about the last description's image."""
        dialog = self._dialog()
        self._refresh_subject()
        dialog.show()
        dialog.focus_question()
        self._prepare()
        return dialog

    def _prepare(self) -> None:
        """While the user types: load the model and encode the image, so the answer starts sooner."""
        subject = self.subject
        if subject is None or self.current is not None:
            return
        job = AskJob(question="", source=subject.source, image=subject.image, image_path=subject.image_path,
                     lines=subject.lines, history_id=subject.history_id, prepare_only=True)
        if self.worker.submit_if_idle(job):
            self._preparing = job

    def ask(self, question: str) -> AskJob | None:
        """Ask `question` about the current subject (the newest question replaces one being answered)."""
        question = " ".join(question.split())
        subject = self._refresh_subject()
        if not question:
            return None
        if subject is None:
            self._report(_(NOTHING_TO_ASK_ABOUT))
            return None
        job = AskJob(question=question, source=subject.source, image=subject.image, image_path=subject.image_path,
                     lines=subject.lines, history=subject.prompt_history(), history_id=subject.history_id)
        self.current, self._spoken, self._groundings, self._stopped = job, [], [], False
        if self.dialog is not None:
            self.dialog.append(render.question(question).speech, new_paragraph=True)
            self.dialog.set_busy(True)
        self.flow.earcon("capturing")
        self.worker.submit(job)
        return job

    def ask_about_file(self, path: str) -> None:
        """Ask before describing: the next questions are about this file (read and asked in the worker)."""
        self.subject = Subject(source=path, image_path=Path(path))
        self._subject_of = self.presenter.last
        self._show_subject()
        if self.dialog is not None and self.dialog.isVisible():
            self._prepare()

    def choose_image(self) -> None:
        paths = choose_images(self.dialog or self.window)
        if paths:
            self.ask_about_file(paths[0])

    def stop(self) -> None:
        """Stop the voice and the answer being generated (Escape)."""
        self._stopped = True
        if self.current is not None:
            self.current.cancel.set()
        self.flow.stop()

    def copy_conversation(self) -> None:
        text = render.conversation(self.subject.turns) if self.subject else ""
        if not text:
            self._report(_("There is no conversation to copy yet."))
            return
        copy_text(text)
        self._status(_("Conversation copied."))
        self.flow.say_status(_("Copied."))

    def close(self) -> None:
        self.closed = True
        if self.dialog is not None:
            self.dialog.close()

    # The worker's signals ------------------------------------------------------------------------------
    def _started(self, job: AskJob) -> None:
        if job is self.current and not self.closed:
            self._status(_("Answering…"))

    def _sentence(self, partial: AskPartial) -> None:
        if partial.job is not self.current or self.closed:
            return  # an answer a newer question replaced
        previous = self._groundings[-1] if self._groundings else None
        part = render.answer_sentence(partial.sentence, previous=previous)
        first = not self._spoken
        self._spoken.append(part)
        self._groundings.append(partial.sentence.grounding)
        if not self._stopped:
            if first:
                self.flow.earcon("done")
            self.flow.speaker.say(part.speech, interrupt=first)
        if self.dialog is not None:
            self.dialog.append("\n".join(part.lines))

    def _result(self, result: AskResult) -> None:
        job, answer = result.job, result.answer
        if job is not self.current or self.closed:
            return
        self.current = None
        rendering = render.answer(answer)
        rest = rendering.after(render.Rendering(tuple(self._spoken)))
        if rest and not self._stopped:
            if not self._spoken:
                self.flow.earcon("done")
            self.flow.speaker.say(rest.speech, interrupt=not self._spoken)
        if self.dialog is not None and rest:
            self.dialog.append(rest.display)
        subject = self.subject
        # A question stopped before any word of its answer has no answer to keep: it is said as stopped
        # (above, unless the user stopped it) and shown, but neither kept nor given to the next question.
        unanswered = answer.stopped and not answer.sentences
        if subject is not None and subject.source == job.source:
            if subject.lines is None:
                subject.lines = list(result.lines)
            if subject.image is None:
                subject.image = result.image  # the file is decoded once; follow-ups reuse its encoding
            if not unanswered:
                subject.turns.append((job.question, answer))
        self._show_in_window(job.question, rendering)
        if not unanswered:
            self._record(job, answer, rendering)
        if self.dialog is not None:
            self.dialog.set_busy(False)
        self._status(_("Stopped.") if answer.stopped else _("Answered."))

    def _dropped(self, job: object) -> None:
        """A newer request (a description, another question) replaced this question before it ran."""
        if job is not self.current or self.closed:
            return
        self.current = None
        if self.dialog is not None:
            self.dialog.set_busy(False)
        self._status(_("The question was not answered because a newer request came first."))

    def _error(self, job: AskJob, message: str) -> None:
        if job is self._preparing and self.current is None and not self.closed:
            self._preparing = None
            self._report(message)  # e.g. the model is not downloaded: said before the user types a question
            return
        if job is not self.current or self.closed:
            return
        self.current = None
        if self.dialog is not None:
            self.dialog.append(message)
            self.dialog.set_busy(False)
        self._report(message)

    # Helpers -------------------------------------------------------------------------------------------
    def _show_in_window(self, question: str, rendering: render.Rendering) -> None:
        """The question and its answer also go in the main window's result, after the description asked
        about: with no sound, or once the Ask dialog is closed, the answer is still there to read."""
        block = render.question(question).speech + "\n" + rendering.display
        subject = self.subject
        if subject is not None and subject is not self._in_window and subject.image_path is not None:
            # A chosen file, never described: its answers follow the description shown (never replace it),
            # under what they are about.
            block = _("Asking about: {source}").format(source=subject.source) + "\n" + block
        self.window.append_result(block)
        self._in_window = subject

    def _record(self, job: AskJob, answer: Answer, rendering: render.Rendering) -> None:
        if job.history_id is None:
            return
        try:
            self.history.add_answer(job.history_id, job.question, answer.to_dict(), rendering.speech)
        except Exception:  # noqa: BLE001 - the answer was said and shown; only keeping it failed
            log.warning("the answer could not be added to the history", exc_info=True)
            self._status(_("This answer could not be added to the history."), assertive=True)

    def _refresh_subject(self) -> Subject | None:
        """The subject: a new description since the last question makes its image the subject."""
        last = self.presenter.last
        if last is not None and last is not self._subject_of and last.image is not None:
            turns = self._saved_turns(last.history_id)
            self.subject = Subject(source=last.source, image=last.image, lines=list(last.lines),
                                   history_id=last.history_id, turns=turns)
            self._subject_of = last
            self._show_subject()
        elif self.dialog is not None and self.subject is None:
            self.dialog.set_about(_("Nothing has been described yet. Choose an image to ask about, or "
                                    "describe one first."))
        return self.subject

    def _saved_turns(self, history_id: int | None) -> list[tuple[str, Answer]]:
        if history_id is None:
            return []
        try:
            return self.history.conversation(history_id)
        except Exception:  # noqa: BLE001 - an unreadable old conversation must not stop new questions
            log.warning("the saved conversation could not be read", exc_info=True)
            return []

    def _show_subject(self) -> None:
        if self.dialog is None or self.subject is None:
            return
        self.dialog.set_about(_("Asking about: {source}").format(source=self.subject.source))
        self.dialog.set_conversation(render.conversation(self.subject.turns))

    def _dialog(self) -> AskDialog:
        if self.dialog is None:
            dialog = AskDialog(self.window)
            dialog.question_asked.connect(self.ask)
            dialog.stop_requested.connect(self.stop)
            dialog.copy_requested.connect(self.copy_conversation)
            dialog.image_requested.connect(self.choose_image)
            self.dialog = dialog
            self._show_subject()  # questions asked before the dialog existed (e.g. `ask --last`) show in it
        return self.dialog

    def _status(self, message: str, *, assertive: bool = False) -> None:
        if self.dialog is not None and self.dialog.isVisible():
            self.dialog.set_status(message, assertive=assertive)
        else:
            self.window.set_status(message, assertive=assertive)

    def _report(self, message: str) -> None:
        """An error: shown and announced where the user is, spoken, with the error earcon."""
        self._status(message, assertive=True)
        self.flow.report(message)
