"""Sentence splitting: speech starts after the first sentence, and stop acts between sentences."""
from __future__ import annotations

from describe_aloud.engine.speech.sentences import split_sentences


def test_splits_plain_sentences_in_order():
    assert split_sentences("A cat sits on a mat. It looks up! Is it hungry? Yes.") == [
        "A cat sits on a mat.", "It looks up!", "Is it hungry?", "Yes.",
    ]


def test_abbreviations_initials_and_decimals_do_not_split():
    text = "Dr. Smith paid 3.50 dollars at 5 p.m. on Main St. today. J. R. R. Tolkien wrote it, e.g. the Hobbit."
    assert split_sentences(text) == [
        "Dr. Smith paid 3.50 dollars at 5 p.m. on Main St. today.",
        "J. R. R. Tolkien wrote it, e.g. the Hobbit.",
    ]


def test_line_breaks_end_a_piece_and_blank_lines_vanish():
    assert split_sentences("Menu\n\n  File   Edit \nOpen a file.") == ["Menu", "File Edit", "Open a file."]


def test_closing_quotes_stay_with_their_sentence():
    assert split_sentences('The sign says "Stop." Then a road.') == ['The sign says "Stop."', "Then a road."]


def test_very_long_sentence_is_cut_at_clause_breaks_without_losing_words():
    text = ", ".join(f"item number {i}" for i in range(60)) + "."
    pieces = split_sentences(text, max_chars=100)
    assert all(len(p) <= 100 for p in pieces)
    assert len(pieces) > 1
    assert " ".join(pieces).split() == text.split()


def test_empty_and_whitespace_give_nothing():
    assert split_sentences("") == []
    assert split_sentences(" \n\t ") == []


def test_list_numbers_stay_with_their_item_but_numbers_can_end_a_sentence():
    assert split_sentences("1. Open the file. 2. Save it.") == ["1. Open the file.", "2. Save it."]
    assert split_sentences("The score was 3. Then it rained.") == ["The score was 3.", "Then it rained."]


def test_chinese_and_japanese_full_stops_split_without_spaces():
    assert split_sentences("今天很好。我们去公园！你来吗？") == ["今天很好。", "我们去公园！", "你来吗？"]
