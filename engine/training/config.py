"""The typed training configuration: defaults < config file (JSON or TOML) < command-line options.

The resolved configuration is written to `<out>/config.json` and into every checkpoint, so a run records
every choice that made it.
"""
from __future__ import annotations

import json
import tomllib
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from describe_aloud.engine.errors import UserFacingError
from describe_aloud.engine.i18n import _

BEST_METRICS = ("bleu4", "cider")
ENCODERS = (
    "resnet18", "resnet34", "resnet50", "resnet101", "resnet152",
    "mobilenet_v3_large", "mobilenet_v3_small", "efficientnet_b0", "efficientnet_b3",
)


@dataclass
class ModelConfig:
    """Everything needed to rebuild the network (stored in each checkpoint)."""

    encoder: str = "resnet50"
    grid_size: int = 14  # the encoder's feature map is pooled to grid_size x grid_size
    embed_dim: int = 512
    attention_dim: int = 512
    decoder_dim: int = 512
    dropout: float = 0.5
    max_caption_len: int = 30  # longest caption the decoder writes

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ModelConfig":
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})




@dataclass
class TrainConfig:
    data: str = ""  # caption file: COCO-style or Karpathy split
    images: str = ""  # folder the file's image paths are relative to
    out: str = "run"  # run folder: config.json, last.pt, best.pt, history.json
    model: ModelConfig = field(default_factory=ModelConfig)
    pretrained: bool = True  # ImageNet weights for the encoder (downloaded once by torchvision)
    image_size: int = 224  # square resize of every image (stored with the checkpoint's preprocessing)
    epochs: int = 20
    batch_size: int = 32
    decoder_lr: float = 4e-4
    # Transfer learning: the encoder starts frozen; at epoch `unfreeze_epoch` (1-based; None = never) its
    # top `unfreeze_blocks` blocks (-1 = all) start training with their own learning rate `encoder_lr`.
    unfreeze_epoch: int | None = None
    unfreeze_blocks: int = 2
    encoder_lr: float = 1e-4
    alpha_c: float = 1.0  # weight of the doubly stochastic attention regularisation
    grad_clip: float = 5.0
    min_word_count: int = 5
    max_caption_words: int = 50  # training captions are cut to this many words
    beam: int = 3  # beam size for validation and the checkpoint's default decoding
    best_metric: str = "bleu4"  # which validation score picks best.pt
    max_val_images: int | None = 500  # validation on at most this many images (speed)
    seed: int = 0
    device: str = "auto"
    amp: str = "auto"  # mixed precision: auto (on a GPU only), on, off
    num_workers: int = 2
    cache_images: bool = False  # keep preprocessed images in memory (small data sets)

    def validate(self) -> None:
        problems = []
        if self.model.encoder not in ENCODERS:
            problems.append(_("encoder {encoder!r} is not one of {choices}").format(
                encoder=self.model.encoder, choices=", ".join(ENCODERS)))
        if self.epochs < 1:
            problems.append(_("epochs must be at least 1"))
        if self.batch_size < 1:
            problems.append(_("batch size must be at least 1"))
        if self.beam < 1:
            problems.append(_("beam size must be at least 1"))
        if self.unfreeze_epoch is not None and self.unfreeze_epoch < 1:
            problems.append(_("the unfreeze epoch counts from 1"))
        if self.best_metric not in BEST_METRICS:
            problems.append(_("best metric must be one of {choices}").format(choices=", ".join(BEST_METRICS)))
        if self.amp not in ("auto", "on", "off"):
            problems.append(_("amp must be auto, on or off"))
        if self.image_size < 32:
            problems.append(_("image size must be at least 32 pixels"))
        if problems:
            # Translators: {problems} is a list of the problems above, separated by semicolons.
            raise UserFacingError(_("The training configuration is not valid: {problems}.").format(
                problems="; ".join(problems)))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TrainConfig":
        data = dict(data)
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise UserFacingError(_("Unknown training option(s) in the configuration: {items}.").format(items=', '.join(unknown)))
        model = data.pop("model", {}) or {}
        model_known = set(ModelConfig.__dataclass_fields__)
        unknown_model = sorted(set(model) - model_known)
        if unknown_model:
            raise UserFacingError(_("Unknown model option(s) in the configuration: {items}.").format(items=', '.join(unknown_model)))
        return cls(model=ModelConfig(**model), **data)

    def save(self, path: str | Path) -> None:
        path = Path(path)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")
        tmp.replace(path)


def read_config_file(path: str | Path) -> dict[str, Any]:
    """A JSON (.json) or TOML (.toml) file -> plain dict (not validated)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UserFacingError(_("Cannot read the configuration file {path}: {value}.").format(path=path, value=exc.strerror or exc)) from exc
    try:
        if path.suffix.lower() == ".toml":
            return tomllib.loads(text)
        return json.loads(text)
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        raise UserFacingError(_("The configuration file {path} is not valid {value}: {reason}.").format(path=path, value=path.suffix[1:].upper() or 'JSON', reason=exc)) from exc


def merge(base: dict[str, Any], overrides: dict[str, Any], *, skip_none: bool = True) -> dict[str, Any]:
    """Overrides win; nested dicts (the `model` table) are merged key by key. With `skip_none` (command-line
    options), None means 'not given'; in a file, null is a value (e.g. max_val_images = null: all)."""
    out = dict(base)
    for key, value in overrides.items():
        if value is None and skip_none:
            continue
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value, skip_none=skip_none)
        else:
            out[key] = value
    return out


def load_config(file: str | Path | None = None, overrides: dict[str, Any] | None = None) -> TrainConfig:
    """Defaults, then the file (if any), then the overrides (keys of TrainConfig, `model` a nested dict)."""
    data = TrainConfig().to_dict()
    if file:
        data = merge(data, read_config_file(file), skip_none=False)
    data = merge(data, overrides or {})
    config = TrainConfig.from_dict(data)
    config.validate()
    return config
