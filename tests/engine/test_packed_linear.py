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


def _captions(path, monkeypatch, force: str):
    monkeypatch.setenv(decode_path.ENV_FORCE, force)
    captioner = engine.load_captioner(str(path), precision="bf16", device="cpu")
    return captioner, [r.caption for r in captioner.caption(_images())]


def test_packed_weights_give_the_same_captions_as_plain_ones(tiny_git_dir, monkeypatch):
    if platform.machine().lower() in ("x86_64", "amd64"):
        assert packed_linear.packed_linear_works(), "every x86-64 torch build has oneDNN's packed linear"
    elif not packed_linear.packed_linear_works():
        pytest.skip("oneDNN packed linear is not in this torch build (not x86-64)")
    plain, plain_captions = _captions(tiny_git_dir, monkeypatch, "0")
    packed, packed_captions = _captions(tiny_git_dir, monkeypatch, "1")
    assert plain.packed_linear_layers == 0
    linears = sum(isinstance(m, torch.nn.Linear) for m in plain.model.modules())
    assert packed.packed_linear_layers == linears > 0
    assert all(caption for caption in plain_captions)
    assert packed_captions == plain_captions


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
    monkeypatch.delenv(decode_path.ENV_FORCE, raising=False)
    monkeypatch.setattr(decode_path, "_machine_is_quiet", lambda: True)  # test machines are often busy
    model = engine.load_captioner(str(tiny_git_dir), precision="fp32", device="cpu").model
    cache = tmp_path / "decode-path.json"
    first = decode_path.choose_path(model, cache)
    assert first in (decode_path.PATH_PLAIN, decode_path.PATH_PACKED)
    assert decode_path.cpu_identity() in cache.read_text()

    def measured_again(*_args, **_kwargs):
        raise AssertionError("measured again although the choice for this CPU is kept")

    monkeypatch.setattr(decode_path, "measure", measured_again)
    assert decode_path.choose_path(model, cache) == first
