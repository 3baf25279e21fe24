"""Each backend claims the model specs it loads, so a backend registered later can be chosen."""
from __future__ import annotations

import pytest

from describe_aloud.engine import captioners
from describe_aloud.engine.captioners import base


@pytest.fixture
def registry(monkeypatch):
    fresh = base._Registry()
    for name in base.REGISTRY.names():
        fresh.register(name, base.REGISTRY._factories[name], base.REGISTRY.claims(name))
    monkeypatch.setattr(base, "REGISTRY", fresh)
    return fresh


def test_the_shipped_backends_claim_what_users_type(tmp_path):
    folder = tmp_path / "my-model"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    assert captioners.backend_for("git-base") == "hf"
    assert captioners.backend_for("microsoft/git-base-coco") == "hf"
    assert captioners.backend_for(str(folder)) == "hf"
    assert captioners.backend_for(str(tmp_path / "run" / "best.pt")) == "seed"


def test_a_third_backend_is_chosen_for_what_it_claims(registry, tmp_path):
    model = tmp_path / "caption.onnx"
    model.write_bytes(b"onnx")
    made = []

    def factory(target, **kwargs):
        made.append(target)
        return object()

    captioners.register_captioner("onnx", factory, claims=lambda spec: spec.endswith(".onnx"))
    assert captioners.backend_for(str(model)) == "onnx"
    captioners.load_captioner(str(model))
    assert made == [str(model)]
    assert captioners.backend_for("git-base") == "hf"  # the others keep what they claim


def test_a_backend_name_is_registered_once(registry):
    with pytest.raises(captioners.CaptionerRegistryError):
        captioners.register_captioner("hf", lambda *a, **k: None, claims=lambda spec: False)
