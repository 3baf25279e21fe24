"""Loading a Hugging Face captioner from what the user named: where the files are (a folder, or a complete
copy in the model store; never the network unless asked), the processor and model with the chosen device
and precision, and the plain sentences a damaged or missing model turns into."""
from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from describe_aloud.engine.captioners.folder_check import SAFE_LOAD_KWARGS
from describe_aloud.engine.captioners.hf_families import FamilyAdapter
from describe_aloud.engine.catalog import CATALOG, catalog_entry
from describe_aloud.engine.errors import ModelLoadError, ModelNotAvailable
from describe_aloud.engine.i18n import _
from describe_aloud.engine.invocation import user_command
from describe_aloud.engine.models.store import HF_ID_PATTERN, complete_snapshot

log = logging.getLogger(__name__)


@dataclass
class ProcessorParts:
    """Image processor + tokenizer for families whose hub folder has no combined processor."""

    image_processor: Any
    tokenizer: Any


def load_processor(adapter: FamilyAdapter, source: str, load_kwargs: dict[str, Any]) -> Any:
    if adapter.separate_processor_parts:
        from transformers import AutoImageProcessor, AutoTokenizer

        return ProcessorParts(
            image_processor=AutoImageProcessor.from_pretrained(source, **load_kwargs),
            tokenizer=AutoTokenizer.from_pretrained(source, **load_kwargs),
        )
    from transformers import AutoProcessor

    return AutoProcessor.from_pretrained(source, **load_kwargs)


def load_model(source: str, load_kwargs: dict[str, Any], device: str, precision: str) -> Any:
    from transformers import AutoModelForImageTextToText

    from describe_aloud.engine.device import torch_dtype

    # int8 starts from fp32 weights; the quantized Linear layers then take fp32 activations.
    model = AutoModelForImageTextToText.from_pretrained(source, dtype=torch_dtype(precision), **load_kwargs)
    model.eval()
    if precision == "int8":
        if not device.startswith("cpu"):
            raise ModelLoadError(_("int8 precision works on the CPU only; choose fp16 or bf16 for a graphics card."))
        model = quantize_int8(model)
    elif device != "cpu":
        model.to(device)
    generation = model.generation_config
    generation.use_cache = True
    # caption() always passes max_new_tokens / min_new_tokens; a checkpoint's own max_length / min_length
    # (Florence-2 ships max_length=1025) would only make transformers log a warning on every description.
    generation.max_length = None
    generation.min_length = None
    return model


def quantize_int8(model: Any) -> Any:
    """Dynamic int8 quantization of every nn.Linear (weights int8, activations quantized on the fly).

    Uses torch.ao.quantization.quantize_dynamic, which torch 2.14 still ships but marks deprecated (moving to
    torchao); the deprecation warnings are silenced here because the user chose int8 knowingly."""
    import torch
    from torch.ao.quantization import quantize_dynamic

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # In place: the fp32 Linear layers are not needed afterwards (no second copy of the weights).
        return quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8, inplace=True)


def hub_kwargs(source: str, local_files_only: bool) -> dict[str, Any]:
    from describe_aloud.engine.config import hub_cache_dir

    # cache_dir explicitly: huggingface_hub reads HF_HOME once at import, the app reads it at call time.
    # A folder (a user's, or a cached snapshot) never needs the network.
    local = local_files_only or Path(source).is_dir()
    # trust_remote_code=False: a model is never allowed to run its own code (engine.captioners.folder_check).
    return {"local_files_only": local, "cache_dir": str(hub_cache_dir()), **SAFE_LOAD_KWARGS}


def download_name(target: str) -> str:
    """The name to give `models download`: the catalog name when there is one."""
    entry = catalog_entry(target)
    return entry.name if entry else target


def looks_like_path(target: str) -> bool:
    return target.startswith(("/", "./", "../", "~", ".\\")) or "\\" in target or target in (".", "..")


def resolve_source(target: str, local_files_only: bool) -> tuple[str, str, str]:
    """(what to pass to from_pretrained, where the model is in words, what to do if loading fails)."""
    path = Path(target).expanduser()
    if path.is_dir():
        where = _("the folder {path!r}").format(path=str(path))
        advice = _("Check that the folder holds a complete model saved with save_pretrained.")
        if not (path / "config.json").is_file():
            raise ModelLoadError(_("The folder {path!r} is not a model folder: it has no config.json.").format(path=str(path)))
        return str(path), where, advice
    if path.exists() or looks_like_path(target):
        raise ModelLoadError(
            _("{target!r} is not a model folder. Give a catalog name, a Hugging Face id, or a folder "
              "saved with save_pretrained.").format(target=target)
        )
    name = download_name(target)
    if "/" not in target and catalog_entry(target) is None:
        known = ", ".join(e.name for e in CATALOG)
        raise ModelNotAvailable(
            target,
            _("There is no model called {target!r}. Choose one of {known}, a Hugging Face id "
              "(organisation/name), or a model folder.").format(target=target, known=known),
        )
    where = _("the model {name!r}").format(name=name)
    advice = (
        _("Its download may be damaged: remove it with: {remove}, then download it again with: {download}")
        .format(remove=user_command("models", "remove", name), download=user_command("models", "download", name))
    )
    # A complete cached copy is always loaded from disk, even when downloads are allowed: no network.
    entry = catalog_entry(target)
    hf_id = entry.hf_id if entry else target
    snapshot = complete_snapshot(hf_id) if HF_ID_PATTERN.match(hf_id) else None
    if snapshot is not None:
        return str(snapshot), where, advice
    if local_files_only:
        raise ModelNotAvailable(name)
    return target, where, advice


class load_errors:
    """Turn whatever from_pretrained raises on damaged files into a ModelLoadError with a clear sentence
    (the original exception is chained for the log)."""

    def __init__(self, where: str, advice: str) -> None:
        self.where = where
        self.advice = advice

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc is None or isinstance(exc, (ModelLoadError, ModelNotAvailable)):
            return False
        if not isinstance(exc, Exception):
            return False  # KeyboardInterrupt, SystemExit: let them through
        log.exception("loading %s failed", self.where)
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if len(reason) > 200:
            reason = reason[:197] + "..."
        raise ModelLoadError(
            _("The files of {where} could not be loaded ({reason}). {advice}").format(where=self.where, reason=reason, advice=self.advice)
        ) from exc


def find_module(model: Any, dotted_paths: Sequence[str]) -> Any:
    for dotted in dotted_paths:
        obj = model
        for part in dotted.split("."):
            obj = getattr(obj, part, None)
            if obj is None:
                break
        if obj is not None:
            return obj
    log.warning("no vision encoder found on %s; vision time will count as decode", type(model).__name__)
    return None


def floating_dtype(model: Any):
    import torch

    for param in model.parameters():
        if param.is_floating_point():
            return param.dtype
    return torch.float32
