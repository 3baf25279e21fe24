"""Speech in the right voice for each language: text split into runs, each run given a voice.

A Chinese line read by an English voice is noise. The speaker cuts what it says into sentences, then each
sentence into runs of one script (engine.reading.script: Han -> zh, Latin -> en, Cyrillic -> ru...), and
asks the voice process for each run in a voice of that language:

- a run the chosen voice can say stays with the chosen voice: same language, or a Latin-script run when the
  chosen voice speaks a Latin-script language (a French user's voice reads French; the script cannot tell
  French from English, so Latin text never leaves the user's voice for an English one);
- otherwise the first installed voice for the run's language (espeak-ng: "cmn" Mandarin before "yue"
  Cantonese for zh), or the chosen voice when none is installed.

Pure functions and a small immutable chooser; safe from any thread.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

from describe_aloud.engine.reading.script import Run, language_runs

# Voice language codes that belong to a macrolanguage (espeak-ng names Chinese voices by variety).
MACROLANGUAGE = {"cmn": "zh", "yue": "zh", "hak": "zh", "nan": "zh", "wuu": "zh", "hsn": "zh", "zho": "zh"}
# Of several voices for one language, the one most readers expect first (Mandarin for written Chinese).
PREFERRED = {"zh": ("cmn", "zh-cmn", "zh", "yue")}
# Languages written in Latin script: a voice for any of them may say a Latin run.
LATIN_LANGUAGES = frozenset(
    "en fr de es it pt nl sv da nb nn no fi is et lv lt pl cs sk sl hr bs sr-latn hu ro tr az id ms vi "
    "ca eu gl ga cy gd mt sq af sw tl eo la lb kl".split()
)


def primary(tag: str | None) -> str | None:
    """"zh" for "zh-CN", "cmn", "yue"; "en" for "en-gb", "en_US"; None for nothing."""
    if not tag:
        return None
    first = tag.replace("_", "-").lower().split("-")[0]
    return MACROLANGUAGE.get(first, first)


def sentence_runs(sentences: Iterable[str]) -> list[Run]:
    """Every sentence cut where the language changes; runs without letters join their neighbour."""
    runs: list[Run] = []
    for sentence in sentences:
        for run in language_runs(sentence):
            text = run.text.strip()
            if text:
                runs.append(Run(text, run.language))
    return runs


def spoken_language(language: str | None, own: str | None) -> str | None:
    """The language a run is spoken in by a voice of language `own`: its own, unless it is in another
    script (Latin text stays with a Latin-script voice; the script cannot tell French from English)."""
    wanted, own = primary(language), primary(own)
    if wanted is None or wanted == own or (wanted == "en" and own in LATIN_LANGUAGES):
        return own
    return wanted


def language_switches(text: str, own: str | None) -> list[Run]:
    """`text` as consecutive runs in the language each is spoken in (neighbours in one language merged);
    a single run when all of it is spoken in `own` language."""
    runs: list[Run] = []
    for run in language_runs(text):
        language = spoken_language(run.language, own)
        if runs and runs[-1].language == language:
            runs[-1] = Run(runs[-1].text + run.text, language)
        else:
            runs.append(Run(run.text, language))
    return [Run(run.text.strip(), run.language) for run in runs if run.text.strip()]


@dataclass(frozen=True)
class VoiceInfo:
    id: str
    languages: tuple[str, ...]


class VoiceChooser:
    """Which voice says a run of a given language. `chosen`: the user's voice id (None: the default voice,
    taken to speak `default_language`)."""

    def __init__(self, voices: Sequence[VoiceInfo], chosen: str | None, default_language: str = "en") -> None:
        self._voices = list(voices)
        self._chosen = chosen
        mine = next((v for v in self._voices if chosen and _same_voice(v.id, chosen)), None)
        self._chosen_language = primary(mine.languages[0]) if mine and mine.languages else primary(default_language)
        self._cache: dict[str | None, str | None] = {}

    def voice_for(self, language: str | None) -> str | None:
        """The voice id for a run (None: the chosen voice)."""
        if language not in self._cache:
            self._cache[language] = self._pick(language)
        return self._cache[language]

    def _pick(self, language: str | None) -> str | None:
        wanted = spoken_language(language, self._chosen_language)
        if wanted is None or wanted == self._chosen_language:
            return self._chosen
        candidates = [v for v in self._voices if any(primary(lang) == wanted for lang in v.languages)]
        if not candidates:
            return self._chosen
        order = PREFERRED.get(wanted, ())

        def rank(v: VoiceInfo) -> tuple[int, int]:
            codes = [lang.lower() for lang in v.languages]
            best = min((order.index(c) for c in codes if c in order), default=len(order))
            return best, len(v.id)  # the plain voice ("sit/cmn") before its variants ("...-latn-pinyin")

        return min(candidates, key=rank).id


def _same_voice(voice_id: str, chosen: str) -> bool:
    wanted = chosen.strip().lower()
    return voice_id.lower() == wanted or voice_id.lower().rsplit("/", 1)[-1] == wanted
