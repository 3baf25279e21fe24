"""Scores of the app's reading on the labelled corpus (devtools/reading_corpus.py): kind, phantom text,
reading order, languages. Not app code; used by tests/engine/test_reading_corpus.py and bench/bench_reading.py.

Each image goes through the production path (`Describer.describe`, no captioner): OCR, the kind, the
lines worth saying, their order and languages. Matching is forgiving of OCR's spelling (an expected line
is found where a window of the read text is at least MATCH_RATIO similar) and strict about order and
tables (an expected table row must come out as one line with the same cells).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from pathlib import Path
from typing import Any, Sequence

from PIL import Image

from devtools.reading_corpus import Sample

MATCH_RATIO = 0.75
PHANTOM_RATIO = 0.6


@dataclass
class Result:
    sample: Sample
    kind: str
    lines: list[Any]  # TextLine
    missed: list[str] = field(default_factory=list)
    order_errors: list[str] = field(default_factory=list)  # expected lines read in the wrong order
    table_errors: list[str] = field(default_factory=list)  # table rows not read as one row of cells
    phantoms: list[str] = field(default_factory=list)
    language_errors: list[str] = field(default_factory=list)
    ms: float = 0.0

    @property
    def kind_ok(self) -> bool:
        return self.kind == self.sample.kind


def _norm(text: str) -> str:
    return "".join(c.lower() for c in text.replace("\t", "|") if c.isalnum() or c == "|")


def _best(expected: str, lines: Sequence[str]) -> tuple[float, int, int]:
    """(similarity, line index, offset) of the best window of the read lines for an expected line."""
    want = _norm(expected)
    best = (0.0, -1, 0)
    if not want:
        return best
    for i, line in enumerate(lines):
        have = _norm(line)
        if want in have:
            return 1.0, i, have.index(want)
        span = len(want)
        for start in range(0, max(1, len(have) - span + 1), max(1, span // 8)):
            ratio = SequenceMatcher(None, want, have[start:start + span + 2]).ratio()
            if ratio > best[0]:
                best = (ratio, i, start)
    return best


def score(sample: Sample, kind: str, lines: list[Any]) -> Result:
    texts = [line.text for line in lines]
    result = Result(sample, kind, lines)
    positions: list[tuple[int, int, str]] = []
    for expected in sample.text:
        ratio, index, offset = _best(expected, texts)
        if ratio < MATCH_RATIO:
            result.missed.append(expected)
            continue
        if "\t" in expected and lines[index].text.count("\t") != expected.count("\t"):
            result.table_errors.append(f"table row not read as cells: {expected!r} -> {texts[index]!r}")
        if sample.language and any("\u4e00" <= c <= "\u9fff" for c in expected) and lines[index].language != "zh":
            result.language_errors.append(f"{texts[index]!r} is {lines[index].language}, not zh")
        positions.append((index, offset, expected))
    for (i0, o0, a), (i1, o1, b) in zip(positions, positions[1:]):
        if (i1, o1) < (i0, o0):
            result.order_errors.append(f"{b!r} read before {a!r}")
    if sample.kind == "photo":
        for text in texts:
            if not any(SequenceMatcher(None, _norm(text), _norm(e)).ratio() >= PHANTOM_RATIO for e in sample.text):
                result.phantoms.append(text)
    return result


def evaluate(samples: Sequence[Sample], root: Path, describer: Any) -> list[Result]:
    results = []
    for sample in samples:
        image = Image.open(sample.path(root)).convert("RGB")
        started = time.perf_counter()
        d = describer.describe(image)
        ms = (time.perf_counter() - started) * 1000
        result = score(sample, d.kind.value, d.text_lines)
        result.ms = ms
        results.append(result)
    return results


@dataclass(frozen=True)
class Summary:
    samples: int
    kind_accuracy: float
    text_called_photo: int  # screens and documents called photos (the bar: none)
    photos: int
    phantom_lines_per_photo: float
    order_errors: int
    table_rows: int
    table_rows_as_cells: int
    expected_lines: int
    missed_lines: int
    language_errors: int


def summarise(results: Sequence[Result]) -> Summary:
    photos = [r for r in results if r.sample.kind == "photo"]
    return Summary(
        samples=len(results),
        kind_accuracy=sum(r.kind_ok for r in results) / max(1, len(results)),
        text_called_photo=sum(r.sample.kind != "photo" and r.kind == "photo" for r in results),
        photos=len(photos),
        phantom_lines_per_photo=sum(len(r.phantoms) for r in photos) / max(1, len(photos)),
        order_errors=sum(len(r.order_errors) for r in results),
        table_rows=sum(sum("\t" in t for t in r.sample.text) for r in results),
        table_rows_as_cells=sum(sum("\t" in t for t in r.sample.text if t not in r.missed) - len(r.table_errors)
                                for r in results),
        expected_lines=sum(len(r.sample.text) for r in results),
        missed_lines=sum(len(r.missed) for r in results),
        language_errors=sum(len(r.language_errors) for r in results),
    )


def report(results: Sequence[Result]) -> str:
    """One line per sample that is not perfect: what went wrong."""
    out = []
    for r in results:
        problems = []
        if not r.kind_ok:
            problems.append(f"kind {r.kind} (labelled {r.sample.kind})")
        problems += [f"phantom {t!r}" for t in r.phantoms]
        problems += r.order_errors + r.table_errors + r.language_errors
        problems += [f"missed {t!r}" for t in r.missed]
        if problems:
            out.append(f"{r.sample.name}: " + "; ".join(problems))
    return "\n".join(out)
