"""Split text into sentences so that speech can start after the first one is synthesised, and so that
stop / interrupt always act between sentences at the latest.

Pure functions; safe from any thread.
"""
from __future__ import annotations

import re

# Words that end with a full stop without ending the sentence (compared lower-case, without the stop).
ABBREVIATIONS = frozenset(
    {
        "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "mt", "ft", "vs", "etc", "e.g", "i.e", "eg",
        "ie", "fig", "figs", "no", "nos", "approx", "inc", "ltd", "co", "corp", "dept", "est", "vol",
        "p", "pp", "ch", "cf", "al", "ave", "rd", "blvd", "jan", "feb", "mar", "apr", "jun", "jul",
        "aug", "sep", "sept", "oct", "nov", "dec", "mon", "tue", "wed", "thu", "fri", "sat", "sun",
        "gen", "gov", "sgt", "capt", "lt", "col", "rev", "hon", "u.s", "u.k", "a.m", "p.m", "ca",
    }
)

# A candidate boundary: terminal punctuation, optional closing quotes/brackets, then whitespace.
_BOUNDARY = re.compile(r"([.!?\u2026]+)([\"'\u201d\u2019)\]]*)(\s+)")
_WORD_BEFORE = re.compile(r"([\w.]+)$")
# Chinese / Japanese full-width sentence ends, which need no space after them.
_CJK_BOUNDARY = re.compile(r"(?<=[\u3002\uff01\uff1f])")

# Sentences longer than this are cut at a clause break (or a space) so the first audio stays quick.
MAX_CHUNK_CHARS = 220


def split_sentences(text: str, max_chars: int = MAX_CHUNK_CHARS) -> list[str]:
    """Return the non-empty sentences of `text`, in order, whitespace-normalised.

    Line breaks always end a chunk (OCR lines and list items are spoken as separate pieces). A full stop
    after a known abbreviation, a single letter (an initial) or before a lower-case word does not end a
    sentence; decimals such as 3.14 never do (no space follows the point).
    """
    chunks: list[str] = []
    for line in text.splitlines():
        for sentence in _split_line(line):
            for piece in _CJK_BOUNDARY.split(sentence):
                if piece.strip():
                    chunks.extend(_limit_length(piece.strip(), max_chars))
    return chunks


def _split_line(line: str) -> list[str]:
    line = " ".join(line.split())
    if not line:
        return []
    sentences: list[str] = []
    start = 0
    for match in _BOUNDARY.finditer(line + " "):
        end = match.end(2)
        if end >= len(line) or _is_boundary(line, match, start):
            piece = line[start:end].strip()
            if piece:
                sentences.append(piece)
            start = match.end()
    rest = line[start:].strip()
    if rest:
        sentences.append(rest)
    return sentences


def _is_boundary(line: str, match: re.Match[str], sentence_start: int) -> bool:
    punctuation = match.group(1)
    following = line[match.end():match.end() + 1]
    if following and following.islower():
        return False  # "e.g. the cat", "approx. three": the sentence goes on
    if punctuation != ".":
        return True  # "!", "?", "..." end a sentence when a capital or digit follows
    before = _WORD_BEFORE.search(line[: match.start(1)])
    word = before.group(1).lower().rstrip(".") if before else ""
    if word in ABBREVIATIONS:
        return False
    if len(word) == 1 and word.isalpha():
        return False  # an initial: "J. R. R. Tolkien"
    if word.isdigit() and not line[sentence_start : before.start()].strip():
        return False  # a list number at the start: "1. Open the file."
    return True


def _limit_length(sentence: str, max_chars: int) -> list[str]:
    pieces: list[str] = []
    while len(sentence) > max_chars:
        window = sentence[:max_chars]
        cut = max(window.rfind(", "), window.rfind("; "), window.rfind(": "))
        if cut < max_chars // 3:
            cut = window.rfind(" ")
        if cut <= 0:
            cut = max_chars - 1
        pieces.append(sentence[: cut + 1].strip())
        sentence = sentence[cut + 1 :].strip()
    if sentence:
        pieces.append(sentence)
    return pieces
