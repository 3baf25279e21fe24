"""Asking about the image in the app, with the real worker, real OCR and tiny real models (a GIT captioner and
a SmolVLM installed in the model store): shortcut -> dialog -> worker -> spoken answer -> history."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QKeySequence

from describe_aloud.engine import render
from describe_aloud.engine.history import HistoryStore
from describe_aloud.engine.invocation import user_command
from describe_aloud.gui.ask_flow import NOTHING_TO_ASK_ABOUT
from tests.fixtures.images import TEXT_LINES, photo_image, text_image

JOB_MS = 180_000
CANNOT_TELL = "I can't tell from this image."
SURE = dict(first_token_min=0.0, mean_min=0.0)  # a random model made "sure": its words reach the user


def described(qtbot, controller, image, source: str):
    controller.describe_image(image, source)
    qtbot.waitUntil(lambda: controller.last is not None and controller.last.source == source, timeout=JOB_MS)
    controller.test_speaker.said.clear()
    return controller.last


def answered(qtbot, controller, count: int = 1) -> None:
    done = []
    controller.worker.ask_result.connect(lambda _r: done.append(1))
    qtbot.waitUntil(lambda: len(done) >= count and controller.asking.current is None, timeout=JOB_MS)


def test_ctrl_k_asks_speaks_keeps_the_conversation_and_reuses_the_image(qtbot, make_app, tiny_git_dir,
                                                                         installed_ask_model):
    controller = make_app(model=tiny_git_dir)
    speaker = controller.test_speaker
    last = described(qtbot, controller, text_image(TEXT_LINES), "list.png")
    action = controller.window.action("ask")
    assert action.shortcut() == QKeySequence("Ctrl+K")
    action.trigger()
    dialog = controller.asking.dialog
    assert dialog.isVisible() and dialog.focusWidget() is dialog.question_edit
    assert dialog.question_edit.accessibleName() == "Question"
    assert dialog.conversation.accessibleName() == "Conversation" and dialog.conversation.isReadOnly()
    assert "list.png" in dialog.about_label.text()
    runner = controller.worker.asks
    # While the user types, the worker loads the model and encodes the image.
    qtbot.waitUntil(lambda: runner._asker is not None and runner._asker.image_encodings == 1, timeout=JOB_MS)

    qtbot.keyClicks(dialog.question_edit, "What does the text say?")
    qtbot.keyClick(dialog.question_edit, Qt.Key.Key_Return)
    answered(qtbot, controller)
    # A random-weight model is never sure of itself: the user hears so, once, cutting what was said before.
    assert speaker.said == [(CANNOT_TELL, True)]
    assert "You asked: What does the text say?\n" + CANNOT_TELL in dialog.conversation.toPlainText()
    assert dialog.status_label.text() == "Answered."
    assert runner._asker.image_encodings == 1  # the question used the image encoded while typing

    controller.asking.ask("Is there a price?")
    answered(qtbot, controller)
    assert runner.asker_loads == 1 and runner._asker.image_encodings == 1  # the follow-up reused the image
    with HistoryStore() as store:
        kept = store.answers(last.history_id)
    assert [row["question"] for row in kept] == ["What does the text say?", "Is there a price?"]
    assert all(row["speech"] == CANNOT_TELL and row["answer"]["unsure"] for row in kept)
    assert all(row["answer"]["reused_image"] for row in kept)

    dialog.copy_button.click()
    copied = QGuiApplication.clipboard().text()
    assert copied.count("You asked:") == 2 and copied == render.conversation(controller.asking.subject.turns)
    stops = speaker.stops
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    assert speaker.stops == stops + 1 and dialog.isVisible()  # Escape stops speech, keeps the conversation

    # Opened again later, the dialog shows the conversation kept with the entry.
    dialog.hide()
    controller.window.action("ask").trigger()
    assert dialog.conversation.toPlainText().count("You asked:") == 2


def test_the_first_sentence_is_spoken_while_the_answer_is_still_being_made(qtbot, make_app, tiny_git_dir,
                                                                           installed_ask_model):
    controller = make_app(model=tiny_git_dir)
    controller.worker.asks.asker_options = dict(SURE, max_new_tokens=40)
    speaker = controller.test_speaker
    last = described(qtbot, controller, photo_image(), "garden.png")
    seen_while_answering = []
    controller.worker.ask_sentence.connect(
        lambda _p: seen_while_answering.append((controller.asking.current is not None, len(speaker.said))))
    controller.asking.ask("What colour is the car?")
    answered(qtbot, controller)
    assert seen_while_answering and seen_while_answering[0] == (True, 1)
    first, *rest = speaker.said
    assert first[0].startswith("It looks like ") and first[1] is True
    assert all(interrupt is False for _text, interrupt in rest)  # later sentences queue after the first
    with HistoryStore() as store:
        [kept] = store.answers(last.history_id)
    assert kept["speech"] == " ".join(text for text, _ in speaker.said)
    assert kept["answer"]["grounding"] == "seen" and not kept["answer"]["unsure"]


def test_the_newest_question_wins(qtbot, make_app, tiny_git_dir, installed_ask_model):
    controller = make_app(model=tiny_git_dir)
    controller.worker.asks.asker_options = dict(SURE, max_new_tokens=60)
    last = described(qtbot, controller, photo_image(), "garden.png")
    started, results = [], []
    controller.worker.ask_started.connect(started.append)
    controller.worker.ask_result.connect(results.append)
    older = controller.asking.ask("Describe everything you can see in great detail.")
    qtbot.waitUntil(lambda: older in started, timeout=JOB_MS)  # being answered (a waiting one is just dropped)
    newer = controller.asking.ask("What colour is the car?")
    answered(qtbot, controller)
    assert older.cancel.is_set() and not newer.cancel.is_set()
    stopped = [r.answer for r in results if r.job is older]
    assert stopped and stopped[0].stopped  # cut off at its next token, not finished
    with HistoryStore() as store:
        assert [row["question"] for row in store.answers(last.history_id)] == ["What colour is the car?"]


def test_ask_last_through_the_socket_and_before_anything_was_described(qtbot, make_app, tiny_git_dir,
                                                                        installed_ask_model):
    controller = make_app(model=tiny_git_dir)
    speaker = controller.test_speaker
    controller.handle_command("ask What is this?")
    assert speaker.texts()[-1] == NOTHING_TO_ASK_ABOUT
    last = described(qtbot, controller, text_image(TEXT_LINES), "list.png")
    controller.handle_command("ask What does the text say?")
    answered(qtbot, controller)
    assert speaker.texts() == [CANNOT_TELL]
    with HistoryStore() as store:
        assert store.answers(last.history_id)[0]["question"] == "What does the text say?"


def test_ask_before_describing_a_chosen_file_reads_its_text_and_a_bad_file_is_said(
        qtbot, make_app, tiny_git_dir, installed_ask_model, image_files, bad_image_files):
    controller = make_app(model=tiny_git_dir)
    results = []
    controller.worker.ask_result.connect(results.append)
    dialog = controller.asking.open_dialog()
    assert "Nothing has been described yet" in dialog.about_label.text()
    controller.asking.ask_about_file(str(image_files["text"]))
    controller.asking.ask("What does the text say?")
    answered(qtbot, controller)
    assert results[-1].lines == TEXT_LINES  # read in the worker, given to the model
    assert controller.test_speaker.texts()[-1] == CANNOT_TELL
    assert controller.last is None  # asked, not described
    # Shown in the main window too, saying which file the answer is about.
    assert f"Asking about: {image_files['text']}\nYou asked: What does the text say?\n{CANNOT_TELL}" \
        in controller.window.result_text()

    controller.asking.ask_about_file(str(bad_image_files["not_image"]))
    controller.asking.ask("What is this?")
    qtbot.waitUntil(lambda: controller.asking.current is None, timeout=JOB_MS)
    assert "is not an image" in controller.test_speaker.texts()[-1]
    assert "is not an image" in dialog.conversation.toPlainText()


def test_a_missing_ask_model_says_how_to_download_it(qtbot, make_app, tiny_git_dir):
    controller = make_app(model=tiny_git_dir)
    described(qtbot, controller, photo_image(), "garden.png")
    controller.window.action("ask").trigger()
    controller.asking.ask("What is this?")
    qtbot.waitUntil(lambda: controller.asking.current is None, timeout=JOB_MS)
    command = user_command("models", "download", "smolvlm-256m")
    assert command in controller.test_speaker.texts()[-1]
    assert command in controller.asking.dialog.status_label.text()


def test_asking_has_a_global_hotkey_that_can_be_changed_and_reaches_the_action():
    from describe_aloud.engine.config import DEFAULT_HOTKEYS
    from describe_aloud.gui.actions import TRAY_ACTIONS, action_label, remote_action

    assert DEFAULT_HOTKEYS["ask"] == "ctrl+alt+k"
    assert remote_action("ask").shortcuts == ("Ctrl+K",)
    assert action_label("ask") == "Ask about the image" and "ask" in TRAY_ACTIONS


def test_an_answer_heard_through_the_socket_is_also_shown_and_the_dialog_opened_later_has_it(
        qtbot, make_app, tiny_git_dir, installed_ask_model):
    controller = make_app(model=tiny_git_dir)
    described(qtbot, controller, text_image(TEXT_LINES), "list.png")
    assert controller.asking.dialog is None  # `ask --last` with the dialog never opened
    controller.handle_command("ask What does the text say?")
    answered(qtbot, controller)
    # With no sound the answer is still there to read, after the description it is about.
    result = controller.window.result_text()
    assert result.index("Text:") < result.index("You asked: What does the text say?\n" + CANNOT_TELL)
    controller.window.action("ask").trigger()
    dialog = controller.asking.dialog
    assert "Asking about: list.png" in dialog.about_label.text()
    assert dialog.conversation.toPlainText() == "You asked: What does the text say?\n" + CANNOT_TELL


def test_a_question_cut_off_by_more_detail_is_said_as_stopped_and_not_kept_as_cannot_tell(
        qtbot, make_app, tiny_git_dir, installed_ask_model):
    controller = make_app(model=tiny_git_dir)
    controller.worker.asks.asker_options = dict(SURE, max_new_tokens=200)
    last = described(qtbot, controller, photo_image(), "garden.png")
    started = []
    controller.worker.ask_started.connect(started.append)
    job = controller.asking.ask("Describe everything you can see in great detail.")
    qtbot.waitUntil(lambda: job in started, timeout=JOB_MS)
    controller.handle_command("more_detail")  # `more-detail` while the answer is being made
    qtbot.waitUntil(lambda: controller.asking.current is None, timeout=JOB_MS)
    said = controller.test_speaker.texts()
    assert CANNOT_TELL not in said
    with HistoryStore() as store:
        kept = store.answers(last.history_id)
    if kept:  # a sentence was complete before the cut: kept, and said to be cut short
        assert kept[0]["answer"]["stopped"] and "The answer was stopped before its end." in said
    else:  # nothing was answered: said as stopped, nothing kept
        assert "The question was stopped before it was answered." in said
