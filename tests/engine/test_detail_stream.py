""""More detail" said sentence by sentence while the model writes it (engine.detail_stream): a sentence is
handed on once the next has begun, each once, translated once, and the finished detail begins with exactly
what was said."""
from __future__ import annotations

import pytest

from describe_aloud.engine.describer import tidy_caption
from describe_aloud.engine.detail_stream import DetailStream
from describe_aloud.engine.translation import load_translator

DETAIL = ("A red bicycle leans against a brick wall. Its front wheel is turned to the left, e.g. toward the door. "
          "Dr. Smith's name is on a sign above it.")


def words_so_far(text: str) -> list[str]:
    """The answer as a decoder hands it on: one more word each time."""
    words = text.split()
    return [" ".join(words[:n]) for n in range(1, len(words) + 1)]


def stream_of(translate=lambda text: text):
    handed: list[str] = []
    return DetailStream(tidy=tidy_caption, translate=translate, on_said=handed.append), handed


def test_each_sentence_is_handed_on_when_the_next_one_has_begun():
    stream, handed = stream_of()
    for text in words_so_far(DETAIL):
        stream.feed(text)
    # "e.g." and "Dr." end no sentence; the last sentence is still being written when the words stop.
    assert handed == [
        "A red bicycle leans against a brick wall.",
        "A red bicycle leans against a brick wall. Its front wheel is turned to the left, e.g. toward the door.",
    ]
    assert stream.finish(tidy_caption(DETAIL)) == DETAIL


def test_a_full_stop_at_the_end_is_not_yet_a_sentence():
    stream, handed = stream_of()
    stream.feed("Two cups on a table.")
    assert handed == []
    stream.feed("Two cups on a table. One")
    assert handed == ["Two cups on a table."]


def test_without_a_listener_or_a_sentence_end_nothing_is_handed_on():
    quiet = DetailStream(tidy=tidy_caption, translate=str.upper, on_said=None)
    for text in words_so_far(DETAIL):
        quiet.feed(text)
    assert quiet.finish(DETAIL) == DETAIL.upper()  # translated whole, once
    stream, handed = stream_of()
    stream.feed("a long answer with no full stop yet and more words")
    assert handed == [] and stream.finish("") == ""


def test_a_decoding_loop_is_said_once_and_what_was_said_stays_the_beginning():
    stream, handed = stream_of()
    looping = "A dog runs. A dog runs. A dog runs. A dog runs. The park is green. Trees stand behind it."
    for text in words_so_far(looping):
        stream.feed(text)
    # The repeat waits (it may be, and is, a loop's start); once the loop is over, the next sentence follows.
    assert handed == ["A dog runs.", "A dog runs. The park is green."]
    assert stream.finish(tidy_caption(looping)) == "A dog runs. The park is green. Trees stand behind it."


def test_translated_chinese_sentences_are_joined_without_a_space_and_kept_when_the_model_fails():
    chinese = {"A cat sleeps.": "一只猫在睡觉。", "It is grey.": "它是灰色的。"}
    stream, handed = stream_of(lambda text: chinese.get(text, text))
    stream.feed("A cat sleeps. It")
    stream.feed("A cat sleeps. It is grey. A")
    assert handed == ["一只猫在睡觉。", "一只猫在睡觉。它是灰色的。"]
    assert stream.finish(None) == "一只猫在睡觉。它是灰色的。"  # the model failed: what was said stays


def test_a_finished_detail_that_does_not_begin_with_what_was_said_is_given_whole():
    stream, handed = stream_of(str.upper)
    stream.feed("A cat sleeps. It")
    assert handed == ["A CAT SLEEPS."]
    assert stream.finish("A cat sleeps on a mat.") == "A CAT SLEEPS ON A MAT."


@pytest.fixture(scope="module")
def translator(tiny_marian_dir):
    return load_translator(str(tiny_marian_dir), language="zh_CN", precision="fp32")


def test_each_sentence_is_translated_once_and_the_whole_reuses_them(translator):
    asked: list[str] = []

    def translate(text: str) -> str:
        asked.append(text)
        return translator.translate_one(text)

    stream, handed = stream_of(translate)
    for text in words_so_far(DETAIL):
        stream.feed(text)
    whole = stream.finish(DETAIL)
    assert asked == [
        "A red bicycle leans against a brick wall.",
        "Its front wheel is turned to the left, e.g. toward the door.",
        "Dr. Smith's name is on a sign above it.",
    ]
    first = translator.translate_one(asked[0])
    assert handed[0] == first and whole.startswith(handed[-1]) and whole != handed[-1]
    assert "bicycle" not in whole  # in the user's language, sentence by sentence
