"""Benchmark `batch`: images per second over a folder of photo-sized JPEGs, batched pipeline vs a plain loop.

The default model's architecture (GIT-base: CLIP ViT-B/16 + 6-layer decoder) is built at full size with random
weights (bench/bench_captioners.py's builder; no hub, no download) and every caption is exactly 20 tokens,
so the arithmetic is the real model's. Two ways over the same generated folder (1600x1200 JPEGs):

- plain: for each file, engine.images.load_image + Describer.describe (one image per generate call);
- batched: engine.batch.BatchRunner (loader threads decode + shrink ahead of the model, N images per
  generate call, journal + results file written as in a real run).

    .venv/bin/python bench/bench_batch.py                          # 200 images, batch size 8, no OCR
    .venv/bin/python bench/bench_batch.py --images 10 --plain-images 4   # a quick check
    .venv/bin/python bench/bench_batch.py --ocr                    # with OCR (as the app does by default)

Prints both rates and the ratio (`--batch-size 1,4,8` compares batch sizes; batch 1 shows what the
prefetching alone gives). Run it on a quiet machine: other processes on the same cores change figures.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _machine import cpu_line, load_average  # noqa: E402

import numpy as np  # noqa: E402
from PIL import Image, ImageDraw  # noqa: E402

TOKENS = 20


class FixedTokens:
    """Wraps a captioner so every caption is exactly TOKENS tokens (random weights stop at random points)."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.model_id = inner.model_id
        self.capabilities = inner.capabilities
        self.beam_size = None

    def warm_up(self) -> None:
        self.inner.warm_up()

    def caption(self, images, **kwargs):
        kwargs.update(max_new_tokens=TOKENS, min_new_tokens=TOKENS)
        return self.inner.caption(images, **kwargs)


def photo(seed: int, size=(1600, 1200)) -> Image.Image:
    """A photo-like picture: smooth gradients, shapes and sensor noise (compresses like a real photo)."""
    rng = np.random.default_rng(seed)
    w, h = size
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    base = np.stack([
        120 + 80 * np.sin(x / (150 + 50 * rng.random()) + rng.random() * 6),
        110 + 70 * np.cos(y / (120 + 60 * rng.random()) + rng.random() * 6),
        100 + 60 * np.sin((x + y) / (200 + 80 * rng.random())),
    ], axis=-1)
    base += rng.normal(0, 6, size=base.shape)
    img = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(img)
    for _ in range(6):
        x0, y0 = rng.integers(0, w - 200), rng.integers(0, h - 200)
        draw.ellipse((x0, y0, x0 + rng.integers(80, 400), y0 + rng.integers(80, 400)),
                     fill=tuple(int(v) for v in rng.integers(0, 256, 3)))
    return img


def make_folder(folder: Path, count: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        path = folder / f"IMG_{i:04d}.jpg"
        if not path.exists():
            photo(i).save(path, quality=90)
        paths.append(path)
    return paths


def plain_loop(paths: list[Path], describer) -> float:
    from describe_aloud.engine.images import load_image

    t0 = time.perf_counter()
    for path in paths:
        describer.describe(load_image(path), source=str(path))
    return len(paths) / (time.perf_counter() - t0)


def batched(folder: Path, describer, batch_size: int, use_ocr: bool, out: Path) -> float:
    from describe_aloud.engine.batch import BatchOptions, BatchRunner

    options = BatchOptions(folder=str(folder), out=str(out), batch_size=batch_size, use_ocr=use_ocr,
                           journal_path=str(out.with_suffix(".sqlite")))
    t0 = time.perf_counter()
    summary = BatchRunner(options, describer=describer).run()
    elapsed = time.perf_counter() - t0
    assert summary.described == summary.found and not summary.failed, summary.lines()
    return summary.described / elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=200, help="images in the generated folder")
    parser.add_argument("--plain-images", type=int, default=0,
                        help="images for the plain loop (default: the same as --images)")
    parser.add_argument("--batch-size", default="8",
                        help="images per model call; a comma-separated list runs the pipeline once per size")
    parser.add_argument("--precision", default="auto", help="fp32, auto (bf16 where native), int8")
    parser.add_argument("--ocr", action="store_true", help="read text too (rapidocr), as the app does by default")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--folder", type=Path, help="keep the generated images here (default: a temp folder)")
    args = parser.parse_args(argv)
    print(f"CPU: {cpu_line()}; at start: {load_average()}", flush=True)

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    from bench_captioners import build_git_base

    from describe_aloud.engine.captioners.hf import load_hf_captioner
    from describe_aloud.engine.describer import Describer

    with tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp:
        tmp_path = Path(tmp)
        folder = args.folder or tmp_path / "photos"
        t0 = time.perf_counter()
        paths = make_folder(folder, args.images)
        print(f"{len(paths)} photos of 1600x1200 in {folder} ({time.perf_counter() - t0:.1f} s to generate)")
        model_dir = tmp_path / "git-base"
        build_git_base(model_dir)
        captioner = FixedTokens(load_hf_captioner(str(model_dir), precision=args.precision))
        print(f"GIT-base, random weights, {captioner.inner.precision}, {TOKENS} tokens per caption, "
              f"OCR {'on' if args.ocr else 'off'}, torch threads {torch.get_num_threads()}")
        describer = Describer(captioner, use_ocr=args.ocr)
        describer.describe(photo(10_000), source="warm-up")  # first call pays one-off costs

        n_plain = args.plain_images or len(paths)
        plain = plain_loop(paths[:n_plain], describer)
        print(f"plain loop (1 image per call, {n_plain} images):  {plain:6.2f} images/s")
        for i, size in enumerate(int(v) for v in args.batch_size.split(",")):
            fast = batched(folder, describer, size, args.ocr, tmp_path / f"results-{i}.csv")
            print(f"batched pipeline (batch {size}, {len(paths)} images):  {fast:6.2f} images/s   "
                  f"ratio to the plain loop: {fast / plain:.2f}x")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    sys.exit(main())
