"""The caption stage's decode paths side by side on this CPU: plain fp32 `generate` (the baseline), the app's
bf16 path with plain Linear layers, and the app's bf16 path with packed oneDNN weights
(engine.captioners.packed_linear); plus which one the start-up self-measurement (decode_path) picks here.

The model is the default captioner's architecture at full size with random weights (GIT-base, built as
bench/bench_hotkey.py builds it: every caption is exactly --tokens tokens + the end token). All variants
caption the same screen image; they take turns (A B C A B C ...) for --runs rounds, medians are quoted,
ratios are baseline / variant, and the captions of the two bf16 paths are compared (they must be identical).
On a CPU without native bf16 the app runs fp32 and there is nothing to pack: the bench says so.

    .venv/bin/python bench/bench_decode.py --runs 9
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from bench_captioners import screen_image  # noqa: E402
from bench_hotkey import build_default_captioner  # noqa: E402
from bench_ocr import cpu_report  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--tokens", type=int, default=20)
    args = parser.parse_args()

    import torch
    from transformers import AutoModelForImageTextToText, AutoProcessor

    from describe_aloud.engine import load_captioner
    from describe_aloud.engine.captioners import decode_path
    from describe_aloud.engine.captioners.hf import DEFAULT_MAX_NEW_TOKENS
    from describe_aloud.engine.captioners.packed_linear import packed_linear_works
    from describe_aloud.engine.device import cpu_has_native_bf16

    print(cpu_report())
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, CPU capability "
          f"{torch.backends.cpu.get_cpu_capability()}, native bf16: {cpu_has_native_bf16()}, "
          f"packed oneDNN linear usable: {packed_linear_works()}")
    image = screen_image()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "git-base"
        t0 = time.perf_counter()
        build_default_captioner(folder, args.tokens)
        print(f"built GIT-base (random weights, {args.tokens}-token captions) in {time.perf_counter() - t0:.1f} s")

        processor = AutoProcessor.from_pretrained(folder)
        base_model = AutoModelForImageTextToText.from_pretrained(folder, dtype=torch.float32).eval()
        budget = DEFAULT_MAX_NEW_TOKENS["caption"]

        def baseline() -> str:
            inputs = processor(images=image, return_tensors="pt")
            out = base_model.generate(pixel_values=inputs["pixel_values"], max_new_tokens=budget)
            return processor.batch_decode(out, skip_special_tokens=True)[0]

        variants = {"fp32 generate": baseline}
        if cpu_has_native_bf16():
            for name, force in (("app bf16 plain", "0"), ("app bf16 packed", "1")):
                os.environ[decode_path.ENV_FORCE] = force
                captioner = load_captioner(str(folder), precision="bf16", device="cpu", local_files_only=True)
                captioner.warm_up()
                print(f"  {name}: {captioner.packed_linear_layers} Linear layers packed")
                variants[name] = (lambda c: lambda: c.caption([image])[0].caption)(captioner)
            os.environ[decode_path.ENV_FORCE] = "0"  # the shapes of the plain model
            probe = load_captioner(str(folder), precision="bf16", device="cpu", local_files_only=True).model
            shapes = decode_path.linear_shapes(probe)
            times = decode_path.measure(shapes)
            print(f"self-measurement (shapes {shapes}): plain {times['plain']:.3f} ms, packed "
                  f"{times['packed']:.3f} ms per pass -> the app picks "
                  f"{'packed' if times['plain'] >= decode_path.MIN_GAIN * times['packed'] else 'plain'}")
            del probe
            os.environ.pop(decode_path.ENV_FORCE, None)
        else:
            print("this CPU has no native bf16: the app runs fp32 (its packed fp32 path is timed by bench_hotkey.py "
                  "and docs/benchmarks.md; here only the baseline)")

        captions: dict[str, str] = {}
        samples: dict[str, list[float]] = {name: [] for name in variants}
        for run in variants.values():
            run()  # warm
        for _ in range(args.runs):
            for name, run in variants.items():
                t0 = time.perf_counter()
                captions[name] = run()
                samples[name].append(time.perf_counter() - t0)
        print(cpu_report().splitlines()[1] + " (after the runs)")
        base = statistics.median(samples["fp32 generate"])
        print(f"\nmedian seconds per caption of {args.runs} (whole caption: preprocess + generate + decode)")
        for name, values in samples.items():
            med = statistics.median(values)
            spread = f"{min(values):.3f}-{max(values):.3f}"
            print(f"  {name:18} {med:.3f} s  ({spread})  {base / med:4.2f}x the fp32 baseline")
        if "app bf16 plain" in captions:
            same = captions["app bf16 plain"] == captions["app bf16 packed"]
            print(f"\nbf16 plain and packed captions identical: {same}")
            if not same:
                print(f"  plain:  {captions['app bf16 plain']!r}\n  packed: {captions['app bf16 packed']!r}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
