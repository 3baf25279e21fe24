"""The translator's precision and thread count on THIS CPU, measured once (engine.captioners.decode_path's
measure-once-per-CPU cache), and the quality check int8 must pass before it is used.

Why measure: a translation is ~25 decoding steps of ONE token each, so it is bound by streaming the weights
(opus-mt-en-zh: 22 M decoder parameters plus a 65001 x 512 output layer, read on every step) and by the fixed
cost of each operator. Which precision is fastest differs per CPU: on the 2-core AMD EPYC test machine with
AVX512-BF16 (busy: 3 other programs on 2 cores) a translation took 790 ms in fp32, 317 ms in packed bf16 and
186 ms in int8 with one thread, and each of them 3-8x longer with two threads, whose per-operator hand-over
waits for the busy second core; an earlier version of the app made int8 its default because an Intel machine
measured it faster, and there int8 was slower than fp32 with two threads. So the candidates (fp32, bf16 with
packed weights, int8; with the app's thread count and with one thread) are timed on the model's own Linear
shapes, as one decoding step calls them, interleaved, and the fastest is taken when it beats the best fp32
one by MIN_GAIN.

Why check int8: fp32 gives exactly the model's translations; bf16 and int8 approximate them. bf16 keeps
fp32's range and is what the captioners run in on such CPUs; dynamic int8 quantization can change words, so
int8 is only used after it translated REFERENCE_CAPTIONS with at least MIN_INT8_AGREEMENT of fp32's tokens
(checked once per model and CPU, kept in the same cache).
"""
from __future__ import annotations

import logging
import statistics
import time
from collections import Counter
from pathlib import Path
from typing import Any, Callable

from describe_aloud.engine.device import torch_threads

log = logging.getLogger(__name__)

FP32, BF16, INT8 = "fp32", "bf16", "int8"
MIN_GAIN = 1.10  # a precision that changes outputs must be at least 10 % faster than fp32 to replace it
MIN_INT8_AGREEMENT = 0.9  # share of fp32's tokens int8 must reproduce on the reference captions
# Typical captioner output (GIT, BLIP, Florence-2 on photos and screens): what the app translates.
REFERENCE_CAPTIONS = (
    "a dog sitting on a couch next to a window",
    "a man riding a bike down a city street",
    "a screenshot of a computer screen with a web page",
    "a plate of food with rice and vegetables on a table",
    "two people standing in front of a building",
    "a cat lying on a bed",
    "a group of children playing soccer in a park",
    "a close up of a text document on a desk",
)


def candidate(precision: str, threads: int) -> str:
    return f"{precision}/{threads}"


def parse_candidate(name: str) -> tuple[str, int]:
    precision, _, threads = name.partition("/")
    return precision, int(threads or 1)


def step_linear_workload(model: Any) -> list[tuple[int, int, int]]:
    """(in, out, calls) of the Linear layers one decoding step runs: each decoder layer's self-attention
    (q, k, v, out), cross-attention (q, out: its keys and values are computed once), feed-forward, and the
    output layer."""
    import torch

    calls: Counter[tuple[int, int]] = Counter()
    for layer in model.model.decoder.layers:
        for name in ("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.out_proj",
                     "encoder_attn.q_proj", "encoder_attn.out_proj", "fc1", "fc2"):
            module = layer.get_submodule(name)
            if isinstance(module, torch.nn.Linear):
                calls[(module.in_features, module.out_features)] += 1
    head = model.get_output_embeddings()
    calls[(head.in_features, head.out_features)] += 1
    return [(n_in, n_out, n) for (n_in, n_out), n in sorted(calls.items())]


def measure(workload: list[tuple[int, int, int]], thread_counts: list[int], *, rounds: int = 5,
            passes: int = 3) -> dict[str, float]:
    """Median ms of one step's Linear calls per candidate (precision x threads), candidates interleaved."""
    import torch

    from describe_aloud.engine.captioners.hf_loading import quantize_int8
    from describe_aloud.engine.captioners.packed_linear import packed_linear_works

    generator = torch.Generator().manual_seed(0)
    layers: dict[str, list[tuple[Callable[[], Any], int]]] = {FP32: [], BF16: [], INT8: []}
    packed = packed_linear_works()
    for n_in, n_out, n in workload:
        linear = torch.nn.Linear(n_in, n_out)
        with torch.no_grad():
            linear.weight.copy_(torch.randn(n_out, n_in, generator=generator) * 0.02)
        x = torch.randn(1, 1, n_in, generator=generator)
        weight, bias = linear.weight.detach(), linear.bias.detach()
        layers[FP32].append((lambda w=weight, b=bias, x=x: torch.nn.functional.linear(x, w, b), n))
        w16, b16, x16 = weight.to(torch.bfloat16), bias.to(torch.bfloat16), x.to(torch.bfloat16)
        if packed:
            p16 = torch.ops.mkldnn._reorder_linear_weight(w16)
            layers[BF16].append((lambda w=p16, b=b16, x=x16: torch.ops.mkldnn._linear_pointwise(
                x, w, b, "none", [], ""), n))
        else:
            layers[BF16].append((lambda w=w16, b=b16, x=x16: torch.nn.functional.linear(x, w, b), n))
        quantized = quantize_int8(torch.nn.Sequential(linear))
        layers[INT8].append((lambda q=quantized, x=x: q(x), n))

    def one_step(precision: str) -> None:
        for run, n in layers[precision]:
            for _ in range(n):
                run()

    names = [candidate(p, t) for t in thread_counts for p in layers]
    samples: dict[str, list[float]] = {name: [] for name in names}
    with torch_threads(), torch.inference_mode():
        for name in names:  # first calls build the kernels
            precision, threads = parse_candidate(name)
            torch.set_num_threads(threads)
            one_step(precision)
        for _ in range(rounds):
            for name in names:
                precision, threads = parse_candidate(name)
                torch.set_num_threads(threads)
                started = time.perf_counter()
                for _ in range(passes):
                    one_step(precision)
                samples[name].append((time.perf_counter() - started) * 1000 / passes)
    return {name: statistics.median(values) for name, values in samples.items()}


def ranking(times: dict[str, float]) -> list[str]:
    """Candidates to try, best first: every reduced precision at least MIN_GAIN faster than the fastest fp32
    one (fastest first), then that fp32 one (always usable, and always last)."""
    fp32 = min((name for name in times if parse_candidate(name)[0] == FP32), key=times.__getitem__)
    faster = sorted((name for name in times if parse_candidate(name)[0] != FP32
                     and times[fp32] >= MIN_GAIN * times[name]), key=times.__getitem__)
    return [*faster, fp32]


def choose(model: Any, int8_is_good: Callable[[], bool], *, cache_file: Path | None = None) -> tuple[str, int]:
    """(precision, threads) for the fp32 `model` on this CPU. The speed ranking is measured once per CPU and
    kept; int8 is taken only when `int8_is_good()` (the quality check, see int8_agreement)."""
    import torch

    from describe_aloud.engine.captioners.decode_path import cpu_identity, measured_choice

    threads = torch.get_num_threads()
    thread_counts = sorted({threads, 1}, reverse=True)
    workload = step_linear_workload(model)
    key = "translation|" + cpu_identity() + "|" + ";".join(f"{i}x{o}x{n}" for i, o, n in workload)
    try:
        ranked = measured_choice(key, lambda: measure(workload, thread_counts), lambda t: ">".join(ranking(t)),
                                 cache_file, what="translation precision").split(">")
    except Exception:  # noqa: BLE001 - a kernel missing on this CPU: fp32 is always there
        log.info("measuring the translation precisions failed; using fp32", exc_info=True)
        return FP32, threads
    for name in ranked:
        precision, count = parse_candidate(name)
        if precision == INT8 and not int8_is_good():
            continue
        return precision, min(count, threads) if count > 0 else threads
    return FP32, threads


def int8_agreement(fp32_translate: Callable[[list[str]], list[list[int]]],
                   int8_translate: Callable[[list[str]], list[list[int]]]) -> float:
    """Share of fp32's output tokens that int8 reproduces at the same position, over REFERENCE_CAPTIONS."""
    texts = list(REFERENCE_CAPTIONS)
    same = total = 0
    for want, got in zip(fp32_translate(texts), int8_translate(texts)):
        total += max(len(want), len(got))
        same += sum(1 for a, b in zip(want, got) if a == b)
    return same / total if total else 0.0


def int8_is_good_cached(key: str, check: Callable[[], float], cache_file: Path | None = None) -> bool:
    """The int8 quality check for one model on this CPU, run once and kept (decode_path's cache)."""
    from describe_aloud.engine.captioners.decode_path import cpu_identity, measured_choice

    def verdict(result: dict[str, float]) -> str:
        return "ok" if result["agreement"] >= MIN_INT8_AGREEMENT else "refused"

    full_key = f"translation int8 quality|{cpu_identity()}|{key}"
    try:
        return measured_choice(full_key, lambda: {"agreement": check()}, verdict, cache_file,
                               what="int8 translation quality", keep_when_busy=True) == "ok"
    except Exception:  # noqa: BLE001 - a failed check is a failed check: fp32 or bf16 is used
        log.info("the int8 translation check failed to run", exc_info=True)
        return False


def prepare(model: Any, tokenizer: Any, target_token: str | None, precision: str, *,
            model_key: str, cache_file: Path | None = None) -> tuple[Any, str, int | None]:
    """(the model in its precision, that precision, threads or None) for a freshly loaded fp32 translation
    model. "auto" measures (once per CPU) and checks int8's quality (once per model and CPU)."""
    threads = None
    if precision == "auto":
        def good() -> bool:
            return int8_is_good_cached(model_key, lambda: _agreement(model, tokenizer, target_token), cache_file)

        precision, threads = choose(model, good, cache_file=cache_file)
    return convert(model, precision), precision, threads


def convert(model: Any, precision: str) -> Any:
    """An fp32 model in `precision`: int8 (dynamic quantization, in place), bf16 (with oneDNN-packed weights
    where that works here, as measure() timed it), or fp32 (as it is)."""
    import torch

    from describe_aloud.engine.captioners.hf_loading import quantize_int8
    from describe_aloud.engine.captioners.packed_linear import pack_linear_layers

    if precision == INT8:
        return quantize_int8(model)
    if precision == BF16:
        model.to(torch.bfloat16)
        pack_linear_layers(model)
    return model


def _agreement(model: Any, tokenizer: Any, target_token: str | None) -> float:
    import copy

    from describe_aloud.engine.translation_decode import generate_ids

    def run(m: Any) -> Callable[[list[str]], list[list[int]]]:
        return lambda texts: generate_ids(m, tokenizer, texts, target_token).tolist()

    quantized = convert(copy.deepcopy(model), INT8)
    agreement = int8_agreement(run(model), run(quantized))
    log.info("int8 translation reproduces %.1f %% of fp32's tokens on the reference captions", agreement * 100)
    return agreement


__all__ = ["BF16", "FP32", "INT8", "REFERENCE_CAPTIONS", "choose", "convert", "int8_agreement",
           "int8_is_good_cached", "measure", "prepare", "ranking", "step_linear_workload"]
