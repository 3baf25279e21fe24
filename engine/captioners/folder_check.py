"""A model folder is data, never code: refuse one that asks to run its own Python.

transformers can import Python files shipped inside a model folder ("remote code", named by `auto_map` in
its config.json). With `trust_remote_code` unset it *asks* on a terminal ("Do you wish to run the custom
code? [y/N]"), and one "y" runs whatever the folder holds. This app never does: every `from_pretrained` of
ours passes `trust_remote_code=False` (see `SAFE_LOAD_KWARGS`), and before transformers sees a folder,
`refuse_remote_code` reads its config.json (and the processor / tokenizer configs) and stops with one
sentence when any of them names code to run or a model type the app does not know. No prompt, ever.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable

from describe_aloud.engine.errors import ModelLoadError
from describe_aloud.engine.i18n import _

# Passed to every from_pretrained (config, processor, tokenizer, model).
SAFE_LOAD_KWARGS: dict[str, Any] = {"trust_remote_code": False}
# Configs that may carry an auto_map pointing at Python files in the folder.
CONFIG_FILES = ("config.json", "preprocessor_config.json", "processor_config.json", "tokenizer_config.json",
                "image_processor_config.json", "generation_config.json")
_MAX_CONFIG_BYTES = 4 << 20


def _names_code(value: Any) -> bool:
    """True when a config (or part of it) names Python to import from the folder."""
    if isinstance(value, dict):
        return "auto_map" in value or any(_names_code(v) for v in value.values())
    if isinstance(value, list):
        return any(_names_code(v) for v in value)
    return False


def _read_json(path: Path) -> Any:
    try:
        if path.stat().st_size > _MAX_CONFIG_BYTES:
            return None
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None  # transformers reports a damaged config with its own sentence (engine.captioners.hf)


def refuse_remote_code(folder: str | Path, where: str, known_types: Iterable[str]) -> None:
    """Raise ModelLoadError if the model in `folder` would need its own code to load (see module doc)."""
    folder = Path(folder)
    if not folder.is_dir():
        return
    for name in CONFIG_FILES:
        config = _read_json(folder / name)
        if config is not None and _names_code(config):
            raise ModelLoadError(_(
                "The model in {where} wants to run program code that came with it ({file} names it). This app "
                "never runs code from a model folder, because such code can do anything on this computer; "
                "use a model from the catalog or a folder saved by a standard transformers model."
            ).format(where=where, file=name))
    config = _read_json(folder / "config.json")
    model_type = config.get("model_type") if isinstance(config, dict) else None
    known = sorted(known_types)
    if isinstance(config, dict) and model_type not in known:
        raise ModelLoadError(_(
            "Images cannot be described with {where}: its kind of model ({model_type}) is not one this app "
            "can use for descriptions. Supported kinds: {known}."
        ).format(where=where, model_type=repr(model_type) if model_type else _("untyped"),
                 known=", ".join(known)))
