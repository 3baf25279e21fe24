"""The decoding-step attention (engine.captioners.decode_attention): the same numbers as PyTorch's SDPA,
and used by the loaded models."""
from __future__ import annotations

import pytest
import torch

from describe_aloud import engine
from describe_aloud.engine.captioners.decode_attention import (
    IMPLEMENTATION,
    MIN_KEYS,
    sdpa_decode_attention,
    single_query_attention,
    takes_matmul_path,
)


def _qkv(keys: int, dtype=torch.float32, batch: int = 2):
    g = torch.Generator().manual_seed(keys)
    q = torch.randn(batch, 4, 1, 16, generator=g).to(dtype)
    k = torch.randn(batch, 4, keys, 16, generator=g).to(dtype)
    v = torch.randn(batch, 4, keys, 16, generator=g).to(dtype)
    return q, k, v


@pytest.mark.parametrize("mask_kind", ["none", "bool", "additive"])
def test_single_query_attention_equals_sdpa(mask_kind):
    q, k, v = _qkv(300)
    visible = torch.ones(2, 1, 1, 300, dtype=torch.bool)
    visible[1, ..., 250:] = False  # the second row is padded: its last keys must not count
    mask = {"none": None, "bool": visible,
            "additive": torch.zeros(visible.shape).masked_fill(~visible, torch.finfo(torch.float32).min)}[mask_kind]
    expected = torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    got = single_query_attention(q, k, v, mask, 16 ** -0.5)
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)
    if mask_kind != "none":  # the padded keys really are ignored
        unpadded = single_query_attention(q[1:], k[1:, :, :250], v[1:, :, :250], None, 16 ** -0.5)
        torch.testing.assert_close(got[1:], unpadded, rtol=1e-5, atol=1e-5)


def test_only_bf16_decoding_steps_over_many_keys_take_the_matmul_path():
    assert takes_matmul_path(*_qkv(MIN_KEYS, torch.bfloat16)[:2])
    assert not takes_matmul_path(*_qkv(MIN_KEYS - 1, torch.bfloat16)[:2])  # short: SDPA is as fast
    assert not takes_matmul_path(*_qkv(MIN_KEYS * 4, torch.float32)[:2])  # fp32: SDPA is as fast
    q, k, _ = _qkv(MIN_KEYS * 4, torch.bfloat16)
    assert not takes_matmul_path(q.expand(2, 4, 3, 16), k)  # several queries (a prompt): SDPA


def test_the_registered_attention_matches_sdpa_in_bf16_as_closely_as_fp32_allows():
    q, k, v = _qkv(590, torch.bfloat16)
    module = torch.nn.Module().eval()
    out, weights = sdpa_decode_attention(module, q, k, v, None, scaling=0.25)
    reference = torch.nn.functional.scaled_dot_product_attention(q.float(), k.float(), v.float(), scale=0.25)
    assert weights is None and out.shape == (2, 1, 4, 16)  # transformers' layout: batch, queries, heads, dim
    torch.testing.assert_close(out.float(), reference.transpose(1, 2), rtol=0.02, atol=0.02)


def test_loaded_models_use_it_and_caption_as_before(tiny_florence2_dir, tiny_ved_dir):
    from transformers import AutoModelForImageTextToText
    from tests.engine.test_hf_captioners import _images

    for folder in (tiny_florence2_dir, tiny_ved_dir):
        captioner = engine.load_captioner(str(folder), precision="fp32")
        assert captioner.model.config._attn_implementation == IMPLEMENTATION
        plain = AutoModelForImageTextToText.from_pretrained(str(folder), dtype=torch.float32).eval()
        assert plain.config._attn_implementation == "sdpa"
        images = _images()[:2]
        inputs = captioner.adapter.preprocess(captioner.processor, images, ["caption"] * len(images))
        with torch.inference_mode():
            expected = plain.generate(**inputs, max_new_tokens=6, min_new_tokens=6, do_sample=False)
        got = [r.caption for r in captioner.caption(images, max_new_tokens=6, min_new_tokens=6)]
        assert got == [captioner.adapter.clean(t) for t in
                       captioner.processor.tokenizer.batch_decode(expected, skip_special_tokens=True)]


def test_grouped_query_attention_takes_the_matmul_path_and_matches_sdpa():
    """SmolVLM's Llama: several query heads share one key/value head (head i uses key/value head i // groups)."""
    import describe_aloud.engine.captioners.decode_attention as decode_attention

    g = torch.Generator().manual_seed(7)
    q = torch.randn(1, 6, 1, 16, generator=g).to(torch.bfloat16)
    k = torch.randn(1, 2, 300, 16, generator=g).to(torch.bfloat16)
    v = torch.randn(1, 2, 300, 16, generator=g).to(torch.bfloat16)
    module = torch.nn.Module().eval()
    module.num_key_value_groups = 3
    calls = []
    original = decode_attention.single_query_attention
    decode_attention.single_query_attention = lambda *a: calls.append(a) or original(*a)
    try:
        out, _ = sdpa_decode_attention(module, q, k, v, None, scaling=0.25)
    finally:
        decode_attention.single_query_attention = original
    reference = torch.nn.functional.scaled_dot_product_attention(q.float(), k.float(), v.float(), scale=0.25,
                                                                 enable_gqa=True)
    assert len(calls) == 1 and out.shape == (1, 1, 6, 16)
    torch.testing.assert_close(out.float(), reference.transpose(1, 2), rtol=0.02, atol=0.02)
