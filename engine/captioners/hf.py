"""The Hugging Face captioner backend: one generic loader over `AutoModelForImageTextToText` + `AutoProcessor`,
with a small adapter per model family for prompts, generation and post-processing.

Families (from `config.model_type`):
- `git` (microsoft/git-base-coco, the default): decoder-only, the image is the prompt; caption only.
- `blip` (Salesforce/blip-image-captioning-base / -large): vision encoder + text decoder; caption only.
- `florence2` (florence-community/Florence-2-base-ft, native class): task tokens `<CAPTION>`,
  `<MORE_DETAILED_CAPTION>`, `<OD>` (objects with boxes, mapped back to the original image's pixels).
- `vision-encoder-decoder` (Mozilla/distilvit): ViT encoder + GPT-2 decoder; the hub folder has an image
  processor and a tokenizer but no combined processor, so both are loaded separately.

Device and precision come from engine.device: CUDA in fp16/bf16; on a CPU bf16 only where it is native, else
fp32; `int8` (dynamic quantization of the Linear layers, CPU) only when asked, since it changes outputs.
Generation is greedy with the KV cache on (deterministic, and the fastest on a CPU); attention uses PyTorch
SDPA where the family supports it (transformers' default), and for GIT's decoder, which transformers ships
eager only, through engine.captioners.git_attention; eager otherwise. Decoding steps over many cached tokens
in bf16 use two matrix products instead of SDPA's kernel, which is slow for that shape on a CPU
(engine.captioners.decode_attention).

Torch and transformers are imported only inside functions, so importing this module stays cheap.

Threading: an `HFCaptioner` is not thread-safe. Build it in one thread (loading takes seconds: never on the
GUI thread) and call `caption` / `warm_up` only from the thread that owns it; hand it over between threads
only with a happens-before edge (a queue), never use it from two threads at once.
"""
from __future__ import annotations

import hashlib
import logging
import re
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from PIL import Image

from describe_aloud.engine.captioners.base import CaptionResult
from describe_aloud.engine.captioners.decode_attention import use_sdpa_decode
from describe_aloud.engine.captioners.git_attention import use_sdpa_in_git_decoder
from describe_aloud.engine.catalog import CATALOG, catalog_entry
from describe_aloud.engine.description import DetectedObject
from describe_aloud.engine.errors import ModelLoadError, ModelNotAvailable
from describe_aloud.engine.invocation import user_command

log = logging.getLogger(__name__)

TASK_CAPTION = "caption"
TASK_DETAILED = "detailed"
TASK_OBJECTS = "objects"

# Default token budgets per task (overridden by max_new_tokens). A caption is one sentence; a detailed
# caption a short paragraph; objects cost ~6 tokens each (a label + 4 location tokens).
DEFAULT_MAX_NEW_TOKENS = {TASK_CAPTION: 30, TASK_DETAILED: 120, TASK_OBJECTS: 128}

WEIGHT_FILES = (
    "model.safetensors",
    "model.safetensors.index.json",
    "pytorch_model.bin",
    "pytorch_model.bin.index.json",
)

_MARKUP = re.compile(r"</?[a-z_]+(?:_\d+)?>")  # <loc_12>, </s>, <pad>, <od>... never spoken
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([.,;:!?])")
_SPACES = re.compile(r"\s+")
_LOC_FRAGMENT = re.compile(r"<?/?loc_\d*>?")


def clean_caption(text: str) -> str:
    """Text a person can hear: no markup tokens, single spaces, no space before punctuation."""
    text = _MARKUP.sub(" ", text).replace("\ufffd", "")  # U+FFFD: bytes cut mid-character
    text = _SPACES.sub(" ", text).strip()
    return _SPACE_BEFORE_PUNCT.sub(r"\1", text)


# ------------------------------------------------------------------------------------------ adapters
@dataclass(frozen=True)
class FamilyAdapter:
    """What differs between families: which tasks they can do, how a batch is prepared (prompts), where the
    vision encoder is (for timing), and how generated ids become text / objects."""

    family: str
    capabilities: frozenset[str]
    vision_paths: tuple[str, ...]
    # Florence-2 style task tokens; empty = the image alone is the prompt (one task: caption).
    task_tokens: tuple[tuple[str, str], ...] = ()
    separate_processor_parts: bool = False  # load AutoImageProcessor + AutoTokenizer (no combined processor)
    # Words a family is known to invent that mean nothing (BLIP's "arafed", "araffe"): never spoken.
    junk_words: re.Pattern[str] | None = None
    # Switches the loaded model's attention to PyTorch SDPA where transformers has only the eager version;
    # returns how many attention modules it switched.
    fuse_attention: Callable[[Any], int] | None = None

    def clean(self, text: str) -> str:
        if self.junk_words is not None:
            text = self.junk_words.sub(" ", text)
        return clean_caption(text)

    def task_token(self, task: str) -> str:
        return dict(self.task_tokens)[task]

    def preprocess(self, processor: Any, images: list[Image.Image], tasks: list[str]) -> dict[str, Any]:
        # Padding: only Florence-2 has text prompts, and they feed its (bidirectional) encoder, so the
        # tokenizer's right padding with an attention mask is correct. GIT, BLIP and VisionEncoderDecoder
        # start every row from the same single start token: no padding, so no left-padding concern.
        if self.task_tokens:
            prompts = [self.task_token(t) for t in tasks]
            return dict(processor(images=images, text=prompts, return_tensors="pt", padding="longest"))
        if self.separate_processor_parts:
            return dict(processor.image_processor(images=images, return_tensors="pt"))
        return dict(processor(images=images, return_tensors="pt"))

    def decode(self, processor: Any, sequences, tasks: list[str], images: list[Image.Image]) -> list[Any]:
        """One entry per generated row: a caption string, or (for objects) a list of DetectedObject."""
        tokenizer = processor.tokenizer
        plain = tokenizer.batch_decode(sequences, skip_special_tokens=True)
        if not self.task_tokens:
            return [self.clean(t) for t in plain]
        raw = tokenizer.batch_decode(sequences, skip_special_tokens=False)
        out: list[Any] = []
        for text, full, task, image in zip(plain, raw, tasks, images):
            if task == TASK_OBJECTS:
                out.append(florence_objects(processor, full, self.task_token(task), image.size))
            else:
                out.append(self.clean(text))
        return out


def florence_objects(processor: Any, generated: str, task_token: str, size: tuple[int, int]) -> list[DetectedObject]:
    """Parse Florence-2 `<OD>` output (label<loc_x0><loc_y0><loc_x1><loc_y1>...) with the processor's own
    parser into objects with boxes in the original image's pixels, clamped to the image."""
    width, height = size
    parsed = processor.post_process_generation(generated, task=task_token, image_size=(width, height))
    answer = parsed.get(task_token, {}) if isinstance(parsed, dict) else {}
    objects: list[DetectedObject] = []
    for label, box in zip(answer.get("labels", []), answer.get("bboxes", [])):
        # A malformed answer can leave pieces of location tokens in a label ("loc_31>"): never spoken.
        label = clean_caption(_LOC_FRAGMENT.sub(" ", str(label)))
        if not label or len(box) != 4:
            continue
        x0, y0, x1, y1 = (float(v) for v in box)
        x0, x1 = min(max(x0, 0.0), width), min(max(x1, 0.0), width)
        y0, y1 = min(max(y0, 0.0), height), min(max(y1, 0.0), height)
        if x1 <= x0 or y1 <= y0:
            continue  # an inverted box, or one with no area, locates nothing
        obj = DetectedObject(label, (x0, y0, x1, y1))
        if obj not in objects:
            objects.append(obj)
    return objects


CAPTION_ONLY = frozenset({TASK_CAPTION})

ADAPTERS: dict[str, FamilyAdapter] = {
    "git": FamilyAdapter("git", CAPTION_ONLY, ("git.image_encoder",), fuse_attention=use_sdpa_in_git_decoder),
    "blip": FamilyAdapter(
        "blip", CAPTION_ONLY, ("vision_model",), junk_words=re.compile(r"\bar+af+(?:ed|es|e)?\b", re.IGNORECASE)
    ),
    "florence2": FamilyAdapter(
        "florence2",
        frozenset({TASK_CAPTION, TASK_DETAILED, TASK_OBJECTS}),
        ("model.vision_tower", "vision_tower"),
        task_tokens=(
            (TASK_CAPTION, "<CAPTION>"),
            (TASK_DETAILED, "<MORE_DETAILED_CAPTION>"),
            (TASK_OBJECTS, "<OD>"),
        ),
    ),
    "vision-encoder-decoder": FamilyAdapter(
        "vision-encoder-decoder", CAPTION_ONLY, ("encoder",), separate_processor_parts=True
    ),
}


@dataclass
class _ProcessorParts:
    """Image processor + tokenizer for families whose hub folder has no combined processor."""

    image_processor: Any
    tokenizer: Any


# ------------------------------------------------------------------------------------- the captioner
class _VisionTimer:
    """Forward hooks on the vision encoder that add up the time spent inside it during one generate."""

    def __init__(self, module: Any) -> None:
        self.total_s = 0.0
        self._start: float | None = None
        self._handles = []
        if module is not None:
            self._handles.append(module.register_forward_pre_hook(self._pre))
            self._handles.append(module.register_forward_hook(self._post))

    def _pre(self, *_: Any) -> None:
        self._start = time.perf_counter()

    def _post(self, *_: Any) -> None:
        if self._start is not None:
            self.total_s += time.perf_counter() - self._start
            self._start = None

    def reset(self) -> None:
        self.total_s = 0.0
        self._start = None


class _FeatureCache:
    """The vision features of the last batch of images, keyed by a digest of their pixel values (the exact
    model input, so a changed image or another size can never get stale features)."""

    def __init__(self) -> None:
        self._key: tuple | None = None
        self._features: Any = None

    @staticmethod
    def key_of(pixel_values) -> tuple:
        import torch

        data = pixel_values.detach().contiguous().view(-1).view(dtype=torch.uint8).cpu().numpy()
        return (tuple(pixel_values.shape), str(pixel_values.dtype), hashlib.blake2b(data, digest_size=16).digest())

    def get(self, key: tuple) -> Any:
        return self._features if self._features is not None and key == self._key else None

    def put(self, key: tuple, features: Any) -> None:
        self._key, self._features = key, features


class HFCaptioner:
    """A loaded Hugging Face captioner. Not thread-safe: one owner thread calls `caption` / `warm_up`."""

    def __init__(
        self,
        *,
        model: Any,
        processor: Any,
        adapter: FamilyAdapter,
        model_id: str,
        device: str,
        precision: str,
    ) -> None:
        self.model = model
        self.processor = processor
        self.adapter = adapter
        self.model_id = model_id
        self.family = adapter.family
        self.capabilities: frozenset[str] = adapter.capabilities
        self.beam_size: int | None = None  # greedy: the decode path (feature cache, SDPA step) assumes it
        self.device = device
        self.precision = precision
        self.attn_implementation = getattr(model.config, "_attn_implementation", None)
        self._vision = _VisionTimer(_find_module(model, adapter.vision_paths))
        self._input_dtype = _floating_dtype(model)
        self._last_features = _FeatureCache()

    def __repr__(self) -> str:
        return (
            f"HFCaptioner({self.model_id!r}, family={self.family}, device={self.device}, "
            f"precision={self.precision}, attention={self.attn_implementation})"
        )

    def caption(
        self,
        images: Sequence[Image.Image],
        *,
        detail: bool = False,
        objects: bool = False,
        max_new_tokens: int | None = None,
        plain: bool = True,
        min_new_tokens: int | None = None,
    ) -> list[CaptionResult]:
        """Caption `images` (one result each, in order) with ONE batched `generate`.

        `detail` adds the detailed caption and `objects` the detected objects when the family can (otherwise
        `detailed_caption` stays None / `objects` empty). `plain=False` leaves the plain caption out when
        something else was asked for and can be made (it stays empty): "more detail" needs only the
        detail, and a batch runs as long as its longest row. For Florence-2 every (image, task) pair is one
        row of the same batch. `min_new_tokens` forces a token count (benchmarks). Timings per image, in ms:
        preprocess, vision (the vision encoder, measured by hooks), decode (the rest of generate)."""
        import torch

        images = [_as_rgb(im) for im in images]
        if not images:
            return []
        tasks = [TASK_CAPTION]
        if detail and TASK_DETAILED in self.capabilities:
            tasks.append(TASK_DETAILED)
        if objects and TASK_OBJECTS in self.capabilities:
            tasks.append(TASK_OBJECTS)
        if not plain and len(tasks) > 1:
            tasks.remove(TASK_CAPTION)
        rows = [(i, task) for task in tasks for i in range(len(images))]
        row_images = [images[i] for i, _ in rows]
        row_tasks = [task for _, task in rows]

        t0 = time.perf_counter()
        inputs = self.adapter.preprocess(self.processor, row_images, row_tasks)
        inputs = self._to_device(inputs)
        t1 = time.perf_counter()

        budget = max_new_tokens or max(DEFAULT_MAX_NEW_TOKENS[t] for t in tasks)
        gen_kwargs: dict[str, Any] = dict(max_new_tokens=budget, do_sample=False, num_beams=1, use_cache=True)
        if min_new_tokens is None:
            min_new_tokens = getattr(self.model.generation_config, "min_new_tokens", None) or 0
        gen_kwargs["min_new_tokens"] = min(min_new_tokens, budget)
        self._vision.reset()
        with torch.inference_mode():
            inputs = self._encode_each_image_once(inputs, n_images=len(images), n_tasks=len(tasks))
            sequences = self.model.generate(**inputs, **gen_kwargs)
        decoded = self.adapter.decode(self.processor, sequences, row_tasks, row_images)
        t2 = time.perf_counter()

        n = len(images)
        vision_s = min(self._vision.total_s, t2 - t1)
        timings = {
            "preprocess": (t1 - t0) * 1000 / n,
            "vision": vision_s * 1000 / n,
            "decode": (t2 - t1 - vision_s) * 1000 / n,  # text generation + turning ids into words
        }
        results = [CaptionResult(caption="", timings_ms=dict(timings)) for _ in images]
        for (i, task), value in zip(rows, decoded):
            if task == TASK_CAPTION:
                results[i].caption = value
            elif task == TASK_DETAILED:
                results[i].detailed_caption = value
            elif task == TASK_OBJECTS:
                results[i].objects = value
        return results

    def _encode_each_image_once(self, inputs: dict[str, Any], *, n_images: int, n_tasks: int) -> dict[str, Any]:
        """Several tasks on one image (Florence-2 caption + detail + objects) share one vision pass: the
        image features of the first task's rows are computed once and repeated for the other tasks' rows
        (rows are task-major), then handed to generate as pre-computed encoder outputs. The vision encoder
        is most of Florence-2's cost (1.1 of 2.5 s for a 64-token detailed caption on 2 cores), so this
        makes several tasks nearly as fast as one. The features of the last images are also kept for the
        next call: "more detail" asks for the detail, speaks it, then asks for the objects of the same
        image without looking at it again."""
        get_features = getattr(self.model, "get_image_features", None)
        if not self.adapter.task_tokens or get_features is None or "pixel_values" not in inputs:
            return inputs  # only Florence-2 takes pre-computed image features
        inputs = dict(inputs)
        pixel_values = inputs.pop("pixel_values")[:n_images]
        key = _FeatureCache.key_of(pixel_values)
        features = self._last_features.get(key)
        if features is None:
            features = get_features(pixel_values=pixel_values)
            self._last_features.put(key, features)
        if n_tasks > 1:
            pooled = features.pooler_output
            # A new output object: the cached one keeps one row per image.
            features = type(features)(**{**features, "pooler_output": pooled.repeat(n_tasks, *([1] * (pooled.dim() - 1)))})
        inputs["mm_encoder_outputs"] = {"image": features}
        return inputs

    def warm_up(self) -> None:
        """One tiny generate, so the first real request does not pay for lazy initialisation (kernels,
        allocator, caches). Every task the model can do is included, so "more detail" is warm too (the image
        processor resizes the small picture to the model's real input size). Call from the owner thread
        right after loading."""
        self.caption(
            [Image.new("RGB", (64, 64), (128, 128, 128))],
            detail=TASK_DETAILED in self.capabilities,
            objects=TASK_OBJECTS in self.capabilities,
            max_new_tokens=2,
        )

    def _to_device(self, inputs: dict[str, Any]) -> dict[str, Any]:
        moved = {}
        for key, value in inputs.items():
            if hasattr(value, "to"):
                if value.is_floating_point():
                    value = value.to(self.device, dtype=self._input_dtype)
                else:
                    value = value.to(self.device)
            moved[key] = value
        return moved


# --------------------------------------------------------------------------------------------- loading
def load_hf_captioner(
    target: str,
    *,
    precision: str = "auto",
    device: str = "auto",
    local_files_only: bool = True,
) -> HFCaptioner:
    """Load a captioner from a Hugging Face id (from the cache in engine.config.hub_cache_dir()) or a
    `save_pretrained` folder. Raises ModelNotAvailable when the model is not on this machine (and
    `local_files_only`), ModelLoadError when its files are there but cannot be loaded.

    Slow (seconds): call it from a worker thread, never the GUI thread."""
    from describe_aloud.engine.device import resolve_device, resolve_precision

    device = resolve_device(device)
    precision = resolve_precision(precision, device)
    source, where, advice = _resolve_source(target, local_files_only)

    with _load_errors(where, advice):
        from transformers import AutoConfig

        load_kwargs = _hub_kwargs(source, local_files_only)
        config = AutoConfig.from_pretrained(source, **load_kwargs)
        adapter = ADAPTERS.get(config.model_type)
        if adapter is None:
            supported = ", ".join(sorted(ADAPTERS))
            raise ModelLoadError(
                f"The model in {where} is a {config.model_type!r} model, which this app cannot use for "
                f"descriptions. Supported families: {supported}."
            )
        processor = _load_processor(adapter, source, load_kwargs)
        model = _load_model(source, load_kwargs, device, precision)
        fused = adapter.fuse_attention(model) if adapter.fuse_attention is not None else 0
        use_sdpa_decode(model)

    log.info("loaded captioner %s (%s) on %s in %s", target, adapter.family, device, precision)
    captioner = HFCaptioner(
        model=model, processor=processor, adapter=adapter, model_id=target, device=device, precision=precision
    )
    if fused:
        captioner.attn_implementation = f"sdpa ({fused} decoder layers; the rest {captioner.attn_implementation})"
    return captioner


def _load_processor(adapter: FamilyAdapter, source: str, load_kwargs: dict[str, Any]) -> Any:
    if adapter.separate_processor_parts:
        from transformers import AutoImageProcessor, AutoTokenizer

        return _ProcessorParts(
            image_processor=AutoImageProcessor.from_pretrained(source, **load_kwargs),
            tokenizer=AutoTokenizer.from_pretrained(source, **load_kwargs),
        )
    from transformers import AutoProcessor

    return AutoProcessor.from_pretrained(source, **load_kwargs)


def _load_model(source: str, load_kwargs: dict[str, Any], device: str, precision: str) -> Any:
    from transformers import AutoModelForImageTextToText

    from describe_aloud.engine.device import torch_dtype

    # int8 starts from fp32 weights; the quantized Linear layers then take fp32 activations.
    model = AutoModelForImageTextToText.from_pretrained(source, dtype=torch_dtype(precision), **load_kwargs)
    model.eval()
    if precision == "int8":
        if not device.startswith("cpu"):
            raise ModelLoadError("int8 precision works on the CPU only; choose fp16 or bf16 for a graphics card.")
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


def _hub_kwargs(source: str, local_files_only: bool) -> dict[str, Any]:
    from describe_aloud.engine.config import hub_cache_dir

    # cache_dir explicitly: huggingface_hub reads HF_HOME once at import, the app reads it at call time.
    # A folder (a user's, or a cached snapshot) never needs the network.
    local = local_files_only or Path(source).is_dir()
    return {"local_files_only": local, "cache_dir": str(hub_cache_dir())}


def download_name(target: str) -> str:
    """The name to give `models download`: the catalog name when there is one."""
    entry = catalog_entry(target)
    return entry.name if entry else target


def _looks_like_path(target: str) -> bool:
    return target.startswith(("/", "./", "../", "~", ".\\")) or "\\" in target or target in (".", "..")


def _resolve_source(target: str, local_files_only: bool) -> tuple[str, str, str]:
    """(what to pass to from_pretrained, where the model is in words, what to do if loading fails)."""
    path = Path(target).expanduser()
    if path.is_dir():
        where = f"the folder {str(path)!r}"
        advice = "Check that the folder holds a complete model saved with save_pretrained."
        if not (path / "config.json").is_file():
            raise ModelLoadError(f"The folder {str(path)!r} is not a model folder: it has no config.json.")
        return str(path), where, advice
    if path.exists() or _looks_like_path(target):
        raise ModelLoadError(
            f"{target!r} is not a model folder. Give a catalog name, a Hugging Face id, or a folder saved "
            "with save_pretrained."
        )
    name = download_name(target)
    if "/" not in target and catalog_entry(target) is None:
        known = ", ".join(e.name for e in CATALOG)
        raise ModelNotAvailable(
            target,
            f"There is no model called {target!r}. Choose one of {known}, a Hugging Face id "
            "(organisation/name), or a model folder.",
        )
    where = f"the model {name!r}"
    advice = (
        f"Its download may be damaged: remove it with: {user_command('models', 'remove', name)}, then "
        f"download it again with: {user_command('models', 'download', name)}"
    )
    # A complete cached copy is always loaded from disk, even when downloads are allowed: no network.
    snapshot = cached_snapshot(target)
    if snapshot is not None:
        return str(snapshot), where, advice
    if local_files_only:
        raise ModelNotAvailable(name)
    return target, where, advice


def cached_snapshot(repo_id: str, revision: str = "main") -> Path | None:
    """The cached snapshot folder of a hub model if it is complete (a config and the weights), else None.
    Reads the cache layout directly (refs/<revision> -> snapshots/<commit>), so it never touches the network."""
    from describe_aloud.engine.config import hub_cache_dir

    repo_root = hub_cache_dir() / ("models--" + repo_id.replace("/", "--"))
    ref = repo_root / "refs" / revision
    try:
        commit = ref.read_text().strip()
    except OSError:
        return None
    snapshot = repo_root / "snapshots" / commit
    if not (snapshot / "config.json").is_file():
        return None
    if not any((snapshot / name).is_file() for name in WEIGHT_FILES):
        return None
    return snapshot


class _load_errors:
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
            f"The files of {self.where} could not be loaded ({reason}). {self.advice}"
        ) from exc


def _find_module(model: Any, dotted_paths: Sequence[str]) -> Any:
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


def _floating_dtype(model: Any):
    import torch

    for param in model.parameters():
        if param.is_floating_point():
            return param.dtype
    return torch.float32


def _as_rgb(image: Image.Image) -> Image.Image:
    return image if image.mode == "RGB" else image.convert("RGB")


__all__ = [
    "ADAPTERS",
    "DEFAULT_MAX_NEW_TOKENS",
    "FamilyAdapter",
    "HFCaptioner",
    "cached_snapshot",
    "clean_caption",
    "download_name",
    "florence_objects",
    "load_hf_captioner",
    "quantize_int8",
]
