"""Packed bf16 Linear weights (engine.captioners.packed_linear) give the captions of the plain path, through
the production loader; without the private oneDNN operator the model stays plain; the per-CPU choice is
measured once and kept (engine.captioners.decode_path)."""
from __future__ import annotations

import platform

import pytest
import torch
from PIL import Image

from describe_aloud import engine
from describe_aloud.engine.captioners import decode_path, packed_linear


@pytest.fixture(autouse=True)
def _fresh_probe():
    packed_linear.packed_linear_works.cache_clear()
    yield
    packed_linear.packed_linear_works.cache_clear()


def _images():
    # Deterministic pictures (Image.effect_noise differs on every call).
    return [Image.new("RGB", (64, 48), (200, 40, 40)), Image.linear_gradient("L").resize((64, 64)).convert("RGB")]


def _captions(path, monkeypatch, force: str, precision: str = "bf16"):
    monkeypatch.setenv(decode_path.ENV_FORCE, force)
    captioner = engine.load_captioner(str(path), precision=precision, device="cpu")
    return captioner, [r.caption for r in captioner.caption(_images())]


@pytest.mark.parametrize("precision", ["bf16", "fp32"])
def test_packed_weights_give_the_same_captions_as_plain_ones(tiny_git_dir, monkeypatch, precision):
    """bf16 where the CPU has it natively, fp32 on every other CPU (most laptops): both packed."""
    if platform.machine().lower() in ("x86_64", "amd64"):
        assert packed_linear.packed_linear_works(precision), "every x86-64 torch build has oneDNN's packed linear"
    elif not packed_linear.packed_linear_works(precision):
        pytest.skip("oneDNN packed linear is not in this torch build (not x86-64)")
    plain, plain_captions = _captions(tiny_git_dir, monkeypatch, "0", precision)
    packed, packed_captions = _captions(tiny_git_dir, monkeypatch, "1", precision)
    assert plain.packed_linear_layers == 0
    linears = sum(isinstance(m, torch.nn.Linear) for m in plain.model.modules())
    assert packed.packed_linear_layers == linears > 0
    assert all(caption for caption in plain_captions)
    assert packed_captions == plain_captions


def _mapped(path) -> bool:
    return str(path) in open("/proc/self/maps", encoding="utf-8").read()


@pytest.mark.skipif(platform.system() != "Linux", reason="reads /proc/self/maps")
def test_packed_fp32_weights_are_not_kept_beside_the_file_they_came_from(tiny_git_dir, monkeypatch, tmp_path):
    """An fp32 file's weights are views of its mapping: the plain path keeps them so (pages never read are
    never loaded); the packed path copies them, so the file's pages do not stay resident beside the packed
    copies (+590 MB for GIT-base)."""
    import gc
    import shutil

    if not packed_linear.packed_linear_works("fp32"):
        pytest.skip("oneDNN packed linear is not in this torch build")
    folder = tmp_path / "git"
    shutil.copytree(tiny_git_dir, folder)  # a file of its own: no other test maps it
    weights = next(folder.glob("*.safetensors"))
    plain, _ = _captions(folder, monkeypatch, "0", "fp32")
    assert _mapped(weights)
    del plain
    gc.collect()
    assert not _mapped(weights)
    packed, captions = _captions(folder, monkeypatch, "1", "fp32")
    assert packed.packed_linear_layers > 0 and all(captions)
    assert not _mapped(weights)


def test_without_the_private_operator_the_model_stays_plain_and_captions(tiny_git_dir, monkeypatch):
    _, plain_captions = _captions(tiny_git_dir, monkeypatch, "0")

    def missing(*_args, **_kwargs):
        raise RuntimeError("No such operator mkldnn::_reorder_linear_weight")

    monkeypatch.setattr(torch.ops.mkldnn, "_reorder_linear_weight", missing)
    packed_linear.packed_linear_works.cache_clear()
    captioner, captions = _captions(tiny_git_dir, monkeypatch, "1")
    assert not packed_linear.packed_linear_works()
    assert captioner.packed_linear_layers == 0
    assert not any(type(m).__name__ == "PackedLinear" for m in captioner.model.modules())
    assert captions == plain_captions


def test_the_choice_is_measured_once_per_cpu_and_kept(tiny_git_dir, monkeypatch, tmp_path):
    if not packed_linear.packed_linear_works():
        pytest.skip("oneDNN packed linear is not in this torch build: nothing to choose")
    monkeypatch.setattr(decode_path, "_machine_is_quiet", lambda: True)  # test machines are often busy
    monkeypatch.setenv(decode_path.ENV_FORCE, "0")  # a plain model: its Linear layers keep their shapes
    model = engine.load_captioner(str(tiny_git_dir), precision="fp32", device="cpu").model
    monkeypatch.delenv(decode_path.ENV_FORCE)
    cache = tmp_path / "decode-path.json"
    first = decode_path.choose_path(model, cache)
    assert first in (decode_path.PATH_PLAIN, decode_path.PATH_PACKED)
    assert decode_path.cpu_identity() in cache.read_text()

    def measured_again(*_args, **_kwargs):
        raise AssertionError("measured again although the choice for this CPU is kept")

    monkeypatch.setattr(decode_path, "measure", measured_again)
    assert decode_path.choose_path(model, cache) == first
