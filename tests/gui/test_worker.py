"""The describe worker: signals, errors, a missing model, newest-request-wins under hammering, clean stop.

Every test loads a tiny random-weight captioner through the same `load_captioner` path as a real model.
"""
from __future__ import annotations

import threading

import time

import pytest

from describe_aloud.engine.invocation import user_command
from describe_aloud.engine import render
from describe_aloud.gui.worker import DescribeJob, DescribeWorker
from tests.fixtures.images import TEXT_LINES, photo_image, text_image

LOAD_TIMEOUT_MS = 180_000
JOB_TIMEOUT_MS = 120_000


@pytest.fixture
def make_worker(qtbot):
    """Start a worker; it is stopped and joined at the end of the test (the no-leftover-QThread fixture
    checks that)."""
    workers: list[DescribeWorker] = []

    def make(model, **kwargs) -> DescribeWorker:
        worker = DescribeWorker(str(model), **kwargs)
        workers.append(worker)
        return worker

    yield make
    for worker in workers:
        assert worker.stop_and_wait(60_000), "the worker did not stop within 60 s"


def start_and_wait_ready(qtbot, worker: DescribeWorker) -> str:
    with qtbot.waitSignal(worker.model_ready, timeout=LOAD_TIMEOUT_MS) as ready:
        worker.start()
    return ready.args[0]


def test_signals_in_order_with_a_tiny_model(qtbot, make_worker, tiny_git_dir):
    worker = make_worker(tiny_git_dir)
    statuses: list[str] = []
    worker.status.connect(statuses.append)
    start_and_wait_ready(qtbot, worker)
    # "Ready." is said once, by the app's flow at text_ready; no status announces it a second time.
    assert statuses[0].startswith("Loading model") and "Ready" not in statuses

    order: list[str] = []
    results = []
    worker.job_started.connect(lambda job: order.append("started"))
    worker.job_result.connect(lambda res: (order.append("result"), results.append(res)))
    worker.job_finished.connect(lambda job: order.append("finished"))
    job = DescribeJob(source="test photo", image=photo_image())
    with qtbot.waitSignals([worker.job_started, worker.job_result, worker.job_finished],
                           timeout=JOB_TIMEOUT_MS, order="strict"):
        worker.submit(job)
    assert order == ["started", "result", "finished"]
    result = results[0]
    assert result.job is job
    description = result.description
    assert description.source == "test photo"
    assert description.caption, "the tiny model produced no caption"
    assert description.caption_error is None
    assert str(tiny_git_dir) in (description.model_id or "") or description.model_id
    assert result.thumbnail and result.thumbnail.startswith(b"\x89PNG")
    assert "The model guesses" in render.describe(description).speech
    # Per-stage timings for the speed work: the engine's stages plus the worker's own.
    assert {"queue_wait", "worker_total"} <= set(description.timings_ms)
    assert description.timings_ms["worker_total"] >= description.timings_ms.get("total", 0) * 0.5


def test_a_bad_file_is_an_error_signal_and_the_worker_goes_on(qtbot, make_worker, tiny_git_dir, tmp_path):
    worker = make_worker(tiny_git_dir)
    start_and_wait_ready(qtbot, worker)
    broken = tmp_path / "holiday.jpg"
    broken.write_bytes(b"this is not a JPEG")
    errors: list[str] = []
    worker.job_error.connect(lambda job, msg: errors.append(msg))
    with qtbot.waitSignals([worker.job_error, worker.job_finished], timeout=JOB_TIMEOUT_MS):
        worker.submit(DescribeJob(source=str(broken), path=broken))
    message = errors[0]
    assert "holiday.jpg" in message
    # Still working afterwards.
    with qtbot.waitSignal(worker.job_result, timeout=JOB_TIMEOUT_MS):
        worker.submit(DescribeJob(source="photo", image=photo_image()))


def test_missing_model_names_the_download_command_and_text_is_still_read(qtbot, make_worker):
    worker = make_worker("git-base")  # not in this test's (empty) model cache
    with qtbot.waitSignal(worker.model_failed, timeout=LOAD_TIMEOUT_MS) as failed:
        worker.start()
    assert user_command("models", "download", "git-base") in failed.args[0]
    image = text_image(TEXT_LINES)
    with qtbot.waitSignal(worker.job_result, timeout=JOB_TIMEOUT_MS) as got:
        worker.submit(DescribeJob(source="list", image=image))
    description = got.args[0].description
    assert description.caption is None
    assert "models download git-base" in (description.caption_error or "")
    spoken = render.describe(description).speech
    assert "shopping" in spoken.lower()


def test_more_detail_runs_the_detail_model(qtbot, make_worker, tiny_git_dir, tiny_florence2_dir):
    worker = make_worker(tiny_git_dir, detail_model=str(tiny_florence2_dir))
    start_and_wait_ready(qtbot, worker)
    statuses: list[str] = []
    worker.status.connect(statuses.append)
    image = photo_image()
    with qtbot.waitSignal(worker.job_result, timeout=LOAD_TIMEOUT_MS) as got:
        worker.submit(DescribeJob(source="photo", image=image, more_detail=True))
    description = got.args[0].description
    assert got.args[0].job.more_detail
    assert description.detailed_caption or description.caption
    assert any(s.startswith("Loading detail model") for s in statuses)
    # The main model is untouched: a normal request still uses it.
    with qtbot.waitSignal(worker.job_result, timeout=JOB_TIMEOUT_MS) as again:
        worker.submit(DescribeJob(source="photo", image=image))
    assert again.args[0].description.model_id != description.model_id


def test_detail_model_missing_is_reported(qtbot, make_worker, tiny_git_dir):
    worker = make_worker(tiny_git_dir, detail_model="florence-2-base")
    start_and_wait_ready(qtbot, worker)
    with qtbot.waitSignal(worker.job_error, timeout=JOB_TIMEOUT_MS) as got:
        worker.submit(DescribeJob(source="photo", image=photo_image(), more_detail=True))
    assert user_command("models", "download", "florence-2-base") in got.args[1]


def test_hammering_newest_request_wins_and_the_queue_never_grows(qtbot, make_worker, tiny_git_dir):
    worker = make_worker(tiny_git_dir)
    start_and_wait_ready(qtbot, worker)
    described: list[DescribeJob] = []
    dropped: list[DescribeJob] = []
    errors: list[str] = []
    finished: list[DescribeJob] = []
    worker.job_result.connect(lambda res: described.append(res.job))
    worker.job_dropped.connect(dropped.append)
    worker.job_error.connect(lambda job, msg: errors.append(msg))
    worker.job_finished.connect(finished.append)

    image = photo_image((480, 360))
    jobs = []
    deadline = time.monotonic() + 5.0
    for i in range(50):
        jobs.append(worker.submit(DescribeJob(source=f"request {i}", image=image)))
        assert worker.pending_count() <= 1
        qtbot.wait(max(1, int((deadline - time.monotonic()) * 1000 / (50 - i))))
    last = jobs[-1]
    qtbot.waitUntil(lambda: last in finished, timeout=JOB_TIMEOUT_MS)
    qtbot.waitUntil(lambda: not worker.is_busy(), timeout=JOB_TIMEOUT_MS)
    qtbot.wait(50)  # let the last queued signals arrive

    assert errors == []
    assert worker.max_pending_seen == 1
    assert described[-1] is last, "the newest request must be the one described last"
    # Every request was either described or dropped, never both, never lost.
    assert sorted(j.id for j in described + dropped) == sorted(j.id for j in jobs)
    assert worker.isRunning()


def test_stop_while_loading_returns(qtbot, tiny_git_dir):
    worker = DescribeWorker(str(tiny_git_dir))
    worker.start()
    worker.submit(DescribeJob(source="photo", image=photo_image()))
    started = time.monotonic()
    assert worker.stop_and_wait(60_000)
    assert time.monotonic() - started < 60
    assert not worker.isRunning()
    assert worker.submit_many([DescribeJob(source="late", image=photo_image())]) == []


def test_the_leftover_qthread_fixture_fails_a_leaky_test(tmp_path):
    """The autouse fixture in tests/fixtures/qt.py really fails a test that leaves a thread running."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    (tmp_path / "test_leaky.py").write_text(
        "from PySide6.QtCore import QThread\n"
        "class Spinner(QThread):\n"
        "    def run(self):\n"
        "        while not self.isInterruptionRequested():\n"
        "            self.msleep(10)\n"
        "def test_leaks(qapp):\n"
        "    global thread\n"
        "    thread = Spinner()\n"
        "    thread.start()\n"
        "def test_clean(qapp):\n"
        "    t = Spinner()\n"
        "    t.start()\n"
        "    t.requestInterruption()\n"
        "    t.wait()\n"
    )
    env = {**os.environ, "PYTHONPATH": str(repo), "QT_QPA_PLATFORM": "offscreen"}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "tests.fixtures.qt", "-q", "-p", "no:cacheprovider",
         str(tmp_path / "test_leaky.py")],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode != 0, result.stdout
    assert "QThread(s) still running at the end of the test" in result.stdout
    # The leaky test errors at teardown; the clean one is not blamed.
    assert "ERROR test_leaky.py::test_leaks" in result.stdout, result.stdout
    assert "test_clean" not in result.stdout.split("short test summary info")[-1]


def record_partials_and_results(worker: DescribeWorker) -> tuple[list[str], list, list]:
    """What the worker hands over, as it comes: the order ("partial" / "result"), the partials, the results."""
    order: list[str] = []
    partials, results = [], []
    worker.job_progress.connect(lambda p: (order.append("partial"), partials.append(p)))
    worker.job_result.connect(lambda r: (order.append("result"), results.append(r)))
    return order, partials, results


def test_a_screen_capture_hands_its_text_over_before_the_caption(qtbot, make_worker, tiny_git_dir):
    """A capture (kind_hint "screen"): job_progress with the read text comes before job_result, so speech
    can start while the caption is still being made; the rest adds only the hedged caption. A dropped
    file (no hint) gets no partial: its description is spoken whole."""
    worker = make_worker(tiny_git_dir)
    start_and_wait_ready(qtbot, worker)
    order, partials, results = record_partials_and_results(worker)
    job = DescribeJob(source="screen", image=text_image(TEXT_LINES), kind_hint="screen")
    with qtbot.waitSignal(worker.job_finished, timeout=JOB_TIMEOUT_MS):
        worker.submit(job)
    assert order == ["partial", "result"]
    early, final = partials[0].description, results[0].description
    assert partials[0].job is job and early.caption is None
    assert render.describe(early).speech == "Screen with text. Text: Tuesday shopping list. Bread and butter. Fresh oranges."
    assert final.kind.value == "screen" and final.caption
    assert results[0].thumbnail.startswith(b"\x89PNG")  # made while the caption ran
    assert render.describe(final).after(render.describe(early)).speech.startswith("Could be: ")
    assert f"{render.describe(early).speech} {render.describe(final).after(render.describe(early)).speech}" == render.describe(final).speech  # nothing lost

    order.clear()
    with qtbot.waitSignal(worker.job_finished, timeout=JOB_TIMEOUT_MS):
        worker.submit(DescribeJob(source="list.png", image=text_image(TEXT_LINES)))
    assert order == ["result"] and results[-1].description.kind.value == "document"


def test_the_worker_gives_ocr_and_the_captioner_every_core_one_after_the_other(qtbot, make_worker,
                                                                               tiny_git_dir):
    import torch

    from describe_aloud.gui.worker import usable_cores

    worker = make_worker(tiny_git_dir)
    start_and_wait_ready(qtbot, worker)
    # torch's count is per OpenMP thread once that thread has run an op; a fresh thread takes the count
    # the app set, whatever OMP_NUM_THREADS says.
    seen: list[int] = []
    probe = threading.Thread(target=lambda: seen.append(torch.get_num_threads()))
    probe.start()
    probe.join()
    assert seen == [usable_cores()]
    assert worker._describer.ocr.threads == usable_cores()


def test_thumbnails_are_made_from_a_reduced_copy_and_stay_small():
    from PIL import Image

    from describe_aloud.gui.worker import make_thumbnail_quickly

    screen = photo_image((1920, 1080))
    thumb = Image.open(__import__("io").BytesIO(make_thumbnail_quickly(screen)))
    assert max(thumb.size) == 160 and abs(thumb.width / thumb.height - 1920 / 1080) < 0.05
    assert make_thumbnail_quickly(Image.new("P", (800, 600))) is not None  # any mode still gets one


def test_after_ready_ocr_has_read_a_screen_sized_page_and_a_request_meanwhile_still_comes_through(
        qtbot, make_worker, tiny_git_dir, monkeypatch):
    """The first capture of the screen is not the first time OCR sees its size: the worker reads a page
    of that size once after Ready (a request that comes meanwhile waits for it, then is answered)."""
    from describe_aloud.engine.ocr import OcrEngine

    sizes: list[tuple[int, int]] = []
    real_read = OcrEngine.read

    def recording_read(self, image):
        sizes.append(image.size)
        return real_read(self, image)

    monkeypatch.setattr(OcrEngine, "read", recording_read)
    worker = make_worker(tiny_git_dir, screen_size=(640, 360))
    start_and_wait_ready(qtbot, worker)
    with qtbot.waitSignal(worker.job_result, timeout=JOB_TIMEOUT_MS) as got:
        worker.submit(DescribeJob(source="list.png", image=text_image(TEXT_LINES)))
    assert got.args[0].description.text == "\n".join(TEXT_LINES)
    assert sizes[0] == (640, 360)  # the warm-up read came first, at the screen's size
    assert len(sizes) == 2


def test_a_dense_screen_capture_hands_its_first_lines_over_then_all_of_them_then_the_caption(
        qtbot, make_worker, tiny_git_dir):
    """More than 12 lines: the first ones come while the rest is recognised (engine.ocr_two_step), then all
    of them, then the result; the spoken rest of each adds only what was not said."""
    lines = [f"Line {n} of the settings page" for n in range(1, 17)]
    worker = make_worker(tiny_git_dir)
    start_and_wait_ready(qtbot, worker)
    order, partials, results = record_partials_and_results(worker)
    page = text_image(lines, size=(900, 900), font_size=22, line_gap=52)
    with qtbot.waitSignal(worker.job_finished, timeout=JOB_TIMEOUT_MS):
        worker.submit(DescribeJob(source="screen", image=page, kind_hint="screen"))
    assert order == ["partial", "partial", "result"]
    first, whole, final = partials[0].description, partials[1].description, results[0].description
    assert 0 < len(first.text_lines) < len(whole.text_lines) == len(final.text_lines)
    said = render.describe(first)
    for rendering in (render.describe(whole), render.describe(final)):
        said = said + rendering.after(said)
    assert said.speech.split() == render.describe(final).speech.split()  # each word once, in order


def test_freed_memory_is_given_back_after_a_quiet_spell_not_between_requests(qtbot, make_worker, tiny_git_dir,
                                                                              monkeypatch):
    import describe_aloud.gui.worker as worker_module

    trims: list[float] = []
    monkeypatch.setattr(worker_module, "IDLE_TRIM_S", 5.0)  # far longer than between two submits here
    monkeypatch.setattr(worker_module, "IDLE_RELEASE_S", 1000.0)  # the text reader's buffers: next test
    readers: list[list] = []

    def release(ocr_engines):
        trims.append(time.monotonic())
        readers.append(list(ocr_engines))

    monkeypatch.setattr(worker_module, "release_idle_memory", release)
    worker = make_worker(tiny_git_dir)
    start_and_wait_ready(qtbot, worker)
    qtbot.waitUntil(lambda: len(trims) == 1, timeout=60_000)  # after the start's loads, once quiet
    finished: list[float] = []
    worker.job_finished.connect(lambda job: finished.append(time.monotonic()))
    for _ in range(3):  # a user pressing the hotkey again and again: nothing given back meanwhile
        with qtbot.waitSignal(worker.job_finished, timeout=JOB_TIMEOUT_MS):
            worker.submit(DescribeJob(source="photo", image=photo_image()))
    assert len(trims) == 1
    qtbot.waitUntil(lambda: len(trims) == 2, timeout=60_000)
    assert trims[1] - finished[-1] >= 4.0  # given back after the quiet spell (5 s here), once
    time.sleep(2)
    assert len(trims) == 2  # and not again while nothing happens
    assert readers == [[], []]  # freed pages only: the text reader keeps its buffers


def test_the_text_readers_buffers_go_after_a_longer_quiet_spell_and_come_back_for_the_next_read(
        qtbot, make_worker, tiny_git_dir, monkeypatch):
    """OpenVINO's buffers (engine/ocr_memory.py) are given back only after IDLE_RELEASE_S without a request,
    after the plain trim; the next screen is read as before."""
    import describe_aloud.gui.worker as worker_module

    calls: list[tuple[float, list]] = []
    real_release = worker_module.release_idle_memory

    def release(ocr_engines):
        engines = list(ocr_engines)
        calls.append((time.monotonic(), engines))
        return real_release(engines)

    monkeypatch.setattr(worker_module, "IDLE_TRIM_S", 2.0)
    monkeypatch.setattr(worker_module, "IDLE_RELEASE_S", 5.0)
    monkeypatch.setattr(worker_module, "release_idle_memory", release)
    worker = make_worker(tiny_git_dir)
    start_and_wait_ready(qtbot, worker)
    qtbot.waitUntil(lambda: len(calls) == 2, timeout=60_000)
    (trimmed, first), (released, second) = calls
    assert first == [] and second == [worker._ocr] and worker._ocr is not None
    assert released - trimmed >= 2.5  # 5 s of quiet in all, 2 of them before the plain trim
    with qtbot.waitSignal(worker.job_result, timeout=JOB_TIMEOUT_MS) as got:
        worker.submit(DescribeJob(source="screen", image=text_image(TEXT_LINES), kind_hint="screen"))
    assert [line.text for line in got.args[0].description.text_lines] == TEXT_LINES
    qtbot.waitUntil(lambda: len(calls) == 4, timeout=60_000)  # the same two stages after this request
    assert [engines for _, engines in calls[2:]] == [[], [worker._ocr]]
