"""Captioner backends behind a registry, and `load_captioner`, which turns what a user typed into one.

What a user may type for a model:
- a catalog name (`git-base`), or a Hugging Face id (`microsoft/git-base-coco`) -> the "hf" backend;
- a local folder holding a `config.json` (a `save_pretrained` folder) -> the "hf" backend;
- a checkpoint file made by `train` (`run/best.pt`) -> the "seed" backend.
"""
from __future__ import annotations

from pathlib import Path

from describe_aloud.engine.captioners.base import (
    CAPABILITIES,
    Captioner,
    CaptionerRegistryError,
    CaptionResult,
    claims_of,
    get_captioner_factory,
    list_captioners,
    register_captioner,
)
from describe_aloud.engine.catalog import DEFAULT_MODEL, catalog_entry

SEED_SUFFIXES = (".pt", ".pth", ".ckpt")
# Loads what no other backend claims; its loader says clearly when it cannot (download advice, bad folder).
FALLBACK_BACKEND = "hf"


def _hf_claims(spec: str) -> bool:
    """A catalog name, a Hugging Face id, or a `save_pretrained` folder."""
    if catalog_entry(spec) is not None:
        return True
    path = Path(spec).expanduser()
    return (path / "config.json").is_file() or (not path.exists() and spec.count("/") == 1)


def _seed_claims(spec: str) -> bool:
    """A checkpoint file written by `train`."""
    return Path(spec).expanduser().suffix in SEED_SUFFIXES


# Factories as strings, so torch / transformers are imported only when a backend is built. The seed model
# lives with its training code (engine.training); this package never imports it, so there is no loop.
register_captioner("hf", "describe_aloud.engine.captioners.hf:load_hf_captioner", claims=_hf_claims)
register_captioner("seed", "describe_aloud.engine.training.captioner:load_seed_captioner", claims=_seed_claims)


def backend_for(spec: str) -> str:
    """The registered backend that claims this model spec (the first to claim it, in registration order),
    else the fallback backend."""
    for name in list_captioners():
        if claims_of(name)(spec):
            return name
    return FALLBACK_BACKEND


def load_captioner(
    spec: str | None = None,
    *,
    precision: str = "auto",
    device: str = "auto",
    local_files_only: bool = True,
) -> Captioner:
    """Build the captioner for `spec` (default: the catalog default). Raises engine.errors.ModelNotAvailable
    when the weights are not on this machine and `local_files_only` is set."""
    spec = spec or DEFAULT_MODEL
    factory = get_captioner_factory(backend_for(spec))
    entry = catalog_entry(spec)
    target = entry.hf_id if entry else spec
    return factory(target, precision=precision, device=device, local_files_only=local_files_only)


__all__ = [
    "CAPABILITIES",
    "Captioner",
    "CaptionerRegistryError",
    "CaptionResult",
    "backend_for",
    "get_captioner_factory",
    "list_captioners",
    "load_captioner",
    "register_captioner",
]
