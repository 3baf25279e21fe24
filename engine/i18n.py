"""Translation of every user-visible string: gettext catalogs in engine/locale/ (`<lang>/LC_MESSAGES/describe-aloud.mo`).

Mark strings with `_()` (or `ngettext()` for counts, `pgettext()` where the same English words need two
translations); always mark a whole sentence template with named fields, never glue fragments:

    _("Described {source}.").format(source=source)        # good
    _("Described") + " " + source                          # never

A translator comment goes right above the string where it needs context (`# Translators: ...`); the
extraction step keeps it. Text read from an image by OCR is never passed through these functions.

The language follows the system locale; `set_language()` (Settings, `--language`) overrides it for the
whole process. English needs no catalog: a missing catalog falls back to the English source strings.
"""
from __future__ import annotations

import gettext as _gettext
import locale
import os
import threading
from pathlib import Path

DOMAIN = "describe-aloud"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"  # package data

_lock = threading.Lock()
_state: dict[str, object] = {"language": None, "translation": None}


def system_language() -> str:
    """The user's language from the environment (LANGUAGE, LC_ALL, LC_MESSAGES, LANG), e.g. "zh_CN"."""
    for variable in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(variable, "")
        if value:
            first = value.split(":")[0].split(".")[0].split("@")[0]
            if first and first not in ("C", "POSIX"):
                return first
    try:
        code = locale.getlocale()[0]
    except ValueError:
        code = None
    return code or "en"


def _load(language: str) -> _gettext.NullTranslations:
    candidates = [language]
    if "_" in language:
        candidates.append(language.split("_")[0])  # "es_MX" falls back to "es"
    return _gettext.translation(DOMAIN, localedir=str(LOCALE_DIR), languages=candidates, fallback=True)


def set_language(language: str | None) -> str:
    """Use `language` ("zh_CN", "de"; None or "" for the system's) for every string from now on.
    Returns the language in effect."""
    chosen = language or system_language()
    translation = _load(chosen)
    with _lock:
        _state["language"] = chosen
        _state["translation"] = translation
    return chosen


def current_language() -> str:
    """The language strings are translated into (after `set_language`, or the system's)."""
    if _state["language"] is None:
        set_language(None)
    return str(_state["language"])


def _translation() -> _gettext.NullTranslations:
    translation = _state["translation"]
    if translation is None:
        set_language(None)
        translation = _state["translation"]
    return translation  # type: ignore[return-value]


def _(message: str) -> str:
    return _translation().gettext(message)


def ngettext(singular: str, plural: str, count: int) -> str:
    return _translation().ngettext(singular, plural, count)


def pgettext(context: str, message: str) -> str:
    return _translation().pgettext(context, message)


def N_(message: str) -> str:
    """Mark a string for extraction where it is defined (a table of labels); translate it with `_()` where
    it is shown, so the language in effect then is used."""
    return message


def missing_catalog_note(language: str) -> str | None:
    """A sentence when `language` (asked for with --language) has no catalog, so messages stay in English;
    None for English and for languages the app speaks ("de_AT" uses "de")."""
    if language.split("_")[0].lower() == "en" or isinstance(_load(language), _gettext.GNUTranslations):
        return None
    return _("There is no catalog for the language {language}, so the app's messages stay in English. Languages "
             "with a catalog: {languages}.").format(language=language, languages=", ".join(available_languages()))


def available_languages() -> list[str]:
    """The languages the app has a catalog for ("de", "zh_CN"...), besides English (the source strings)."""
    if not LOCALE_DIR.is_dir():
        return []
    return sorted(p.parent.parent.name for p in LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.mo"))


def language_name(code: str) -> str:
    """A language's name in that language ("zh_CN" -> "中文 (中国)"), for the Settings list; the code
    itself when Babel does not know it."""
    try:
        from babel import Locale

        name = Locale.parse(code.split(".")[0]).get_display_name()
    except Exception:  # noqa: BLE001 - Babel missing or an unknown code: the code is still readable
        return code
    return name or code
