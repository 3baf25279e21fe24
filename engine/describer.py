"""The façade: a PIL image in, a `Description` out (quick checks, then OCR, then the captioner).

Threading contract: a `Describer` is owned by one thread (the GUI's worker thread, the CLI's main thread,
a batch worker). Its captioner and OCR engine are not thread-safe; never call `describe` from two threads
at once. In parallel mode the captioner runs on the Describer's own helper thread while the owner thread
reads the text; `describe` waits for it, so the captioner is still never used by two threads at once.
Creating a Describer is cheap: the OCR models load on first use (or `warm_up()`); the captioner is built by
the caller (`engine.load_captioner`) and handed in.

Trust rules applied here (the rendering lives in engine.description):
- a blank / near-uniform image is reported as blank, and neither OCR nor the captioner runs on it;
- when text covers much of the image it is a screen or a document: the text leads, the caption is hedged;
- a capture of the screen (the caller says so with `kind_hint="screen"`) is always a SCREEN, whatever its
  amount of text: a screen is read, its caption only hedged (a blank capture is still reported as blank);
- a captioner failure never loses the text: the description carries `caption_error` instead.
"""
from __future__ import annotations

import colorsys
import logging
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Callable, Sequence

import numpy as np
from PIL import Image

from describe_aloud.engine.captioners.base import Captioner, CaptionResult
from describe_aloud.engine.description import Description, ImageKind, TextLine
from describe_aloud.engine.errors import UserFacingError
from describe_aloud.engine.ocr import OcrEngine

log = logging.getLogger(__name__)

# Blank check: the image is shrunk (box filter, which averages sensor / JPEG noise away) to this many
# pixels on its longest side; it is blank when no pixel of it strays more than BLANK_TOLERANCE levels
# from the median colour on any channel. Calling a page with one small word "blank" would hide it from
# the user, so the check errs on the side of "not blank" (a flat wall with a shadow gets a caption).
BLANK_THUMB_SIDE = 256
BLANK_TOLERANCE = 16
# Mostly text: text boxes cover this share of the image, or this many lines cover a smaller share.
TEXT_COVERAGE_MOSTLY = 0.15
TEXT_LINES_MOSTLY = 8
TEXT_COVERAGE_WITH_MANY_LINES = 0.04
# Document (rather than screen): this share of the image is one light, colourless background.
DOCUMENT_BACKGROUND_SHARE = 0.6
# ...and at most this share of it is in clear colour (a logo is fine, a picture panel is a screen).
DOCUMENT_MAX_COLOUR_SHARE = 0.05

NO_CAPTIONER_MESSAGE = "No captioning model is loaded, so only the text was read."
CAPTION_FAILED_MESSAGE = "The picture could not be described by the model"
OCR_FAILED_MESSAGE = "The text in the picture could not be read"


TextReadyCallback = Callable[[Description], None]
KindHint = ImageKind | str | None


def _hint(kind_hint: KindHint) -> ImageKind | None:
    """The ImageKind a caller's hint names ("screen", ImageKind.SCREEN), None for no hint. Only SCREEN
    and DOCUMENT are accepted: a hint may put the text first, never claim a blank or a photo."""
    if kind_hint is None:
        return None
    kind = ImageKind(kind_hint)
    if kind not in (ImageKind.SCREEN, ImageKind.DOCUMENT):
        raise ValueError(f"kind_hint must be 'screen' or 'document', not {kind.value!r}")
    return kind


class Describer:
    """Turns images into Descriptions. Owned by one thread (see the module docstring).

    parallel=True runs the captioner on one helper thread (owned by this Describer, ended by `close()`)
    while the owner thread reads the text, so a description takes about max(OCR, caption) instead of the
    sum, when the cores allow it. Results are the same either way."""

    def __init__(
        self,
        captioner: Captioner | None = None,
        *,
        ocr: OcrEngine | None = None,
        caption_error: str | None = None,
        use_ocr: bool = True,
        parallel: bool = False,
    ) -> None:
        self.captioner = captioner
        self.ocr = (ocr or OcrEngine()) if use_ocr else None
        # Why there is no caption (model missing...), said with every description.
        self.caption_error = caption_error or (None if captioner is not None else NO_CAPTIONER_MESSAGE)
        self.parallel = parallel
        self._pool: ThreadPoolExecutor | None = None

    @property
    def model_id(self) -> str | None:
        return self.captioner.model_id if self.captioner is not None else None

    def warm_up(self) -> None:
        """Load the OCR models, run the captioner once and start the parallel helper thread now, so the
        first real description pays for none of it. Call on the owner thread (e.g. right after loading).
        A captioner warm-up failure is logged, not raised: the first real request reports it."""
        if self.ocr is not None:
            try:
                self.ocr.warm_up()
            except Exception:  # noqa: BLE001 - the first read reports it; the captioner still warms up
                log.warning("OCR warm-up failed", exc_info=True)
        if not self._can_caption():
            return
        warmup = getattr(self.captioner, "warmup", None) or (lambda: None)
        try:
            if self.parallel:
                # On the helper thread, where captions will run: it is started now, and per-thread state
                # (thread pools of the math libraries) is set up there rather than on the first hotkey.
                self._helper().submit(warmup).result()
            else:
                warmup()
        except Exception:  # noqa: BLE001 - reported with the first real description instead
            log.warning("captioner warm-up failed", exc_info=True)

    def close(self) -> None:
        """End the helper thread of parallel mode (waits for a running caption). Idempotent."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def __enter__(self) -> "Describer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def describe(
        self,
        image: Image.Image,
        *,
        detail: bool = False,
        source: str | None = None,
        on_text: TextReadyCallback | None = None,
        kind_hint: KindHint = None,
    ) -> Description:
        """Describe one image. Never raises for a model or OCR failure: see `caption_error`, `ocr_error`.

        kind_hint: "screen" for a capture of the screen, a window or a region: the description is a SCREEN
        (text first, caption hedged) however much text it has; a blank capture is still BLANK.

        on_text: called on this (the owner) thread as soon as the text is read, before the caption is
        ready, when the trust rules put the text first (a screen or document with text), so speaking can
        start early. It gets a Description without caption; speak `render.describe(partial)`, then, when
        describe returns, only what `render.describe(final).after(...)` adds."""
        started = time.perf_counter()
        hint = _hint(kind_hint)
        d, rgb, thumb = self._prepare(image, source)
        if d.kind is ImageKind.BLANK:
            d.timings_ms["total"] = _ms_since(started)
            return d
        pending: Future | None = None
        if self.parallel and self._can_caption():
            pending = self._helper().submit(self._run_captioner, [rgb], detail)
        self._read_text(d, rgb, thumb, hint)
        if on_text is not None and d.mostly_text and d.text_lines:
            on_text(replace(d, text_lines=list(d.text_lines), timings_ms=dict(d.timings_ms)))
        outcome = pending.result() if pending is not None else self._run_captioner([rgb], detail)
        self._apply(outcome, [d])
        d.timings_ms["total"] = _ms_since(started)
        return d

    def add_detail(
        self,
        image: Image.Image,
        *,
        source: str | None = None,
        on_detail: TextReadyCallback | None = None,
    ) -> Description:
        """More about an image already described ("more detail"): the captioner's detailed caption (its
        plain caption when it has no detailed one) and the objects it finds, when it can. No OCR and no
        blank check: the image was read the first time.

        The detail comes first, on its own: `on_detail` gets it (a Description without objects) while the
        objects are still being looked for, so it can be spoken at once; the objects are a second, shorter
        step over the same image features. Never raises for a model failure (see `caption_error`)."""
        started = time.perf_counter()
        rgb = image if image.mode == "RGB" else _to_rgb(image)
        d = Description(kind=ImageKind.PHOTO, source=source, width=rgb.width, height=rgb.height,
                        model_id=self.model_id)
        caps = self.captioner.capabilities if self._can_caption() and self.captioner is not None else frozenset()
        detailed = "detailed" in caps
        outcome = self._run_captioner([rgb], detailed, objects=False, plain=not detailed)
        self._apply(outcome, [d])
        if not detailed and d.caption:  # a family without a detailed caption: its caption is the detail
            d.detailed_caption, d.caption = d.caption, None
        caption_ms = d.timings_ms.get("caption", 0.0)
        if "objects" in caps and outcome.error is None:
            if on_detail is not None and d.detailed_caption:
                on_detail(replace(d, timings_ms=dict(d.timings_ms)))
            found = self._run_captioner([rgb], False, objects=True, plain=False)
            if found.results is not None:
                d.objects = list(found.results[0].objects)
            else:
                log.warning("looking for objects failed: %s", found.error)
            d.timings_ms["objects"] = found.share_ms
            caption_ms += found.share_ms
        d.timings_ms["caption"] = caption_ms
        d.timings_ms["total"] = _ms_since(started)
        return d

    def describe_batch(
        self,
        images: Sequence[Image.Image],
        *,
        detail: bool = False,
        sources: Sequence[str | None] | None = None,
        kind_hint: KindHint = None,
    ) -> list[Description]:
        """Describe several images with one captioner call for all the non-blank ones. kind_hint applies
        to every image (see `describe`)."""
        if sources is not None and len(sources) != len(images):
            raise ValueError("sources must have one entry per image")
        hint = _hint(kind_hint)
        descriptions: list[Description] = []
        rgbs: list[Image.Image] = []
        for i, image in enumerate(images):
            d, rgb, thumb = self._prepare(image, sources[i] if sources else None)
            if d.kind is not ImageKind.BLANK:
                self._read_text(d, rgb, thumb, hint)
            descriptions.append(d)
            rgbs.append(rgb)

        to_caption = [i for i, d in enumerate(descriptions) if d.kind is not ImageKind.BLANK]
        if to_caption:
            outcome = self._run_captioner([rgbs[i] for i in to_caption], detail)
            self._apply(outcome, [descriptions[i] for i in to_caption])

        for d in descriptions:
            # Total of this image's own stages (in a batch the caption time is its share).
            d.timings_ms["total"] = sum(v for k, v in d.timings_ms.items() if k in _SUMMED_STAGES)
        return descriptions

    # -- stages ------------------------------------------------------------------------------------

    def _prepare(self, image: Image.Image, source: str | None) -> tuple[Description, Image.Image, np.ndarray]:
        """Conversion and the blank check (kind BLANK, or PHOTO until the text is read)."""
        timings: dict[str, float] = {}
        t = time.perf_counter()
        rgb = image if image.mode == "RGB" else _to_rgb(image)
        timings["convert"] = _ms_since(t)
        d = Description(kind=ImageKind.PHOTO, source=source, width=rgb.width, height=rgb.height,
                        timings_ms=timings, model_id=self.model_id)
        t = time.perf_counter()
        thumb = _thumbnail(rgb)
        d.blank_reason = _blank_reason(thumb)
        timings["blank_check"] = _ms_since(t)
        if d.blank_reason is not None:
            d.kind = ImageKind.BLANK
        return d, rgb, thumb

    def _read_text(self, d: Description, rgb: Image.Image, thumb: np.ndarray,
                   hint: ImageKind | None = None) -> None:
        """OCR, then the kind (which depends on how much text there is, unless the caller knows it)."""
        if self.ocr is not None:
            t = time.perf_counter()
            try:
                d.text_lines = self.ocr.read(rgb)
            except Exception as exc:  # noqa: BLE001 - reported to the user; the caption still comes
                log.exception("OCR failed")
                d.ocr_error = f"{OCR_FAILED_MESSAGE} ({type(exc).__name__}: {exc})."
            d.timings_ms["ocr"] = _ms_since(t)
        d.kind = hint or classify(rgb.size, d.text_lines, thumb)

    def _can_caption(self) -> bool:
        return self.captioner is not None and not self.caption_error

    def _helper(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="describer-caption")
        return self._pool

    def _run_captioner(self, images: list[Image.Image], detail: bool, *, objects: bool | None = None,
                       plain: bool = True) -> "_Outcome":
        """Caption the images; never raises (a failure becomes the message said instead). `detail` asks
        for the detailed caption and, unless `objects` says otherwise, the objects (when the captioner can);
        `plain=False` leaves the plain caption out (only captioners that take `plain` are asked that)."""
        if not self._can_caption():
            return _Outcome(error=self.caption_error or NO_CAPTIONER_MESSAGE)
        assert self.captioner is not None
        caps = self.captioner.capabilities
        if objects is None:
            objects = detail
        extra = {} if plain else {"plain": False}
        t = time.perf_counter()
        try:
            results = self.captioner.caption(
                images, detail=detail and "detailed" in caps, objects=objects and "objects" in caps, **extra
            )
        except UserFacingError as exc:
            return _Outcome(error=str(exc))
        except Exception as exc:  # noqa: BLE001 - any model failure is reported, never swallowed
            log.exception("captioning failed")
            return _Outcome(error=f"{CAPTION_FAILED_MESSAGE} ({type(exc).__name__}: {exc}).")
        if len(results) != len(images):
            return _Outcome(error=f"{CAPTION_FAILED_MESSAGE} (it returned {len(results)} results for "
                                  f"{len(images)} images).")
        return _Outcome(results=results, share_ms=_ms_since(t) / max(1, len(images)))

    @staticmethod
    def _apply(outcome: "_Outcome", descriptions: list[Description]) -> None:
        if outcome.results is None:
            for d in descriptions:
                d.caption_error = outcome.error
            return
        for d, r in zip(descriptions, outcome.results):
            _apply_result(d, r, outcome.share_ms)


@dataclass
class _Outcome:
    results: list[CaptionResult] | None = None
    error: str | None = None
    share_ms: float = 0.0


_SUMMED_STAGES = ("convert", "blank_check", "ocr", "caption")


def _apply_result(d: Description, r: CaptionResult, share_ms: float) -> None:
    d.caption = tidy_caption(r.caption or "") or None
    d.detailed_caption = tidy_caption(r.detailed_caption or "") or None
    d.objects = list(r.objects)
    for stage in ("preprocess", "vision", "decode"):
        if stage in r.timings_ms:
            d.timings_ms[stage] = float(r.timings_ms[stage])
    d.timings_ms["caption"] = share_ms


# A phrase of up to this many words said this many times in a row is a decoding loop, not a description.
LOOP_MAX_WORDS = 6
LOOP_MIN_REPEATS = 3


def tidy_caption(text: str) -> str:
    """Whitespace tidied, and decoding loops ("a man and a man and a man and a man") said once: a
    captioner stuck repeating itself must not read the same words to the user over and over."""
    words = text.split()
    n = 1
    while n <= LOOP_MAX_WORDS:
        out: list[str] = []
        i = 0
        changed = False
        while i < len(words):
            phrase = [w.lower().strip(".,") for w in words[i:i + n]]
            repeats = 1
            while (len(phrase) == n and
                   [w.lower().strip(".,") for w in words[i + repeats * n:i + (repeats + 1) * n]] == phrase):
                repeats += 1
            if repeats >= LOOP_MIN_REPEATS:
                out.extend(words[i:i + n])
                i += repeats * n
                changed = True
            else:
                out.append(words[i])
                i += 1
        words = out
        n = n if changed else n + 1
    return " ".join(words)


def _ms_since(t: float) -> float:
    return (time.perf_counter() - t) * 1000.0


def _to_rgb(image: Image.Image) -> Image.Image:
    from describe_aloud.engine.images import to_rgb

    return to_rgb(image)


# ------------------------------------------------------------------------------------- blank check

def _thumbnail(rgb: Image.Image) -> np.ndarray:
    """A small float RGB array of the image, box-filtered (each pixel the mean of its block)."""
    w, h = rgb.size
    scale = max(w, h) / BLANK_THUMB_SIDE
    if scale > 1:
        small = rgb.reduce(max(1, int(scale))) if scale >= 2 else rgb
        size = (max(1, round(w / scale)), max(1, round(h / scale)))
        small = small.resize(size, Image.Resampling.BOX)
    else:
        small = rgb
    return np.asarray(small, dtype=np.float32)


def _blank_reason(thumb: np.ndarray) -> str | None:
    """"all dark grey" when the image is one flat colour, else None."""
    flat = thumb.reshape(-1, 3)
    deviation = float(np.abs(flat - np.median(flat, axis=0)).max())
    if deviation > BLANK_TOLERANCE:
        return None
    return f"all {colour_name(tuple(flat.mean(axis=0)))}"


def colour_name(rgb: tuple[float, ...]) -> str:
    """A plain colour name for a mean colour: "black", "white", "dark grey", "light blue"..."""
    r, g, b = (float(c) / 255.0 for c in rgb[:3])
    hue, light, sat = colorsys.rgb_to_hls(r, g, b)
    if sat < 0.15 or max(r, g, b) - min(r, g, b) < 0.08:
        if light < 0.08:
            return "black"
        if light > 0.92:
            return "white"
        if light < 0.35:
            return "dark grey"
        if light > 0.7:
            return "light grey"
        return "grey"
    degrees = hue * 360
    for limit, name in ((15, "red"), (40, "orange"), (70, "yellow"), (165, "green"), (195, "cyan"),
                        (255, "blue"), (290, "purple"), (335, "pink"), (360, "red")):
        if degrees < limit:
            base = name
            break
    if light < 0.3:
        return f"dark {base}"
    if light > 0.75:
        return f"light {base}"
    return base


# ---------------------------------------------------------------------------------- classification

def classify(size: tuple[int, int], lines: Sequence[TextLine], thumb: np.ndarray) -> ImageKind:
    """PHOTO, or SCREEN / DOCUMENT when the image is mostly text."""
    if not lines:
        return ImageKind.PHOTO
    area = float(size[0] * size[1]) or 1.0
    covered = sum(max(0.0, l.box[2] - l.box[0]) * max(0.0, l.box[3] - l.box[1]) for l in lines) / area
    mostly_text = covered >= TEXT_COVERAGE_MOSTLY or (
        len(lines) >= TEXT_LINES_MOSTLY and covered >= TEXT_COVERAGE_WITH_MANY_LINES
    )
    if not mostly_text:
        return ImageKind.PHOTO
    return ImageKind.DOCUMENT if _light_plain_background(thumb) else ImageKind.SCREEN


def _light_plain_background(thumb: np.ndarray) -> bool:
    """Most of the image is one light, colourless tone (paper) and little of it is in colour, as opposed
    to a screen's UI (pictures, icons, coloured bars, dark mode)."""
    flat = thumb.reshape(-1, 3)
    grey = flat.mean(axis=1)
    chroma = flat.max(axis=1) - flat.min(axis=1)
    if float((chroma > 40).mean()) > DOCUMENT_MAX_COLOUR_SHARE:
        return False
    colourless = chroma < 20
    light = grey > 200
    if not (colourless & light).any():
        return False
    # The dominant light tone, +-12 levels.
    tone = float(np.median(grey[colourless & light]))
    share = float(((np.abs(grey - tone) <= 12) & colourless).mean())
    return share >= DOCUMENT_BACKGROUND_SHARE
