"""Seed-model checkpoints: a plain dict of state_dicts and settings, never a pickled module.

Contents (all loadable with `torch.load(weights_only=True)`):
    format, version, epoch, best_score, best_epoch, history,
    model_config (ModelConfig dict), train_config (TrainConfig dict),
    vocab ({"words": [...]}), preprocessing ({"image_size", "mean", "std"}),
    encoder, decoder (state_dicts), encoder_trainable_blocks,
    optimizer (state_dict), scaler (state_dict or None), rng ({"torch", "cuda", "python", "numpy"}).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from describe_aloud.engine.errors import ModelLoadError, UserFacingError
from describe_aloud.engine.i18n import _
from describe_aloud.engine.invocation import user_command

FORMAT = "describe-aloud-seed"
VERSION = 1


def save_checkpoint(path: str | Path, checkpoint: dict[str, Any]) -> None:
    """Write atomically: a crash while saving never leaves a half-written checkpoint in place."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    torch.save({"format": FORMAT, "version": VERSION, **checkpoint}, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a checkpoint made by `train` (tensors and plain data only: weights_only=True)."""
    path = Path(path)
    if not path.is_file():
        raise UserFacingError(_("The checkpoint {path} does not exist.").format(path=path))
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a corrupt or foreign file: many exception types, all mean the same to the user
        raise ModelLoadError(_unreadable_checkpoint(path, exc)) from exc
    if not isinstance(checkpoint, dict) or checkpoint.get("format") != FORMAT:
        raise ModelLoadError(_("{path} is not a checkpoint made by '{command}'.").format(path=path, command=user_command('train')))
    if int(checkpoint.get("version", 0)) > VERSION:
        raise ModelLoadError(_("{path} was made by a newer version of this program; please update it.").format(path=path))
    return checkpoint


def _looks_like_torch_file(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            head = fh.read(4)
    except OSError:
        return False
    return head.startswith(b"PK\x03\x04") or head[:1] == b"\x80"  # zip (torch.save) or pickle protocol 2+


def _unreadable_checkpoint(path: Path, exc: Exception) -> str:
    """Why a checkpoint could not be read, in our words. torch's own message for a file holding pickled
    objects advises retrying with weights_only=False, which would run whatever code the file carries: the
    wrong advice about a file that may be hostile, so it is never passed on."""
    text = str(exc)
    # torch refuses pickled objects with "Weights only load failed ... weights_only=False", but it says the
    # same of a file that is no checkpoint at all (garbage): only a real torch file (a zip archive, or a
    # legacy pickle) can hold program objects; anything else is simply unreadable.
    if ("weights_only" in text or "Weights only load failed" in text) and _looks_like_torch_file(path):
        return _("{path} holds program objects, not only weights, so it was not loaded: loading it could run "
                 "code hidden in the file. Only checkpoints made by '{command}' can be used.").format(
            path=path, command=user_command("train"))
    reason = text.strip().splitlines()[0][:200] if text.strip() else type(exc).__name__
    return _("The checkpoint {path} could not be read ({name__}: {reason}).").format(
        path=path, name__=type(exc).__name__, reason=reason)


def rng_state() -> dict[str, Any]:
    import random

    import numpy as np

    kind, keys, pos, has_gauss, cached = np.random.get_state()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "python": random.getstate(),
        "numpy": [kind, keys.tolist(), int(pos), int(has_gauss), float(cached)],
    }


def set_rng_state(state: dict[str, Any]) -> None:
    import random

    import numpy as np

    torch.set_rng_state(state["torch"])
    if state.get("cuda") and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    kind, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((kind, np.array(keys, dtype=np.uint32), pos, has_gauss, cached))
