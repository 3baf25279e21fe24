"""Start-up: "Ready." as soon as a request gets the text, the caption as soon as the captioner has loaded.

The captioner is the tiny random-weight GIT, loaded through the real `load_captioner`; the tests only hold
its load back (a gate the test opens) so that a request surely comes before the captioner is there, as a
hotkey does on a user's machine in the seconds between "Ready." and the captioner having loaded.
"""
from __future__ import annotations

import threading

import pytest

from describe_aloud.engine import render
from describe_aloud.engine.captioners import load_captioner
from describe_aloud.engine.history import HistoryStore
from describe_aloud.gui import worker_models
from describe_aloud.gui.worker import DescribeJob, DescribeWorker
from tests.fixtures.images import TEXT_LINES, text_image

TIMEOUT_MS = 180_000
FOLLOWS = "The picture's description follows once its model has loaded."


class HeldLoad:
    """The real `load_captioner`, started only when the test opens the gate."""

    def __init__(self, load=load_captioner) -> None:
        self.gate = threading.Event()
        self.calls = 0
        self._load = load

    def __call__(self, *args, **kwargs):
        self.calls += 1
        if not self.gate.wait(120):
            raise TimeoutError("the test never let the captioner load")
        return self._load(*args, **kwargs)


@pytest.fixture
def held_worker(qtbot, tiny_git_dir):
    """A started worker whose text reader is up ("Ready.") and whose captioner waits for `held.gate`."""
    held = HeldLoad()
    worker = DescribeWorker(str(tiny_git_dir), captioner_loader=held)
    events: list[str] = []
    worker.text_ready.connect(lambda: events.append("text ready"))
    worker.model_ready.connect(lambda _m: events.append("model ready"))
    worker.job_started.connect(lambda job: events.append(f"started {job.source}"))
    worker.job_progress.connect(lambda p: events.append(f"progress {p.job.source}"))
    worker.job_result.connect(lambda r: events.append(f"result {r.job.source}"))
    worker.job_finished.connect(lambda job: events.append(f"finished {job.source}"))
    worker.job_dropped.connect(lambda job: events.append(f"dropped {job.source}"))
    with qtbot.waitSignal(worker.text_ready, timeout=TIMEOUT_MS):
        worker.start()
    worker.events = events
    worker.held = held
    yield worker
    held.gate.set()
    assert worker.stop_and_wait(60_000)


def screen_job(source: str) -> DescribeJob:
    return DescribeJob(source=source, image=text_image(TEXT_LINES, size=(640, 300)), kind_hint="screen")


def test_a_request_before_the_captioner_gets_its_text_at_once_and_its_caption_later(qtbot, held_worker):
    worker = held_worker
    assert worker.events == ["text ready"]  # Ready with the captioner still loading
    partials, results = [], []
    worker.job_progress.connect(partials.append)
    worker.job_result.connect(results.append)
    with qtbot.waitSignal(worker.job_progress, timeout=TIMEOUT_MS):
        worker.submit(screen_job("early"))
    partial = partials[0]
    assert partial.awaiting_caption
    assert [line.text for line in partial.description.text_lines] == TEXT_LINES
    assert partial.description.caption is None and partial.description.caption_error is None
    qtbot.waitUntil(lambda: worker.held.calls == 1, timeout=TIMEOUT_MS)
    assert results == [] and worker.is_busy()  # it waits for the captioner, it is not lost

    with qtbot.waitSignal(worker.job_finished, timeout=TIMEOUT_MS):
        worker.held.gate.set()
    description = results[0].description
    assert results[0].job is partial.job
    assert description.caption and description.caption_error is None
    assert [line.text for line in description.text_lines] == TEXT_LINES
    assert results[0].thumbnail and results[0].image is not None
    assert worker.events == ["text ready", "started early", "progress early", "model ready", "result early",
                             "finished early"]
    # What the user hears: the text and that the picture's description follows, then only the caption.
    early = render.awaiting_caption(partial.description)
    assert early.speech.endswith(FOLLOWS) and "Tuesday shopping list" in early.speech
    rest = render.describe(description).after(early)
    assert rest.roles() == ["guess"]

    # After the captioner has loaded nothing waits: a request is described whole, in one go.
    with qtbot.waitSignal(worker.job_result, timeout=TIMEOUT_MS) as got:
        worker.submit(screen_job("later"))
    assert got.args[0].description.caption


def test_a_newer_request_replaces_the_one_waiting_for_its_caption(qtbot, held_worker):
    worker = held_worker
    results = []
    worker.job_result.connect(results.append)
    with qtbot.waitSignal(worker.job_progress, timeout=TIMEOUT_MS):
        first = worker.submit(screen_job("first"))
    with qtbot.waitSignal(worker.job_dropped, timeout=TIMEOUT_MS) as dropped:
        second = worker.submit(screen_job("second"))
    assert dropped.args[0] is first
    qtbot.waitUntil(lambda: "progress second" in worker.events, timeout=TIMEOUT_MS)
    with qtbot.waitSignal(worker.job_finished, timeout=TIMEOUT_MS):
        worker.held.gate.set()
    assert [r.job for r in results] == [second]
    assert results[0].description.caption


def test_a_captioner_that_fails_to_load_still_ends_the_waiting_request(qtbot, tiny_git_dir):
    held = HeldLoad()
    worker = DescribeWorker("git-base", captioner_loader=held)  # not in this test's (empty) model cache
    try:
        with qtbot.waitSignal(worker.text_ready, timeout=TIMEOUT_MS):
            worker.start()
        order, results = [], []
        worker.model_failed.connect(lambda message: order.append("failed"))
        worker.job_result.connect(lambda result: (order.append("result"), results.append(result)))
        with qtbot.waitSignal(worker.job_progress, timeout=TIMEOUT_MS):
            worker.submit(screen_job("early"))
        with qtbot.waitSignal(worker.job_finished, timeout=TIMEOUT_MS):
            held.gate.set()
        assert order == ["failed", "result"]
        description = results[0].description
        assert [line.text for line in description.text_lines] == TEXT_LINES
        assert description.caption is None and "models download git-base" in (description.caption_error or "")
    finally:
        held.gate.set()
        assert worker.stop_and_wait(60_000)


def test_the_app_says_ready_once_then_the_text_then_only_the_caption(qtbot, make_app, tiny_git_dir, monkeypatch):
    """Through the whole app (action table, capture, worker, presenter, flow): a hotkey between "Ready." and
    the captioner having loaded. Everything is said once, in order, nothing is lost."""
    import describe_aloud.engine.capture as capture_mod

    monkeypatch.setattr(capture_mod, "capture", lambda target, **kw: capture_mod.CaptureResult(
        image=text_image(TEXT_LINES, size=(640, 300)), source=target, box=(0, 0, 640, 300), near_black=False,
        elapsed_ms=1.0))
    held = HeldLoad()
    monkeypatch.setattr(worker_models, "load_captioner", held)
    controller = make_app(model=tiny_git_dir, wait_ready=False)
    speaker = controller.test_speaker
    qtbot.waitUntil(lambda: speaker.texts() == ["Ready."], timeout=TIMEOUT_MS)
    assert controller.model_state == "reading"
    assert "still loading" in controller.window.status_label.text()

    controller.dispatch("describe_screen")
    qtbot.waitUntil(lambda: len(speaker.said) == 2, timeout=TIMEOUT_MS)
    text, interrupt = speaker.said[1]
    assert text == f"Screen with text. Text: Tuesday shopping list. Bread and butter. Fresh oranges. {FOLLOWS}"
    assert interrupt is True
    assert controller.last is None  # not described yet: its caption is still to come

    held.gate.set()
    qtbot.waitUntil(lambda: controller.window.status_label.text() == "Described screen.", timeout=TIMEOUT_MS)
    qtbot.wait(50)
    said = speaker.texts()
    assert len(said) == 3, said
    rest, rest_interrupt = speaker.said[2]
    assert rest.startswith("Could be: ") and rest_interrupt is False  # queued after the text, not cutting it
    assert said.count("Ready.") == 1  # not again when the captioner has loaded
    assert sum(FOLLOWS in t for t in said) == 1 and sum("Tuesday shopping list" in t for t in said) == 1
    assert controller.model_state == "ready"
    with HistoryStore() as store:
        latest = store.latest()
    assert latest.source == "screen" and "Tuesday shopping list" in latest.text and rest in latest.text
    assert FOLLOWS not in latest.text and FOLLOWS not in controller.window.result_text()


def test_quitting_while_the_captioner_loads_says_why_the_app_does_not_close_at_once(qtbot, make_app, tiny_git_dir,
                                                                                     monkeypatch):
    """A load cannot be interrupted: quitting waits for it (seconds), and the user hears why instead of
    silence."""
    held = HeldLoad()
    monkeypatch.setattr(worker_models, "load_captioner", held)
    controller = make_app(model=tiny_git_dir, wait_ready=False)
    speaker = controller.test_speaker
    qtbot.waitUntil(lambda: speaker.texts() == ["Ready."] and held.calls == 1, timeout=TIMEOUT_MS)
    opener = threading.Timer(0.5, held.gate.set)  # the load ends while the app waits for it
    opener.start()
    controller.shutdown()
    opener.join()
    said = speaker.texts()
    assert said[-1] == "Closing as soon as the picture model has finished loading. This takes a few seconds."
    assert not controller.worker.isRunning()


def test_quitting_when_nothing_loads_says_nothing_more(qtbot, make_app, tiny_git_dir):
    controller = make_app(model=tiny_git_dir)  # Ready, the captioner loaded
    before = list(controller.test_speaker.texts())
    controller.shutdown()
    assert controller.test_speaker.texts() == before


def test_quitting_while_the_text_reader_starts_loads_no_captioner(qtbot, tiny_git_dir):
    held = HeldLoad()
    worker = DescribeWorker(str(tiny_git_dir), captioner_loader=held)
    worker.start()
    worker.stop()  # the text reader takes seconds to come up: this is well before the captioner's turn
    assert worker.wait(60_000)  # not held up by a load nobody needs (the gate is never opened)
    assert held.calls == 0


def test_a_model_chosen_while_the_text_reader_starts_is_loaded_once(qtbot, tiny_git_dir):
    specs: list[str] = []
    held = HeldLoad(lambda spec, **kwargs: (specs.append(spec), load_captioner(spec, **kwargs))[1])
    worker = DescribeWorker("git-base", captioner_loader=held)  # the model in the settings at start...
    worker.start()
    worker.set_model(str(tiny_git_dir))  # ...changed at once (Settings, or settings.json edited meanwhile)
    held.gate.set()
    try:
        with qtbot.waitSignal(worker.model_ready, timeout=TIMEOUT_MS):
            pass
        qtbot.wait(1500)  # a second load would have started by now
        assert specs == [str(tiny_git_dir)]
    finally:
        assert worker.stop_and_wait(60_000)
