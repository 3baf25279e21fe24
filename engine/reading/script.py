"""Which script (and so which language) a piece of read text is in, from the Unicode ranges of its letters.

OCR gives characters, not languages. The script is certain (a Han character is Han); the language is the
usual one for that script (Han -> zh, Hangul -> ko, Cyrillic -> ru...). Latin script is reported as "en":
rapidocr's default recogniser reads Chinese and English, so a Latin line is English far more often than
anything else; the speaker still lets a user's own Latin-script voice say it (see engine.speech.language_runs).

Pure functions, safe from any thread.
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache

# (first code point, last code point, script). Checked in order; anything else that is a letter is looked
# up by its Unicode name (slower, rare).
_RANGES: tuple[tuple[int, int, str], ...] = (
    (0x0041, 0x024F, "Latin"),
    (0x1E00, 0x1EFF, "Latin"),
    (0x0370, 0x03FF, "Greek"),
    (0x0400, 0x052F, "Cyrillic"),
    (0x0590, 0x05FF, "Hebrew"),
    (0x0600, 0x06FF, "Arabic"),
    (0x0750, 0x077F, "Arabic"),
    (0x0900, 0x097F, "Devanagari"),
    (0x0E00, 0x0E7F, "Thai"),
    (0x3040, 0x309F, "Hiragana"),
    (0x30A0, 0x30FF, "Katakana"),
    (0x31F0, 0x31FF, "Katakana"),
    (0x1100, 0x11FF, "Hangul"),
    (0x3130, 0x318F, "Hangul"),
    (0xAC00, 0xD7AF, "Hangul"),
    (0x3400, 0x4DBF, "Han"),
    (0x4E00, 0x9FFF, "Han"),
    (0xF900, 0xFAFF, "Han"),
    (0x20000, 0x2FA1F, "Han"),
    (0xFF21, 0xFF5A, "Latin"),  # full-width Latin letters
)

# The language a script is read in when nothing else is known (BCP 47 primary tags).
SCRIPT_LANGUAGE = {
    "Latin": "en",
    "Han": "zh",
    "Hiragana": "ja",
    "Katakana": "ja",
    "Hangul": "ko",
    "Cyrillic": "ru",
    "Greek": "el",
    "Hebrew": "he",
    "Arabic": "ar",
    "Devanagari": "hi",
    "Thai": "th",
}


# A Han, Kana or Hangul character carries about a word; a Latin letter a fifth of one. Weighted so that
# "设置 Settings" (two of each) counts as the mixed line it is, and a Chinese line with one English word
# stays Chinese.
_WEIGHT = {"Han": 4, "Hiragana": 4, "Katakana": 4, "Hangul": 4}


@lru_cache(maxsize=4096)
def script_of(char: str) -> str | None:
    """The script of one character, None for digits, punctuation, spaces and symbols (they have none)."""
    if not char.isalpha():
        return None
    code = ord(char)
    for first, last, script in _RANGES:
        if first <= code <= last:
            return script
    name = unicodedata.name(char, "")
    for script in SCRIPT_LANGUAGE:
        if name.upper().startswith(script.upper()):
            return script
    if name.startswith("CJK"):
        return "Han"
    return None


def language_of(text: str) -> str | None:
    """The language of a line: the one of the script most of its letters are in. Kana anywhere makes
    Han text Japanese (Japanese mixes Kanji and Kana; Chinese never uses Kana). None for a line without
    letters ("12:30", "+")."""
    counts: dict[str, int] = {}
    for char in text:
        script = script_of(char)
        if script is not None:
            counts[script] = counts.get(script, 0) + _WEIGHT.get(script, 1)
    if not counts:
        return None
    if "Han" in counts and ("Hiragana" in counts or "Katakana" in counts):
        return "ja"
    top = max(counts, key=lambda s: counts[s])
    return SCRIPT_LANGUAGE.get(top)


@dataclass(frozen=True)
class Run:
    """A stretch of text in one language (None: no letters at all)."""

    text: str
    language: str | None


def language_runs(text: str) -> list[Run]:
    """Split mixed text ("设置 Settings 帮助") into runs, one per change of language. Characters without a
    script (spaces, digits, punctuation) stay with the run before them, or the one after at the start, so
    "版本 2.0" is one Chinese run and "Version 2.0 版本" is "Version 2.0 " + "版本"."""
    runs: list[list] = []  # [text, language]
    pending = ""  # characters before the first letter
    japanese = _has_kana(text)  # then Han characters are Kanji
    for char in text:
        script = script_of(char)
        language = SCRIPT_LANGUAGE.get(script) if script else None
        if language == "zh" and japanese:
            language = "ja"
        if language is None:
            if runs:
                runs[-1][0] += char
            else:
                pending += char
            continue
        if runs and runs[-1][1] == language:
            runs[-1][0] += char
        else:
            runs.append([pending + char if not runs else char, language])
            pending = ""
    if not runs:
        return [Run(text, None)] if text else []
    return [Run(t, lang) for t, lang in runs]


def _has_kana(text: str) -> bool:
    return any(script_of(c) in ("Hiragana", "Katakana") for c in text)
