"""Reading a GIT model folder with json alone (no transformers): the model's shape, the generation settings,
the image preprocessing and the tokenizer file, and whether the lean captioner computes exactly what
transformers would for it. Anything it is not sure of gives a reason, and the folder goes to the
transformers path unchanged.

What "exactly" takes: transformers' GIT code reads only the config keys named in `model.GitShape` (plus
`num_image_with_embedding`, video GIT: not supported here), so other keys in config.json do not change its
math. Generation: greedy (do_sample false, one beam) with bos/eos/pad, min_new_tokens and suppressed tokens
is what the lean decode implements; any other setting that changes which token is picked (a repetition
penalty, forced or bad words...) sends the folder to transformers.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from describe_aloud.engine.captioners.lean_git.shape import ACTIVATION_NAMES, GitShape

# Generation settings whose default (or any value) leaves greedy decoding alone.
_NEUTRAL_GENERATION = {
    "do_sample": (False, None), "num_beams": (1, None), "num_beam_groups": (1, None),
    "num_return_sequences": (1, None), "penalty_alpha": (None,), "use_cache": None,
    "temperature": None, "top_k": None, "top_p": None, "typical_p": None, "min_p": None,  # sampling only
    "epsilon_cutoff": None, "eta_cutoff": None, "length_penalty": None, "early_stopping": None,  # beams only
    "max_length": None, "min_length": None,  # the app clears both and passes new-token budgets
    "max_new_tokens": None, "renormalize_logits": None, "output_attentions": None,
    "output_hidden_states": None, "output_scores": None, "output_logits": None,
    "return_dict_in_generate": None, "transformers_version": None, "_from_model_config": None,
    "cache_implementation": None, "remove_invalid_values": None, "max_time": None,
    "repetition_penalty": (1.0, 1, None), "no_repeat_ngram_size": (0, None),
    "encoder_repetition_penalty": (1.0, 1, None), "encoder_no_repeat_ngram_size": (0, None),
    "bad_words_ids": (None, []), "force_words_ids": (None, []), "forced_bos_token_id": (None,),
    "forced_eos_token_id": (None,), "exponential_decay_length_penalty": (None,), "sequence_bias": (None,),
    "guidance_scale": (None, 1.0, 1), "forced_decoder_ids": (None, []), "stop_strings": (None,),
    "diversity_penalty": (0.0, 0, None), "constraints": (None,), "watermarking_config": (None,),
    "token_healing": (False, None), "decoder_start_token_id": None, "is_assistant": None,
    "num_assistant_tokens": None, "num_assistant_tokens_schedule": None, "assistant_confidence_threshold": None,
    "prompt_lookup_num_tokens": (None,), "dola_layers": (None,), "low_memory": None,
}
_HANDLED_GENERATION = {"bos_token_id", "eos_token_id", "pad_token_id", "min_new_tokens", "suppress_tokens",
                       "begin_suppress_tokens"}
_IMAGE_PROCESSOR_KEYS = {"do_resize", "size", "resample", "do_center_crop", "crop_size", "do_rescale",
                         "rescale_factor", "do_normalize", "image_mean", "image_std", "do_convert_rgb",
                         "image_processor_type", "feature_extractor_type", "processor_class", "_processor_class"}
_CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
_CLIP_STD = [0.26862954, 0.26130258, 0.27577711]


# One file of weights, as the model store downloads it: safetensors when the repo has them, else PyTorch's.
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")


class Unsupported(Exception):
    """This folder needs the transformers path (the message says why, for the log)."""


@dataclass(frozen=True)
class Generation:
    bos_token_id: int
    eos_token_ids: tuple[int, ...]
    pad_token_id: int
    min_new_tokens: int = 0
    suppress_tokens: tuple[int, ...] = ()
    begin_suppress_tokens: tuple[int, ...] = ()


@dataclass(frozen=True)
class ImageSettings:
    """CLIPImageProcessor's settings (transformers' defaults where the file is silent)."""

    shortest_edge: int | None
    resize_to: tuple[int, int] | None  # (height, width) when the size is exact
    do_resize: bool
    do_center_crop: bool
    crop: tuple[int, int]
    do_rescale: bool
    rescale_factor: float
    do_normalize: bool
    mean: tuple[float, ...] = field(default=tuple(_CLIP_MEAN))
    std: tuple[float, ...] = field(default=tuple(_CLIP_STD))


@dataclass(frozen=True)
class GitFolder:
    shape: GitShape
    generation: Generation
    image: ImageSettings
    tokenizer_file: Path
    clean_up_spaces: bool
    weights: Path


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise Unsupported(f"{path.name}: {exc}") from None
    if not isinstance(data, dict):
        raise Unsupported(f"{path.name} is not an object")
    return data


def read_shape(config: dict[str, Any]) -> GitShape:
    if config.get("model_type") != "git":
        raise Unsupported(f"model_type {config.get('model_type')!r}")
    for key in ("num_image_with_embedding", "quantization_config", "auto_map"):
        if config.get(key) is not None:
            raise Unsupported(f"config names {key}")
    vision = config.get("vision_config") or {}
    try:
        shape = GitShape(
            vocab_size=int(config.get("vocab_size", 30522)), hidden_size=int(config.get("hidden_size", 768)),
            num_hidden_layers=int(config.get("num_hidden_layers", 6)),
            num_attention_heads=int(config.get("num_attention_heads", 12)),
            intermediate_size=int(config.get("intermediate_size", 3072)),
            hidden_act=str(config.get("hidden_act", "gelu")),
            max_position_embeddings=int(config.get("max_position_embeddings", 1024)),
            layer_norm_eps=float(config.get("layer_norm_eps", 1e-12)),
            tie_word_embeddings=bool(config.get("tie_word_embeddings", False)),
            vision_hidden_size=int(vision.get("hidden_size", 768)),
            vision_intermediate_size=int(vision.get("intermediate_size", 3072)),
            vision_num_hidden_layers=int(vision.get("num_hidden_layers", 12)),
            vision_num_attention_heads=int(vision.get("num_attention_heads", 12)),
            vision_hidden_act=str(vision.get("hidden_act", "quick_gelu")),
            vision_layer_norm_eps=float(vision.get("layer_norm_eps", 1e-5)),
            image_size=int(vision.get("image_size", 224)), patch_size=int(vision.get("patch_size", 16)),
            num_channels=int(vision.get("num_channels", 3)),
        )
    except (TypeError, ValueError) as exc:  # a list-valued image size, a string where a number belongs
        raise Unsupported(f"config value: {exc}") from None
    for act in (shape.hidden_act, shape.vision_hidden_act):
        if act not in ACTIVATION_NAMES:
            raise Unsupported(f"activation {act!r}")
    if shape.hidden_size % shape.num_attention_heads or shape.vision_hidden_size % shape.vision_num_attention_heads:
        raise Unsupported("hidden size not a multiple of the heads")
    if shape.image_size % shape.patch_size:
        raise Unsupported("image size not a multiple of the patch size")
    return shape


def _ids(value: Any) -> tuple[int, ...]:
    if value is None:
        return ()
    values = value if isinstance(value, list) else [value]
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        raise Unsupported(f"token ids {value!r}")
    return tuple(values)


def read_generation(folder: Path, config: dict[str, Any]) -> Generation:
    """generation_config.json, else what transformers derives from config.json (GenerationConfig.
    from_model_config), checked against what the lean decode does."""
    path = folder / "generation_config.json"
    settings = _read(path) if path.is_file() else {k: v for k, v in config.items()
                                                      if k in _NEUTRAL_GENERATION or k in _HANDLED_GENERATION}
    for key, value in settings.items():
        if key in _HANDLED_GENERATION:
            continue
        if key not in _NEUTRAL_GENERATION:
            raise Unsupported(f"generation setting {key}")
        allowed = _NEUTRAL_GENERATION[key]
        if allowed is not None and value not in allowed:
            raise Unsupported(f"generation setting {key}={value!r}")
    bos = settings.get("bos_token_id", config.get("bos_token_id"))
    eos = _ids(settings.get("eos_token_id", config.get("eos_token_id")))
    pad = settings.get("pad_token_id", config.get("pad_token_id"))
    if not isinstance(bos, int) or not eos:
        raise Unsupported("no bos / eos token")
    if pad is None:
        pad = eos[0]  # what transformers' generate does (with a warning)
    return Generation(bos_token_id=bos, eos_token_ids=eos, pad_token_id=int(pad),
                      min_new_tokens=int(settings.get("min_new_tokens") or 0),
                      suppress_tokens=_ids(settings.get("suppress_tokens")),
                      begin_suppress_tokens=_ids(settings.get("begin_suppress_tokens")))


def read_image_settings(folder: Path, shape: GitShape) -> ImageSettings:
    path = folder / "preprocessor_config.json"
    if path.is_file():
        settings = _read(path)
    elif (folder / "processor_config.json").is_file():
        settings = _read(folder / "processor_config.json").get("image_processor")
        if not isinstance(settings, dict):
            raise Unsupported("processor_config.json has no image processor")
    else:
        raise Unsupported("no preprocessor config")
    kind = settings.get("image_processor_type") or settings.get("feature_extractor_type")
    if kind not in ("CLIPImageProcessor", "CLIPImageProcessorFast", "CLIPFeatureExtractor"):
        raise Unsupported(f"image processor {kind!r}")
    unknown = set(settings) - _IMAGE_PROCESSOR_KEYS
    if unknown:
        raise Unsupported(f"image processor settings {sorted(unknown)}")
    if settings.get("resample", 3) != 3 or settings.get("do_convert_rgb", True) is not True:
        raise Unsupported("image processor: only bicubic resizing of RGB images")
    size = settings.get("size", {"shortest_edge": 224})
    shortest, exact = None, None
    if isinstance(size, int):
        shortest = size
    elif isinstance(size, dict) and set(size) == {"shortest_edge"}:
        shortest = int(size["shortest_edge"])
    elif isinstance(size, dict) and set(size) == {"height", "width"}:
        exact = (int(size["height"]), int(size["width"]))
    else:
        raise Unsupported(f"image size {size!r}")
    crop = settings.get("crop_size", {"height": 224, "width": 224})
    crop = (crop, crop) if isinstance(crop, int) else (int(crop["height"]), int(crop["width"]))
    image = ImageSettings(
        shortest_edge=shortest, resize_to=exact, do_resize=bool(settings.get("do_resize", True)),
        do_center_crop=bool(settings.get("do_center_crop", True)), crop=crop,
        do_rescale=bool(settings.get("do_rescale", True)),
        rescale_factor=float(settings.get("rescale_factor", 1 / 255)),
        do_normalize=bool(settings.get("do_normalize", True)),
        mean=tuple(float(v) for v in settings.get("image_mean", _CLIP_MEAN)),
        std=tuple(float(v) for v in settings.get("image_std", _CLIP_STD)),
    )
    if not (image.do_resize and image.do_center_crop and image.do_rescale and image.do_normalize):
        raise Unsupported("image processor with a step switched off")
    if image.crop != (shape.image_size, shape.image_size) or len(image.mean) != 3 or len(image.std) != 3:
        raise Unsupported("image processor does not give the model's input size")
    return image


def read_tokenizer(folder: Path) -> tuple[Path, bool]:
    path = folder / "tokenizer.json"
    if not path.is_file():
        raise Unsupported("no tokenizer.json")
    settings = _read(folder / "tokenizer_config.json") if (folder / "tokenizer_config.json").is_file() else {}
    if settings.get("auto_map") is not None:
        raise Unsupported("tokenizer names code")
    cleanup = settings.get("clean_up_tokenization_spaces", False)
    # transformers skips the clean-up for BPE unless forced; GIT's tokenizers are WordPiece.
    if cleanup and settings.get("clean_up_tokenization_spaces_for_bpe_even_though_it_will_corrupt_output"):
        raise Unsupported("forced tokenization clean-up")
    return path, bool(cleanup)


def read_folder(folder: Path) -> GitFolder:
    """Everything the lean captioner needs from `folder`, or Unsupported with the reason."""
    config = _read(folder / "config.json")
    shape = read_shape(config)
    weights = next((folder / name for name in WEIGHT_FILES if (folder / name).is_file()), None)
    if weights is None:
        raise Unsupported("no single-file checkpoint (a sharded one)")
    tokenizer_file, cleanup = read_tokenizer(folder)
    return GitFolder(shape=shape, generation=read_generation(folder, config),
                     image=read_image_settings(folder, shape), tokenizer_file=tokenizer_file,
                     clean_up_spaces=cleanup, weights=weights)


__all__ = ["GitFolder", "Generation", "ImageSettings", "Unsupported", "read_folder", "read_shape"]
