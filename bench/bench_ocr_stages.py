"""Where the OCR time of a screen goes, stage by stage, and what the app's read costs against the read before.

The screen: bench_hotkey.py's text page (1280x720, 8 lines, the hotkey bench's "few lines" screen); with
--real, also the real screens of devtools/real_screens.py (real programs on Xvfb).

Engines, both the app's own `engine.ocr.OcrEngine` with its default settings (OpenVINO where installed,
rapidocr's detector size: 1312x736 for a 1280x720 screen):
  before  the read before engine.ocr_prep: BGR handed over as a strided view, rapidocr's own detector
          pre-processing, the angle classifier on (a capture was read like any file)
  app     the read of a screen capture now: one contiguous BGR copy, the exact table normalisation, no
          classifier (`read(image, upright=True)`, what engine.describer does for kind_hint="screen")
  app-cls the same with the classifier (how a dropped file or photo is read now)
They take turns (before, app, app-cls, before, ...) for --runs rounds after one warm-up read each; medians;
the ratio is before / variant; "same" = the lines (text, box, score) equal before's, else the lines differ.

Stages (each timed inside the read, by wrapping rapidocr's own steps): BGR conversion, the detector's
pre-processing (resize + normalisation), its model run, its box post-processing, cropping the lines, the
classifier, the recogniser's model runs and its crop resizing and CTC decoding, and ours (reading order and
filters). "other" = the read's total minus the stages.

    .venv/bin/python bench/bench_ocr_stages.py --runs 15
    .venv/bin/python bench/bench_ocr_stages.py --runs 9 --real
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from _machine import cpu_line, load_average  # noqa: E402

STAGES = ("BGR conversion", "detector pre-processing", "detector model", "detector boxes", "crop lines",
          "classifier", "recogniser model", "recogniser crops + CTC", "ours: order + filters")


class Clock:
    """Seconds per stage of the current read."""

    def __init__(self) -> None:
        self.now: dict[str, float] = defaultdict(float)

    def wrap(self, obj, name: str, stage: str) -> None:
        inner = getattr(obj, name)

        def timed(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return inner(*args, **kwargs)
            finally:
                self.now[stage] += time.perf_counter() - t0

        setattr(obj, name, timed)

    def callable(self, inner, stage: str):
        clock = self

        class Timed:
            def __call__(self, *args, **kwargs):
                t0 = time.perf_counter()
                try:
                    return inner(*args, **kwargs)
                finally:
                    clock.now[stage] += time.perf_counter() - t0

            def __getattr__(self, name):
                return getattr(inner, name)

        return Timed()


def instrument(engine, clock: Clock) -> None:
    ocr = engine._engine()
    det = ocr._load_det_model()
    det = getattr(det, "detector", det)
    make_pre = det.get_preprocess
    det.get_preprocess = lambda: clock.callable(make_pre(), "detector pre-processing")
    det.session = clock.callable(det.session, "detector model")
    det.postprocess_op = clock.callable(det.postprocess_op, "detector boxes")
    clock.wrap(ocr, "crop_text_regions", "crop lines")
    clock.wrap(ocr, "cls_and_rotate", "classifier")
    rec = ocr._load_rec_model()
    rec.session = clock.callable(rec.session, "recogniser model")
    clock.wrap(rec, "resize_norm_img", "recogniser crops + CTC")
    rec.postprocess_op = clock.callable(rec.postprocess_op, "recogniser crops + CTC")


def build(name: str, clock: Clock):
    from describe_aloud.engine import ocr as ocr_module
    from describe_aloud.engine.ocr import OcrEngine

    engine = OcrEngine()
    if name == "before":
        install = ocr_module.install_exact_det_preprocess
        ocr_module.install_exact_det_preprocess = lambda ocr: False
        try:
            engine.warm_up()
        finally:
            ocr_module.install_exact_det_preprocess = install
    else:
        engine.warm_up()
    instrument(engine, clock)
    return engine


def reader(name: str, engine, clock: Clock):
    import numpy as np

    from describe_aloud.engine import ocr as ocr_module
    from describe_aloud.engine import ocr_prep

    def strided(rgb):
        return np.asarray(rgb)[:, :, ::-1]

    def read(image):
        convert = strided if name == "before" else ocr_prep.bgr_array
        ocr_module.bgr_array = clock.callable(convert, "BGR conversion")
        order = ocr_module.reading_order
        ocr_module.reading_order = clock.callable(order, "ours: order + filters")
        try:
            return engine.read(image, upright=(name == "app"))
        finally:
            ocr_module.bgr_array = ocr_prep.bgr_array
            ocr_module.reading_order = order

    return read


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--real", action="store_true", help="also the real screens (devtools/real_screens.py)")
    parser.add_argument("--screens", type=Path, default=Path(tempfile.gettempdir()) / "describe-aloud-screens")
    args = parser.parse_args()

    from PIL import Image

    from bench_hotkey import text_page

    print(f"CPU: {cpu_line()}\n{load_average()}")
    images = {"hotkey text page (8 lines)": text_page()}
    if args.real:
        from devtools.real_screens import build_screens

        for screen in build_screens(args.screens):
            images[screen.name] = Image.open(screen.path).convert("RGB")
    names = ("before", "app", "app-cls")
    clocks = {name: Clock() for name in names}
    engines = {name: build(name, clocks[name]) for name in names}
    print(f"engine: {engines['app'].engine_name}, rapidocr's detector size; {args.runs} interleaved rounds")
    readers = {name: reader(name, engines[name], clocks[name]) for name in names}
    texts = {(n, s): [(t.text, t.box, t.confidence) for t in readers[n](img)] for s, img in images.items()
             for n in names}
    totals: dict[tuple[str, str], list[float]] = defaultdict(list)
    stages: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    for _ in range(args.runs):
        for screen, image in images.items():
            for name in names:
                clock = clocks[name]
                clock.now.clear()
                t0 = time.perf_counter()
                readers[name](image)
                total = time.perf_counter() - t0
                totals[(name, screen)].append(total)
                for stage in STAGES:
                    stages[(name, screen, stage)].append(clock.now.get(stage, 0.0))
                stages[(name, screen, "other")].append(total - sum(clock.now.values()))
    print(load_average() + " (after the runs)")

    for screen in images:
        base = statistics.median(totals[("before", screen)])
        print(f"\n{screen}: median ms per read (p50 of {args.runs})")
        print(f"{'stage':28} " + " ".join(f"{n:>9}" for n in names))
        for stage in (*STAGES, "other"):
            print(f"{stage:28} " + " ".join(f"{statistics.median(stages[(n, screen, stage)]) * 1000:9.1f}"
                                            for n in names))
        cells = []
        for name in names:
            med = statistics.median(totals[(name, screen)])
            same = "same" if texts[(name, screen)] == texts[("before", screen)] else "lines differ"
            cells.append(f"{name} {med * 1000:.1f} ms ({base / med:.2f}x, {same})")
        print("total: " + "; ".join(cells))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
