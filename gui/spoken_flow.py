"""What the user hears about describing, and when: no windows here, only speech, earcons and the status line.

- A screen's read text (or "more detail"'s detail) is said as soon as it is ready (`early`); when the whole
  description arrives only what it adds is said (`described`, `detail_added`), nothing twice. A dense
  screen's text comes in two: its first lines, then all of it, of which only the lines not said yet follow.
- Stopping the speech also drops what was still to come for the jobs already speaking (`stop`).
- Repeat while a description is still under way (its text said, its caption or the rest of a detail still to
  come) says what was said of it so far, not the description before it; the rest then follows (`repeat`).
- "Ready." is said once, as soon as a request gets at least the text (`text_ready`), not again when the
  captioner has loaded (`model_ready`). A request before that is answered at once with a notice; one after
  it but before the captioner has the text said at once with the news that the picture's description
  follows, and then only the caption (`early` with `awaiting_caption`, then `described`).
- Files skipped for a newer request are counted and reported once.

Threading contract: GUI thread only (the controller calls it from its slots). It never blocks: the speaker
and the earcons return at once.
"""
from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

from describe_aloud.engine import render
from describe_aloud.engine.config import Settings
from describe_aloud.engine.i18n import N_, _, ngettext
from describe_aloud.engine.speech.protocol import SpeechOutput

if TYPE_CHECKING:
    from describe_aloud.gui.earcons import Earcons
    from describe_aloud.gui.worker import DescribeJob, JobPartial

log = logging.getLogger(__name__)

WAITING_FOR_MODEL = N_("The model is still loading; this will be described as soon as it is ready.")


class SpokenFlow:
    """`set_status(message, spoken=False)` shows a (polite) status, announced unless `spoken` (said here);
    `defer(callback)` runs callback once the current batch of events is handled (QTimer.singleShot(0, ...)
    in the app); `whole_texts()` is True while the output must get each description whole: a screen
    reader starts each new text by cutting off the one it is reading, so nothing is said early then."""

    def __init__(self, speaker: SpeechOutput, settings: Settings, *, earcons: Earcons | None,
                 set_status: Callable[..., None], defer: Callable[[Callable[[], None]], None],
                 whole_texts: Callable[[], bool] = lambda: False) -> None:
        self.speaker = speaker
        self.whole_texts = whole_texts
        self.settings = settings
        self.earcons = earcons
        self._set_status = set_status
        self._defer = defer
        # "loading" (nothing can be read yet: a request waits, and is told so), "reading" (text is read, the
        # captioner is loading), "ready", "failed" (text only).
        self.model_state = "loading"
        self._ready_said = False  # "Ready." once per load: at the text, not again at the captioner
        # Jobs replaced by a newer request while they waited for their caption: a text of theirs still
        # queued to this thread is not said any more (a few: they are dropped one request at a time).
        self._dropped_jobs: deque[int] = deque(maxlen=16)
        # Job id -> what was already spoken for it (a screen's text), or None when the user stopped the
        # speech since: the rest of that description is then not spoken either.
        self._spoken_early: dict[int, render.Rendering | None] = {}
        # Job id -> what was said of it so far, kept through a stop (Repeat says it again); newest last.
        self._said_so_far: dict[int, render.Rendering] = {}
        self._detail_jobs: set[int] = set()  # of those, the "more detail" ones (they add to the last description)
        self._dropped_files = 0
        self.closed = False  # set at shutdown: reports still queued are dropped

    # Sounds and notices ------------------------------------------------------------------------------
    def earcon(self, name: str) -> None:
        if self.earcons is not None and self.settings.earcons:
            try:
                self.earcons.play(name)
            except Exception:  # noqa: BLE001 - a sound failing must not stop the description
                log.warning("earcon %s failed", name, exc_info=True)

    def say_status(self, text: str) -> None:
        """Said once, by whichever voice speaks (the caller shows it with `spoken=True`)."""
        self.speaker.say(text, interrupt=False)

    def report(self, message: str, *, interrupt: bool = True) -> None:
        """The spoken half of an error report: the error earcon, then the message."""
        self.earcon("error")
        self.speaker.say(message, interrupt=interrupt)

    # The model -----------------------------------------------------------------------------------------
    def model_loading(self) -> None:
        """Another captioner is loading (settings changed); the text reader stays, so text is still read."""
        if self.model_state != "loading":
            self.model_state = "reading"
        self._ready_said = False  # the new model's "Ready." is said when it has loaded

    def text_ready(self) -> None:
        """A request now gets at least the text: "Ready." (the captioner follows, without another word)."""
        if self.model_state == "loading":
            self.model_state = "reading"
        self._say_ready()

    def model_ready(self) -> None:
        self.model_state = "ready"
        self._say_ready()

    def _say_ready(self) -> None:
        if not self._ready_said:
            self._ready_said = True
            self.say_status("Ready.")

    def model_failed(self, message: str) -> None:
        self.model_state = "failed"
        self.speaker.say(message, interrupt=False)

    def say_if_waiting_for_model(self) -> None:
        # Otherwise the user hears the capturing sound and then nothing for as long as the model loads.
        if self.model_state == "loading":
            self._set_status(_(WAITING_FOR_MODEL), spoken=True)
            self.speaker.say(_(WAITING_FOR_MODEL), interrupt=False)

    # Jobs ------------------------------------------------------------------------------------------------
    def early(self, partial: JobPartial) -> None:
        """A screen's text, read before its caption is ready, or the detail so far of "more detail" (its
        first sentences, while the model writes the rest): say it now (the first words as early as
        possible); a later part or `described` / `detail_added` then says only what it adds."""
        if partial.job.id in self._dropped_jobs:
            return  # a newer request replaced it before this was said
        if partial.awaiting_caption:
            self._read_before_caption(partial)
            return
        if self.whole_texts():
            return  # said whole by `described` / `detail_added`
        if partial.job.more_detail:
            # The detail's first sentences (or all of it, the objects still being looked for): say them now.
            rendering, interrupt = render.more_detail(partial.description), True
        elif self.settings.speak_ocr:
            rendering, interrupt = render.describe(partial.description), partial.job.interrupt
        else:
            return  # without spoken text there is nothing worth saying early
        if partial.job.id in self._spoken_early:
            self._more_text(partial.job.id, rendering)
            return
        if partial.job.more_detail:
            self._detail_jobs.add(partial.job.id)
        self._said(partial.job.id, rendering)  # before say: a stop may come at once
        self.earcon("done")
        self._job_says(partial.job.id, rendering.speech, interrupt)

    def _said(self, job_id: int, rendering: render.Rendering) -> None:
        self._spoken_early[job_id] = rendering
        self._said_so_far[job_id] = rendering

    def _forget(self, job_id: int) -> render.Rendering | None:
        """The job is over (described, failed or dropped): what was said early for it, None after a stop."""
        self._said_so_far.pop(job_id, None)
        self._detail_jobs.discard(job_id)
        return self._spoken_early.pop(job_id, None)

    def _job_says(self, job_id: int, speech: str, interrupt: bool) -> None:
        """Say a job's first words. When they cut in, what other jobs still had to say after their early part
        (the rest of a detail being written, a caption to come) is not said after them either."""
        if interrupt:
            for other in self._spoken_early:
                if other != job_id:
                    self._spoken_early[other] = None
            for other in [o for o in self._said_so_far if o != job_id]:  # nor are they what Repeat says now
                del self._said_so_far[other]
        self.speaker.say(speech, interrupt=interrupt)

    def _more_text(self, job_id: int, rendering: render.Rendering) -> None:
        """All of a dense screen's text after its first lines were said, or more sentences of a detail: what
        was not said yet follows (nothing when the user stopped the speech meanwhile)."""
        early = self._spoken_early[job_id]
        if early is None:
            return
        rest = rendering.after(early)
        self._said(job_id, early + rest)
        if rest:
            self.speaker.say(rest.speech, interrupt=False)

    def _read_before_caption(self, partial: JobPartial) -> None:
        """Read before the captioner had loaded: the text now and that the picture's description follows
        (said once); `described` adds only the caption. A screen reader cuts a text off with the next one,
        so it hears only that the description follows, and then the whole description."""
        if self.whole_texts():
            self.speaker.say(render.caption_follows().speech, interrupt=partial.job.interrupt)
            return
        rendering = render.awaiting_caption(partial.description, include_text=self.settings.speak_ocr)
        self._said(partial.job.id, rendering)  # before say: a stop may come at once
        self.earcon("done")
        self._job_says(partial.job.id, rendering.speech, partial.job.interrupt)

    def described(self, job: DescribeJob, rendering: render.Rendering) -> None:
        """A whole description: the rest of it when its text was said early, else all of it."""
        if job.id in self._spoken_early:
            # The text is being spoken already: queue only the rest (the hedged caption), nothing twice.
            # None: the user stopped the speech meanwhile, so the rest is not forced on them either.
            early = self._forget(job.id)
            rest = rendering.after(early).speech if early is not None else ""
            if rest:
                self.speaker.say(rest, interrupt=False)
        else:
            self.earcon("done")
            self._job_says(job.id, rendering.speech, job.interrupt)

    def detail_added(self, job: DescribeJob, rendering: render.Rendering) -> None:
        """More detail: all of it, or only the objects after the detail that was said early."""
        spoken_early = job.id in self._spoken_early
        early = self._forget(job.id)
        if not spoken_early:
            self._job_says(job.id, rendering.speech, True)
            self.earcon("done")
        elif early is not None:  # the detail is being spoken: only the objects follow it
            rest = rendering.after(early).speech
            if rest:
                self.speaker.say(rest, interrupt=False)

    def job_failed(self, job: DescribeJob) -> bool:
        """Forget what was said early for `job`; whether its error may cut the speech off (after its text
        was spoken early, the error follows it rather than cutting it off)."""
        early = job.id in self._spoken_early
        self._forget(job.id)
        return job.interrupt and not early

    # Commands -------------------------------------------------------------------------------------------
    def repeat(self, last: render.Rendering | None) -> bool:
        """Say the description again: the one still under way when there is one (what was said of it so far,
        after the description a detail adds to; the rest follows as it comes, even after a stop: the user
        asked to hear it), else `last`, the last whole one. False when there is nothing to say."""
        if not self._said_so_far:
            if last is None:
                return False
            self.speaker.say(last.speech, interrupt=True)
            return True
        job_id = next(reversed(self._said_so_far))
        so_far = self._said_so_far[job_id]
        self._spoken_early[job_id] = so_far
        if job_id in self._detail_jobs and last is not None:
            so_far = last + so_far.after(last)
        self._job_says(job_id, so_far.speech, True)
        return True

    def stop(self) -> None:
        self.speaker.stop()
        for job_id in self._spoken_early:  # the caption still to come is not spoken either
            self._spoken_early[job_id] = None
        self._set_status(_("Speech stopped."))

    def file_dropped(self, job: DescribeJob) -> None:
        """A job replaced by a newer request before it ran. Emitted synchronously from submit(): files
        skipped are counted and said once, after the new request has been handed over. A job replaced while
        it waited for its caption (its text said) has nothing more said for it."""
        self._dropped_jobs.append(job.id)
        self._forget(job.id)
        if job.path is None:
            return
        self._dropped_files += 1
        if self._dropped_files == 1:
            self._defer(self._report_dropped_files)

    def _report_dropped_files(self) -> None:
        count, self._dropped_files = self._dropped_files, 0
        if count and not self.closed:
            self._set_status(ngettext("{count} file was not described because a newer request came first.",
                                      "{count} files were not described because a newer request came first.",
                                      count).format(count=count))
