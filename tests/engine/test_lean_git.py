"""The lean GIT captioner (engine.captioners.lean_git) against transformers' GitForCausalLM: tiny random-weight
GIT models of several shapes, saved with save_pretrained, loaded through the app's loader. The lean path must
give the same pixels, the same logits and the same token ids (so the same words) as transformers, in fp32 and
in the app's bf16 path; what it does not cover must go to the transformers path unchanged."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from describe_aloud.engine import environment
from describe_aloud.engine.captioners.hf import HFCaptioner, load_hf_captioner
from describe_aloud.engine.captioners.lean_git.captioner import LeanGitCaptioner
from describe_aloud.engine.captioners.lean_git.config import read_folder
from describe_aloud.engine.captioners.lean_git.preprocess import pixel_values
from tests.fixtures.tiny_models import (
    SEED, TINY_FFN, TINY_HEADS, TINY_HIDDEN, _save, _set_generation_defaults, _spread_weights, _wordpiece_vocab,
    install_in_hub_cache,
)

REPO = Path(__file__).resolve().parents[2]


def _images() -> list[Image.Image]:
    """Pictures of different sizes and shapes (landscape, portrait, smaller than the model's input, grey)."""
    shapes = Image.new("RGB", (96, 64), "white")
    draw = ImageDraw.Draw(shapes)
    draw.ellipse((5, 5, 50, 50), fill="blue")
    draw.rectangle((40, 20, 90, 60), fill="green")
    noise = Image.effect_noise((300, 200), 60).convert("RGB")
    portrait = Image.linear_gradient("L").convert("RGB").resize((90, 130))
    small = Image.new("RGB", (20, 12), (200, 20, 20))
    grey = Image.new("L", (40, 40), 90)
    return [shapes, noise, portrait, small, grey]


def build_git_variant(path: Path, *, image_size: int = 32, patch_size: int = 8, tie: bool = False,
                      vision_act: str = "quick_gelu", text_act: str = "gelu", old_style_preprocessor: bool = False,
                      **config_extra) -> Path:
    """A tiny GitForCausalLM like tests/fixtures/tiny_models.build_tiny_git, with the shape asked for."""
    import torch
    from transformers import BertTokenizer, CLIPImageProcessor, GitConfig, GitForCausalLM, GitProcessor

    torch.manual_seed(SEED)
    vocab = _wordpiece_vocab(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"])
    tokenizer = BertTokenizer(vocab=vocab, model_max_length=64)
    image_processor = CLIPImageProcessor(size={"shortest_edge": image_size},
                                         crop_size={"height": image_size, "width": image_size})
    config = GitConfig(
        vision_config=dict(hidden_size=TINY_HIDDEN, intermediate_size=TINY_FFN, num_hidden_layers=2,
                           num_attention_heads=TINY_HEADS, image_size=image_size, patch_size=patch_size,
                           hidden_act=vision_act),
        vocab_size=len(vocab), hidden_size=TINY_HIDDEN, num_hidden_layers=3, num_attention_heads=TINY_HEADS,
        intermediate_size=TINY_FFN, max_position_embeddings=128, hidden_act=text_act, tie_word_embeddings=tie,
        pad_token_id=vocab["[PAD]"], bos_token_id=vocab["[CLS]"], eos_token_id=vocab["[SEP]"], **config_extra,
    )
    model = GitForCausalLM(config).eval()
    _spread_weights(model)
    _set_generation_defaults(model, suppress=[vocab["[PAD]"], vocab["[UNK]"], vocab["[CLS]"], vocab["[MASK]"]])
    gen = model.generation_config
    gen.bos_token_id, gen.eos_token_id, gen.pad_token_id = vocab["[CLS]"], vocab["[SEP]"], vocab["[PAD]"]
    _save(model, GitProcessor(image_processor=image_processor, tokenizer=tokenizer), path)
    if old_style_preprocessor:  # as microsoft/git-base-coco ships it (2022): sizes as plain numbers
        (path / "processor_config.json").unlink()
        (path / "preprocessor_config.json").write_text(json.dumps({
            "crop_size": image_size, "do_center_crop": True, "do_normalize": True, "do_resize": True,
            "feature_extractor_type": "CLIPFeatureExtractor", "image_mean": [0.48145466, 0.4578275, 0.40821073],
            "image_std": [0.26862954, 0.26130258, 0.27577711], "resample": 3, "size": image_size,
            "processor_class": "GitProcessor"}))
    return path


VARIANTS = {
    "git-base-like": {},
    "large-image-tied": dict(image_size=48, patch_size=16, tie=True),  # git-large: 384 px / 14 px patches
    "odd-patches-untied-gelu-vision": dict(image_size=42, patch_size=14, vision_act="gelu", old_style_preprocessor=True),
}


@pytest.fixture(autouse=True)
def plain_linear_unless_a_test_says(monkeypatch):
    """These tests compare the lean path's arithmetic with transformers': the Linear weights stay plain
    (the per-CPU measurement could pack fp32 ones on another CPU), unless a test packs them itself."""
    monkeypatch.setenv(environment.PACKED_LINEAR.name, "0")


@pytest.fixture(scope="module", params=sorted(VARIANTS))
def git_variant(request, tmp_path_factory) -> Path:
    return build_git_variant(tmp_path_factory.mktemp("git") / request.param, **VARIANTS[request.param])


def _lean(folder: Path, precision: str) -> LeanGitCaptioner:
    captioner = load_hf_captioner(str(folder), precision=precision, device="cpu")
    assert isinstance(captioner, LeanGitCaptioner)
    return captioner


def _transformers(folder: Path, precision: str, monkeypatch) -> HFCaptioner:
    monkeypatch.setenv(environment.LEAN_GIT.name, "0")
    captioner = load_hf_captioner(str(folder), precision=precision, device="cpu")
    monkeypatch.delenv(environment.LEAN_GIT.name)
    assert isinstance(captioner, HFCaptioner)
    return captioner


def test_pixels_are_the_image_processors(git_variant):
    from transformers import AutoImageProcessor

    processor = AutoImageProcessor.from_pretrained(git_variant)
    images = _images()
    want = processor(images=[im.convert("RGB") for im in images], return_tensors="pt")["pixel_values"]
    got = pixel_values(images, read_folder(git_variant).image)
    assert got.dtype == want.dtype and got.shape == want.shape
    assert (got == want).all()


def test_fp32_logits_and_token_ids_are_transformers(git_variant):
    import torch
    from transformers import GitForCausalLM

    lean = _lean(git_variant, "fp32")
    reference = GitForCausalLM.from_pretrained(git_variant, dtype=torch.float32).eval()
    pixels = pixel_values(_images(), lean.folder.image)
    gen = lean.folder.generation
    with torch.inference_mode():
        ids = torch.full((pixels.shape[0], 1), gen.bos_token_id)
        want_logits = reference(input_ids=ids, pixel_values=pixels).logits[:, -1]
        image_tokens = lean.model.encode_image(pixels)
        hidden = torch.cat([image_tokens, lean.model.embed_text(ids, 0)], dim=1)
        mask = lean.model.prefill_mask(image_tokens.shape[1], 1, ids.shape[0], hidden.dtype, hidden.device)
        got_logits = lean.model.step(hidden, mask, [None] * len(lean.model.git.encoder.layer))[:, -1]
        torch.testing.assert_close(got_logits, want_logits, rtol=1e-5, atol=1e-5)
        for budget, minimum in ((12, 3), (25, 0)):
            want = reference.generate(pixel_values=pixels, max_new_tokens=budget, min_new_tokens=minimum,
                                      do_sample=False, num_beams=1)
            got = lean.generate(image_tokens, max_new_tokens=budget, min_new_tokens=minimum)
            assert got.tolist() == want.tolist()


@pytest.mark.parametrize("precision, packed", [("fp32", "0"), ("bf16", "0"), ("bf16", "1")])
def test_captions_are_the_transformers_paths(git_variant, precision, packed, monkeypatch):
    """Through the app's loader both ways: one image at a time and a batch, the same words. In bf16 with the
    Linear weights plain and packed for oneDNN (which the app picks by a measurement: fixed here)."""
    from describe_aloud.engine.captioners.packed_linear import packed_linear_works

    if packed == "1" and not packed_linear_works():
        pytest.skip("oneDNN's packed bf16 Linear is not usable on this CPU")
    monkeypatch.setenv(environment.PACKED_LINEAR.name, packed)
    lean = _lean(git_variant, precision)
    old = _transformers(git_variant, precision, monkeypatch)
    assert lean.precision == old.precision == precision
    assert lean.packed_linear_layers == old.packed_linear_layers
    assert (lean.packed_linear_layers > 0) == (packed == "1")
    images = _images()
    singles = [(lean.caption([im])[0].caption, old.caption([im])[0].caption) for im in images]
    assert all(a == b for a, b in singles), singles
    assert len({a for a, _ in singles}) > 1  # the image reaches the decoder
    assert [r.caption for r in lean.caption(images, max_new_tokens=9)] == \
        [r.caption for r in old.caption(images, max_new_tokens=9)]


def test_the_eos_ends_a_row_and_pads_the_rest_of_the_batch_as_transformers_does(tiny_git_dir, monkeypatch):
    """A checkpoint whose end token comes early for some images: the rows that end get the pad token."""
    import torch

    lean = _lean(tiny_git_dir, "fp32")
    old = _transformers(tiny_git_dir, "fp32", monkeypatch)
    eos = lean.folder.generation.eos_token_ids[0]
    with torch.no_grad():  # make the end token likely, in both models the same way
        lean.model.output.bias[eos] += 6.0
        old.model.output.bias[eos] += 6.0
    images = _images()
    pixels = pixel_values(images, lean.folder.image)
    with torch.inference_mode():
        got = lean.generate(lean.model.encode_image(pixels), max_new_tokens=15, min_new_tokens=1)
        want = old.model.generate(pixel_values=pixels, max_new_tokens=15, min_new_tokens=1, do_sample=False,
                                  num_beams=1)
    assert got.tolist() == want.tolist()
    assert (got == eos).any(dim=1).sum() >= 1 and got.shape[1] > 2


def _edit_json(path: Path, **changes) -> None:
    data = json.loads(path.read_text())
    data.update(changes)
    path.write_text(json.dumps(data))


@pytest.mark.parametrize("change", [
    ("config.json", {"num_image_with_embedding": 2}),
    ("config.json", {"hidden_act": "gelu_new"}),
    ("generation_config.json", {"repetition_penalty": 1.3}),
    ("generation_config.json", {"no_repeat_ngram_size": 3}),
    ("tokenizer.json", None),
    ("knob", None),
])
def test_what_the_lean_path_does_not_cover_loads_with_transformers(tiny_git_dir, tmp_path, change, monkeypatch):
    import shutil

    folder = Path(shutil.copytree(tiny_git_dir, tmp_path / "git"))
    name, edit = change
    if name == "knob":
        monkeypatch.setenv(environment.LEAN_GIT.name, "0")
    elif edit is None:
        (folder / name).unlink()
    else:
        _edit_json(folder / name, **edit)
    captioner = load_hf_captioner(str(folder), precision="fp32", device="cpu")
    assert isinstance(captioner, HFCaptioner)
    if name != "tokenizer.json":  # transformers has no words without it either
        assert captioner.caption([_images()[0]])[0].caption


def test_a_checkpoint_with_an_unexpected_tensor_loads_with_transformers(tiny_git_dir, tmp_path):
    import shutil

    import torch
    from safetensors.torch import load_file, save_file

    folder = Path(shutil.copytree(tiny_git_dir, tmp_path / "git"))
    tensors = load_file(folder / "model.safetensors")
    tensors["git.extra_head.weight"] = torch.zeros(3, 3)
    save_file(tensors, folder / "model.safetensors", metadata={"format": "pt"})
    assert isinstance(load_hf_captioner(str(folder), precision="fp32", device="cpu"), HFCaptioner)


def test_the_default_captioner_loads_and_captions_without_importing_transformers(tiny_git_dir, tmp_path):
    """The goal of the lean path: a fresh interpreter loads the default captioner (microsoft/git-base-coco,
    here a tiny GIT in the hub cache) through the app's production path, captions, and has imported neither
    transformers nor torch._dynamo (the seconds at start-up the lean path exists to save)."""
    hf_home = tmp_path / "hf"
    install_in_hub_cache(tiny_git_dir, "microsoft/git-base-coco", hf_home / "hub")
    script = (
        "import sys\n"
        "from PIL import Image\n"
        "from describe_aloud.engine import load_captioner\n"
        "captioner = load_captioner()\n"
        "captioner.warm_up()\n"
        "caption = captioner.caption([Image.new('RGB', (64, 48), (200, 30, 30))])[0].caption\n"
        "assert caption.strip(), caption\n"
        "print(type(captioner).__name__, captioner.model_id, repr(caption))\n"
        "heavy = [m for m in ('transformers', 'torch._dynamo', 'torchvision') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    env = {**os.environ, "HF_HOME": str(hf_home), "PYTHONPATH": str(REPO)}
    env.pop("HF_HUB_CACHE", None)
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.startswith("LeanGitCaptioner microsoft/git-base-coco")


@pytest.mark.parametrize("weights", ["model.safetensors", "pytorch_model.bin"])
def test_a_2022_style_checkpoint_loads_lean_with_the_same_words(tiny_git_dir, tmp_path, weights, monkeypatch):
    """As microsoft/git-base-coco was saved (transformers 4.2x): no tie_word_embeddings in config.json, the
    position_ids buffers stored with the weights, maybe only a PyTorch .bin, the tokenizer's clean-up of
    spaces on."""
    import shutil

    import torch
    from safetensors.torch import load_file, save_file

    folder = Path(shutil.copytree(tiny_git_dir, tmp_path / "git"))
    config = json.loads((folder / "config.json").read_text())
    del config["tie_word_embeddings"]
    (folder / "config.json").write_text(json.dumps(config))
    _edit_json(folder / "tokenizer_config.json", clean_up_tokenization_spaces=True)
    tensors = load_file(folder / "model.safetensors")
    tensors["git.embeddings.position_ids"] = torch.arange(config["max_position_embeddings"])[None]
    tensors["git.image_encoder.vision_model.embeddings.position_ids"] = torch.arange(17)[None]
    (folder / "model.safetensors").unlink()
    if weights == "pytorch_model.bin":
        torch.save(tensors, folder / weights)
    else:
        save_file(tensors, folder / weights, metadata={"format": "pt"})
    lean = _lean(folder, "fp32")
    old = _transformers(folder, "fp32", monkeypatch)
    assert lean._clean_up and old.processor.tokenizer.clean_up_tokenization_spaces
    images = _images()
    assert [r.caption for r in lean.caption(images)] == [r.caption for r in old.caption(images)]


def test_damaged_weights_give_the_load_error_sentence(tiny_git_dir, tmp_path):
    """A download cut short: the same clear ModelLoadError as the transformers path gives, not a crash."""
    import shutil

    from describe_aloud.engine.errors import ModelLoadError

    folder = Path(shutil.copytree(tiny_git_dir, tmp_path / "git"))
    weights = folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    with pytest.raises(ModelLoadError, match="could not be loaded"):
        load_hf_captioner(str(folder), precision="fp32", device="cpu")
