"""Benchmark issue 13's reading: corpus scores (kind, phantom text, reading order, languages) and what the
reading adds to the hotkey path on a 1280x720 screen, against the OCR it follows, measured in the same run.

    .venv/bin/python bench/bench_reading.py              # builds the corpus (Xvfb, zenity, xterm...) and reads it
    .venv/bin/python bench/bench_reading.py --runs 50    # more timing runs
    .venv/bin/python bench/bench_reading.py --corpus DIR --timing-only   # time again on a corpus built before

The corpus is devtools/reading_corpus.py (real photos, real windows on Xvfb, real Debian documentation);
"tune" samples were looked at while the thresholds were set, "held-out" ones were added afterwards.
Target: the reading (kind + order + text worth saying) costs <= 20 ms on a 1280x720 screen.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PIL import Image  # noqa: E402

from describe_aloud.engine.describer import Describer  # noqa: E402
from describe_aloud.engine.image_analysis import thumbnail as _thumbnail  # noqa: E402
from describe_aloud.engine.description import ImageKind  # noqa: E402
from describe_aloud.engine.ocr import OcrEngine, _pieces_from_result  # noqa: E402
from describe_aloud.engine.reading.kind import classify  # noqa: E402
from describe_aloud.engine.reading.order import reading_order  # noqa: E402
from describe_aloud.engine.reading.phantom import keep_readable  # noqa: E402
from devtools.reading_corpus import build  # noqa: E402
from devtools.reading_score import evaluate, report, summarise  # noqa: E402
from _machine import cpu_line, load_average  # noqa: E402

TARGET_MS = 20.0


def median_ms(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def timing(image: Image.Image, runs: int) -> None:
    ocr = OcrEngine()
    ocr.warm_up_for_size(image.size)
    engine = ocr._engine()
    bgr = __import__("numpy").asarray(image)[:, :, ::-1]
    result = engine(bgr)
    pieces = _pieces_from_result(result, 1.0, image.size)
    lines = reading_order(pieces)
    thumb = _thumbnail(image)
    ocr_ms = median_ms(lambda: engine(bgr), max(3, runs // 10))
    order_ms = median_ms(lambda: reading_order(pieces), runs)
    kind_ms = median_ms(lambda: classify(image.size, lines, thumb), runs)
    kind = classify(image.size, lines, thumb)
    keep_ms = median_ms(lambda: keep_readable(lines, kind, image.size), runs)
    photo_ms = median_ms(lambda: keep_readable(lines, ImageKind.PHOTO, image.size), runs)
    added = order_ms + kind_ms + max(keep_ms, photo_ms)
    print(f"\n1280x720 screen ({len(pieces)} pieces, {len(lines)} lines, kind {kind.value}); medians:")
    print(f"  OCR (rapidocr detection + recognition), the baseline: {ocr_ms:8.1f} ms")
    print(f"  reading order (XY-cut, tables, languages):            {order_ms:8.2f} ms")
    print(f"  kind (features of the thumbnail outside the text):     {kind_ms:8.2f} ms")
    print(f"  text worth saying (as a screen / as a photo):          {keep_ms:8.2f} / {photo_ms:.2f} ms")
    print(f"  added by the reading: {added:.2f} ms = {100 * added / ocr_ms:.1f} % of OCR "
          f"(target <= {TARGET_MS:.0f} ms: {'met' if added <= TARGET_MS else 'NOT met'})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=30, help="timing runs of each reading step")
    parser.add_argument("--corpus", type=Path, help="build the corpus here (default: a temporary folder)")
    parser.add_argument("--timing-only", action="store_true",
                        help="only time the reading, on the 1280x720 screen of a corpus built before (--corpus)")
    args = parser.parse_args()
    print(f"{cpu_line()}; {load_average()}")
    if args.timing_only:
        if args.corpus is None:
            parser.error("--timing-only needs --corpus DIR (a corpus built by an earlier run)")
        timing(Image.open(args.corpus / "screen-qt-mail-full.png").convert("RGB"), args.runs)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        root = args.corpus or Path(tmp)
        started = time.perf_counter()
        samples = build(root)
        print(f"corpus: {len(samples)} real images built in {time.perf_counter() - started:.0f} s")
        with Describer(captioner=None) as describer:
            results = evaluate(samples, root, describer)
        for split in ("tune", "held-out", None):
            chosen = [r for r in results if split is None or r.sample.split == split]
            s = summarise(chosen)
            print(f"\n[{split or 'all'}] {s.samples} images: kind {s.kind_accuracy:.1%} right "
                  f"(text-only images called photo: {s.text_called_photo}); phantom lines per photo "
                  f"{s.phantom_lines_per_photo:.2f} ({s.photos} photos); reading-order errors {s.order_errors}; "
                  f"table rows read as cells {s.table_rows_as_cells}/{s.table_rows}; lines missed "
                  f"{s.missed_lines}/{s.expected_lines}; language errors {s.language_errors}")
        print("\nNot perfect:\n" + (report(results) or "  nothing"))
        timing(Image.open(root / "screen-qt-mail-full.png").convert("RGB"), args.runs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
