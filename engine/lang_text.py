"""Text that knows its language: alt text written in the user's language goes into XMP as a lang-alt with
both `x-default` and its own language tag (`zh-CN`), so a reader that picks by language finds it.

`LangText` is a `str` (everything that takes the alt text keeps working, comparisons included) with a
`language` attribute, a BCP 47 tag, or None for text in no particular language (no tagged alternative).
"""
from __future__ import annotations


def bcp47(language: str | None) -> str | None:
    """A gettext / POSIX locale name as a BCP 47 tag: "zh_CN" -> "zh-CN", "de" -> "de", None -> None."""
    if not language:
        return None
    tag = language.split(".")[0].split("@")[0].replace("_", "-")
    return tag if tag and tag.lower() not in ("c", "posix") else None


class LangText(str):
    """A string with the language it is written in (`language`: BCP 47 tag or None)."""

    language: str | None

    def __new__(cls, text: str, language: str | None = None) -> "LangText":
        obj = super().__new__(cls, text)
        obj.language = bcp47(language)
        return obj


def language_of(text: str) -> str | None:
    """The BCP 47 tag a text carries (a LangText), None for a plain str."""
    return getattr(text, "language", None)
