"""OCR engines and settings side by side on the same real screens: time per read and the text read.

Screens: real programs drawn by a real X server (devtools/real_screens.py: xterm at two font sizes, GTK
dialogs, NetSurf showing Debian's HTML manuals), captured at 1280x720 as the app captures them.

Variants (engine.ocr_engines.OcrSettings through the app's own engine.ocr.OcrEngine, reading order included):
  before      onnxruntime, rapidocr's detector size (short side >= 736: 1312x736), classifier on (the app
              before issue 17)
  ov-text     OpenVINO, detector long side 736 and a second, larger look when the text found is small
              (engine.ocr_engines.TextSizedDetector), classifier off: the app's default now, where installed
  ort-text    the same on onnxruntime (the app where OpenVINO is not installed)
  ov-text-cls ov-text with the classifier on (what the classifier costs and changes)
  ov-736      OpenVINO at a flat 736, no second look (what small text loses without it)
  ort-736, ov-1024   (on request) onnxruntime at a flat 736; OpenVINO at a flat 1024

Method: every variant reads every screen once to warm up (first-shape costs), then --runs rounds; in each
round the variants take turns on each screen (A B C ... A B C), so a load change hits them all alike.
Medians per screen; the ratio is `before` / variant. The text column compares the lines read with `before`'s:
"same" or "DIFFERS (n lines)"; differing lines are printed below the table.

First block (--first-block: only this figure): on each dense screen (more text boxes than
engine.ocr_two_step.MIN_BOXES), the app's OcrEngine reads in one step (`read(image)`: all the text at once) and
in two steps (`read(image, on_first_lines=...)`, the hotkey's path): time to the first lines, time to all the
text, interleaved (one step, two steps, one step...) on the same engine; the text must be identical.

    .venv/bin/python bench/bench_ocr.py                # 7 rounds
    .venv/bin/python bench/bench_ocr.py --runs 3 --variants before,ov-736
    .venv/bin/python bench/bench_ocr.py --first-block --runs 9
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from devtools.real_screens import available_specs, build_screens  # noqa: E402
from _machine import cpu_line, load_average  # noqa: E402

VARIANTS = {
    "before": dict(engine="onnxruntime", det_max_side=None, use_cls=True),
    "ort-736": dict(engine="onnxruntime", det_max_side=736, use_cls=False),
    "ov-text": dict(engine="openvino", det_max_side=736, use_cls=False),
    "ort-text": dict(engine="onnxruntime", det_max_side=736, use_cls=False),
    "ov-text-cls": dict(engine="openvino", det_max_side=736, use_cls=True),
    "ov-736": dict(engine="openvino", det_max_side=736, use_cls=False, min_text_px=None),
    "ort-736": dict(engine="onnxruntime", det_max_side=736, use_cls=False, min_text_px=None),
    "ov-1024": dict(engine="openvino", det_max_side=1024, use_cls=False, min_text_px=None),
}
DEFAULT_VARIANTS = "before,ort-text,ov-text,ov-text-cls,ov-736"
TARGETS = {"few": 0.15, "dense": 0.40}  # seconds for a 1280x720 screen (issue 17)


def cpu_report() -> str:
    """Two lines: the CPU, then the load average (callers print the second again after their runs)."""
    return f"CPU: {cpu_line()}\n{load_average()}"


def words_found(reference: list[str], read: list[str]) -> float:
    """Share of the reference's words (with repeats) that are among the words read, order ignored."""
    want = Counter(w for line in reference for w in line.split())
    got = Counter(w for line in read for w in line.split())
    total = sum(want.values())
    return sum((want & got).values()) / total if total else 1.0


def text_height(lines) -> float:
    heights = [line.box[3] - line.box[1] for line in lines]
    return statistics.median(heights) if heights else 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--variants", default=DEFAULT_VARIANTS, help=f"of {', '.join(VARIANTS)}")
    parser.add_argument("--screens", type=Path, default=Path(tempfile.gettempdir()) / "describe-aloud-screens",
                        help="folder for the captured screens (reused between runs)")
    parser.add_argument("--first-block", action="store_true",
                        help="only the dense screens' time to the first lines vs to all the text")
    args = parser.parse_args()
    if args.first_block:
        return first_block(args)

    from PIL import Image

    from describe_aloud.engine.ocr import OcrEngine
    from describe_aloud.engine.ocr_engines import OcrSettings, engine_installed

    print(cpu_report())
    print(f"engines installed: openvino={engine_installed('openvino')} onnxruntime={engine_installed('onnxruntime')}")
    names = [n.strip() for n in args.variants.split(",") if n.strip()]
    if "before" not in names:
        names.insert(0, "before")
    if not engine_installed("openvino"):
        print("OpenVINO is not installed: its variants are left out")
        names = [n for n in names if VARIANTS[n]["engine"] != "openvino"]
    _, missing = available_specs()
    if missing:
        print("not installed, screens left out:", ", ".join(missing))
    screens = build_screens(args.screens)
    images = {s.name: Image.open(s.path).convert("RGB") for s in screens}
    truths = {s.name: s.truth.splitlines() for s in screens if s.truth}
    print(f"{len(images)} real screens, {next(iter(images.values())).size[0]}x{next(iter(images.values())).size[1]}"
          f" (in {args.screens})")

    engines = {}
    for name in names:
        t0 = time.perf_counter()
        engine = OcrEngine(settings=OcrSettings(**VARIANTS[name]))
        engine.warm_up()
        engines[name] = engine
        print(f"  {name}: built on {engine.engine_name} in {time.perf_counter() - t0:.2f} s")
    texts: dict[tuple[str, str], list[str]] = {}
    heights: dict[str, float] = {}
    for screen, image in images.items():  # warm-up read of each shape, and the text each variant reads
        for name, engine in engines.items():
            lines = engine.read(image)
            texts[(name, screen)] = [line.text for line in lines]
            if name == "before":
                heights[screen] = text_height(lines)

    times: dict[tuple[str, str], list[float]] = {key: [] for key in texts}
    for _ in range(args.runs):
        for screen, image in images.items():
            for name, engine in engines.items():
                t0 = time.perf_counter()
                engine.read(image)
                times[(name, screen)].append(time.perf_counter() - t0)
    print(cpu_report().splitlines()[1] + " (after the runs)")

    header = f"{'screen':26} {'lines':>5} {'text px':>7} " + " ".join(f"{n:>24}" for n in names)
    print(f"\nmedian seconds per read of {args.runs}, ratio before / variant, words found (of the known text on"
          " screen, * = of before's words where the text is not known); DIFF = lines differ from before's")
    print(header)
    differences = []
    per_variant: dict[str, list[float]] = {n: [] for n in names}
    for screen in images:
        base_text = texts[("before", screen)]
        base_time = statistics.median(times[("before", screen)])
        cells = []
        for name in names:
            med = statistics.median(times[(name, screen)])
            per_variant[name].append(med)
            same = texts[(name, screen)] == base_text
            if not same:
                differences.append((screen, name, base_text, texts[(name, screen)]))
            mark = "" if same else " DIFF"
            reference = truths.get(screen, base_text)
            star = "" if screen in truths else "*"
            found = words_found(reference, texts[(name, screen)])
            cells.append(f"{med:6.3f} {base_time / med:4.1f}x {found:4.0%}{star}{mark:5}")
        print(f"{screen:26} {len(base_text):5d} {heights[screen]:7.1f} " + " ".join(f"{c:>24}" for c in cells))
    print(f"{'mean':26} {'':5} {'':7} " + " ".join(f"{statistics.mean(v):>24.3f}" for v in per_variant.values()))

    for screen, name, base, other in differences:
        lost = [t for t in base if t not in other]
        new = [t for t in other if t not in base]
        print(f"\n{name} on {screen}: {len(base)} -> {len(other)} lines")
        for t in lost[:8]:
            print(f"   before only: {t!r}")
        for t in new[:8]:
            print(f"   {name} only: {t!r}")
    if not differences:
        print("\nevery variant read exactly the same lines as before on every screen")
    return 0


def first_block(args: argparse.Namespace) -> int:
    """Dense screen: time to the first lines (two-step read) vs time to all the text (one-step read)."""
    from PIL import Image

    from describe_aloud.engine.ocr import OcrEngine
    from describe_aloud.engine.ocr_two_step import FIRST_BLOCK_BOXES, MIN_BOXES

    print(cpu_report())
    start_load = os.getloadavg()[0]
    screens = build_screens(args.screens)
    engine = OcrEngine()  # the app's defaults
    engine.warm_up()
    print(f"OCR engine {engine.engine_name}, app defaults; first block <= {FIRST_BLOCK_BOXES} boxes, two steps "
          f"above {MIN_BOXES} boxes; {args.runs} interleaved rounds after one warm-up read of each screen\n")
    print(f"{'screen':26} {'lines':>5} {'first':>5} {'all, 1 step':>11} {'first lines':>11} {'all, 2 steps':>12}"
          f" {'first/all':>9}  text")
    ratios = []
    for screen in screens:
        image = Image.open(screen.path).convert("RGB")
        first: list = []
        one = engine.read(image)
        two = engine.read(image, on_first_lines=first.append)
        if not first:
            continue  # few lines: read in one step, as before
        same = [(l.text, l.box) for l in one] == [(l.text, l.box) for l in two]
        t_one, t_first, t_two = [], [], []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            engine.read(image)
            t_one.append(time.perf_counter() - t0)
            got: list[float] = []
            t0 = time.perf_counter()
            engine.read(image, on_first_lines=lambda lines: got.append(time.perf_counter() - t0))
            t_two.append(time.perf_counter() - t0)
            t_first.append(got[0])
        m_one, m_first, m_two = (statistics.median(v) for v in (t_one, t_first, t_two))
        ratios.append(m_first / m_one)
        print(f"{screen.name:26} {len(one):5d} {len(first[0]):5d} {m_one:11.3f} {m_first:11.3f} {m_two:12.3f}"
              f" {m_first / m_one:9.2f}  {'same' if same else 'DIFFERS'}")
    if ratios:
        print(f"\nmedian share of the one-step read's time after which the first lines are ready: "
              f"{statistics.median(ratios):.2f}")
    print(cpu_report().splitlines()[1] + " (after the runs)")
    if max(start_load, os.getloadavg()[0]) > 1.5:
        print("busy machine: load above 1.5, absolute times are inflated (the ratios less so)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
