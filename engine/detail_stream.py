"""Say a detailed caption sentence by sentence while the model is still writing it ("more detail").

A detailed caption is ~50-120 tokens; said only when whole, its first word waited for all of them (about a
second on 2 cores, after the vision pass). Handed on one whole sentence at a time, the first sentence is said
while the rest is decoded. A sentence is whole when the next one has begun: a full stop at the end of what
is decoded so far may still be an abbreviation's.

Translation goes sentence by sentence too, and the finished detail reuses those translations, so what was
said is exactly the beginning of the whole detail (the spoken flow then says only the rest, see
engine.render.Rendering.after), and nothing is translated twice.

Not thread-safe: one DetailStream serves one request, on the thread that runs the captioner.
"""
from __future__ import annotations

import time
from typing import Callable

from describe_aloud.engine.speech.sentences import split_sentences

# Characters that can end a sentence (split_sentences decides whether they do): before one of them has
# been decoded there is nothing to split.
_SENTENCE_ENDS = frozenset(".!?\u2026\u3002\uff01\uff1f")
_CJK_ENDS = frozenset("\u3002\uff01\uff1f")


class DetailStream:
    """Feed it the answer decoded so far (`feed`); it hands each newly whole sentence on, translated, as the
    detail said so far (`on_said`). `finish` gives the whole detail in the user's language."""

    def __init__(self, *, tidy: Callable[[str], str], translate: Callable[[str], str],
                 on_said: Callable[[str], None] | None) -> None:
        self._tidy = tidy  # what the finished caption goes through too (decoding loops said once)
        self._translate = translate  # into the user's language; the text itself when none is needed
        self._on_said = on_said
        self._said: list[str] = []  # sentences handed on, in the model's language
        self._said_translated: list[str] = []  # the same, in the user's language (one entry per hand-over)
        self._stopped = False
        self.translate_ms = 0.0  # spent translating while the model wrote (inside its decoding time)

    @property
    def said(self) -> str:
        """The detail handed on so far, in the user's language."""
        out = ""
        for text in filter(None, self._said_translated):
            # Chinese and Japanese put no space after a full stop.
            out = f"{out}{text}" if not out or out[-1] in _CJK_ENDS else f"{out} {text}"
        return out

    def feed(self, text: str) -> None:
        """The model's answer decoded so far (each call a longer one)."""
        if self._stopped or self._on_said is None or not _SENTENCE_ENDS.intersection(text):
            return
        whole = split_sentences(self._tidy(text))[:-1]  # the last one may still grow
        if len(whole) <= len(self._said):
            return
        if whole[:len(self._said)] != self._said:
            # Tidying changed what was said (a loop across sentences): the rest comes with the whole detail.
            self._stopped = True
            return
        new = _before_a_repeat(whole[len(self._said):], self._said)
        if not new:
            return
        self._said.extend(new)
        started = time.perf_counter()
        self._said_translated.append(self._translate(" ".join(new)))
        self.translate_ms += (time.perf_counter() - started) * 1000
        self._on_said(self.said)

    def finish(self, detail: str | None) -> str | None:
        """The finished detail (tidied, in the model's language) in the user's language: the sentences
        already said, then the rest translated. A detail that does not begin with what was said is
        translated whole (and then said whole again: it differs from what was heard). No detail (the model
        failed while writing it): what was said, so that it is not lost from the window and the history."""
        if not detail:
            return self.said or detail
        sentences = split_sentences(detail)
        if self._said and sentences[:len(self._said)] == self._said:
            rest = " ".join(sentences[len(self._said):])
            if rest:
                self._said.extend(sentences[len(self._said):])
                self._said_translated.append(self._translate(rest))
            return self.said
        return self._translate(detail)


def _before_a_repeat(new: list[str], said: list[str]) -> list[str]:
    """The sentences of `new` before the first that repeats one said or new before it: a greedy decoder
    that says a sentence again is often starting a loop, which the finished caption has said once
    (tidy_caption). What follows a repeat waits for the whole answer."""
    seen = {_key(sentence) for sentence in said}
    out: list[str] = []
    for sentence in new:
        if _key(sentence) in seen:
            break
        seen.add(_key(sentence))
        out.append(sentence)
    return out


def _key(sentence: str) -> str:
    return " ".join(sentence.casefold().strip(" " + "".join(_SENTENCE_ENDS)).split())


__all__ = ["DetailStream"]
