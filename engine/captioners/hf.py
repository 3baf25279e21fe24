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
import time
from typing import Any, Callable, Sequence

from PIL import Image

from describe_aloud.engine.captioners.base import CaptionResult
from describe_aloud.engine.captioners.hf_families import (
    ADAPTERS,
    DEFAULT_MAX_NEW_TOKENS,
    TASK_CAPTION,
    TASK_DETAILED,
    TASK_OBJECTS,
    FamilyAdapter,
    clean_caption,
    florence_objects,
)
from describe_aloud.engine.captioners.hf_loading import (
    download_name,
    find_module,
    floating_dtype,
    hub_kwargs,
    load_errors,
    load_model,
    load_processor,
    quantize_int8,
    resolve_source,
)
from describe_aloud.engine.captioners.decode_attention import use_sdpa_decode
from describe_aloud.engine.captioners.folder_check import refuse_remote_code
from describe_aloud.engine.captioners.lean_git.loading import load_lean_git
from describe_aloud.engine.errors import ModelLoadError
from describe_aloud.engine.i18n import _
from describe_aloud.engine.memory_release import release_freed_memory

log = logging.getLogger(__name__)

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


class _TextSoFar:
    """A `generate` streamer for one row: after each new token, the row's answer so far, cleaned as the
    finished one is (markup never handed on), goes to `on_text`. Runs on the thread that runs generate."""

    def __init__(self, processor: Any, adapter: FamilyAdapter, on_text: Callable[[str], None]) -> None:
        self._tokenizer = processor.tokenizer
        self._clean = adapter.clean
        self._on_text = on_text
        self._ids: list[int] = []
        self._prompt_seen = False

    def put(self, value: Any) -> None:
        if not self._prompt_seen:  # generate hands over the prompt (the decoder's start) first
            self._prompt_seen = True
            return
        self._ids.extend(int(token) for token in value.reshape(-1).tolist())
        self._on_text(self._clean(self._tokenizer.decode(self._ids, skip_special_tokens=True)))

    def end(self) -> None:
        pass


class HFCaptioner:
    """A loaded Hugging Face captioner. Not thread-safe: one owner thread calls `caption` / `warm_up`."""

    # caption(on_text=...) hands on the answer as it is decoded (engine.detail_stream says it by sentences).
    streams_text = True

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
        self._vision = _VisionTimer(find_module(model, adapter.vision_paths))
        self._input_dtype = floating_dtype(model)
        self._last_features = _FeatureCache()
        self.packed_linear_layers = 0  # Linear layers running on packed bf16 weights (load_hf_captioner)

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
        on_text: Callable[[str], None] | None = None,
    ) -> list[CaptionResult]:
        """Caption `images` (one result each, in order) with ONE batched `generate`.

        `detail` adds the detailed caption and `objects` the detected objects when the family can (otherwise
        `detailed_caption` stays None / `objects` empty). `plain=False` leaves the plain caption out when
        something else was asked for and can be made (it stays empty): "more detail" needs only the
        detail, and a batch runs as long as its longest row. For Florence-2 every (image, task) pair is one
        row of the same batch. `min_new_tokens` forces a token count (benchmarks). Timings per image, in ms:
        preprocess, vision (the vision encoder, measured by hooks), decode (the rest of generate).

        `on_text`, when exactly one row is generated (one image, one task), gets that row's answer decoded
        so far after each token, on this thread: "more detail" says it sentence by sentence."""
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
        row_tasks = [task for _row, task in rows]

        t0 = time.perf_counter()
        inputs = self.adapter.preprocess(self.processor, row_images, row_tasks)
        inputs = self._to_device(inputs)
        t1 = time.perf_counter()

        budget = max_new_tokens or max(DEFAULT_MAX_NEW_TOKENS[t] for t in tasks)
        gen_kwargs: dict[str, Any] = dict(max_new_tokens=budget, do_sample=False, num_beams=1, use_cache=True)
        if min_new_tokens is None:
            min_new_tokens = getattr(self.model.generation_config, "min_new_tokens", None) or 0
        gen_kwargs["min_new_tokens"] = min(min_new_tokens, budget)
        if on_text is not None and len(rows) == 1:
            gen_kwargs["streamer"] = _TextSoFar(self.processor, self.adapter, on_text)
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
        results = [CaptionResult(caption="", timings_ms=dict(timings)) for _image in images]
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
) -> Any:
    """Load a captioner from a Hugging Face id (from the cache in engine.config.hub_cache_dir()) or a
    `save_pretrained` folder: an HFCaptioner, or for a GIT checkpoint the lean one (engine.captioners.
    lean_git: no transformers import). Raises ModelNotAvailable when the model is not on this machine (and
    `local_files_only`), ModelLoadError when its files are there but cannot be loaded.

    Slow (seconds): call it from a worker thread, never the GUI thread."""
    from describe_aloud.engine.device import resolve_device, resolve_precision

    device = resolve_device(device)
    precision = resolve_precision(precision, device)
    source, where, advice = resolve_source(target, local_files_only)

    with load_errors(where, advice):
        refuse_remote_code(source, where, ADAPTERS)  # before transformers could ask "run custom code? [y/N]"
        # GIT (the default captioner) without transformers when the lean path computes it exactly.
        lean = load_lean_git(source, model_id=target, device=device, precision=precision)
    if lean is not None:
        release_freed_memory()
        return lean

    with load_errors(where, advice):
        from transformers import AutoConfig

        load_kwargs = hub_kwargs(source, local_files_only)
        config = AutoConfig.from_pretrained(source, **load_kwargs)
        adapter = ADAPTERS.get(config.model_type)
        if adapter is None:
            supported = ", ".join(sorted(ADAPTERS))
            raise ModelLoadError(
                _("Images cannot be described with {where}: its kind of model ({model_type}) is not one this "
                  "app can use for descriptions. Supported kinds: {supported}.").format(where=where, model_type=config.model_type, supported=supported)
            )
        processor = load_processor(adapter, source, load_kwargs)
        model = load_model(source, load_kwargs, device, precision)
        fused = adapter.fuse_attention(model) if adapter.fuse_attention is not None else 0
        use_sdpa_decode(model)
        packed = _pack_if_faster(model, device, precision)
    # The load freed its buffers (and packing the plain weights): give those pages back (engine/memory_release.py).
    release_freed_memory()

    log.info("loaded captioner %s (%s) on %s in %s", target, adapter.family, device, precision)
    captioner = HFCaptioner(
        model=model, processor=processor, adapter=adapter, model_id=target, device=device, precision=precision
    )
    if fused:
        captioner.attn_implementation = f"sdpa ({fused} decoder layers; the rest {captioner.attn_implementation})"
    captioner.packed_linear_layers = packed
    return captioner


def _pack_if_faster(model: Any, device: str, precision: str) -> int:
    """bf16 on a CPU: pack the Linear weights for oneDNN when that is faster here (engine.captioners.
    decode_path measures it once per CPU). Returns how many layers were packed."""
    from describe_aloud.engine.captioners.decode_path import pack_if_faster

    return pack_if_faster(model, device, precision)


def _as_rgb(image: Image.Image) -> Image.Image:
    return image if image.mode == "RGB" else image.convert("RGB")


__all__ = [
    "ADAPTERS",
    "DEFAULT_MAX_NEW_TOKENS",
    "FamilyAdapter",
    "HFCaptioner",
    "clean_caption",
    "download_name",
    "florence_objects",
    "load_hf_captioner",
    "quantize_int8",
]
