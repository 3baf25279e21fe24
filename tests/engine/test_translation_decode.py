"""The translator's lean greedy loop (engine.translation_decode) gives exactly generate's tokens in fp32, and
its precision is chosen per CPU from a measurement, int8 only after a quality check
(engine.translation_speed)."""
from __future__ import annotations

import pytest

from describe_aloud.engine import translation_speed
from describe_aloud.engine.captioners import decode_path
from describe_aloud.engine.translation import generate_ids, load_translator
from describe_aloud.engine.translation_decode import _MarianSteps, greedy_generate, lean_loop_fits
from tests.fixtures.tiny_marian import ENGLISH, TARGET_TOKEN

TEXTS = ["a dog sitting on a sofa", "person", "a man riding a bike down a long street next to a red car"]


@pytest.fixture(scope="module")
def fp32(tiny_marian_dir):
    return load_translator(str(tiny_marian_dir), language="zh_CN", precision="fp32")


def _inputs(translator, texts):
    return translator.tokenizer([f"{TARGET_TOKEN} {t}" for t in texts], return_tensors="pt", padding=True)


def _both(model, inputs, **limits):
    import torch

    with torch.inference_mode():
        want = model.generate(**inputs, num_beams=1, do_sample=False, **limits)
        got = greedy_generate(model, inputs["input_ids"], inputs["attention_mask"], **limits)
    return want, got


@pytest.mark.parametrize("limits", [{"max_new_tokens": 20}, {"max_new_tokens": 3},
                                    {"max_new_tokens": 12, "min_new_tokens": 12}])
def test_the_lean_loop_gives_generates_tokens_for_single_and_padded_batches(fp32, limits):
    import torch

    model = fp32.model
    assert lean_loop_fits(model) and _MarianSteps.fits(model)  # the production path takes the lean loop
    for texts in ([TEXTS[0]], TEXTS, ENGLISH[:6]):
        want, got = _both(model, _inputs(fp32, texts), **limits)
        assert torch.equal(want, got), (texts, limits, want.tolist(), got.tolist())
    # The test is not empty: the outputs differ between sources and carry real tokens.
    out = generate_ids(model, fp32.tokenizer, TEXTS, TARGET_TOKEN).tolist()
    assert len({tuple(row) for row in out}) >= 2


def test_transformers_own_decoder_path_gives_the_same_tokens_with_eager_attention(tiny_marian_dir):
    import torch

    translator = load_translator(str(tiny_marian_dir), language="zh_CN", precision="fp32")
    translator.model.set_attn_implementation("eager")
    assert lean_loop_fits(translator.model) and not _MarianSteps.fits(translator.model)
    want, got = _both(translator.model, _inputs(translator, TEXTS), max_new_tokens=16)
    assert torch.equal(want, got)


def test_a_generation_rule_the_loop_lacks_sends_the_model_to_generate(fp32):
    fp32.model.generation_config.no_repeat_ngram_size = 2
    try:
        assert not lean_loop_fits(fp32.model)
        assert fp32.translate_one("a cat lying on a bed")  # generate translates it
    finally:
        fp32.model.generation_config.no_repeat_ngram_size = None


def test_int8_is_never_chosen_where_it_is_slower_and_a_reduced_precision_must_clearly_win():
    times = {"fp32/2": 10.0, "bf16/2": 6.0, "int8/2": 12.0, "fp32/1": 9.0, "bf16/1": 8.5, "int8/1": 11.0}
    assert translation_speed.ranking(times) == ["bf16/2", "fp32/1"]
    # 5 % faster is not enough to give up fp32's exact translations.
    assert translation_speed.ranking({"fp32/2": 10.0, "bf16/2": 9.5, "int8/2": 9.6}) == ["fp32/2"]


def test_the_choice_is_measured_once_per_cpu_and_int8_needs_its_quality_check(fp32, monkeypatch, tmp_path):
    monkeypatch.setattr(decode_path, "_machine_is_quiet", lambda: True)
    calls = []

    def int8_fastest(workload, thread_counts, **_kwargs):
        calls.append(thread_counts)
        assert (32, 32, 12) in workload  # the tiny decoder: 2 layers x (4 self + 2 cross) projections
        return {f"{p}/{t}": {"fp32": 10.0, "bf16": 7.0, "int8": 3.0}[p] for p in ("fp32", "bf16", "int8")
                for t in thread_counts}

    monkeypatch.setattr(translation_speed, "measure", int8_fastest)
    cache = tmp_path / "decode-path.json"
    assert translation_speed.choose(fp32.model, lambda: True, cache_file=cache)[0] == "int8"
    assert translation_speed.choose(fp32.model, lambda: False, cache_file=cache)[0] == "bf16"
    assert len(calls) == 1  # the second start read the kept measurement
    assert decode_path.cpu_identity() in cache.read_text()


def test_the_int8_quality_check_compares_with_fp32_and_is_kept(fp32, tmp_path):
    def same(texts):
        return generate_ids(fp32.model, fp32.tokenizer, texts, TARGET_TOKEN).tolist()

    def shifted(texts):  # a broken "int8" model: every token wrong
        return [[token + 1 for token in row] for row in same(texts)]

    assert translation_speed.int8_agreement(same, same) == 1.0
    assert translation_speed.int8_agreement(same, shifted) == 0.0
    # The real check on the tiny model: a share of fp32's tokens.
    assert 0.0 <= translation_speed._agreement(fp32.model, fp32.tokenizer, TARGET_TOKEN) <= 1.0
    cache = tmp_path / "decode-path.json"
    assert translation_speed.int8_is_good_cached("m", lambda: 0.5, cache) is False
    assert translation_speed.int8_is_good_cached("m", lambda: 1.0, cache) is False  # kept: not run again
    assert translation_speed.int8_is_good_cached("other", lambda: 0.95, cache) is True


def test_auto_precision_loads_a_translator_that_translates(tiny_marian_dir, monkeypatch):
    monkeypatch.setattr(decode_path, "_machine_is_quiet", lambda: False)  # measured, not kept
    translator = load_translator(str(tiny_marian_dir), language="zh_CN")
    assert translator.precision in ("fp32", "bf16", "int8")
    assert translator.translate_one("a dog sitting on a sofa")
