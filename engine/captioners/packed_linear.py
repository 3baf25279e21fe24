"""bf16 Linear layers whose weights are packed once into oneDNN's blocked layout (CPU only).

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

What changes on a packed layer: its `weight` parameter is replaced by the packed tensor (kept as a plain
attribute, not a parameter), so it costs no extra memory (a weight tied to an embedding, GIT's output layer,
keeps the embedding's own copy: +47 MB for GIT-base). A packed model cannot be saved or trained; the app only
runs it.
"""
from __future__ import annotations

import functools
import logging
from typing import Any

log = logging.getLogger(__name__)


@functools.lru_cache(maxsize=1)
def packed_linear_works() -> bool:
    """True when the private oneDNN operators exist here and match F.linear bit for bit on a probe."""
    try:
        import torch

        ops = torch.ops.mkldnn
        if not torch.backends.mkldnn.is_available():
            return False
        reorder, linear = ops._reorder_linear_weight, ops._linear_pointwise
        generator = torch.Generator().manual_seed(0)
        weight = torch.randn(48, 64, generator=generator).to(torch.bfloat16)
        bias = torch.randn(48, generator=generator).to(torch.bfloat16)
        x = torch.randn(2, 3, 64, generator=generator).to(torch.bfloat16)
        with torch.inference_mode():
            got = linear(x, reorder(weight), bias, "none", [], "")
            want = torch.nn.functional.linear(x, weight, bias)
        return bool(got.shape == want.shape and torch.equal(got, want))
    except Exception:  # noqa: BLE001 - a missing or changed private operator: use the plain path
        log.info("oneDNN packed linear is not usable here", exc_info=True)
        return False


def pack_linear_layers(model: Any) -> int:
    """Pack the weights of every bf16 `nn.Linear` of `model` (on the CPU). Returns how many were packed;
    0 (and the model untouched) when the operators are not usable here."""
    import torch

    if not packed_linear_works():
        return 0
    packed = 0
    for module in list(model.modules()):
        if type(module) is not torch.nn.Linear:
            continue
        weight = module.weight
        if weight.dtype != torch.bfloat16 or weight.device.type != "cpu":
            continue
        with torch.no_grad():
            packed_weight = torch.ops.mkldnn._reorder_linear_weight(weight.detach())
        del module.weight  # the Parameter: freed unless tied to another module (an embedding)
        module.packed_weight = packed_weight
        module.__class__ = packed_class()
        packed += 1
    return packed


def _packed_class() -> type:
    import torch

    class _PackedLinear(torch.nn.Linear):
        """An nn.Linear whose weight is packed (see the module docstring). Inference only."""

        packed_weight: Any

        def forward(self, x):  # noqa: D401 - same contract as nn.Linear.forward
            if x.dtype != torch.bfloat16:
                x = x.to(torch.bfloat16)
            return torch.ops.mkldnn._linear_pointwise(x, self.packed_weight, self.bias, "none", [], "")

        def extra_repr(self) -> str:
            return f"in_features={self.in_features}, out_features={self.out_features}, packed bf16"

    _PackedLinear.__name__ = _PackedLinear.__qualname__ = "PackedLinear"
    return _PackedLinear


@functools.lru_cache(maxsize=1)
def packed_class() -> type:
    """The PackedLinear class (made on first use: torch is imported only when a model is packed)."""
    return _packed_class()


__all__ = ["pack_linear_layers", "packed_class", "packed_linear_works"]
