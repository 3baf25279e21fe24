"""One sanitiser for every text we write where another program interprets it: a terminal, a CSV cell,
XML (XMP), JSON, SQLite.

Where such text comes from: file names (any bytes but "/" and NUL on Linux, so possibly not UTF-8 and
possibly holding terminal escape sequences), OCR text read from a picture an attacker made, a caption.

- Non-UTF-8 file names reach Python as `str` with lone surrogates (PEP 383). `escaped` turns them into a
  visible, lossless `\\xNN` form that can be encoded as UTF-8 (the JSON and CSV use it); the real name is
  kept as bytes where it must be found again (the journal, see engine.journal).
- `for_terminal` (and `printable_path`, for a path put into a sentence) is for what the user reads or
  hears: an undecodable byte becomes U+FFFD (the replacement character, as file managers show it; a
  voice does not read out backslash codes), and control characters (ESC, BEL, NUL, CR...) are shown as
  `\\xNN` so that a file name cannot move the cursor, retitle the window or hide text on the user's
  terminal or screen reader.
- `csv_cell` defuses formula injection: a cell starting with = + - @ TAB or CR is run by spreadsheet
  programs (`=HYPERLINK(...)`), so it gets a leading apostrophe (OWASP's advice; shown as text).
- `xml_text` drops what XML 1.0 cannot hold (most control characters, lone surrogates), so an XMP packet
  we write is always valid XML.
"""
from __future__ import annotations

import os
import re

# C0 controls except TAB and LF, DEL, C1 controls (ESC sequences, CSI 0x9b...).
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_CONTROL_ALL = re.compile("[\x00-\x1f\x7f-\x9f]")
_SURROGATE = re.compile("[\ud800-\udfff]")
# Everything XML 1.0 does not allow in text (https://www.w3.org/TR/xml/#charsets).
_NOT_XML = re.compile("[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def has_surrogates(text: str) -> bool:
    return _SURROGATE.search(text) is not None


def escaped(text: str) -> str:
    """`text` encodable as UTF-8: undecodable bytes of a file name (lone surrogates) as `\\xNN`."""
    if not has_surrogates(text):
        return text
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace") if all(
        0xDC80 <= ord(c) <= 0xDCFF for c in _SURROGATE.findall(text)
    ) else _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _show_control(match: re.Match[str]) -> str:
    return f"\\x{ord(match.group()):02x}"


def _readable(text: str) -> str:
    """`text` encodable as UTF-8 for a sentence the user reads or hears: each undecodable byte of a file
    name (a lone surrogate) as U+FFFD, never as a `\\xNN` a voice would spell out."""
    return _SURROGATE.sub("\ufffd", text) if has_surrogates(text) else text


def for_terminal(text: str, *, keep_newlines: bool = True) -> str:
    """Text safe to print or speak: undecodable bytes as U+FFFD, control characters shown as `\\xNN`."""
    pattern = _CONTROL if keep_newlines else _CONTROL_ALL
    return pattern.sub(_show_control, _readable(text))


def printable_path(path: str | os.PathLike | bytes) -> str:
    """A file name as put into a sentence for the user: readable (undecodable bytes as U+FFFD), one line,
    no control characters. The exact name stays where it must be found again (JSON, CSV, the journal)."""
    return for_terminal(os.fsdecode(path), keep_newlines=False)


def csv_cell(value: object) -> object:
    """A value for a CSV cell that spreadsheet programs show as text, never run as a formula."""
    if not isinstance(value, str):
        return value
    value = for_terminal(value)  # a results file shown with `cat` must not drive the terminal either
    return "'" + value if value.startswith(FORMULA_PREFIXES) else value


def xml_text(text: str) -> str:
    """`text` without characters XML 1.0 cannot hold (control characters, lone surrogates). A text that
    knows its language (engine.lang_text.LangText) keeps it: the XMP writer tags the alternative with it."""
    from describe_aloud.engine.lang_text import LangText, language_of

    cleaned = _NOT_XML.sub("", text)  # lone surrogates are outside XML's ranges too: dropped
    language = language_of(text)
    return LangText(cleaned, language) if language else cleaned
