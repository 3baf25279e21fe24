"""The façade: a PIL image in, a `Description` out (quick checks, then OCR, then the captioner).

Threading contract: a `Describer` is owned by one thread (the GUI's worker thread, the CLI's main thread,
a batch worker). Its captioner and OCR engine are not thread-safe; never call `describe` from two threads
at once: OCR and the captioner run one after the other on the owner thread (on 2 cores each already uses
every core, so running them side by side only made both slower).
Creating a Describer is cheap: the OCR models load on first use (or `warm_up()`); the captioner is built by
the caller (`engine.load_captioner`) and handed in.

Trust rules applied here (the rendering lives in engine.description):
- a blank / near-uniform image is reported as blank, and neither OCR nor the captioner runs on it;
- the kind (photo / screen / document) comes from the text regions and what lies outside them
  (engine.reading.kind): for a screen or a document the text leads and the caption is hedged;
- on a photo only text a sighted person would read there is kept (engine.reading.phantom);
- a capture of the screen (the caller says so with `kind_hint="screen"`) is always a SCREEN, whatever its
  amount of text: a screen is read, its caption only hedged (a blank capture is still reported as blank);
- a captioner failure never loses the text: the description carries `caption_error` instead.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace
from typing import Callable, Sequence

import numpy as np
from PIL import Image

from describe_aloud.engine.captioners.base import Captioner, CaptionResult
from describe_aloud.engine.description import Description, ImageKind
from describe_aloud.engine.errors import UserFacingError
from describe_aloud.engine.i18n import N_, _
from describe_aloud.engine.image_analysis import blank_reason, thumbnail
from describe_aloud.engine.images import ORIGINAL_SIZE, PAGE_OF
from describe_aloud.engine.ocr import OcrEngine
from describe_aloud.engine.reading.kind import classify
from describe_aloud.engine.reading.phantom import keep_readable
from describe_aloud.engine.translation import Translator, translate_description

log = logging.getLogger(__name__)

NO_CAPTIONER_MESSAGE = N_("No captioning model is loaded, so only the text was read.")
CAPTION_FAILED_MESSAGE = N_("The picture could not be described by the model ({reason}).")
OCR_FAILED_MESSAGE = N_("The text in the picture could not be read ({reason}).")


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
    """Turns images into Descriptions. Owned by one thread (see the module docstring)."""

    def __init__(
        self,
        captioner: Captioner | None = None,
        *,
        ocr: OcrEngine | None = None,
        caption_error: str | None = None,
        use_ocr: bool = True,
        translator: Translator | None = None,
        translate_text: bool = False,
    ) -> None:
        self.captioner = captioner
        # Into the user's language (engine.translation): the captioner's words; the read text only if asked.
        self.translator = translator
        self.translate_text = translate_text
        self.ocr = (ocr or OcrEngine()) if use_ocr else None
        # Why there is no caption (model missing...), said with every description.
        self.caption_error = caption_error or (None if captioner is not None else _(NO_CAPTIONER_MESSAGE))

    @property
    def model_id(self) -> str | None:
        return self.captioner.model_id if self.captioner is not None else None

    def warm_up(self) -> None:
        """Load the OCR models and run the captioner once now, so the first real description pays for
        neither. Call on the owner thread (e.g. right after loading).
        A captioner warm-up failure is logged, not raised: the first real request reports it."""
        if self.ocr is not None:
            try:
                self.ocr.warm_up()
            except Exception:  # noqa: BLE001 - the first read reports it; the captioner still warms up
                log.warning("OCR warm-up failed", exc_info=True)
        if not self._can_caption():
            return
        assert self.captioner is not None
        try:
            self.captioner.warm_up()
        except Exception:  # noqa: BLE001 - reported with the first real description instead
            log.warning("captioner warm-up failed", exc_info=True)

    def close(self) -> None:
        """Nothing is held between descriptions today; kept so owners can scope a Describer with `with`."""

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
        describe returns, only what `render.describe(final).after(...)` adds. With a kind_hint, on a dense
        image (engine.ocr_two_step) it is called twice: first with the first lines, while the rest is
        recognised, then with all of them; each time say only what `after` the earlier ones adds."""
        read = self.read_first(image, source=source, kind_hint=kind_hint, on_first_lines=on_text)
        d = read.description
        if on_text is not None and d.mostly_text and d.text_lines:
            on_text(read.partial())
        return self.caption_read(read, detail=detail)

    def read_first(self, image: Image.Image, *, source: str | None = None, kind_hint: KindHint = None,
                   on_first_lines: TextReadyCallback | None = None) -> "ReadImage":
        """`describe`'s first half: the blank check and the text, no caption yet. `caption_read` (of this
        or another Describer: the app reads text before its captioner has loaded) does the rest.
        on_first_lines: with a kind_hint (the kind is known before the text), a dense image's first lines,
        as a Description without caption, while the rest is recognised (see `describe`'s on_text)."""
        started = time.perf_counter()
        hint = _hint(kind_hint)
        d, rgb, thumb = self._prepare(image, source)
        if d.kind is not ImageKind.BLANK:
            self._read_text(d, rgb, thumb, hint, on_first_lines if hint is not None else None)
        return ReadImage(d, rgb, started)

    def caption_read(self, read: "ReadImage", *, detail: bool = False) -> Description:
        """`describe`'s second half: the caption of an image `read_first` read (nothing for a blank one)."""
        d = read.description
        if d.kind is not ImageKind.BLANK:
            d.model_id = self.model_id
            outcome = self._run_captioner([read.rgb], detail)
            self._apply(outcome, [d])
            d = self._translated(d)
        d.timings_ms["total"] = _ms_since(read.started)
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
        step over the same image features. A captioner that hands on its answer as it is decoded
        (`streams_text`) gets the detail said sentence by sentence: `on_detail` then gets the detail so far
        each time a sentence is whole (engine.detail_stream), and the finished description begins with
        exactly what it was given. Never raises for a model failure (see `caption_error`)."""
        from describe_aloud.engine.detail_stream import DetailStream

        started = time.perf_counter()
        rgb = image if image.mode == "RGB" else _to_rgb(image)
        width, height = _carried(ORIGINAL_SIZE, image, rgb, rgb.size)
        d = Description(kind=ImageKind.PHOTO, source=source, width=width, height=height,
                        model_id=self.model_id)
        caps = self.captioner.capabilities if self._can_caption() and self.captioner is not None else frozenset()
        detailed = "detailed" in caps

        def hand_on(text: str) -> None:
            assert on_detail is not None
            on_detail(replace(d, detailed_caption=text, timings_ms=dict(d.timings_ms)))

        stream = DetailStream(tidy=tidy_caption, translate=self._translated_detail,
                              on_said=hand_on if on_detail is not None else None)
        streams = detailed and on_detail is not None and getattr(self.captioner, "streams_text", False)
        outcome = self._run_captioner([rgb], detailed, objects=False, plain=not detailed,
                                      on_text=stream.feed if streams else None)
        self._apply(outcome, [d])
        if not detailed and d.caption:  # a family without a detailed caption: its caption is the detail
            d.detailed_caption, d.caption = d.caption, None
        for stage in ("decode", "caption"):  # sentences were translated while the model wrote: not its time
            if stage in d.timings_ms:
                d.timings_ms[stage] = max(0.0, d.timings_ms[stage] - stream.translate_ms)
        handed = stream.said  # what on_detail was given while the model wrote
        translate_started = time.perf_counter()
        d.detailed_caption = stream.finish(d.detailed_caption)
        translate_ms = _ms_since(translate_started) + stream.translate_ms
        caption_ms = d.timings_ms.get("caption", 0.0)
        if "objects" in caps and outcome.error is None:
            if on_detail is not None and d.detailed_caption and d.detailed_caption != handed:
                hand_on(d.detailed_caption)
            found = self._run_captioner([rgb], False, objects=True, plain=False)
            if found.results is not None:
                d.objects = list(found.results[0].objects)
            else:
                log.warning("looking for objects failed: %s", found.error)
            d.timings_ms["objects"] = found.share_ms
            caption_ms += found.share_ms
        d.timings_ms["caption"] = caption_ms
        detail = d.detailed_caption  # in the user's language already: only the object names are left
        d = self._translated(replace(d, detailed_caption=None))
        d.detailed_caption = detail
        if self.translator is not None:
            d.timings_ms["translate"] = d.timings_ms.get("translate", 0.0) + translate_ms
        d.timings_ms["total"] = _ms_since(started)
        return d

    def _translated_detail(self, text: str) -> str:
        """A detail's words in the user's language (itself when no translation is needed or it fails)."""
        if self.translator is None or not text.strip():
            return text
        return translate_description(Description(kind=ImageKind.PHOTO, detailed_caption=text), self.translator,
                                     translate_text=False).detailed_caption or text

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

        descriptions = [self._translated(d) for d in descriptions]
        for d in descriptions:
            # Total of this image's own stages (in a batch the caption time is its share).
            d.timings_ms["total"] = sum(v for k, v in d.timings_ms.items() if k in _SUMMED_STAGES)
        return descriptions

    # -- stages ------------------------------------------------------------------------------------

    def _translated(self, d: Description) -> Description:
        return translate_description(d, self.translator, translate_text=self.translate_text)

    def _prepare(self, image: Image.Image, source: str | None) -> tuple[Description, Image.Image, np.ndarray]:
        """Conversion and the blank check (kind BLANK, or PHOTO until the text is read)."""
        timings: dict[str, float] = {}
        t = time.perf_counter()
        rgb = image if image.mode == "RGB" else _to_rgb(image)
        timings["convert"] = _ms_since(t)
        width, height = _carried(ORIGINAL_SIZE, image, rgb, rgb.size)
        page, pages = _carried(PAGE_OF, image, rgb, (0, 0))
        d = Description(kind=ImageKind.PHOTO, source=source, width=width, height=height,
                        timings_ms=timings, model_id=self.model_id, page=page, pages=pages)
        t = time.perf_counter()
        thumb = thumbnail(rgb)
        d.blank_reason = blank_reason(thumb)
        timings["blank_check"] = _ms_since(t)
        if d.blank_reason is not None:
            d.kind = ImageKind.BLANK
        return d, rgb, thumb

    def _read_text(self, d: Description, rgb: Image.Image, thumb: np.ndarray,
                   hint: ImageKind | None = None, on_first_lines: TextReadyCallback | None = None) -> None:
        """OCR, then the kind (from the text and the background, unless the caller knows it), then the
        lines worth saying for that kind. With a hint, `on_first_lines` may get the first lines early."""
        if self.ocr is not None:
            t = time.perf_counter()
            first = None
            if on_first_lines is not None and hint is not None:
                def first(lines: list) -> None:
                    early = replace(d, kind=hint, text_lines=keep_readable(lines, hint, rgb.size),
                                    timings_ms={**d.timings_ms, "ocr_first": _ms_since(t)})
                    if early.mostly_text and early.text_lines:
                        on_first_lines(early)
            try:
                # Only the keywords needed: other readers (the Ray batch's) take only the image.
                options: dict = {"on_first_lines": first} if first else {}
                if hint is ImageKind.SCREEN:  # a capture: no text upside down, no angle classifier
                    options["upright"] = True
                d.text_lines = self.ocr.read(rgb, **options)
            except Exception as exc:  # noqa: BLE001 - reported to the user; the caption still comes
                log.exception("OCR failed")
                d.ocr_error = _(OCR_FAILED_MESSAGE).format(reason=f"{type(exc).__name__}: {exc}")
            d.timings_ms["ocr"] = _ms_since(t)
        d.kind = hint or classify(rgb.size, d.text_lines, thumb)
        d.text_lines = keep_readable(d.text_lines, d.kind, rgb.size)

    def _can_caption(self) -> bool:
        return self.captioner is not None and not self.caption_error

    def _run_captioner(self, images: list[Image.Image], detail: bool, *, objects: bool | None = None,
                       plain: bool = True, on_text: Callable[[str], None] | None = None) -> "_Outcome":
        """Caption the images; never raises (a failure becomes the message said instead). `detail` asks
        for the detailed caption and, unless `objects` says otherwise, the objects (when the captioner can);
        `plain=False` leaves the plain caption out. `on_text` goes to a captioner that `streams_text`."""
        if not self._can_caption():
            return _Outcome(error=self.caption_error or _(NO_CAPTIONER_MESSAGE))
        assert self.captioner is not None
        caps = self.captioner.capabilities
        if objects is None:
            objects = detail
        streaming = {"on_text": on_text} if on_text is not None else {}  # only captioners that stream take it
        t = time.perf_counter()
        try:
            results = self.captioner.caption(
                images, detail=detail and "detailed" in caps, objects=objects and "objects" in caps,
                plain=plain, **streaming,
            )
        except UserFacingError as exc:
            return _Outcome(error=str(exc))
        except Exception as exc:  # noqa: BLE001 - any model failure is reported, never swallowed
            log.exception("captioning failed")
            return _Outcome(error=_(CAPTION_FAILED_MESSAGE).format(reason=f"{type(exc).__name__}: {exc}"))
        if len(results) != len(images):
            return _Outcome(error=_(CAPTION_FAILED_MESSAGE).format(
                reason=_("it returned {results} results for {images} images").format(
                    results=len(results), images=len(images))))
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
class ReadImage:
    """An image whose text is read (`Describer.read_first`), its caption still to come."""

    description: Description  # kind, text, timings so far; no caption
    rgb: Image.Image
    started: float  # perf_counter when reading began: the total counts from there

    def partial(self) -> Description:
        """A copy of what is known so far, to hand over (and speak) while the caption is made."""
        d = self.description
        return replace(d, text_lines=list(d.text_lines), timings_ms=dict(d.timings_ms))


@dataclass
class _Outcome:
    results: list[CaptionResult] | None = None
    error: str | None = None
    share_ms: float = 0.0


_SUMMED_STAGES = ("convert", "blank_check", "ocr", "caption", "translate")


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


def _carried(key: str, image: Image.Image, rgb: Image.Image, default: tuple[int, int]) -> tuple[int, int]:
    """What engine.images noted about the picture when it read it (its own size when decoded reduced, the
    page of a file of several), kept by whichever of `image` and its RGB copy carries it."""
    return image.info.get(key) or rgb.info.get(key) or default
