"""Issue 13 on REAL images: the labelled corpus of devtools/reading_corpus.py (real photos from scikit-image
and Debian's artwork, real GTK / Qt / terminal windows on Xvfb, real Debian documentation typeset, rendered
and scanned), read through the production path (Describer, real rapidocr). Each test fails when a score
falls below its bar; bench/bench_reading.py prints the same figures.

Slow, so the corpus is built and read once per session.
"""
from __future__ import annotations

import pytest

from describe_aloud.engine.describer import Describer
from devtools.reading_corpus import build
from devtools.reading_score import Summary, evaluate, report, summarise

# About 80 images of OCR: 5 minutes on two quiet cores, far more on a busy machine (the first test pays).
pytestmark = [pytest.mark.slow, pytest.mark.timeout(3600)]

KIND_ACCURACY_BAR = 0.95
PHANTOM_LINES_PER_PHOTO_BAR = 0.1
MISSED_LINES_BAR = 0.1  # share of the labelled lines not found at all
# Table rows read as one row of cells. Below 1 because the detector (rapidocr's defaults, issue 17) joins
# cells closer than about a word space into one box: GTK list views lose their cells before reading order
# ever sees them (measured: 15 of 24 rows, all misses from that; bench/bench_reading.py prints it).
TABLE_ROWS_BAR = 0.6


@pytest.fixture(scope="session")
def corpus_results(tmp_path_factory):
    root = tmp_path_factory.mktemp("reading-corpus")
    samples = build(root)
    with Describer(captioner=None) as describer:
        results = evaluate(samples, root, describer)
    print("\n" + report(results))
    return results


@pytest.fixture(scope="session")
def summary(corpus_results) -> Summary:
    return summarise(corpus_results)


def test_the_corpus_is_real_and_varied(corpus_results):
    kinds = [r.sample.kind for r in corpus_results]
    assert len(kinds) >= 75 and min(kinds.count(k) for k in ("photo", "screen", "document")) >= 20
    assert sum(r.sample.language == "zh" for r in corpus_results) >= 5  # Chinese + English screens and pages


def test_kinds_are_right_and_no_text_only_image_is_called_a_photo(corpus_results, summary):
    wrong = [f"{r.sample.name}: {r.kind}" for r in corpus_results if not r.kind_ok]
    assert summary.kind_accuracy >= KIND_ACCURACY_BAR, wrong
    assert summary.text_called_photo == 0, wrong


def test_photos_say_no_phantom_text_and_keep_real_signs(corpus_results, summary):
    assert summary.phantom_lines_per_photo <= PHANTOM_LINES_PER_PHOTO_BAR, report(corpus_results)
    said = {r.sample.name: [line.text for line in r.lines] for r in corpus_results}
    assert said["photo-coffee"] == [] and said["photo-coins"] == [] and said["photo-camera"] == []
    assert said["photo-motorcycle-large"] == ["YAMAHA"]


def test_reading_order_columns_blocks_and_tables(corpus_results, summary):
    assert summary.order_errors == 0, report(corpus_results)
    assert summary.missed_lines <= MISSED_LINES_BAR * summary.expected_lines, report(corpus_results)
    assert summary.table_rows_as_cells >= TABLE_ROWS_BAR * summary.table_rows, report(corpus_results)
    two_columns = next(r for r in corpus_results if r.sample.name == "document-two-columns")
    assert not two_columns.order_errors and not two_columns.missed


def test_chinese_lines_are_chinese_and_english_lines_english(corpus_results, summary):
    assert summary.language_errors == 0, report(corpus_results)
    mixed = next(r for r in corpus_results if r.sample.name == "screen-qt-settings-zh")
    languages = {line.text: line.language for line in mixed.lines}
    assert languages.get("Enable spell checking") == "en" and "zh" in languages.values()
