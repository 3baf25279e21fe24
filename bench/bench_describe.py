"""Benchmark the describe path (engine.Describer): per-stage times, time until the read text can be spoken,
and the whole description (OCR, then the captioner, on the owner thread).

The default captioner (GIT-base) is built at full size with random weights (bench_captioners' builder: no
hub, no download); every caption is exactly 20 tokens, so the arithmetic is the real model's.

Images: a 1280x720 screen with text (a document-like screen: the text is said first, so speech can start
when OCR is done) and a 1280x720 photo-like picture without text.

    .venv/bin/python bench/bench_describe.py                 # 10 runs each, auto precision
    .venv/bin/python bench/bench_describe.py --runs 2        # a quick check
    .venv/bin/python bench/bench_describe.py --precision fp32

Prints medians in ms. Run it on a quiet machine: other processes on the same cores change the figures.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _machine import cpu_line, load_average  # noqa: E402

from PIL import Image, ImageDraw  # noqa: E402

from bench_batch import FixedTokens  # noqa: E402
from bench_captioners import build_git_base, screen_image  # noqa: E402

STAGES = ("convert", "blank_check", "ocr", "preprocess", "vision", "decode", "caption", "total")


def text_screen(size=(1280, 720)) -> Image.Image:
    """A screen that is mostly text (a mail client): its text is said first, before the caption."""
    img = screen_image()
    draw = ImageDraw.Draw(img)
    rows = ["Inbox (3)", "From: Sam", "Subject: Lunch on Friday", "Are you free at noon?", "Reply", "Forward",
            "Archive", "Delete", "Settings", "Help"]
    for i, text in enumerate(rows):
        draw.text((60, 460 + i * 24), text, fill=(20, 20, 20), font_size=18)
    return img


def photo_image(size=(1280, 720)) -> Image.Image:
    w, h = size
    img = Image.new("RGB", size)
    draw = ImageDraw.Draw(img)
    for y in range(h):
        draw.line([(0, y), (w, y)], fill=(90 + y * 60 // h, 160 - y * 40 // h, 230 - y * 180 // h))
    draw.ellipse([900, 60, 1080, 240], fill=(250, 220, 60))
    draw.rectangle([250, 300, 600, 620], fill=(170, 60, 40))
    return img


def run(describer, image: Image.Image, runs: int) -> dict[str, float]:
    samples: dict[str, list[float]] = {stage: [] for stage in STAGES}
    samples["text ready"] = []
    for _ in range(runs):
        started = time.perf_counter()
        ready: list[float] = []
        d = describer.describe(image, on_text=lambda _p: ready.append((time.perf_counter() - started) * 1000))
        for stage in STAGES:
            if stage in d.timings_ms:
                samples[stage].append(d.timings_ms[stage])
        if ready:
            samples["text ready"].append(ready[0])
    return {k: statistics.median(v) for k, v in samples.items() if v}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--precision", default="auto")
    args = parser.parse_args(argv)
    print(f"CPU: {cpu_line()}; at start: {load_average()}", flush=True)

    from describe_aloud.engine.captioners.hf import load_hf_captioner
    from describe_aloud.engine.describer import Describer
    from describe_aloud.engine.ocr import OcrEngine

    with tempfile.TemporaryDirectory(prefix="bench-describe-") as tmp:
        folder = Path(tmp) / "git-base"
        print("building GIT-base at full size with random weights...", flush=True)
        build_git_base(folder)
        inner = load_hf_captioner(str(folder), precision=args.precision)
        inner.warm_up()
        captioner = FixedTokens(inner)
        print(f"precision: {inner.precision}; {args.runs} runs each; medians in ms", flush=True)

        ocr = OcrEngine()
        ocr.warm_up()
        images = {"screen 1280x720": text_screen(), "photo 1280x720": photo_image()}
        columns = (*STAGES, "text ready")
        print(f"{'image':18} " + " ".join(f"{c:>11}" for c in columns))
        for name, image in images.items():
            with Describer(captioner, ocr=ocr) as describer:
                describer.describe(image)  # warm this path
                row = run(describer, image, args.runs)
            cells = " ".join(f"{row[c]:>11.0f}" if c in row else f"{'-':>11}" for c in columns)
            print(f"{name:18} {cells}", flush=True)
        print("'text ready': when a screen's text can be spoken (Describer.describe on_text), before the caption.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
