"""What the user hears about a job, without any window: the text first, only the rest later, nothing after a
stop, errors that do not cut off the text already being read, notices while the model loads, skipped
files counted once. Real renderings (engine.render) of real Descriptions; only the speaker records."""
from __future__ import annotations

from pathlib import Path

import pytest

from describe_aloud.engine import render
from describe_aloud.engine.config import Settings
from describe_aloud.engine.description import DetectedObject, Description, ImageKind, TextLine
from describe_aloud.gui.spoken_flow import WAITING_FOR_MODEL, SpokenFlow
from describe_aloud.gui.worker import DescribeJob, JobPartial
from tests.fixtures.qt import RecordingSpeaker

LINES = [TextLine("Inbox", (0, 0, 50, 10), 0.9), TextLine("3 unread messages", (0, 20, 90, 30), 0.9)]


class RecordingEarcons:
    def __init__(self) -> None:
        self.played: list[str] = []

    def play(self, name: str) -> None:
        self.played.append(name)


class Flow:
    """A SpokenFlow with everything it reports recorded."""

    def __init__(self, whole_texts: bool = False, **settings) -> None:
        self.speaker = RecordingSpeaker()
        self.statuses: list[str] = []
        self.deferred: list = []
        earcons = RecordingEarcons()
        self.sounds = earcons.played
        self.flow = SpokenFlow(self.speaker, Settings(earcons=True, **settings), earcons=earcons,
                               set_status=lambda message, spoken=False: self.statuses.append(message),
                               defer=self.deferred.append, whole_texts=lambda: whole_texts)

    def run_deferred(self) -> None:
        while self.deferred:
            self.deferred.pop(0)()


def screen(caption: str | None = None) -> Description:
    return Description(kind=ImageKind.SCREEN, text_lines=list(LINES), caption=caption)


@pytest.fixture
def flow() -> Flow:
    return Flow()


def test_a_screens_text_is_said_first_and_then_only_the_caption(flow):
    job = DescribeJob(source="screen", kind_hint="screen")
    flow.flow.early(JobPartial(job, screen()))
    final = render.describe(screen("a mail program"))
    flow.flow.described(job, final)
    (text, interrupt), (rest, rest_interrupt) = flow.speaker.said
    assert text == "Screen with text. Text: Inbox. 3 unread messages." and interrupt is True
    assert rest == "Could be: A mail program." and rest_interrupt is False  # queued after the text
    assert f"{text} {rest}" == final.speech  # nothing lost, nothing twice
    assert flow.sounds == ["done"]  # once, when the first words came


def test_after_a_stop_the_rest_of_that_description_is_not_said(flow):
    job = DescribeJob(source="screen", kind_hint="screen")
    flow.flow.early(JobPartial(job, screen()))
    flow.flow.stop()
    flow.flow.described(job, render.describe(screen("a mail program")))
    assert len(flow.speaker.said) == 1 and flow.speaker.stops == 1
    assert flow.statuses == ["Speech stopped."]
    # The next description is said whole again.
    later = DescribeJob(source="photo.jpg")
    flow.flow.described(later, render.describe(screen("a mail program")))
    assert flow.speaker.said[-1] == (render.describe(screen("a mail program")).speech, True)


def test_without_spoken_text_nothing_is_said_early(flow):
    quiet = Flow(speak_ocr=False)
    job = DescribeJob(source="screen", kind_hint="screen")
    quiet.flow.early(JobPartial(job, screen()))
    assert quiet.speaker.said == []
    rendering = render.describe(screen("a mail program"), include_text=False)
    quiet.flow.described(job, rendering)
    assert quiet.speaker.said == [(rendering.speech, True)] and quiet.sounds == ["done"]


def test_more_detail_says_the_detail_early_and_then_only_the_objects(flow):
    job = DescribeJob(source="garden", more_detail=True)
    detail = Description(kind=ImageKind.PHOTO, detailed_caption="a red bicycle against a wall")
    flow.flow.early(JobPartial(job, detail))
    whole = Description(kind=ImageKind.PHOTO, detailed_caption="a red bicycle against a wall",
                        objects=[DetectedObject("bicycle", (0, 0, 5, 5))])
    flow.flow.detail_added(job, render.more_detail(whole))
    said = flow.speaker.texts()
    assert said == ["More detail, guessed by the model: a red bicycle against a wall",
                    "Objects it may contain: bicycle."]


def detail(text: str, objects: list[DetectedObject] | None = None) -> Description:
    return Description(kind=ImageKind.PHOTO, detailed_caption=text, objects=objects or [])


BIKE = [DetectedObject("bicycle", (0, 0, 5, 5))]


def test_more_detail_is_said_sentence_by_sentence_each_once_then_the_objects(flow):
    job = DescribeJob(source="garden", more_detail=True)
    flow.flow.early(JobPartial(job, detail("A red bicycle leans on a wall.")))
    flow.flow.early(JobPartial(job, detail("A red bicycle leans on a wall. The wall is brick.")))
    flow.flow.early(JobPartial(job, detail("A red bicycle leans on a wall. The wall is brick. Ivy grows on it.")))
    whole = detail("A red bicycle leans on a wall. The wall is brick. Ivy grows on it.", BIKE)
    flow.flow.detail_added(job, render.more_detail(whole))
    (first, interrupt), *rest = flow.speaker.said
    assert first == "More detail, guessed by the model: A red bicycle leans on a wall." and interrupt is True
    assert rest == [("The wall is brick.", False), ("Ivy grows on it.", False),
                    ("Objects it may contain: bicycle.", False)]
    assert flow.sounds == ["done"]


def test_the_last_sentences_come_with_the_objects_and_a_changed_detail_is_said_again(flow):
    job = DescribeJob(source="garden", more_detail=True)
    flow.flow.early(JobPartial(job, detail("A cat sleeps.")))
    flow.flow.detail_added(job, render.more_detail(detail("A cat sleeps. It is grey.", BIKE)))
    assert flow.speaker.texts()[1:] == ["It is grey. Objects it may contain: bicycle."]
    again = DescribeJob(source="garden", more_detail=True)
    flow.flow.early(JobPartial(again, detail("A cat sleeps.")))
    flow.flow.detail_added(again, render.more_detail(detail("A cat sleeps on a mat.")))
    assert flow.speaker.texts()[-1] == "More detail, guessed by the model: A cat sleeps on a mat."


def test_after_a_stop_no_more_of_the_detail_is_said(flow):
    job = DescribeJob(source="garden", more_detail=True)
    flow.flow.early(JobPartial(job, detail("A red bicycle leans on a wall.")))
    flow.flow.stop()
    flow.flow.early(JobPartial(job, detail("A red bicycle leans on a wall. The wall is brick.")))
    flow.flow.detail_added(job, render.more_detail(detail("A red bicycle leans on a wall. The wall is brick.", BIKE)))
    assert flow.speaker.texts() == ["More detail, guessed by the model: A red bicycle leans on a wall."]


def test_a_newer_request_cuts_off_the_rest_of_a_detail_being_written(flow):
    job = DescribeJob(source="garden", more_detail=True)
    flow.flow.early(JobPartial(job, detail("A red bicycle leans on a wall.")))
    newer = DescribeJob(source="screen", kind_hint="screen")
    flow.flow.early(JobPartial(newer, screen()))  # the user asked about the screen meanwhile
    flow.flow.early(JobPartial(job, detail("A red bicycle leans on a wall. The wall is brick.")))
    flow.flow.detail_added(job, render.more_detail(detail("A red bicycle leans on a wall. The wall is brick.", BIKE)))
    flow.flow.described(newer, render.describe(screen("a mail program")))
    said = flow.speaker.texts()
    assert said[0] == "More detail, guessed by the model: A red bicycle leans on a wall."
    assert said[1].startswith("Screen with text.") and said[-1] == "Could be: A mail program."
    assert not any("brick" in text or "bicycle" in text for text in said[1:])  # nor the objects


def test_repeat_while_a_detail_is_written_says_the_description_and_the_detail_so_far_then_the_rest(flow):
    before = render.describe(Description(kind=ImageKind.PHOTO, caption="a bicycle"))
    job = DescribeJob(source="garden", more_detail=True)
    flow.flow.early(JobPartial(job, detail("A red bicycle leans on a wall.")))
    flow.flow.early(JobPartial(job, detail("A red bicycle leans on a wall. The wall is brick.")))
    assert flow.flow.repeat(before) is True  # the voice was still on the first sentence: both are cut off
    again, cut_in = flow.speaker.said[-1]
    assert cut_in is True and again == (f"{before.speech} More detail, guessed by the model: "
                                          "A red bicycle leans on a wall. The wall is brick.")
    flow.flow.early(JobPartial(job, detail("A red bicycle leans on a wall. The wall is brick. Ivy grows on it.")))
    whole = detail("A red bicycle leans on a wall. The wall is brick. Ivy grows on it.", BIKE)
    flow.flow.detail_added(job, render.more_detail(whole))
    assert flow.speaker.texts()[-2:] == ["Ivy grows on it.", "Objects it may contain: bicycle."]


def test_repeat_while_a_screens_caption_is_awaited_says_that_screens_text_not_the_one_before(flow):
    before = render.describe(Description(kind=ImageKind.PHOTO, caption="a bicycle"))
    job = DescribeJob(source="screen", kind_hint="screen")
    flow.flow.early(JobPartial(job, screen()))
    flow.flow.stop()  # even after a stop: Repeat is asked for, so the caption follows it
    flow.flow.repeat(before)
    flow.flow.described(job, render.describe(screen("a mail program")))
    assert flow.speaker.said[-2:] == [("Screen with text. Text: Inbox. 3 unread messages.", True),
                                      ("Could be: A mail program.", False)]
    assert flow.flow.repeat(before) is True and flow.speaker.said[-1] == (before.speech, True)  # over: the last


def test_repeat_after_a_newer_description_cut_in_says_the_newer_one(flow):
    job = DescribeJob(source="garden", more_detail=True)
    flow.flow.early(JobPartial(job, detail("A red bicycle leans on a wall.")))
    newer = render.describe(Description(kind=ImageKind.PHOTO, caption="a cat on a mat"))
    flow.flow.described(DescribeJob(source="cat.jpg"), newer)  # dropped meanwhile, said whole
    flow.flow.repeat(newer)
    assert flow.speaker.said[-1] == (newer.speech, True)
    assert Flow().flow.repeat(None) is False  # nothing described yet: the app says so


def test_a_detail_cut_short_by_a_model_error_is_said_with_why(flow):
    job = DescribeJob(source="garden", more_detail=True)
    flow.flow.early(JobPartial(job, detail("A red bicycle leans on a wall.")))
    failed = detail("A red bicycle leans on a wall.")
    failed.caption_error = "The picture could not be described by the model (out of memory)."
    flow.flow.detail_added(job, render.more_detail(failed))
    assert flow.speaker.texts()[1:] == [failed.caption_error]


def test_an_error_after_the_early_text_follows_it_instead_of_cutting_it_off(flow):
    job = DescribeJob(source="screen", kind_hint="screen")
    flow.flow.early(JobPartial(job, screen()))
    assert flow.flow.job_failed(job) is False
    assert flow.flow.job_failed(DescribeJob(source="other")) is True
    assert flow.flow.job_failed(DescribeJob(source="third", interrupt=False)) is False


def test_a_request_while_the_model_loads_gets_a_notice_and_none_once_ready(flow):
    flow.flow.say_if_waiting_for_model()
    assert flow.speaker.said == [(WAITING_FOR_MODEL, False)] and flow.statuses == [WAITING_FOR_MODEL]
    flow.flow.model_ready()
    assert flow.speaker.texts()[-1] == "Ready."
    flow.flow.say_if_waiting_for_model()
    assert flow.speaker.texts().count(WAITING_FOR_MODEL) == 1


def test_ready_and_statuses_are_said_once_by_the_one_output():
    flow = Flow(speech_output="screen_reader")
    flow.flow.model_ready()
    flow.flow.say_status("Copied.")
    assert flow.speaker.texts() == ["Ready.", "Copied."]


def test_a_screen_reader_gets_each_description_whole_not_an_early_part_cut_off_by_the_rest():
    flow = Flow(whole_texts=True)
    job = DescribeJob(source="screen", kind_hint="screen")
    description = screen("a cat on a mat")
    flow.flow.early(JobPartial(job, description))
    assert flow.speaker.said == []
    from describe_aloud.engine import render

    rendering = render.describe(description)
    flow.flow.described(job, rendering)
    assert flow.speaker.texts() == [rendering.speech]


def test_ready_is_said_once_when_text_can_be_read_and_again_only_for_a_new_model(flow):
    flow.flow.say_if_waiting_for_model()  # nothing can be read yet: the request waits, and is told so
    flow.flow.text_ready()
    assert flow.flow.model_state == "reading"
    flow.flow.say_if_waiting_for_model()  # text is read at once now: no notice
    flow.flow.model_ready()
    assert flow.speaker.texts() == [WAITING_FOR_MODEL, "Ready."]
    flow.flow.model_loading()  # the user chose another model: text is still read meanwhile
    assert flow.flow.model_state == "reading"
    flow.flow.say_if_waiting_for_model()
    flow.flow.model_ready()
    assert flow.speaker.texts() == [WAITING_FOR_MODEL, "Ready.", "Ready."]


def test_read_before_the_captioner_the_text_and_that_the_picture_follows_then_only_the_caption(flow):
    job = DescribeJob(source="screen", kind_hint="screen")
    flow.flow.early(JobPartial(job, screen(), awaiting_caption=True))
    flow.flow.described(job, render.describe(screen("a mail program")))
    (first, interrupt), (rest, rest_interrupt) = flow.speaker.said
    assert first == ("Screen with text. Text: Inbox. 3 unread messages. "
                     "The picture's description follows once its model has loaded.")
    assert interrupt is True and flow.sounds == ["done"]
    assert rest == "Could be: A mail program." and rest_interrupt is False


def test_read_before_the_captioner_a_screen_without_text_says_so_and_a_photo_keeps_its_text():
    flow = Flow()
    job = DescribeJob(source="screen", kind_hint="screen")
    empty = Description(kind=ImageKind.SCREEN)
    flow.flow.early(JobPartial(job, empty, awaiting_caption=True))
    flow.flow.described(job, render.describe(Description(kind=ImageKind.SCREEN, caption="a video")))
    assert flow.speaker.texts() == [
        "Screen. No text was found. The picture's description follows once its model has loaded.",
        "Could be: A video."]
    photo_job = DescribeJob(source="photo.jpg")
    sign = [TextLine("YAMAHA", (0, 0, 50, 10), 0.9)]
    flow.flow.early(JobPartial(photo_job, Description(kind=ImageKind.PHOTO, text_lines=sign),
                               awaiting_caption=True))
    flow.flow.described(photo_job, render.describe(
        Description(kind=ImageKind.PHOTO, text_lines=sign, caption="a piano")))
    assert flow.speaker.texts()[2:] == [
        "Picture. Sign reads: YAMAHA. The picture's description follows once its model has loaded.",
        "The model guesses: A piano."]


def test_read_before_the_captioner_a_screen_reader_hears_that_it_follows_then_all_of_it_once():
    flow = Flow(whole_texts=True)
    job = DescribeJob(source="screen", kind_hint="screen")
    flow.flow.early(JobPartial(job, screen(), awaiting_caption=True))
    final = render.describe(screen("a mail program"))
    flow.flow.described(job, final)
    assert flow.speaker.texts() == ["The picture's description follows once its model has loaded.",
                                    final.speech]


def test_a_request_replaced_while_it_waited_for_its_caption_says_nothing_more(flow):
    waiting = DescribeJob(source="screen", kind_hint="screen")
    flow.flow.file_dropped(waiting)  # dropped on this thread before its text, queued, arrived
    flow.flow.early(JobPartial(waiting, screen(), awaiting_caption=True))
    assert flow.speaker.said == []
    said_first = DescribeJob(source="screen", kind_hint="screen")
    flow.flow.early(JobPartial(said_first, screen(), awaiting_caption=True))
    flow.flow.file_dropped(said_first)
    newer = DescribeJob(source="screen", kind_hint="screen")
    flow.flow.described(newer, render.describe(screen("a mail program")))
    assert len(flow.speaker.said) == 2 and flow.speaker.said[1][0].startswith("Screen with text.")
    assert flow.statuses == [] and flow.deferred == []  # screens are not counted as skipped files


def test_files_skipped_for_a_newer_request_are_counted_and_said_once(flow):
    for name in ("a.png", "b.png", "c.png"):
        flow.flow.file_dropped(DescribeJob(source=name, path=Path(name)))
    flow.flow.file_dropped(DescribeJob(source="capture"))  # not a file: not counted
    assert len(flow.deferred) == 1
    flow.run_deferred()
    assert flow.statuses == ["3 files were not described because a newer request came first."]
    flow.flow.file_dropped(DescribeJob(source="d.png", path=Path("d.png")))
    flow.run_deferred()
    assert flow.statuses[-1] == "1 file was not described because a newer request came first."
    flow.flow.file_dropped(DescribeJob(source="e.png", path=Path("e.png")))
    flow.flow.closed = True  # the app shut down meanwhile
    flow.run_deferred()
    assert len(flow.statuses) == 2


def test_when_speech_cannot_start_the_app_gets_a_silent_output_and_the_reason(qapp):
    from describe_aloud.engine.speech import SpeechOutput
    from describe_aloud.gui.speech_bridge import NullSpeaker, SpeechBridge, start_speech

    def broken_factory(settings, bridge):
        raise OSError("no audio device")

    speaker, problem = start_speech(broken_factory, Settings(), SpeechBridge())
    assert isinstance(speaker, NullSpeaker) and isinstance(speaker, SpeechOutput)
    assert problem == "Speech is off: no audio device"
    speaker.say("Ready.")  # silent, never an error
    working = RecordingSpeaker()
    assert start_speech(lambda s, b: working, Settings(), SpeechBridge()) == (working, None)


DENSE = [TextLine(text, (0, 20 * i, 200, 20 * i + 12), 0.9) for i, text in enumerate(
    ["File Edit View", "Invoice March.pdf", "Holiday photos", "budget-2026.ods", "notes.txt", "Recipes"])]


def dense(count: int, caption: str | None = None) -> Description:
    return Description(kind=ImageKind.SCREEN, text_lines=DENSE[:count], caption=caption)


def test_a_dense_screens_first_lines_then_the_rest_then_the_caption_each_line_once_in_order(flow):
    job = DescribeJob(source="screen", kind_hint="screen")
    flow.flow.early(JobPartial(job, dense(2)))  # the first lines, while the rest is recognised
    flow.flow.early(JobPartial(job, dense(6)))  # all of the text
    final = render.describe(dense(6, "a file list"))
    flow.flow.described(job, final)
    (first, interrupt), (rest, rest_interrupt), (caption, _) = flow.speaker.said
    assert first == "Screen with text. Text: File Edit View. Invoice March.pdf." and interrupt is True
    assert rest == "Holiday photos budget-2026.ods notes.txt. Recipes." and rest_interrupt is False
    assert caption == "Could be: A file list."
    heard = " ".join(flow.speaker.texts())
    positions = [heard.find(line.text) for line in DENSE]
    assert all(heard.count(line.text) == 1 for line in DENSE) and positions == sorted(positions)
    assert flow.sounds == ["done"]


def test_a_dense_screen_stopped_after_its_first_lines_says_nothing_more(flow):
    job = DescribeJob(source="screen", kind_hint="screen")
    flow.flow.early(JobPartial(job, dense(2)))
    flow.flow.stop()
    flow.flow.early(JobPartial(job, dense(6)))
    flow.flow.described(job, render.describe(dense(6, "a file list")))
    assert len(flow.speaker.said) == 1


def test_a_screen_reader_hears_a_dense_screen_once_whole():
    flow = Flow(whole_texts=True)
    job = DescribeJob(source="screen", kind_hint="screen")
    flow.flow.early(JobPartial(job, dense(2)))
    flow.flow.early(JobPartial(job, dense(6)))
    final = render.describe(dense(6, "a file list"))
    flow.flow.described(job, final)
    assert flow.speaker.texts() == [final.speech]


def test_a_read_text_that_changed_instead_of_growing_is_said_whole_again_nothing_is_skipped(flow):
    job = DescribeJob(source="screen", kind_hint="screen")
    flow.flow.early(JobPartial(job, dense(2)))
    changed = Description(kind=ImageKind.SCREEN, text_lines=[TextLine("File Edit", DENSE[0].box, 0.9), *DENSE[1:]])
    flow.flow.early(JobPartial(job, changed))
    assert flow.speaker.texts()[-1] == render.describe(changed).parts[1].speech  # "Text: ..." whole
