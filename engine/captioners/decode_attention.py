"""Attention for one new token over many cached ones (a decoding step), done as two matrix products.

Why: while a caption is generated, each step has ONE query attending to every cached key (GIT: the 197
image tokens and the words so far; Florence-2's cross-attention: 577+ image tokens). On a CPU in bf16,
PyTorch's fused SDPA kernel is slow for that shape; plain scores -> softmax -> weighted sum is several
times faster. Measured on the 2-core test machine (12 heads of 64, bf16, microseconds per call):

    keys      64   128   200   300   590
    SDPA      56    98   119   175   426
    matmul    67    52    57    55    72

so from 128 keys on, and only in bf16 / fp16 on the CPU (in fp32 both take the same time), a decoding step
takes the matmul path; everything else (the prompt, the image encoders, short self-attention) stays SDPA.
Grouped-query attention takes it too (SmolVLM-256M's text model: 9 query heads over 3 key/value heads; one
thread, 204 keys: SDPA 247 us, matmul 53 us per call, and a token makes 30 calls).
The softmax is computed in fp32, as transformers' own eager attention does, so this is at least as exact as
the eager implementation these models were written with.

Two users: engine.captioners.git_attention (GIT's own attention class) and, for every family whose attention
goes through transformers' AttentionInterface, the implementation registered here as "sdpa_decode".
"""
from __future__ import annotations

from typing import Any

IMPLEMENTATION = "sdpa_decode"
MIN_KEYS = 128


def takes_matmul_path(query: Any, key: Any) -> bool:
    """True for a decoding step (one query) over at least MIN_KEYS keys, in reduced precision on a CPU."""
    import torch

    return (
        query.shape[-2] == 1
        and key.shape[-2] >= MIN_KEYS
        and query.dtype in (torch.bfloat16, torch.float16)
        and query.device.type == "cpu"
    )


def single_query_attention(query: Any, key: Any, value: Any, mask: Any, scale: float) -> Any:
    """softmax(q k^T * scale + mask) v for (batch, heads, queries, dim) tensors. `mask` may be None, a bool
    mask (True: may attend) or an additive float mask, broadcastable to the scores."""
    import torch

    scores = torch.matmul(query, key.transpose(-1, -2)) * scale
    if mask is not None:
        if mask.dtype == torch.bool:
            scores = scores.masked_fill(~mask, torch.finfo(scores.dtype).min)
        else:
            scores = scores + mask
    probs = torch.softmax(scores, dim=-1, dtype=torch.float32).to(value.dtype)
    return torch.matmul(probs, value)


def sdpa_decode_attention(module, query, key, value, attention_mask, dropout=0.0, scaling=None, is_causal=None,
                          **kwargs):
    """transformers' SDPA attention, except for decoding steps over many keys (see the module docstring).
    Same arguments and result layout (batch, queries, heads, dim) as transformers' sdpa_attention_forward."""
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    groups = getattr(module, "num_key_value_groups", 1) or 1
    plain = (
        not getattr(module, "training", False)
        and key.shape[1] * groups == query.shape[1]
        and (groups == 1 or attention_mask is None or attention_mask.shape[1] == 1)
        and kwargs.get("position_bias") is None
        and kwargs.get("cache") is None
        and not kwargs.get("output_attentions", False)
    )
    if plain and takes_matmul_path(query, key):
        scale = scaling if scaling is not None else query.shape[-1] ** -0.5
        batch, heads, _, dim = query.shape
        # Grouped-query attention (SmolVLM's Llama: 9 query heads over 3 key/value heads): the one query of each
        # head of a group becomes a row, so a group's heads share one product with their key/value head, without
        # copying the keys (what repeat_kv does). Head i uses key/value head i // groups, as in transformers.
        grouped = query.reshape(batch, heads // groups, groups, dim)
        out = single_query_attention(grouped, key, value, attention_mask, scale).reshape(batch, heads, 1, dim)
        return out.transpose(1, 2).contiguous(), None
    return sdpa_attention_forward(module, query, key, value, attention_mask, dropout=dropout, scaling=scaling,
                                  is_causal=is_causal, **kwargs)


def use_sdpa_decode(model: Any) -> bool:
    """Switch a loaded model that uses transformers' SDPA to "sdpa_decode" (registered on first use, with
    SDPA's masks). Returns whether it was switched."""
    from transformers import AttentionInterface
    from transformers.masking_utils import ALL_MASK_ATTENTION_FUNCTIONS, AttentionMaskInterface, sdpa_mask

    if getattr(model.config, "_attn_implementation", None) != "sdpa":
        return False
    if IMPLEMENTATION not in ALL_MASK_ATTENTION_FUNCTIONS._global_mapping:
        AttentionMaskInterface.register(IMPLEMENTATION, sdpa_mask)
        AttentionInterface.register(IMPLEMENTATION, sdpa_decode_attention)
    model.set_attn_implementation(IMPLEMENTATION)
    return True


__all__ = ["IMPLEMENTATION", "MIN_KEYS", "single_query_attention", "takes_matmul_path", "use_sdpa_decode"]
