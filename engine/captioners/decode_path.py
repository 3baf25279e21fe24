"""Which decode path is fastest on THIS CPU: plain `nn.Linear` or weights packed for oneDNN
(engine.captioners.packed_linear), in bf16 (CPUs with native bf16) or fp32 (all others: most laptops).
Measured once per CPU and precision at model load, cached with the CPU's identity.

fp32: PyTorch's plain fp32 Linear goes to MKL, which on the AMD EPYC here (also limited to AVX2) streamed a
one-token product at 14-16 GB/s where oneDNN's packed kernel reached 35-39 GB/s: GIT-base's caption 0.80 ->
0.46 s (0.93 -> 0.66 s limited to AVX2), same captions. The products differ from MKL's in fp32's last bits
(another summation order), so the captions are compared in tests/engine/test_packed_linear.py and the
benches. Only the lean GIT loader packs fp32 weights (it copies them out of the file first); models loaded
by transformers stay plain in fp32 (see pack_if_faster).

Why measure: what is faster depends on the CPU. On an Intel Xeon with AMX, packing made GIT-base's decoding
Linear layers 1.6x faster; on CPUs whose oneDNN bf16 kernels are different (AVX512-BF16 without AMX, AMD)
the plain path may be as fast, and a speed-up that exists on one CPU is not one on another. Both paths give
the same caption (bit-identical products), so the choice is about speed only.

The measurement: the Linear shapes of one decoding step (one token; the model's own in/out sizes), plain
and packed in turns (A B A B, so a load change hits both), median per path; packed is chosen when it is at
least MIN_GAIN faster. ~0.1-0.3 s, once: the result is kept in data_dir()/decode-path.json under a key made
of the CPU model, its flags, the torch version and the thread count (only when the machine was quiet while
measuring: a choice made on a busy machine is used once, then measured again at the next start).
`DESCRIBE_ALOUD_PACKED_LINEAR=1` / `0` forces the choice (benchmarks, bug reports).
"""
from __future__ import annotations

import json
import logging
import os
import statistics
import time
from pathlib import Path
from typing import Any, Callable

from describe_aloud.engine import environment
from describe_aloud.engine.device import cpu_model_and_flags

log = logging.getLogger(__name__)

PATH_PLAIN = "plain"
PATH_PACKED = "packed"
MIN_GAIN = 1.05  # packed must be this much faster (5 %) to be chosen: below that, stay on the public API
ENV_FORCE = environment.PACKED_LINEAR.name  # benches and tests set it
CACHE_NAME = "decode-path.json"
_FLAGS_OF_NOTE = ("avx2", "avx512f", "avx512_bf16", "avx512_vnni", "amx_bf16", "amx_tile", "amx_int8")


def cpu_identity() -> str:
    """CPU model + bf16-relevant flags + torch version + threads: what the fastest path depends on."""
    import torch

    model, flags = cpu_model_and_flags()
    noted = "+".join(f for f in _FLAGS_OF_NOTE if f in flags) or "-"
    return f"{model}|{noted}|torch {torch.__version__}|{torch.get_num_threads()} threads"


def linear_shapes(model: Any) -> list[tuple[int, int]]:
    """(in, out) of the distinct Linear layers of `model`, most used first, at most 4 (what one step uses);
    none once they are packed."""
    import torch

    seen: dict[tuple[int, int], int] = {}
    for module in model.modules():
        if isinstance(module, torch.nn.Linear) and getattr(module, "weight", None) is not None:
            shape = (module.in_features, module.out_features)
            seen[shape] = seen.get(shape, 0) + 1
    # The most used shapes first (a decoder's q/k/v/o and MLP), then the largest (an output layer).
    by_use = sorted(seen, key=lambda s: (-seen[s], -s[0] * s[1]))
    return by_use[:4]


def measure(shapes: list[tuple[int, int]], *, rounds: int = 5, calls: int = 20,
            precision: str = "bf16") -> dict[str, float]:
    """Median ms of one pass over `shapes` (one token each) per path, plain and packed interleaved."""
    import torch

    from describe_aloud.engine.device import torch_dtype

    dtype = torch_dtype(precision)
    generator = torch.Generator().manual_seed(0)
    layers = []
    for n_in, n_out in shapes:
        weight = torch.randn(n_out, n_in, generator=generator).to(dtype)
        layers.append((weight, torch.ops.mkldnn._reorder_linear_weight(weight), torch.zeros(n_out, dtype=dtype),
                       torch.randn(1, 1, n_in, generator=generator).to(dtype)))

    def plain() -> None:
        for weight, _, bias, x in layers:
            torch.nn.functional.linear(x, weight, bias)

    def packed() -> None:
        for _, packed_weight, bias, x in layers:
            torch.ops.mkldnn._linear_pointwise(x, packed_weight, bias, "none", [], "")

    samples: dict[str, list[float]] = {PATH_PLAIN: [], PATH_PACKED: []}
    with torch.inference_mode():
        plain(), packed()  # first calls: oneDNN builds its kernels
        for _ in range(rounds):
            for name, run in ((PATH_PLAIN, plain), (PATH_PACKED, packed)):
                t0 = time.perf_counter()
                for _ in range(calls):
                    run()
                samples[name].append((time.perf_counter() - t0) * 1000 / calls)
    return {name: statistics.median(values) for name, values in samples.items()}


def choose_path(model: Any, cache_file: Path | None = None, precision: str = "bf16") -> str:
    """PATH_PACKED or PATH_PLAIN for `model`'s Linear layers in `precision` on this CPU (see the module
    docstring)."""
    from describe_aloud.engine.captioners.packed_linear import packed_linear_works

    forced = environment.PACKED_LINEAR.get() or ""
    if forced in ("0", "1"):
        return PATH_PACKED if forced == "1" and packed_linear_works(precision) else PATH_PLAIN
    if not packed_linear_works(precision):
        return PATH_PLAIN
    shapes = linear_shapes(model)
    if not shapes:
        return PATH_PLAIN
    key = f"{cpu_identity()}|{';'.join(f'{i}x{o}' for i, o in shapes)}"
    if precision != "bf16":  # bf16's key as it always was: a kept choice stays valid
        key += f"|{precision}"

    def decide(times: dict[str, float]) -> str:
        return PATH_PACKED if times[PATH_PLAIN] >= MIN_GAIN * times[PATH_PACKED] else PATH_PLAIN

    try:
        return measured_choice(key, lambda: measure(shapes, precision=precision), decide, cache_file,
                               what=f"decode path ({precision})")
    except Exception:  # noqa: BLE001 - the operators misbehave on a real shape: stay plain
        log.info("measuring the packed decode path failed; using the plain one", exc_info=True)
        return PATH_PLAIN


def measured_choice(key: str, measure_times: Callable[[], dict[str, float]],
                    decide: Callable[[dict[str, float]], str], cache_file: Path | None = None, *,
                    what: str = "choice", keep_when_busy: bool = False) -> str:
    """The choice kept under `key` (made with cpu_identity() in it), else `decide(measure_times())`, kept
    when the machine was quiet while measuring (or always, with `keep_when_busy`, for a result that does
    not depend on the load, such as a quality check). The one measure-once-per-CPU mechanism: the captioner's
    decode path (choose_path) and the translator's precision (engine.translation_speed) go through it.
    Exceptions of `measure_times` reach the caller (which falls back to its safe choice)."""
    cache_file = cache_file or _default_cache_file()
    cached = _read_cache(cache_file).get(key)
    if isinstance(cached, dict) and isinstance(cached.get("path"), str):
        return cached["path"]
    times = measure_times()
    choice = decide(times)
    log.info("%s on this CPU: %s (%s)", what, choice, ", ".join(f"{k} {v:.3f}" for k, v in times.items()))
    if keep_when_busy or _machine_is_quiet():
        _write_cache(cache_file, key, {"path": choice, "measured": {k: round(v, 4) for k, v in times.items()}})
    else:  # other programs had the cores: this choice is used now, and measured again at the next start
        log.info("the machine is busy: the %s is measured again next time", what)
    return choice


def packing_chosen(model: Any, device: str, precision: str) -> bool:
    """Whether `model`'s Linear weights are to be packed here (bf16 or fp32 on a CPU, when `choose_path`
    finds that faster). `model` may be on the meta device: only its layers' shapes are read."""
    from describe_aloud.engine.captioners.packed_linear import PRECISIONS

    return precision in PRECISIONS and device == "cpu" and choose_path(model, precision=precision) == PATH_PACKED


def pack_if_faster(model: Any, device: str, precision: str) -> int:
    """bf16 on a CPU: pack a transformers-loaded `model`'s Linear weights for oneDNN when `choose_path` finds
    that faster here (the captioners and the ask model share this one measurement). Returns how many layers
    were packed. fp32 stays plain here: transformers leaves fp32 weights as views of the file's mapping,
    which then stays resident beside the packed copies (+880 MB measured for Florence-2-base, also with the
    other weights copied); the lean GIT loader, which gives its weights memory of their own, packs fp32 too
    (packing_chosen)."""
    from describe_aloud.engine.captioners.packed_linear import pack_linear_layers

    if precision != "bf16" or not packing_chosen(model, device, precision):
        return 0
    return pack_linear_layers(model, precision)


def _machine_is_quiet() -> bool:
    """Fewer runnable processes than cores (the 1-minute load average), where the system tells."""
    try:
        return os.getloadavg()[0] < (os.cpu_count() or 1)
    except (AttributeError, OSError):  # Windows has no load average
        return True


def _default_cache_file() -> Path:
    from describe_aloud.engine.config import data_dir

    return data_dir() / CACHE_NAME


def _read_cache(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_cache(path: Path, key: str, value: dict[str, Any]) -> None:
    data = _read_cache(path)
    data[key] = value
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        log.info("could not keep the decode path choice in %s", path, exc_info=True)


__all__ = ["ENV_FORCE", "PATH_PACKED", "PATH_PLAIN", "choose_path", "cpu_identity", "linear_shapes", "measure",
           "measured_choice", "pack_if_faster", "packing_chosen"]
