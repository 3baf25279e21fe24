"""Benchmark translating one caption (engine.translation): what translation adds to a description.

The model is MarianMT at the full size of Helsinki-NLP/opus-mt-en-zh (the config values of its config.json:
vocabulary 65001, d_model 512, 6 + 6 layers, 8 heads, FFN 2048, sinusoidal positions, shared embeddings),
with random weights (no hub, no download). The source is a 20-token caption (plus the >>cmn_Hans<< target
token and </s>); every translation is forced to the same length (min = max new tokens, 24 by default: a
Chinese translation of a 20-token English caption is about that many pieces), so the arithmetic is the real
model's and does not depend on what random weights say. Tokenizing (sentencepiece, microseconds) is left out.

Variants, measured in the same run: fp32 greedy (the baseline), int8 greedy (dynamic quantization of the
Linear layers: what the app uses), and fp32 with 4 beams (what the published generation config asks for).

    .venv/bin/python bench/bench_translate.py               # 20 runs each, 2 threads
    .venv/bin/python bench/bench_translate.py --runs 5 --threads 1

Prints the CPU, its relevant flags, and p50 / p90 in ms, with ratios to the baseline. Run it on a quiet
machine: other processes on the same cores change the figures.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# Helsinki-NLP/opus-mt-en-zh config.json
OPUS_MT_EN_ZH = dict(
    vocab_size=65001, decoder_vocab_size=65001, d_model=512, encoder_layers=6, decoder_layers=6,
    encoder_attention_heads=8, decoder_attention_heads=8, encoder_ffn_dim=2048, decoder_ffn_dim=2048,
    max_position_embeddings=512, activation_function="swish", scale_embedding=True, pad_token_id=65000,
    decoder_start_token_id=65000, eos_token_id=0, forced_eos_token_id=0, share_encoder_decoder_embeddings=True,
    static_position_embeddings=True,
)
FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16", "amx_int8", "fma")


def cpu_description() -> str:
    model, flags = platform.processor() or "unknown CPU", set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name") and model in ("", "unknown CPU", platform.processor()):
                model = line.split(":", 1)[1].strip()
            elif line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return f"{model}; flags: {' '.join(f for f in FLAGS if f in flags) or '-'}"


def build(precision: str):
    import torch
    from transformers import MarianConfig, MarianMTModel

    from describe_aloud.engine.captioners.hf import quantize_int8

    torch.manual_seed(0)
    model = MarianMTModel(MarianConfig(**OPUS_MT_EN_ZH)).eval()
    return quantize_int8(model) if precision == "int8" else model


def time_generate(model, *, tokens: int, new_tokens: int, beams: int, runs: int) -> list[float]:
    import torch

    g = torch.Generator().manual_seed(1)
    source = torch.randint(10, 60000, (1, tokens), generator=g)
    source[0, -1] = 0  # </s>
    inputs = {"input_ids": source, "attention_mask": torch.ones_like(source)}
    kwargs = dict(num_beams=beams, do_sample=False, min_new_tokens=new_tokens, max_new_tokens=new_tokens)
    with torch.inference_mode():
        model.generate(**inputs, **kwargs)  # warm-up: first-call costs are paid once at load in the app
        samples = []
        for _ in range(runs):
            started = time.perf_counter()
            model.generate(**inputs, **kwargs)
            samples.append((time.perf_counter() - started) * 1000)
    return samples


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--caption-tokens", type=int, default=20)
    parser.add_argument("--new-tokens", type=int, default=24)
    args = parser.parse_args(argv)

    # The app's thread policy (idle OpenMP threads spin briefly, then sleep), set before torch is imported,
    # exactly as cli/main.py does: with libgomp's default long spin, a busy machine makes every decoding
    # step wait for spinning threads.
    from describe_aloud.cli.main import _set_thread_policy

    _set_thread_policy()
    import torch
    import transformers

    torch.set_num_threads(args.threads)
    print(f"CPU: {cpu_description()}; {os.cpu_count()} logical CPUs; load average before: "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(f"torch {torch.__version__}, transformers {transformers.__version__}, threads {args.threads}, "
          f"quantized engine {torch.backends.quantized.engine}, GOMP_SPINCOUNT {os.environ.get('GOMP_SPINCOUNT')}")
    source_tokens = args.caption_tokens + 2  # >>cmn_Hans<< and </s>
    print(f"opus-mt-en-zh size, random weights; source {source_tokens} tokens, {args.new_tokens} new tokens, "
          f"{args.runs} runs (+1 warm-up)")
    variants = (("fp32 greedy (baseline)", "fp32", 1), ("int8 greedy (the app)", "int8", 1),
                ("fp32 4 beams (published config)", "fp32", 4))
    baseline = None
    for label, precision, beams in variants:
        model = build(precision)
        samples = sorted(time_generate(model, tokens=source_tokens, new_tokens=args.new_tokens, beams=beams,
                                       runs=args.runs))
        p50 = statistics.median(samples)
        p90 = samples[min(len(samples) - 1, int(round(0.9 * (len(samples) - 1))))]
        baseline = baseline or p50
        print(f"{label:34s} p50 {p50:7.1f} ms   p90 {p90:7.1f} ms   x{p50 / baseline:.2f} of the baseline")
        del model
    print(f"load average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())} (figures taken beside other "
          "work are slower than on a quiet machine)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
