"""Asking about an image: time from question to first token / first sentence, full-size random weights.

For each model size (SmolVLM-256M / -500M, the real Idefics3 shapes from their published config.json) and
precision, a random-weight model is saved with save_pretrained and loaded through engine.ask.load_asker
(the production path). Then, with a 1280x720 image and five read lines in the prompt:

- "ask, new image":  the first question about the image (encodes the image, then answers);
- "ask, follow-up":  another question about the same image (reuses the image's cached encoding);
- "generate":        plain `model.generate` on the same weights, same prompt, same run (the baseline): it
                     encodes the image on every call, as an app without the cache would.

Each is timed to the first token, to 10 tokens (about a short first sentence, which is when speech starts)
and to 30 tokens; p50 over --repeats questions. Random weights say nothing sensible, so the confidence rule
and the stop tokens are switched off here to always produce 30 tokens (the work a 30-token answer costs).

    .venv/bin/python bench/bench_ask.py [--sizes 256m,500m] [--precisions bf16,fp32] [--repeats 5]
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

QUESTION = "What colour is the car parked next to the house?"  # 10 words
FOLLOW_UP = "And what does the sign on the left side say?"
LINES = ["Main Street Garage", "Open 8:00 - 18:00", "Parking for customers only", "Exit", "Tel. 555 0123"]
TOKENS = 30
SIZES = {
    # From the published config.json of HuggingFaceTB/SmolVLM-256M-Instruct and -500M-Instruct.
    "256m": dict(hidden_size=576, intermediate_size=1536, num_hidden_layers=30, num_attention_heads=9,
                 num_key_value_heads=3),
    "500m": dict(hidden_size=960, intermediate_size=2560, num_hidden_layers=32, num_attention_heads=15,
                 num_key_value_heads=5),
}


def cpu_line() -> str:
    import torch

    name = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
                break
        flags = Path("/proc/cpuinfo").read_text()
        wanted = [f for f in ("avx2", "avx512f", "avx512_bf16", "amx_bf16") if f" {f}" in flags]
    except OSError:
        wanted = []
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    return f"CPU: {name} ({os.cpu_count()} cores), flags {' '.join(wanted)}; torch {torch.__version__}, " \
           f"{torch.get_num_threads()} threads; load average at start {load} (other work on the machine slows " \
           "every figure alike; the ratios hold)"


def build_full_size(size: str, folder: Path) -> Path:
    import torch
    from transformers import Idefics3Config, Idefics3ForConditionalGeneration, Idefics3ImageProcessor, Idefics3Processor

    from tests.fixtures.tiny_vlm import SMOLVLM_CHAT_TEMPLATE, build_tiny_tokenizer

    torch.manual_seed(0)
    tokenizer = build_tiny_tokenizer()  # ids fit the real vocabulary; the text of the answers does not matter
    image_processor = Idefics3ImageProcessor(do_image_splitting=False, size={"longest_edge": 512},
                                             max_image_size={"longest_edge": 512})
    processor = Idefics3Processor(image_processor=image_processor, tokenizer=tokenizer, image_seq_len=64,
                                  chat_template=SMOLVLM_CHAT_TEMPLATE)
    config = Idefics3Config(
        vision_config=dict(hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12,
                           image_size=512, patch_size=16),
        text_config=dict(model_type="llama", vocab_size=49280, max_position_embeddings=8192, rms_norm_eps=1e-5,
                         rope_theta=100000, **SIZES[size]),
        scale_factor=4, image_token_id=tokenizer.convert_tokens_to_ids("<image>"), tie_word_embeddings=False,
    )
    model = Idefics3ForConditionalGeneration(config).eval()
    params = sum(p.numel() for p in model.parameters()) / 1e6
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    print(f"SmolVLM-{size} shapes: {params:.0f}M parameters (random weights)")
    return folder


class _FirstTokens:
    """A generate() streamer that notes when the 1st, 10th and 30th new tokens arrive."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.calls = 0
        self.times: dict[int, float] = {}

    def put(self, value) -> None:
        self.calls += 1
        if self.calls > 1:  # the first put is the prompt
            self.times[self.calls - 1] = time.perf_counter() - self.started

    def end(self) -> None:
        pass


def time_asker(asker, image, question: str) -> dict[int, float]:
    """Seconds to the 1st / 10th / 30th token of an answer (through the Asker's own loop)."""
    import torch

    times: dict[int, float] = {}
    started = time.perf_counter()
    model = asker.model
    original = model.forward
    count = [0]

    def counting_forward(*args, **kwargs):  # a decoding step starts once the token before it is chosen
        ids = kwargs.get("input_ids")
        if ids is not None and ids.shape[1] == 1 and "pixel_values" not in kwargs:
            count[0] += 1
            times[count[0]] = time.perf_counter() - started
        return original(*args, **kwargs)

    model.forward = counting_forward
    try:
        with torch.inference_mode():
            asker.ask(image, question, lines=LINES).run()
        times[count[0] + 1] = time.perf_counter() - started  # the last token needs no decoding step
    finally:
        model.forward = original
    return times


def time_generate(asker, image, question: str) -> dict[int, float]:
    import torch

    from describe_aloud.engine.ask.prompt import build

    prompt = build(asker.processor, question, LINES, [])
    streamer = _FirstTokens()
    inputs = asker.processor(text=[prompt.text], images=[[image]], return_tensors="pt")
    inputs["pixel_values"] = inputs["pixel_values"].to(asker.model.dtype)
    with torch.inference_mode():
        asker.model.generate(**inputs, max_new_tokens=TOKENS, min_new_tokens=TOKENS, do_sample=False,
                             streamer=streamer)
    return streamer.times


def report(label: str, runs: list[dict[int, float]], baseline: float | None = None) -> float:
    def p50(n: int) -> float:
        return statistics.median(r[n] for r in runs if n in r) if any(n in r for r in runs) else float("nan")

    first, ten, thirty = p50(1), p50(10), p50(TOKENS)
    rate = (TOKENS - 1) / (thirty - first) if thirty > first else float("nan")
    ratio = f"  ({baseline / ten:.2f}x faster to 10 tokens than generate)" if baseline else ""
    print(f"  {label:<20} first token {first:6.2f} s  10 tokens {ten:6.2f} s  {TOKENS} tokens {thirty:6.2f} s  "
          f"{rate:5.1f} tokens/s{ratio}")
    return ten


def bench(size: str, precision: str, repeats: int) -> None:
    from PIL import Image, ImageDraw

    from describe_aloud.engine.ask import load_asker

    with tempfile.TemporaryDirectory() as tmp:
        folder = build_full_size(size, Path(tmp))
        started = time.perf_counter()
        asker = load_asker(str(folder), precision=precision, first_token_min=0.0, mean_min=0.0,
                           max_new_tokens=TOKENS)
        print(f"SmolVLM-{size} {precision}: loaded in {time.perf_counter() - started:.1f} s")
        asker._stop_ids = set()  # random weights: never stop early, always 30 tokens
        images = []
        for i in range(repeats):
            image = Image.new("RGB", (1280, 720), (30 + 40 * i % 200, 90, 160))
            ImageDraw.Draw(image).rectangle((100 + i * 10, 100, 600, 400), fill=(200, 40, 40))
            images.append(image)
        time_asker(asker, images[0], QUESTION)  # warm-up (not counted)
        time_generate(asker, images[0], QUESTION)
        new, follow, plain = [], [], []
        for index, image in enumerate(images, 1):
            print(f"  run {index}/{len(images)}…", file=sys.stderr, flush=True)
            asker.forget_image()
            encodings = asker.image_encodings
            new.append(time_asker(asker, image, QUESTION))
            follow.append(time_asker(asker, image, FOLLOW_UP))
            assert asker.image_encodings == encodings + 1, "the follow-up question encoded the image again"
            plain.append(time_generate(asker, image, QUESTION))
        base = report("generate (baseline)", plain)
        report("ask, new image", new, base)
        report("ask, follow-up", follow, base)


MEMORY_SCRIPT = """
import sys
from pathlib import Path
from PIL import Image
from describe_aloud.engine.captioners import load_captioner
from describe_aloud.engine.describer import Describer
from describe_aloud.engine.ocr import OcrEngine
from describe_aloud.engine.ask import load_asker
captioner_dir, ask_dir = sys.argv[1:3]
describer = Describer(load_captioner(captioner_dir, precision="auto"), ocr=OcrEngine())
image = Image.new("RGB", (1280, 720), (40, 90, 160))
d = describer.describe(image, source="screen")
asker = load_asker(ask_dir, precision="auto")
asker.ask(image, "What colour is the car?", lines=[l.text for l in d.text_lines]).run()
status = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
print("rss_mb", int(status["VmRSS"].split()[0]) // 1024, "peak_mb", int(status["VmHWM"].split()[0]) // 1024)
"""


def memory(sizes: list[str]) -> None:
    """Resident memory of a fresh process holding what the app holds: the default captioner (GIT-base shapes)
    with OCR, plus the ask model, after one description and one question (budget: 2.5 GB)."""
    import subprocess

    from bench.bench_captioners import build_git_base

    with tempfile.TemporaryDirectory() as tmp:
        git = Path(tmp) / "git"
        git.mkdir()
        build_git_base(git)
        for size in sizes:
            vlm = build_full_size(size, Path(tmp) / size)
            out = subprocess.run([sys.executable, "-c", MEMORY_SCRIPT, str(git), str(vlm)], capture_output=True,
                                 text=True, check=True, cwd=Path(__file__).resolve().parents[1]).stdout.split()
            rss, peak = int(out[out.index("rss_mb") + 1]), int(out[out.index("peak_mb") + 1])
            print(f"  memory, git-base + OCR + SmolVLM-{size} (auto precision): resident {rss / 1024:.2f} GB, "
                  f"peak {peak / 1024:.2f} GB (budget 2.5 GB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="256m,500m")
    parser.add_argument("--precisions", default="bf16,fp32")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--memory", action="store_true", help="only measure resident memory (app + ask model)")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    print(cpu_line())
    print(f'question: "{QUESTION}" (10 words); follow-up: "{FOLLOW_UP}"; image 1280x720 as one 512 px tile; '
          f"{len(LINES)} read lines in the prompt; p50 of {args.repeats}")
    if args.memory:
        memory([size.strip() for size in args.sizes.split(",")])
        return
    for size in args.sizes.split(","):
        for precision in args.precisions.split(","):
            bench(size.strip(), precision.strip(), args.repeats)


if __name__ == "__main__":
    main()
