"""The model families the Hugging Face backend knows: their tasks, prompts, token budgets and how their
output is cleaned into words a person hears (markup never spoken; Florence-2's boxes mapped back)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable

from PIL import Image

from describe_aloud.engine.captioners.git_attention import use_sdpa_in_git_decoder
from describe_aloud.engine.description import DetectedObject

TASK_CAPTION = "caption"
TASK_DETAILED = "detailed"
TASK_OBJECTS = "objects"

# Default token budgets per task (overridden by max_new_tokens). A caption is one sentence; a detailed
# caption a short paragraph; objects cost ~6 tokens each (a label + 4 location tokens).
DEFAULT_MAX_NEW_TOKENS = {TASK_CAPTION: 30, TASK_DETAILED: 120, TASK_OBJECTS: 128}

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
