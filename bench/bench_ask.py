"""Asking about an image: question -> first token / first sentence, and the cost of each further token, with
full-size random weights, side by side with plain `generate` in the same run.

For each model size (SmolVLM-256M / -500M, the real Idefics3 shapes from their published config.json) and
precision, a random-weight model is saved with save_pretrained and loaded twice: through engine.ask.load_asker
(the production path: SDPA with the single-query decoding attention, bf16 Linear weights packed when the
start-up measurement of engine.captioners.decode_path finds that faster on this CPU) and as stock transformers
loads it (`AutoModelForImageTextToText.from_pretrained`, SDPA, nothing changed). With a 1280x720 image and five
read lines in the prompt, each repeat runs, interleaved, on a fresh image:

- "generate, stock model":  plain greedy `model.generate` on the stock model (the baseline the issue asks for);
- "generate, cached prefix": `generate` on the app's model from exactly the inputs of "ask, prepared image"
                            (the image's prefix in a copy of the Asker's cache, then the question): the same
                            computation, so it compares the two decoding loops, and the tokens must be equal;
- "ask, new image":         the first question about an image nobody prepared (encodes it, then answers);
- "ask, prepared image":    the app's flow: the image was encoded while the user typed (`Asker.prepare`,
                            after the description), then the question arrives;
- "ask, follow-up":         another question about the same image (its cached encoding reused).

Printed per row, p50 / p90 over --repeats: the first token; the first sentence, taken as the 11th token (a
10-token sentence is handed to speech when the next one begins, so speech starts there); ms per further token
(tokens 1 -> 30, the loop included) and the model's own forward per token (the difference is the loop's cost).
Random weights say nothing sensible, so the confidence rule and the stop tokens are switched off here to
always produce 30 tokens (the work a 30-token answer costs). The app's answer is compared token for token
with both `generate` rows (counted and printed; tests/engine/test_ask.py asserts equality on a tiny model). In
bf16 a random model's logits are near-ties (top two within one bf16 step), so the stock row, which runs the
prompt in one piece instead of prefix + question, may flip a tie; in fp32 it does not.

    .venv/bin/python bench/bench_ask.py [--sizes 256m,500m] [--precisions bf16,fp32] [--repeats 5] [--packed auto|0|1]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from _machine import cpu_line, load_average  # noqa: E402

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


FIRST_SENTENCE = 11  # the token at which a 10-token first sentence is handed to speech


class _TokenClock:
    """Forward hooks that note when each token's logits are ready: every forward of the model except the one that
    encodes the image with the prompt's prefix (`pixel_values`) ends with one new token's logits."""

    def __init__(self, model) -> None:
        self.model, self.started, self.ready, self.forward_ms, self._t, self._image = model, 0.0, [], [], 0.0, False
        self._hooks = [model.register_forward_pre_hook(self._pre, with_kwargs=True),
                       model.register_forward_hook(self._post, with_kwargs=True)]

    def start(self) -> None:
        self.started, self.ready, self.forward_ms = time.perf_counter(), [], []

    def _pre(self, _module, _args, kwargs) -> None:
        self._t = time.perf_counter()
        self._image = kwargs.get("pixel_values") is not None

    def _post(self, _module, _args, kwargs, _out) -> None:
        now = time.perf_counter()
        if not self._image:
            self.ready.append(now - self.started)
            ids = kwargs.get("input_ids")
            if ids is not None and ids.shape[1] == 1:
                self.forward_ms.append((now - self._t) * 1000)

    def figures(self) -> dict[str, float]:
        """first token / first sentence (s), ms per further token, ms of the model's forward per token."""
        t = self.ready[:TOKENS]
        return {"first": t[0], "sentence": t[FIRST_SENTENCE - 1], "per_token": (t[-1] - t[0]) * 1000 / (len(t) - 1),
                "forward": statistics.median(self.forward_ms)}

    def close(self) -> None:
        for hook in self._hooks:
            hook.remove()


def time_asker(asker, clock: _TokenClock, image, question: str, *, prepared: bool = False):
    """(figures, token ids) of one answer through the app's own loop; `prepared`: the image was encoded before
    the question (not timed: the user was typing)."""
    if prepared:
        asker.prepare(image, LINES)
    clock.start()
    answer = asker.ask(image, question, lines=LINES).run()
    return clock.figures(), answer.token_ids


def time_generate(asker, model, clock: _TokenClock, image, question: str):
    """(figures, token ids) of plain greedy `generate` on `model`: the processor, the image and the whole prompt."""
    import torch

    from describe_aloud.engine.ask.prompt import build

    clock.start()
    prompt = build(asker.processor, question, LINES, [])
    inputs = asker.processor(text=[prompt.text], images=[[image]], return_tensors="pt")
    inputs["pixel_values"] = inputs["pixel_values"].to(model.dtype)
    with torch.inference_mode():
        out = model.generate(**inputs, max_new_tokens=TOKENS, min_new_tokens=TOKENS, do_sample=False)
    return clock.figures(), out[0, inputs["input_ids"].shape[1]:].tolist()


def time_generate_cached(asker, clock: _TokenClock, image, question: str):
    """(figures, token ids) of greedy `generate` on the app's model from the same inputs as "ask, prepared image":
    the image's prefix already in a cache (a copy of the Asker's), the question's tokens after it. The same
    computation as the app's loop, so its tokens must be the same, and its time per token compares the loops."""
    import copy

    import torch

    from describe_aloud.engine.ask.prompt import build

    asker.prepare(image, LINES)
    prompt = build(asker.processor, question, LINES, [])
    suffix = asker.processor.tokenizer(prompt.suffix, add_special_tokens=False, return_tensors="pt")["input_ids"]
    ids = torch.cat([asker._session.prefix_ids, suffix], dim=1)
    cache = copy.deepcopy(asker._session.cache)
    clock.start()
    with torch.inference_mode():
        out = asker.model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), cache=cache,
                                   max_new_tokens=TOKENS, min_new_tokens=TOKENS, do_sample=False)
    return clock.figures(), out[0, ids.shape[1]:].tolist()


def report(label: str, runs: list[dict[str, float]]) -> dict[str, float]:
    def pct(key: str, q: float) -> float:
        values = sorted(r[key] for r in runs)
        return values[min(len(values) - 1, round(q * (len(values) - 1)))]

    p50 = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    print(f"  {label:<24} first token {p50['first']:5.2f} / {pct('first', 0.9):5.2f} s   first sentence "
          f"{p50['sentence']:5.2f} / {pct('sentence', 0.9):5.2f} s   per token {p50['per_token']:5.0f} / "
          f"{pct('per_token', 0.9):5.0f} ms (forward {p50['forward']:4.0f})")
    return p50


def bench(size: str, precision: str, repeats: int) -> None:
    import torch
    from PIL import Image, ImageDraw
    from transformers import AutoModelForImageTextToText

    from describe_aloud.engine.ask import load_asker

    with tempfile.TemporaryDirectory() as tmp:
        folder = build_full_size(size, Path(tmp))
        started = time.perf_counter()
        asker = load_asker(str(folder), precision=precision, first_token_min=0.0, mean_min=0.0,
                           max_new_tokens=TOKENS)
        print(f"SmolVLM-{size} {precision}: app's model loaded in {time.perf_counter() - started:.1f} s "
              f"(attention {asker.model.config._attn_implementation}, {asker.packed_linear_layers} Linear layers "
              f"packed, decoding steps on {asker.decode_threads or torch.get_num_threads()} thread(s))")
        dtype = torch.bfloat16 if asker.precision == "bf16" else torch.float32
        stock = AutoModelForImageTextToText.from_pretrained(str(folder), dtype=dtype).eval()
        asker._stop_ids = set()  # random weights: never stop early, always 30 tokens
        app_clock, stock_clock = _TokenClock(asker.model), _TokenClock(stock)
        images = []
        for i in range(repeats + 1):
            image = Image.new("RGB", (1280, 720), (30 + 40 * i % 200, 90, 160))
            ImageDraw.Draw(image).rectangle((100 + i * 10, 100, 600, 400), fill=(200, 40, 40))
            images.append(image)
        # Warm-up (not counted): every path once, so no row pays for first-call set-up.
        time_asker(asker, app_clock, images[-1], QUESTION)
        time_asker(asker, app_clock, images[-1], FOLLOW_UP)
        time_generate_cached(asker, app_clock, images[-1], QUESTION)
        time_generate(asker, stock, stock_clock, images[-1], QUESTION)
        rows: dict[str, list[dict[str, float]]] = {k: [] for k in
                                                   ("stock", "app_generate", "new", "prepared", "follow")}
        same_as_app_generate = same_as_stock = 0
        for index, image in enumerate(images[:-1], 1):
            print(f"  run {index}/{repeats}… load {os.getloadavg()[0]:.1f}", file=sys.stderr, flush=True)
            figures, stock_ids = time_generate(asker, stock, stock_clock, image, QUESTION)
            rows["stock"].append(figures)
            asker.forget_image()
            encodings = asker.image_encodings
            figures, ids = time_asker(asker, app_clock, image, QUESTION)
            rows["new"].append(figures)
            same_as_stock += ids == stock_ids
            rows["follow"].append(time_asker(asker, app_clock, image, FOLLOW_UP)[0])
            assert asker.image_encodings == encodings + 1, "the follow-up question encoded the image again"
            figures, generate_ids = time_generate_cached(asker, app_clock, image, QUESTION)
            rows["app_generate"].append(figures)
            asker.forget_image()
            figures, ids = time_asker(asker, app_clock, image, QUESTION, prepared=True)
            rows["prepared"].append(figures)
            same_as_app_generate += ids == generate_ids
        app_clock.close(), stock_clock.close()
        base = report("generate, stock model", rows["stock"])
        cached = report("generate, cached prefix", rows["app_generate"])
        new = report("ask, new image", rows["new"])
        prepared = report("ask, prepared image", rows["prepared"])
        follow = report("ask, follow-up", rows["follow"])
        print(f"  per token: app loop {prepared['per_token']:.0f} ms, generate on the same inputs "
              f"{cached['per_token']:.0f} ms ({cached['per_token'] / prepared['per_token']:.2f}x), stock generate "
              f"{base['per_token']:.0f} ms ({base['per_token'] / prepared['per_token']:.2f}x)")
        print(f"  first sentence faster than stock generate's: new image "
              f"{base['sentence'] / new['sentence']:.2f}x, prepared {base['sentence'] / prepared['sentence']:.2f}x, "
              f"follow-up {base['sentence'] / follow['sentence']:.2f}x")
        print(f"  the app's answer token for token = generate on the same inputs in {same_as_app_generate}/{repeats} "
              f"runs, = stock generate on the whole prompt in {same_as_stock}/{repeats}")


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
    parser.add_argument("--packed", choices=("auto", "0", "1"), default="auto",
                        help="bf16 Linear packing: the start-up measurement's choice (auto), off or on")
    parser.add_argument("--memory", action="store_true", help="only measure resident memory (app + ask model)")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from describe_aloud.cli.main import _set_thread_policy

    _set_thread_policy()  # the app's OpenMP spin policy (GOMP_SPINCOUNT), set before torch starts its threads
    if args.packed != "auto":
        os.environ["DESCRIBE_ALOUD_PACKED_LINEAR"] = args.packed
    import torch

    print(f"CPU: {cpu_line()}; torch {torch.__version__}, {torch.get_num_threads()} threads; at start: "
          f"{load_average()}")
    print(f'question: "{QUESTION}" (10 words); follow-up: "{FOLLOW_UP}"; image 1280x720 as one 512 px tile; '
          f"{len(LINES)} read lines in the prompt; p50 / p90 of {args.repeats}; {TOKENS}-token answers; "
          f"GOMP_SPINCOUNT {os.environ.get('GOMP_SPINCOUNT', 'unset')} (as the app)")
    if args.memory:
        memory([size.strip() for size in args.sizes.split(",")])
        return
    for size in args.sizes.split(","):
        for precision in args.precisions.split(","):
            bench(size.strip(), precision.strip(), args.repeats)
    print("load average at end " + " ".join(f"{x:.1f}" for x in os.getloadavg()))


if __name__ == "__main__":
    main()
