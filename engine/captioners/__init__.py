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
    get_captioner_factory,
    list_captioners,
    register_captioner,
)
from describe_aloud.engine.catalog import DEFAULT_MODEL, catalog_entry

# Strings, so torch / transformers are imported only when a backend is built.
register_captioner("hf", "describe_aloud.engine.captioners.hf:load_hf_captioner")
register_captioner("seed", "describe_aloud.engine.captioners.seed:load_seed_captioner")

SEED_SUFFIXES = (".pt", ".pth", ".ckpt")


def backend_for(spec: str) -> str:
    """Which registered backend loads this model spec."""
    path = Path(spec).expanduser()
    if path.suffix in SEED_SUFFIXES:
        return "seed"
    return "hf"


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
