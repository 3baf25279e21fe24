"""Text worth saying: drop OCR lines a sighted person would not read there, merge readings of one place.

On a screen or a document everything readable is kept (a single "8" in a spreadsheet cell is real). On a
photo, the recogniser also "reads" foam, fur, coins and chrome: "0000" on a portrait, "O" on a coin,
"YAWANA" beside "YAMAHA". There a line is kept only when it is
- confident (PHOTO_MIN_CONFIDENCE),
- large enough to be read at all (PHOTO_MIN_HEIGHT_SHARE of the image height),
- plausible as characters: at least two letters or digits, not one character repeated ("0000", "lll"),
  mostly letters/digits rather than punctuation, and a long Latin word has a vowel;
and near-duplicates (similar text) are said once, as the reading that agrees most with the others (the
more confident of equals): a photo rarely shows the same word twice, but the recogniser often reads one
sign several times, slightly wrong.

On every kind, two readings of the same place (boxes mostly overlapping, similar text) are merged.
"""
from __future__ import annotations

from dataclasses import replace
from difflib import SequenceMatcher
from typing import Sequence

from describe_aloud.engine.description import ImageKind, TextLine

PHOTO_MIN_CONFIDENCE = 0.85
PHOTO_MIN_HEIGHT_SHARE = 0.012
# Two readings whose boxes overlap this much (of the smaller box) are of the same place...
SAME_PLACE_OVERLAP = 0.5
# ...and are the same text when at least this similar (difflib ratio, case-insensitive).
SAME_TEXT_RATIO = 0.6
# A Latin word of this many letters or more without a vowel is no word ("RRLT", "XWNM").
VOWELLESS_MAX_LETTERS = 4
VOWELS = frozenset("aeiouyAEIOUY")


def keep_readable(lines: Sequence[TextLine], kind: ImageKind, size: tuple[int, int]) -> list[TextLine]:
    """The lines worth saying for an image of this kind, in their order, reading indices renumbered."""
    kept = _merge_same_place(list(lines))
    if kind is ImageKind.PHOTO:
        kept = [line for line in kept if plausible_scene_text(line, size)]
        kept = _merge_similar(kept)
    return [replace(line, index=i) for i, line in enumerate(kept)]


def plausible_scene_text(line: TextLine, size: tuple[int, int]) -> bool:
    """Would a sighted person read this line on a photo?"""
    if line.confidence < PHOTO_MIN_CONFIDENCE:
        return False
    height = line.box[3] - line.box[1]
    if size[1] and height < PHOTO_MIN_HEIGHT_SHARE * size[1]:
        return False
    return plausible_characters(line.text)


def plausible_characters(text: str) -> bool:
    """Characters that could be a word, a number or a sign, not texture read as letters."""
    compact = "".join(text.split())
    alnum = [c for c in compact if c.isalnum()]
    if len(alnum) < 2:
        return False
    if len(alnum) < 0.6 * len(compact):
        return False
    if len({c.lower() for c in alnum}) == 1:  # "0000", "lll", "OO"
        return False
    if len(set(alnum)) <= 2 and len(alnum) >= 4 and all(c.isdigit() for c in alnum):  # "0101", "8008"
        return False
    for word in text.split():
        letters = [c for c in word if c.isascii() and c.isalpha()]
        if len(letters) >= VOWELLESS_MAX_LETTERS and not VOWELS.intersection(letters):
            return False
    return True


def _similar(a: str, b: str) -> bool:
    a, b = a.lower(), b.lower()
    return a in b or b in a or SequenceMatcher(None, a, b).ratio() >= SAME_TEXT_RATIO


def overlap(a: TextLine, b: TextLine) -> float:
    """Intersection over the smaller box's area."""
    w = min(a.box[2], b.box[2]) - max(a.box[0], b.box[0])
    h = min(a.box[3], b.box[3]) - max(a.box[1], b.box[1])
    if w <= 0 or h <= 0:
        return 0.0
    area = min((a.box[2] - a.box[0]) * (a.box[3] - a.box[1]), (b.box[2] - b.box[0]) * (b.box[3] - b.box[1]))
    return (w * h) / area if area > 0 else 0.0


def _merge_same_place(lines: list[TextLine]) -> list[TextLine]:
    return _merge(lines, lambda a, b: overlap(a, b) >= SAME_PLACE_OVERLAP and _similar(a.text, b.text))


def _merge_similar(lines: list[TextLine]) -> list[TextLine]:
    return _merge(lines, lambda a, b: _similar(a.text, b.text))


def _merge(lines: list[TextLine], same) -> list[TextLine]:  # type: ignore[no-untyped-def]
    """Of each group of `same` lines, keep the consensus reading (the one most like the others: of
    "YAWAHA", "YAMAHA", "YAMARA" it is "YAMAHA"), the more confident of equals, where the group began."""
    groups: list[list[TextLine]] = []
    for line in lines:
        for group in groups:
            if same(line, group[0]):
                group.append(line)
                break
        else:
            groups.append([line])
    return [replace(_consensus(group), block=group[0].block) for group in groups]


def _consensus(group: list[TextLine]) -> TextLine:
    if len(group) == 1:
        return group[0]

    def agreement(line: TextLine) -> float:
        return sum(SequenceMatcher(None, line.text.lower(), o.text.lower()).ratio() for o in group if o is not line)

    return max(group, key=lambda line: (round(agreement(line), 6), line.confidence))
