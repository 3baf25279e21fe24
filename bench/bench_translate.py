"""Benchmark translating one caption (engine.translation): what translation adds to a description.

The model is MarianMT at the full size of Helsinki-NLP/opus-mt-en-zh (the config values of its config.json:
vocabulary 65001, d_model 512, 6 + 6 layers, 8 heads, FFN 2048, sinusoidal positions, shared embeddings),
with random weights (no hub, no download). The source is a 20-token caption (plus the >>cmn_Hans<< target
token and </s>); every translation is forced to the same length (min = max new tokens, 24 by default: a
Chinese translation of a 20-token English caption is about that many pieces), so the arithmetic is the real
model's and does not depend on what random weights say. Tokenizing (sentencepiece, microseconds) is left out.

Variants, interleaved run by run in the same process (a load change hits all of them):
- generate fp32: transformers' greedy generate, the baseline; generate int8: what the app used before;
- lean fp32 / bf16 / int8: engine.translation_decode's loop (fp32: checked token for token against generate),
  bf16 with oneDNN-packed weights, int8 dynamic quantization; with the app's thread count and with 1 thread.
Then what engine.translation_speed chooses on this CPU (measured here, not kept), and int8's agreement with
fp32 on random weights (the mechanism only: random weights say nothing about real translations).

    .venv/bin/python bench/bench_translate.py               # 20 runs each, 2 threads
    .venv/bin/python bench/bench_translate.py --runs 5 --threads 1

Prints the CPU, its relevant flags, the load average before and after, and per variant p50 / p90 wall time
in ms, p50 CPU time (all threads), and the ratio to the baseline.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from _machine import cpu_line  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# Helsinki-NLP/opus-mt-en-zh config.json
OPUS_MT_EN_ZH = dict(
    vocab_size=65001, decoder_vocab_size=65001, d_model=512, encoder_layers=6, decoder_layers=6,
    encoder_attention_heads=8, decoder_attention_heads=8, encoder_ffn_dim=2048, decoder_ffn_dim=2048,
    max_position_embeddings=512, activation_function="swish", scale_embedding=True, pad_token_id=65000,
    decoder_start_token_id=65000, eos_token_id=0, forced_eos_token_id=0, share_encoder_decoder_embeddings=True,
    static_position_embeddings=True,
)


def build(precision: str):
    import torch
    from transformers import MarianConfig, MarianMTModel

    from describe_aloud.engine.translation_speed import convert

    torch.manual_seed(0)
    return convert(MarianMTModel(MarianConfig(**OPUS_MT_EN_ZH)).eval(), precision)


def source_inputs(tokens: int):
    import torch

    g = torch.Generator().manual_seed(1)
    source = torch.randint(10, 60000, (1, tokens), generator=g)
    source[0, -1] = 0  # </s>
    return source, torch.ones_like(source)


def variants(threads: int, new_tokens: int):
    """(label, model precision, runner(model, ids, mask), threads) per variant."""
    from describe_aloud.engine.translation_decode import greedy_generate

    def generate(model, ids, mask):
        return model.generate(input_ids=ids, attention_mask=mask, num_beams=1, do_sample=False,
                              min_new_tokens=new_tokens, max_new_tokens=new_tokens)

    def lean(model, ids, mask):
        return greedy_generate(model, ids, mask, min_new_tokens=new_tokens, max_new_tokens=new_tokens)

    out = [("generate fp32 (baseline)", "fp32", generate, threads),
           ("generate int8 (the old default)", "int8", generate, threads)]
    for count in sorted({threads, 1}, reverse=True):
        for precision in ("fp32", "bf16", "int8"):
            out.append((f"lean {precision}, {count} thread{'s' if count > 1 else ''}", precision, lean, count))
    return out


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--caption-tokens", type=int, default=20)
    parser.add_argument("--new-tokens", type=int, default=24)
    args = parser.parse_args(argv)

    # The app's thread policy (idle OpenMP threads spin briefly, then sleep), set before torch is imported,
    # exactly as cli/main.py does.
    from describe_aloud.cli.main import _set_thread_policy

    _set_thread_policy()
    import tempfile

    import torch
    import transformers

    from describe_aloud.engine import translation_speed
    from describe_aloud.engine.translation_decode import greedy_generate

    torch.set_num_threads(args.threads)
    print(f"CPU: {cpu_line()}; load average before: "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(f"torch {torch.__version__}, transformers {transformers.__version__}, threads {args.threads}, "
          f"GOMP_SPINCOUNT {os.environ.get('GOMP_SPINCOUNT')}")
    source_tokens = args.caption_tokens + 2  # >>cmn_Hans<< and </s>
    print(f"opus-mt-en-zh size, random weights; source {source_tokens} tokens, {args.new_tokens} new tokens, "
          f"{args.runs} runs each, interleaved (+1 warm-up)")
    ids, mask = source_inputs(source_tokens)
    models = {p: build(p) for p in ("fp32", "bf16", "int8")}
    table = variants(args.threads, args.new_tokens)
    wall: dict[str, list[float]] = {label: [] for label, *_ in table}
    cpu: dict[str, list[float]] = {label: [] for label, *_ in table}
    with torch.inference_mode():
        want = table[0][2](models["fp32"], ids, mask)
        same = torch.equal(want, greedy_generate(models["fp32"], ids, mask, min_new_tokens=args.new_tokens,
                                                 max_new_tokens=args.new_tokens))
        print(f"lean fp32 gives generate's tokens: {'yes' if same else 'NO'}")
        for label, precision, run, count in table:  # warm-up: first-call costs are paid at load in the app
            torch.set_num_threads(count)
            run(models[precision], ids, mask)
        for _ in range(args.runs):
            for label, precision, run, count in table:
                torch.set_num_threads(count)
                started, cpu_started = time.perf_counter(), time.process_time()
                run(models[precision], ids, mask)
                wall[label].append((time.perf_counter() - started) * 1000)
                cpu[label].append((time.process_time() - cpu_started) * 1000)
    torch.set_num_threads(args.threads)
    baseline = statistics.median(wall[table[0][0]])
    for label, *_ in table:
        p50 = statistics.median(wall[label])
        print(f"{label:34s} p50 {p50:7.1f} ms   p90 {percentile(wall[label], 0.9):7.1f} ms   "
              f"CPU {statistics.median(cpu[label]):7.1f} ms   x{baseline / p50:.2f} faster than the baseline")
    with tempfile.TemporaryDirectory() as folder, torch.inference_mode():
        def tokens(model):
            return lambda _texts: greedy_generate(model, ids, mask, max_new_tokens=args.new_tokens).tolist()

        agreement = translation_speed.int8_agreement(tokens(models["fp32"]), tokens(models["int8"]))
        good = agreement >= translation_speed.MIN_INT8_AGREEMENT
        fresh = build("fp32")
        precision, count = translation_speed.choose(fresh, lambda: good, cache_file=Path(folder) / "choice.json")
    print(f"int8 agreement with fp32 on random weights: {agreement:.0%} (the check {'passes' if good else 'fails'})")
    print(f"the app's choice on this CPU now: {precision}, {count} thread{'s' if count > 1 else ''}")
    print(f"load average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())} (figures taken beside other "
          "work are slower than on a quiet machine)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
