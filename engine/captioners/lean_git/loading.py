"""Building the lean GIT captioner from a model folder: the checks (engine.captioners.lean_git.config), the
weights from model.safetensors straight into the lean modules (every tensor name must match, none may be
missing or left over), the precision, and the same packed-weight choice as the transformers path.

`load_lean_git` returns None when the folder or the request is something the lean path does not cover, so
the caller loads it with transformers, unchanged; the reason goes to the log. It covers a CPU in fp32 or
bf16; int8, fp16 and graphics cards stay with transformers.
"""
from __future__ import annotations

import logging
from pathlib import Path

from describe_aloud.engine import environment
from describe_aloud.engine.captioners.lean_git.config import Unsupported, read_folder

log = logging.getLogger(__name__)

PRECISIONS = ("fp32", "bf16")


def lean_git_enabled() -> bool:
    return environment.LEAN_GIT.get() != "0"


def load_lean_git(source: str, *, model_id: str, device: str, precision: str):
    """A LeanGitCaptioner for the model folder `source`, or None (see the module docstring)."""
    if not lean_git_enabled():
        return None
    if device != "cpu" or precision not in PRECISIONS or not Path(source).is_dir():
        return None
    try:
        folder = read_folder(Path(source))
    except Unsupported as exc:
        log.info("lean GIT path not used for %s: %s", model_id, exc)
        return None
    from describe_aloud.engine.captioners.decode_path import packing_chosen
    from describe_aloud.engine.captioners.packed_linear import pack_linear_layers

    pack = packing_chosen(_model_shape(folder), device, precision)  # before loading: see _load_model
    try:
        model = _load_model(folder, precision, own_copies=pack)
    except Unsupported as exc:
        log.info("lean GIT path not used for %s: %s", model_id, exc)
        return None
    from tokenizers import Tokenizer

    from describe_aloud.engine.captioners.lean_git.captioner import LeanGitCaptioner

    tokenizer = Tokenizer.from_file(str(folder.tokenizer_file))
    packed = pack_linear_layers(model, precision) if pack else 0
    captioner = LeanGitCaptioner(model=model, folder=folder, tokenizer=tokenizer, model_id=model_id,
                                 device=device, precision=precision)
    captioner.packed_linear_layers = packed
    log.info("loaded captioner %s (git, lean) on %s in %s", model_id, device, precision)
    return captioner


# Buffers that checkpoints saved by transformers 4.2x still hold (they were persistent then); transformers
# 5 computes them and ignores the stored copies (always 0, 1, 2, ...), and so does the lean model.
_IGNORED_SUFFIX = ".position_ids"


def _read_tensors(path: Path, names_wanted, convert) -> dict:
    """{name: convert(tensor)} of a safetensors file (only `names_wanted(all names)`), or of a PyTorch .bin
    loaded with weights_only (plain tensors, never code). One tensor at a time is converted, so the file's
    fp32 copy of all the weights is never in memory next to the bf16 one."""
    import torch

    if path.suffix == ".safetensors":
        from safetensors import safe_open

        with safe_open(str(path), framework="pt") as f:
            return {name: convert(f.get_tensor(name)) for name in names_wanted(set(f.keys()))}
    state = torch.load(str(path), map_location="cpu", weights_only=True, mmap=True)
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise Unsupported("the .bin checkpoint is not a plain state dict")
    return {name: convert(state[name]) for name in names_wanted(set(state))}


def _model_shape(folder):
    """The model's layers without their weights (the meta device): enough to choose the decode path."""
    import torch

    from describe_aloud.engine.captioners.lean_git.model import LeanGit

    with torch.device("meta"):
        return LeanGit(folder.shape)


def _load_model(folder, precision: str, *, own_copies: bool = False):
    """The model with the weights of `folder` in `precision`. `own_copies`: every weight in memory of its own,
    none a view of the file's mapping: packing then replaces the Linear weights (see load_lean_git), and a
    view would keep the whole mapping, with every page packing read, resident for as long as any weight
    lives (+590 MB measured for GIT-base in fp32). Without packing, an fp32 file's weights stay views: pages
    never read are never loaded."""
    import torch

    from describe_aloud.engine.captioners.lean_git.model import LeanGit, expected_keys, plain_classes

    dtype = torch.bfloat16 if precision == "bf16" else torch.float32
    expected = expected_keys(folder.shape)

    def check(stored: set[str]) -> set[str]:
        stored = {name for name in stored if not name.endswith(_IGNORED_SUFFIX)}
        if folder.shape.tie_word_embeddings:
            stored.discard("output.weight")  # transformers ties it to the word embeddings, whatever is stored
        if stored != expected:
            missing, extra = sorted(expected - stored), sorted(stored - expected)
            raise Unsupported(f"checkpoint tensors differ (missing {missing[:3]}, unexpected {extra[:3]})")
        return expected

    state = _read_tensors(folder.weights, check,
                          lambda tensor: tensor.to(dtype, copy=own_copies) if tensor.is_floating_point() else tensor)
    if folder.shape.tie_word_embeddings:
        state["output.weight"] = state["git.embeddings.word_embeddings.weight"]  # one tensor, two names
    with torch.device("meta"):
        model = LeanGit(folder.shape)
    try:
        model.load_state_dict(state, strict=True, assign=True)
    except RuntimeError as exc:  # a tensor of another shape than the config says
        raise Unsupported(f"checkpoint does not fit the config: {str(exc).splitlines()[0]}") from None
    return plain_classes(model).eval()


__all__ = ["PRECISIONS", "lean_git_enabled", "load_lean_git"]
