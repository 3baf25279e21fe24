"""`python main.py history`: what the app recorded, printed from the command line."""
from __future__ import annotations

import json

import pytest

from describe_aloud.engine.description import Description, ImageKind, TextLine
from describe_aloud.engine.history import HistoryStore
from describe_aloud.cli.main import main


def _record(*items):
    with HistoryStore() as store:
        for when, source, caption in items:
            store.add(Description(kind=ImageKind.PHOTO, caption=caption, model_id="tiny"), source=source,
                      when=when)


def test_history_last_prints_the_newest(capsys):
    _record((1.0, "old.jpg", "an old barn"), (2.0, "new.jpg", "a new bicycle"))
    assert main(["history", "--last"]) == 0
    out = capsys.readouterr().out
    assert "new.jpg" in out and "bicycle" in out
    assert "barn" not in out


def test_history_last_json(capsys):
    with HistoryStore() as store:
        store.add(Description(kind=ImageKind.SCREEN, caption="a menu",
                              text_lines=[TextLine("File Edit View", (0, 0, 1, 1), 0.9)]), source="screen")
    assert main(["history", "--last", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["source"] == "screen"
    assert data["kind"] == "screen"
    assert data["description"]["text"] == "File Edit View"
    assert "File Edit View" in data["text"]


def test_history_search(capsys):
    _record((1.0, "a.jpg", "a dog on a beach"), (2.0, "b.jpg", "a cat"), (3.0, "c.jpg", "two dogs"))
    assert main(["history", "--search", "dog", "--json"]) == 0
    assert [e["source"] for e in json.loads(capsys.readouterr().out)] == ["c.jpg", "a.jpg"]
    assert main(["history", "--search", "giraffe"]) == 1
    assert "giraffe" in capsys.readouterr().err


def test_empty_history_says_so(capsys):
    assert main(["history", "--last"]) == 1
    assert "empty" in capsys.readouterr().err
    assert main(["history", "--last", "--json"]) == 1
    assert json.loads(capsys.readouterr().out) is None


def test_questions_asked_about_an_entry_are_printed_and_found(capsys):
    with HistoryStore() as store:
        entry = store.add(Description(kind=ImageKind.PHOTO, caption="a red car", model_id="tiny"), source="car.jpg")
        store.add_answer(entry.id, "What colour is the car?",
                         {"question": "What colour is the car?", "answer": "The car is red.",
                          "sentences": [{"text": "The car is red.", "grounding": "seen"}]},
                         "It looks like the car is red.")
        # A question cut off by a newer request: said as stopped, never as the model's doubt.
        store.add_answer(entry.id, "Is it parked?", {"question": "Is it parked?", "stopped": True}, "")
    assert main(["history", "--last"]) == 0
    out = capsys.readouterr().out
    assert "You asked: What colour is the car?\nIt looks like the car is red." in out
    assert "You asked: Is it parked?\nThe question was stopped before it was answered." in out
    assert "can't tell" not in out
    assert main(["history", "--last", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [a["question"] for a in data["answers"]] == ["What colour is the car?", "Is it parked?"]
    assert data["answers"][0]["speech"] == "It looks like the car is red."
    assert main(["history", "--search", "colour", "--json"]) == 0  # the question is searched too
    assert [e["source"] for e in json.loads(capsys.readouterr().out)] == ["car.jpg"]


@pytest.mark.parametrize("limit", ["0", "-1", "ten"])
def test_a_limit_below_one_is_refused(limit, capsys):
    _record((1.0, "a.jpg", "a dog"))
    with pytest.raises(SystemExit):
        main(["history", "--limit", limit])
    assert "the limit must be a whole number of 1 or more" in capsys.readouterr().err


def test_history_shows_escapes_in_names_texts_and_questions_instead_of_obeying_them(capsys):
    """The app keeps a dropped file's path as it is, a screen's text as read and a question as typed: any of
    them can hold terminal escapes (retitle the window, clear the screen), which `history` must not obey."""
    with HistoryStore() as store:
        entry = store.add(Description(kind=ImageKind.SCREEN, caption="a page",
                                      text_lines=[TextLine("Sale\x1b[2J now", (0, 0, 1, 1), 0.9)]),
                          source="/home/u/cat\x1b]0;owned\x07.png")
        store.add_answer(entry.id, "what\x1b[5m?", {"question": "what\x1b[5m?", "answer": "A page.",
                                                     "sentences": [{"text": "A page.", "grounding": "seen"}]},
                         "A page.")
    assert main(["history", "--last"]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out
    assert "cat\\x1b]0;owned\\x07.png" in out and "Sale\\x1b[2J now" in out and "what\\x1b[5m?" in out
