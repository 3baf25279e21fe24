"""bf16 or fp32 Linear layers whose weights are packed once into oneDNN's blocked layout (CPU only).

Why: on a CPU with native bf16 (AVX512-BF16, AMX) PyTorch runs a bf16 `nn.Linear` through oneDNN, but the
weights stay in PyTorch's plain layout, so oneDNN re-blocks them on every call. A caption is ~20 decoding
steps, each calling every Linear of the decoder with ONE token: the re-blocking is paid 20 times over for
a matrix-vector product that should only stream the weights once. Measured on an Intel Xeon (AMX): a GIT-base
step's 37 Linear layers 9.3 ms as called, 5.7 ms packed; the whole caption 457 -> 344 ms, same caption.

How: `torch.ops.mkldnn._reorder_linear_weight` packs a weight once (an opaque mkldnn tensor),
`torch.ops.mkldnn._linear_pointwise` multiplies with it; both are what `torch.compile` itself uses on CPUs
(inductor's mkldnn fusion). They are PRIVATE operators: `packed_linear_works()` checks that they exist and
give the same numbers as `F.linear` on this machine before anything is packed; without them, or on any
doubt, the model is left as it is (the plain path). Same results: the packed product is oneDNN's own bf16
kernel, bit-identical to F.linear in bf16 (checked by the probe and by tests/engine/test_packed_linear.py).

fp32 too: on a CPU without native bf16 (most laptops) the app decodes in fp32, where PyTorch's Linear goes
to MKL. Measured on an AMD EPYC (and with it limited to AVX2): MKL streamed GIT-base's 768x30522 output
layer at 14-16 GB/s, oneDNN's packed kernel at 35-39 GB/s. oneDNN adds up in another order than MKL, so
fp32 results differ in the last bits (the probe allows that much, no more); whether it is used is measured
per CPU like bf16's (engine.captioners.decode_path), and the captions are compared in the tests and benches.

What changes on a packed layer: its `weight` parameter is replaced by the packed tensor (kept as a plain
attribute, not a parameter), so it costs no extra memory (a weight tied to an embedding, GIT's output layer,
keeps the embedding's own copy: +47 MB for GIT-base in bf16, +94 MB in fp32). A packed model cannot be
saved or trained; the app only runs it.
"""
from __future__ import annotations

import functools
import logging
from typing import Any

from describe_aloud.engine.device import torch_dtype

log = logging.getLogger(__name__)


PRECISIONS = ("bf16", "fp32")


@functools.lru_cache(maxsize=None)
def packed_linear_works(precision: str = "bf16") -> bool:
    """True when the private oneDNN operators exist here and match F.linear on a probe in `precision`:
    bit for bit in bf16, to fp32's last bits in fp32 (another summation order)."""
    try:
        import torch

        ops = torch.ops.mkldnn
        if not torch.backends.mkldnn.is_available():
            return False
        reorder, linear = ops._reorder_linear_weight, ops._linear_pointwise
        dtype = torch_dtype(precision)
        generator = torch.Generator().manual_seed(0)
        weight = torch.randn(48, 64, generator=generator).to(dtype)
        bias = torch.randn(48, generator=generator).to(dtype)
        x = torch.randn(2, 3, 64, generator=generator).to(dtype)
        with torch.inference_mode():
            got = linear(x, reorder(weight), bias, "none", [], "")
            want = torch.nn.functional.linear(x, weight, bias)
        if got.shape != want.shape or got.dtype != want.dtype:
            return False
        if precision == "bf16":
            return bool(torch.equal(got, want))
        return bool(torch.allclose(got, want, rtol=1e-5, atol=1e-5))
    except Exception:  # noqa: BLE001 - a missing or changed private operator: use the plain path
        log.info("oneDNN packed linear is not usable here (%s)", precision, exc_info=True)
        return False


def pack_linear_layers(model: Any, precision: str = "bf16") -> int:
    """Pack the weights of every `nn.Linear` of `model` in `precision` (on the CPU). Returns how many were
    packed; 0 (and the model untouched) when the operators are not usable here."""
    import torch

    if not packed_linear_works(precision):
        return 0
    dtype = torch_dtype(precision)
    packed = 0
    for module in list(model.modules()):
        if type(module) is not torch.nn.Linear:
            continue
        weight = module.weight
        if weight.dtype != dtype or weight.device.type != "cpu":
            continue
        with torch.no_grad():
            packed_weight = torch.ops.mkldnn._reorder_linear_weight(weight.detach())
        del module.weight  # the Parameter: freed unless tied to another module (an embedding)
        module.packed_weight = packed_weight
        module.packed_dtype = dtype
        module.__class__ = packed_class()
        packed += 1
    return packed


def _packed_class() -> type:
    import torch

    class _PackedLinear(torch.nn.Linear):
        """An nn.Linear whose weight is packed (see the module docstring). Inference only."""

        packed_weight: Any
        packed_dtype: Any

        def forward(self, x):  # noqa: D401 - same contract as nn.Linear.forward
            if x.dtype != self.packed_dtype:
                x = x.to(self.packed_dtype)
            return torch.ops.mkldnn._linear_pointwise(x, self.packed_weight, self.bias, "none", [], "")

        def extra_repr(self) -> str:
            return f"in_features={self.in_features}, out_features={self.out_features}, packed {self.packed_dtype}"

    _PackedLinear.__name__ = _PackedLinear.__qualname__ = "PackedLinear"
    return _PackedLinear


@functools.lru_cache(maxsize=1)
def packed_class() -> type:
    """The PackedLinear class (made on first use: torch is imported only when a model is packed)."""
    return _packed_class()


__all__ = ["PRECISIONS", "pack_linear_layers", "packed_class", "packed_linear_works"]
