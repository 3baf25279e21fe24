"""Caption tokenisation and the word vocabulary of the seed model.

`tokenize` is the single tokenizer used for building the vocabulary, for training targets and for every
metric (references and hypotheses alike), so scores are comparable between captioners.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable, Sequence

PAD, START, END, UNK = "<pad>", "<start>", "<end>", "<unk>"
SPECIAL_TOKENS = (PAD, START, END, UNK)

# A word is letters/digits, optionally with one inner apostrophe ("don't", "man's"); everything else
# (punctuation, symbols) is dropped, like the punctuation removal of the COCO PTB tokenizer.
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?")


def tokenize(text: str) -> list[str]:
    """Lowercase words without punctuation: "A man, riding a horse." -> ["a", "man", "riding", "a", "horse"]."""
    return _WORD.findall(text.lower())


@dataclass
class Vocabulary:
    """Words <-> ids. Ids 0..3 are <pad>, <start>, <end>, <unk>."""

    words: list[str] = field(default_factory=lambda: list(SPECIAL_TOKENS))

    def __post_init__(self) -> None:
        if tuple(self.words[: len(SPECIAL_TOKENS)]) != SPECIAL_TOKENS:
            raise ValueError("a vocabulary must start with <pad>, <start>, <end>, <unk>")
        self._index = {word: i for i, word in enumerate(self.words)}

    @classmethod
    def build(cls, captions: Iterable[str], min_count: int = 5) -> "Vocabulary":
        """Every word seen at least `min_count` times in the captions, most frequent first (ties by word)."""
        counts = Counter(word for caption in captions for word in tokenize(caption))
        kept = sorted((w for w, c in counts.items() if c >= min_count), key=lambda w: (-counts[w], w))
        return cls(list(SPECIAL_TOKENS) + kept)

    def __len__(self) -> int:
        return len(self.words)

    @property
    def pad_id(self) -> int:
        return 0

    @property
    def start_id(self) -> int:
        return 1

    @property
    def end_id(self) -> int:
        return 2

    @property
    def unk_id(self) -> int:
        return 3

    def encode(self, caption: str, max_len: int | None = None) -> list[int]:
        """<start> w1 .. wn <end> ids; at most `max_len` words (longer captions are cut)."""
        ids = [self._index.get(word, self.unk_id) for word in tokenize(caption)]
        if max_len is not None:
            ids = ids[:max_len]
        return [self.start_id, *ids, self.end_id]

    def decode(self, ids: Sequence[int]) -> str:
        """Ids -> text, stopping at <end>, skipping <start>/<pad>."""
        return " ".join(self.decode_words(ids))

    def decode_words(self, ids: Sequence[int]) -> list[str]:
        words = []
        for i in ids:
            i = int(i)
            if i == self.end_id:
                break
            if i in (self.pad_id, self.start_id):
                continue
            words.append(self.words[i])
        return words

    def to_dict(self) -> dict[str, list[str]]:
        return {"words": list(self.words)}

    @classmethod
    def from_dict(cls, data: dict[str, list[str]]) -> "Vocabulary":
        return cls(list(data["words"]))
