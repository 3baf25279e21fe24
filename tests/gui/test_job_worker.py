"""The one GUI worker pattern: a job reports started, progress, its result or an error sentence made by
engine.errors.user_message, then finished, in that order, from its own thread."""
from __future__ import annotations

import threading

import pytest

from describe_aloud.engine.errors import ImageLoadError
from describe_aloud.gui.job_worker import JobWorker


class OneJob(JobWorker):
    def __init__(self, work, **options) -> None:
        super().__init__()
        self.work = work
        self.options = options
        self.thread_ids: list[int] = []

    def run(self) -> None:
        self.thread_ids.append(threading.get_ident())
        self.run_job("job 1", self.work, **self.options)


def run_worker(qtbot, worker: OneJob) -> list[tuple]:
    events: list[tuple] = []
    worker.job_started.connect(lambda job: events.append(("started", job)))
    worker.job_progress.connect(lambda value: events.append(("progress", value)))
    worker.job_result.connect(lambda value: events.append(("result", value)))
    worker.job_error.connect(lambda job, message: events.append(("error", job, message)))
    worker.job_finished.connect(lambda job: events.append(("finished", job)))
    with qtbot.waitSignal(worker.job_finished, timeout=10_000):
        worker.start()
    assert worker.wait(10_000)
    qtbot.waitUntil(lambda: events and events[-1][0] == "finished", timeout=5_000)
    return events


def test_a_job_reports_in_order_from_its_own_thread(qtbot):
    worker = OneJob(lambda: (worker.job_progress.emit("halfway"), 42)[1], doing="Counting failed")
    assert run_worker(qtbot, worker) == [("started", "job 1"), ("progress", "halfway"), ("result", 42),
                                         ("finished", "job 1")]
    assert worker.thread_ids and worker.thread_ids[0] != threading.get_ident()


@pytest.mark.parametrize(("error", "message"), [
    (ImageLoadError("The file holiday.jpg is not an image."), "The file holiday.jpg is not an image."),
    (RuntimeError("tensor size mismatch"), "Describing failed (git-base): tensor size mismatch"),
    (MemoryError(), "There is not enough memory to describe this image."),
])
def test_every_failure_is_one_sentence_for_the_user(qtbot, error, message):
    def fail():
        raise error

    worker = OneJob(fail, doing="Describing failed (git-base)",
                    memory="There is not enough memory to describe this image.")
    assert run_worker(qtbot, worker) == [("started", "job 1"), ("error", "job 1", message), ("finished", "job 1")]
