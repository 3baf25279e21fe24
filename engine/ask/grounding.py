"""Where an answer comes from: the text OCR read ("read": said as read) or the model's eyes ("seen":
hedged). Pure functions; safe from any thread.

A sentence is "read" when the read text contains it, or when most of its words (at least two, and at least
60 % of its content words) appear in the read text: "The button says Save changes" after OCR read
"Save changes" is read text, "The car is red" is not.
"""
from __future__ import annotations

import re
from typing import Iterable

READ = "read"
SEEN = "seen"
MIN_SHARED_WORDS = 2
MIN_SHARED_SHARE = 0.6
# Words that carry no content ("the button says ..."): not counted either way.
_FILLER = frozenset(
    "a an the is are was were it its this that these those there here and or of on in at to for with by "
    "says say said reads read text label labelled shows show written button title image picture screen "
    "it's i you can see".split()
)
_WORD = re.compile(r"[\w'’$€£%.,:/-]+", re.UNICODE)


def _words(text: str) -> list[str]:
    return [w.strip(".,:;!?\"'’").lower() for w in _WORD.findall(text) if w.strip(".,:;!?\"'’")]


def _normalised(text: str) -> str:
    return " ".join(_words(text))


def grounding(sentence: str, read_lines: Iterable[str]) -> str:
    """READ when the sentence repeats text read in the image, else SEEN."""
    read_text = _normalised(" \n ".join(read_lines))
    if not read_text:
        return SEEN
    sentence_text = _normalised(sentence)
    if sentence_text and sentence_text in read_text:
        return READ
    content = [w for w in _words(sentence) if w not in _FILLER]
    if not content:
        return SEEN
    read_words = set(read_text.split())
    shared = sum(1 for w in content if w in read_words)
    if shared >= MIN_SHARED_WORDS and shared / len(content) >= MIN_SHARED_SHARE:
        return READ
    return SEEN
