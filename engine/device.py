"""Device and precision choice shared by every backend.

bf16 only where it is native (CUDA with bf16, or a CPU with AVX512-BF16 / AMX); int8 only when asked,
because dynamic quantization changes outputs.
"""
from __future__ import annotations

import contextlib
import functools
import platform
from collections.abc import Iterator
from pathlib import Path

from describe_aloud.engine import environment
from describe_aloud.engine.i18n import N_

# The one list of precisions, with what each means to a user (Settings shows the words, `--precision` the keys).
PRECISION_LABELS = {
    "auto": N_("Automatic (bf16 where the processor supports it)"),
    "fp32": N_("fp32 (exact, slower)"),
    "fp16": N_("fp16 (graphics card only)"),
    "bf16": N_("bf16"),
    "int8": N_("int8 (fastest on a CPU; may change descriptions)"),
}
PRECISIONS = tuple(PRECISION_LABELS)


@functools.lru_cache(maxsize=1)
def cpu_model_and_flags() -> tuple[str, frozenset[str]]:
    """The CPU's model name and instruction-set flags (Linux: /proc/cpuinfo's first processor; elsewhere
    what Python says, and no flags). Read once: what the fast paths, their cached choices and the benches'
    reports all describe the CPU by."""
    model, flags = platform.processor() or platform.machine(), frozenset()
    try:
        for line in Path("/proc/cpuinfo").read_text(errors="ignore").splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and value.strip():
                model = value.strip()
            elif key.strip() == "flags":
                flags = frozenset(value.split())
                break
    except OSError:
        pass
    return model, flags


def cpu_has_native_bf16() -> bool:
    flags = cpu_model_and_flags()[1]
    return "avx512_bf16" in flags or "amx_bf16" in flags


def resolve_device(device: str = "auto") -> str:
    import torch

    if device != "auto":
        return device
    if torch.cuda.is_available():
        return "cuda"
    return "cpu"


def resolve_precision(precision: str, device: str) -> str:
    """Turn 'auto' into a concrete precision for this device. Never turns anything into int8."""
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}; choose one of {', '.join(PRECISIONS)}")
    if precision != "auto":
        return precision
    if device.startswith("cuda"):
        import torch

        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    if environment.NO_BF16.get() == "1":
        return "fp32"
    return "bf16" if cpu_has_native_bf16() else "fp32"


def torch_dtype(precision: str):
    import torch

    return {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16, "int8": torch.float32}[precision]


@contextlib.contextmanager
def torch_threads(count: int | None = None) -> Iterator[None]:
    """Run the block with `count` torch threads (None: as they are), and leave the count as it was found.

    torch's thread count belongs to the calling thread once it has run an op, so a measurement or a decode
    step that wants another count must put it back before it returns or yields: the caller's next model call
    would otherwise run with it. The block may change the count itself (measurements try several)."""
    import torch

    before = torch.get_num_threads()
    if count is not None and count != before:
        torch.set_num_threads(count)
    try:
        yield
    finally:
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)
