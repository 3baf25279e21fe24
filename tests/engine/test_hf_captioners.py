"""The Hugging Face captioner backend, with tiny random-weight models of each real family loaded through the
same `from_pretrained` path as a hub id (see tests/fixtures/tiny_models.py)."""
from __future__ import annotations

import re
import os
import shutil
import socket
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from describe_aloud.engine.invocation import user_command
from describe_aloud import engine
from describe_aloud.engine.captioners.hf import HFCaptioner, clean_caption, florence_objects
from describe_aloud.engine.errors import ModelLoadError, ModelNotAvailable
from tests.fixtures.tiny_models import install_in_hub_cache

FAMILY_FIXTURES = {
    "git": "tiny_git_dir",
    "blip": "tiny_blip_dir",
    "florence2": "tiny_florence2_dir",
    "vision-encoder-decoder": "tiny_ved_dir",
}


def _images() -> list[Image.Image]:
    """Three clearly different pictures, in sizes and modes a user might give."""
    red = Image.new("RGB", (80, 50), (200, 20, 20))
    shapes = Image.new("RGB", (64, 96), "white")
    draw = ImageDraw.Draw(shapes)
    draw.ellipse((5, 5, 50, 50), fill="blue")
    draw.rectangle((10, 60, 60, 90), fill="green")
    grey = Image.new("L", (40, 40), 90)  # not RGB: the backend converts it
    return [red, shapes, grey]


@pytest.fixture(autouse=True)
def transformers_path_for_git(monkeypatch):
    """This file tests the transformers backend, GIT included; the app's own GIT code (which loads GIT
    checkpoints by default) is tests/engine/test_lean_git.py, checked against this path."""
    monkeypatch.setenv("DESCRIBE_ALOUD_LEAN_GIT", "0")


@pytest.fixture(params=sorted(FAMILY_FIXTURES))
def family_dir(request) -> tuple[str, Path]:
    return request.param, request.getfixturevalue(FAMILY_FIXTURES[request.param])


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a connection fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


def test_each_family_loads_by_folder_and_captions_a_batch(family_dir):
    family, path = family_dir
    captioner = engine.load_captioner(str(path))
    assert isinstance(captioner, HFCaptioner)
    assert captioner.family == family
    assert captioner.model_id == str(path)
    assert captioner.device == "cpu"

    images = _images()
    first = captioner.caption(images, max_new_tokens=8)
    second = captioner.caption(images, max_new_tokens=8)

    assert len(first) == len(images)
    for result in first:
        assert isinstance(result.caption, str) and result.caption.strip()
        assert result.caption == clean_caption(result.caption)  # no markup or stray spaces reach the user
        assert set(result.timings_ms) == {"preprocess", "vision", "decode"}
        assert all(v >= 0 for v in result.timings_ms.values())
        assert result.timings_ms["vision"] > 0  # the hook on the vision encoder fired
    assert [r.caption for r in first] == [r.caption for r in second]  # deterministic
    # The image really reaches the decoder: different pictures, different words.
    assert len({r.caption for r in first}) > 1


def test_a_batch_gives_the_same_captions_as_one_image_at_a_time(tiny_git_dir, tiny_florence2_dir):
    # fp32 so that batching cannot change the arithmetic enough to flip a greedy choice.
    for path in (tiny_git_dir, tiny_florence2_dir):
        captioner = engine.load_captioner(str(path), precision="fp32")
        images = _images()
        batched = [r.caption for r in captioner.caption(images, max_new_tokens=6)]
        single = [captioner.caption([im], max_new_tokens=6)[0].caption for im in images]
        assert batched == single


def test_caption_only_families_ignore_detail_and_objects(tiny_git_dir):
    captioner = engine.load_captioner(str(tiny_git_dir))
    assert captioner.capabilities == frozenset({"caption"})
    (result,) = captioner.caption(_images()[:1], detail=True, objects=True, max_new_tokens=5)
    assert result.caption
    assert result.detailed_caption is None
    assert result.objects == []


def test_florence2_detail_and_objects(tiny_florence2_dir):
    captioner = engine.load_captioner(str(tiny_florence2_dir))
    assert captioner.capabilities == frozenset({"caption", "detailed", "objects"})
    captioner.warm_up()  # warms every task
    images = _images()
    results = captioner.caption(images, detail=True, objects=True, max_new_tokens=24)
    assert len(results) == len(images)
    for image, result in zip(images, results):
        assert isinstance(result.caption, str)
        assert isinstance(result.detailed_caption, str)
        for obj in result.objects:
            assert obj.label
            x0, y0, x1, y1 = obj.box
            assert 0 <= x0 <= x1 <= image.width and 0 <= y0 <= y1 <= image.height
    # Without detail, no detailed caption is made.
    (plain,) = captioner.caption(images[:1], max_new_tokens=6)
    assert plain.detailed_caption is None and plain.objects == []


def test_florence2_more_detail_keeps_the_caption_and_looks_at_each_image_once(tiny_florence2_dir):
    from describe_aloud.engine.captioners.hf_loading import find_module as _find_module

    captioner = engine.load_captioner(str(tiny_florence2_dir), precision="fp32")
    vision = _find_module(captioner.model, captioner.adapter.vision_paths)
    batches_seen = []
    handle = vision.register_forward_hook(lambda module, args, output: batches_seen.append(args[0].shape[0]))
    try:
        images = _images()[:2]
        detailed = captioner.caption(images, detail=True, objects=True, max_new_tokens=10)
    finally:
        handle.remove()
    assert batches_seen == [2]  # one vision pass over the two images, shared by the three tasks
    plain = captioner.caption(images, max_new_tokens=10)
    assert [r.caption for r in detailed] == [r.caption for r in plain]
    assert all(r.detailed_caption is not None for r in detailed)


def test_florence2_hands_on_its_answer_as_it_is_decoded(tiny_florence2_dir):
    """"More detail" is said sentence by sentence: with one row to write, the answer so far comes after
    every token, cleaned as the finished one, ending with exactly the finished answer; it changes nothing."""
    captioner = engine.load_captioner(str(tiny_florence2_dir), precision="fp32")
    image = _images()[0]
    so_far: list[str] = []
    (streamed,) = captioner.caption([image], detail=True, plain=False, max_new_tokens=12, min_new_tokens=12,
                                    on_text=so_far.append)
    (quiet,) = captioner.caption([image], detail=True, plain=False, max_new_tokens=12, min_new_tokens=12)
    assert streamed.detailed_caption == quiet.detailed_caption
    assert len(so_far) >= 12 and so_far[-1] == streamed.detailed_caption
    assert not any("<" in text for text in so_far)  # markup is never handed on
    # Two rows (caption and detail) are written side by side: nothing is handed on.
    so_far.clear()
    captioner.caption([image], detail=True, max_new_tokens=4, on_text=so_far.append)
    assert so_far == []


def test_florence2_objects_are_mapped_to_original_pixels(tiny_florence2_dir):
    """The <OD> answer format (label + 4 location bins out of 1000) parsed by the model's own processor."""
    from transformers import AutoProcessor

    processor = AutoProcessor.from_pretrained(tiny_florence2_dir)
    generated = "</s><s>dog<loc_100><loc_200><loc_500><loc_900>red car<loc_0><loc_0><loc_999><loc_999></s>"
    objects = florence_objects(processor, generated, "<OD>", (200, 100))
    assert [o.label for o in objects] == ["dog", "red car"]
    x0, y0, x1, y1 = objects[0].box
    assert (x0, y0, x1, y1) == pytest.approx((20, 20, 100, 90), abs=1)
    assert objects[1].box == pytest.approx((0, 0, 200, 100), abs=1)


def test_florence2_malformed_object_answers_are_not_spoken(tiny_florence2_dir):
    from transformers import AutoProcessor

    processor = AutoProcessor.from_pretrained(tiny_florence2_dir)
    generated = (
        "</s><s>cat<loc_10><loc_10><loc_10><loc_10>"  # a box with no area
        "dog<loc_100><loc_200><loc_500><loc_900>dog<loc_100><loc_200><loc_500><loc_900>"  # said twice
        "<loc_500><loc_31><loc_1><loc_2>"  # one more box for "dog", but inverted (right edge left of left)
        "<loc_300><loc_400></s>"  # location pieces with no label
    )
    objects = florence_objects(processor, generated, "<OD>", (200, 100))
    assert [o.label for o in objects] == ["dog"]


def test_token_budget_is_respected(tiny_git_dir):
    captioner = engine.load_captioner(str(tiny_git_dir))
    tokenizer = captioner.processor.tokenizer
    (short,) = captioner.caption(_images()[:1], max_new_tokens=3)
    assert 1 <= len(tokenizer(short.caption, add_special_tokens=False).input_ids) <= 3
    (forced,) = captioner.caption(_images()[:1], max_new_tokens=7, min_new_tokens=7)
    assert len(tokenizer(forced.caption, add_special_tokens=False).input_ids) == 7


def test_warmup_then_caption(tiny_blip_dir):
    captioner = engine.load_captioner(str(tiny_blip_dir))
    captioner.warm_up()
    assert captioner.caption(_images()[:2], max_new_tokens=4)[1].caption


def test_cached_hub_id_loads_offline_without_opening_a_socket(tiny_git_dir, no_network, monkeypatch):
    cache = Path(os.environ["HF_HUB_CACHE"])
    install_in_hub_cache(tiny_git_dir, "microsoft/git-base-coco", cache)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    captioner = engine.load_captioner("git-base")
    assert captioner.model_id == "microsoft/git-base-coco"
    assert captioner.family == "git"
    assert captioner.caption(_images()[:1], max_new_tokens=4)[0].caption


def test_a_cached_model_is_read_from_disk_even_when_downloads_are_allowed(tiny_blip_dir, no_network):
    install_in_hub_cache(tiny_blip_dir, "Salesforce/blip-image-captioning-base", Path(os.environ["HF_HUB_CACHE"]))
    captioner = engine.load_captioner("blip-base", local_files_only=False)
    assert captioner.family == "blip"


def test_a_half_downloaded_model_is_not_available(tiny_git_dir):
    snapshot = install_in_hub_cache(tiny_git_dir, "microsoft/git-base-coco", Path(os.environ["HF_HUB_CACHE"]))
    (snapshot / "model.safetensors").unlink()  # interrupted before the weights arrived
    with pytest.raises(ModelNotAvailable, match=re.escape(user_command("models", "download", "git-base"))):
        engine.load_captioner("git-base")


def test_odd_image_sizes_and_modes(family_dir):
    _, path = family_dir
    captioner = engine.load_captioner(str(path))
    odd = [
        Image.new("RGBA", (1, 1), (255, 0, 0, 0)),
        Image.new("P", (900, 3)),
        Image.new("I;16", (7, 200)),
        Image.new("CMYK", (33, 33), (0, 255, 0, 0)),
    ]
    results = captioner.caption(odd, max_new_tokens=4)
    assert len(results) == 4 and all(isinstance(r.caption, str) for r in results)


def test_uncached_model_names_the_download_command(no_network):
    with pytest.raises(ModelNotAvailable) as err:
        engine.load_captioner("florence-2-base")
    assert user_command("models", "download", "florence-2-base") in str(err.value)
    assert err.value.exit_code == 2
    with pytest.raises(ModelNotAvailable) as err:
        engine.load_captioner("Salesforce/blip-image-captioning-base")
    assert user_command("models", "download", "blip-base") in str(err.value)


def test_unknown_name_lists_the_catalog():
    with pytest.raises(ModelNotAvailable) as err:
        engine.load_captioner("git-bse")
    assert "git-base" in str(err.value) and "florence-2-base" in str(err.value)


def test_int8_on_a_tiny_model(tiny_git_dir):
    import torch

    captioner = engine.load_captioner(str(tiny_git_dir), precision="int8")
    assert captioner.precision == "int8"
    linears = [m for m in captioner.model.modules() if type(m) is torch.nn.Linear]
    assert linears == []  # every Linear became a dynamically quantized one
    results = captioner.caption(_images(), max_new_tokens=5)
    assert len(results) == 3 and all(r.caption for r in results)


def test_corrupt_weights_give_a_clear_error(tiny_blip_dir, tmp_path):
    broken = tmp_path / "broken-model"
    shutil.copytree(tiny_blip_dir, broken)
    (broken / "model.safetensors").write_bytes(b"not a safetensors file" * 10)
    with pytest.raises(ModelLoadError) as err:
        engine.load_captioner(str(broken))
    message = str(err.value)
    assert "broken-model" in message and "could not be loaded" in message


def test_folder_without_a_model_or_of_another_kind(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ModelLoadError, match="no config.json"):
        engine.load_captioner(str(empty))
    text_only = tmp_path / "bert"
    text_only.mkdir()
    (text_only / "config.json").write_text('{"model_type": "bert"}')
    with pytest.raises(ModelLoadError, match=r"kind of model \(.bert.\) is not one this app can use"):
        engine.load_captioner(str(text_only))
    with pytest.raises(ModelLoadError, match="not a model folder"):
        engine.load_captioner(str(tmp_path / "missing"))


def test_blip_invented_words_are_not_spoken():
    from describe_aloud.engine.captioners.hf import ADAPTERS

    assert ADAPTERS["blip"].clean("arafed view of a city .") == "view of a city."
    assert ADAPTERS["blip"].clean("a giraffe next to araffe") == "a giraffe next to"


def test_clean_caption():
    assert clean_caption("  a dog <loc_12> on  a sofa .</s>") == "a dog on a sofa."
    assert clean_caption("<pad><pad>") == ""


def test_git_decoder_uses_fused_attention_with_the_same_words_and_scores(tiny_git_dir):
    """The default family's decoder runs SDPA (engine.captioners.git_attention) instead of transformers'
    eager attention: the same captions, and the same scores to float precision, as the eager model."""
    import torch
    from transformers import AutoModelForImageTextToText
    from transformers.models.git.modeling_git import GitSelfAttention

    captioner = engine.load_captioner(str(tiny_git_dir), precision="fp32")
    layers = [m for m in captioner.model.modules() if isinstance(m, GitSelfAttention)]
    assert layers and all(type(m).__name__ == "GitSdpaSelfAttention" for m in layers)
    assert captioner.attn_implementation.startswith("sdpa")

    eager = AutoModelForImageTextToText.from_pretrained(str(tiny_git_dir), dtype=torch.float32).eval()
    assert all(type(m) is GitSelfAttention for m in eager.modules() if isinstance(m, GitSelfAttention))
    images = _images()
    inputs = captioner.processor(images=images, return_tensors="pt")
    ids = torch.tensor([[eager.config.bos_token_id, 5, 6, 7]] * len(images))
    with torch.inference_mode():
        fused_logits = captioner.model(input_ids=ids, pixel_values=inputs["pixel_values"]).logits
        eager_logits = eager(input_ids=ids, pixel_values=inputs["pixel_values"]).logits
        eager_ids = eager.generate(**inputs, max_new_tokens=8, min_new_tokens=8, do_sample=False)
    torch.testing.assert_close(fused_logits, eager_logits, rtol=1e-4, atol=1e-4)
    eager_words = [clean_caption(t) for t in captioner.processor.tokenizer.batch_decode(eager_ids, skip_special_tokens=True)]
    fused_words = [r.caption for r in captioner.caption(images, max_new_tokens=8, min_new_tokens=8)]
    assert fused_words == eager_words
