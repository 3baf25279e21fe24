"""Fused attention (PyTorch SDPA) for GIT's text decoder, which transformers only ships in an eager version.

Why: GIT-base is the default captioner and its decoder runs once per word. Its eager attention is four small
operators per layer (two matmuls, a softmax, a mask add), each paying the per-operator cost on every step;
`torch.nn.functional.scaled_dot_product_attention` does the same arithmetic in one fused kernel. Measured on
the 2-core test machine (full-size GIT-base, bf16, 21 tokens): a caption took 0.314 s instead of 0.356 s.

Same results: in fp32 the captions and logits are identical to the eager ones; in bf16 both are the same
approximation of the fp32 logits (mean absolute difference to fp32 0.0053 for both, argmax agreement 100 %
for SDPA, 99.5 % for eager, measured on 21 teacher-forced positions). The vision encoder is left as it is:
SDPA saved nothing there (72 vs 71 ms), its matrix products dominate.

Applied by changing the class of each loaded `GitSelfAttention` module (same weights, same attributes);
a transformers release whose GIT attention no longer looks like the one this was written for is left eager.
"""
from __future__ import annotations

import logging
from typing import Any

from describe_aloud.engine.captioners.decode_attention import single_query_attention, takes_matmul_path

log = logging.getLogger(__name__)

# What the fused forward reads from a GitSelfAttention module (transformers 5).
_EXPECTED_ATTRIBUTES = ("query", "key", "value", "attention_head_size", "all_head_size", "layer_idx")


def use_sdpa_in_git_decoder(model: Any) -> int:
    """Switch every GitSelfAttention in `model` to the fused version. Returns how many were switched (0 when
    the model has none, or transformers' GIT is not the shape this was written for)."""
    try:
        from transformers.models.git.modeling_git import GitSelfAttention
    except ImportError:
        return 0
    fused = _fused_class(GitSelfAttention)
    switched = 0
    for module in model.modules():
        if type(module) is not GitSelfAttention:
            continue
        if not all(hasattr(module, name) for name in _EXPECTED_ATTRIBUTES):
            log.info("GIT attention has an unexpected shape in this transformers version: left eager")
            return switched
        module.__class__ = fused
        switched += 1
    return switched


_FUSED: dict[type, type] = {}


def _fused_class(base: type) -> type:
    """A subclass of transformers' GitSelfAttention with an SDPA forward (made once, on first use, because
    transformers is only imported when a model loads)."""
    if base in _FUSED:
        return _FUSED[base]
    import torch

    class GitSdpaSelfAttention(base):  # type: ignore[misc, valid-type]
        def forward(self, hidden_states, attention_mask=None, past_key_values=None, **kwargs):
            input_shape = hidden_states.shape[:-1]
            hidden_shape = (*input_shape, -1, self.attention_head_size)
            query = self.query(hidden_states).view(hidden_shape).transpose(1, 2)
            key = self.key(hidden_states).view(hidden_shape).transpose(1, 2)
            value = self.value(hidden_states).view(hidden_shape).transpose(1, 2)
            if past_key_values is not None:
                key, value = past_key_values.update(key, value, self.layer_idx)
            # The mask GitModel builds is additive (0 / large negative), as SDPA takes it; the default scale
            # 1/sqrt(head size) is the eager one; no dropout (the captioner runs in eval mode). A decoding
            # step over the ~200 cached tokens is faster as two matrix products (decode_attention).
            if takes_matmul_path(query, key):
                context = single_query_attention(query, key, value, attention_mask, self.attention_head_size ** -0.5)
            else:
                context = torch.nn.functional.scaled_dot_product_attention(query, key, value,
                                                                           attn_mask=attention_mask)
            context = context.transpose(1, 2).reshape(*input_shape, self.all_head_size)
            return context, None  # no attention probabilities: nothing here asks for them

    _FUSED[base] = GitSdpaSelfAttention
    return GitSdpaSelfAttention


__all__ = ["use_sdpa_in_git_decoder"]
