"""How many torch threads the Asker's decoding steps use on THIS CPU: one, or the process's count, whichever
runs a step's Linear work faster, measured once per CPU (engine.captioners.decode_path.measured_choice, the
cache the captioners' packed path and the translator's precision use).

Why: a decoding step is ~210 small products of ONE token (SmolVLM-256M: 30 layers x 7 Linear layers + the
output layer). With two threads every operator hands half its work to the second thread and waits for it;
when other programs have that core, each of those waits lasts until the scheduler gives it back. Measured on
the 2-core AMD EPYC test machine (bf16, packed, load 2.8, interleaved in one process): a step took 23.8 ms
with one thread and 208 ms with two. On a quiet machine two threads may win; hence the measurement. The
image and the question's tokens (many tokens at once: real parallel work) keep the process's thread count.
One thread gives the same logits as two in bf16 (checked on the full-size model); the answer-equals-generate
test covers the rest.
"""
from __future__ import annotations

import logging
import statistics
import time
from pathlib import Path
from typing import Any

from describe_aloud.engine.device import torch_threads

log = logging.getLogger(__name__)

MIN_GAIN = 1.10  # one thread must be this much faster to be chosen (the process's setting is the default)


def step_linear_layers(model: Any) -> list[Any]:
    """The Linear modules one decoding step calls, in order: each text layer's attention and MLP, then the
    output layer (the vision tower does not run in a decoding step)."""
    import torch

    text = model.model.text_model
    layers = [m for layer in text.layers for m in layer.modules() if isinstance(m, torch.nn.Linear)]
    return layers + [model.lm_head]


def measure(model: Any, thread_counts: list[int], *, rounds: int = 5) -> dict[int, float]:
    """Median ms of one step's Linear calls (the model's own modules, one token) per thread count, interleaved."""
    import torch

    layers = step_linear_layers(model)
    dtype = next((p.dtype for p in model.lm_head.parameters()), torch.float32)
    inputs = [torch.zeros(1, 1, m.in_features, dtype=dtype) for m in layers]

    def one_step() -> None:
        for module, x in zip(layers, inputs):
            module(x)

    samples: dict[int, list[float]] = {n: [] for n in thread_counts}
    with torch_threads(), torch.inference_mode():
        for threads in thread_counts:  # first calls build the kernels
            torch.set_num_threads(threads)
            one_step()
        for _ in range(rounds):
            for threads in thread_counts:
                torch.set_num_threads(threads)
                started = time.perf_counter()
                one_step()
                samples[threads].append((time.perf_counter() - started) * 1000)
    return {n: statistics.median(v) for n, v in samples.items()}


def decode_threads(model: Any, *, cache_file: Path | None = None) -> int | None:
    """1 when a decoding step runs faster with one thread here, else None (keep the process's count)."""
    import torch

    from describe_aloud.engine.captioners.decode_path import cpu_identity, measured_choice

    threads = torch.get_num_threads()
    if threads <= 1 or model.device.type != "cpu":
        return None
    try:
        layers = step_linear_layers(model)
    except AttributeError:  # not the Idefics3 layout: leave the threads alone
        return None
    shapes = sorted({(m.in_features, m.out_features) for m in layers})
    key = "ask-threads|" + cpu_identity() + f"|{model.dtype}|{len(layers)}|" + ";".join(f"{i}x{o}" for i, o in shapes)

    def decide(times: dict[int, float]) -> str:
        return "1" if times[threads] >= MIN_GAIN * times[1] else str(threads)

    try:
        chosen = measured_choice(key, lambda: measure(model, [threads, 1]), decide, cache_file,
                                 what="ask decoding threads")
    except Exception:  # noqa: BLE001 - a kernel misbehaves: keep the process's setting
        log.info("measuring the ask decoding threads failed", exc_info=True)
        return None
    return 1 if chosen == "1" else None


__all__ = ["MIN_GAIN", "decode_threads", "measure", "step_linear_layers"]
