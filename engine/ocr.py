"""Offline text reading with rapidocr (its ONNX models ship inside the wheel), lines in reading order.

Threading contract: an `OcrEngine` is owned by one thread. Create one per thread that reads text (the
describer's owner thread, a batch worker...). The rapidocr model is loaded lazily on the first `read`,
once per engine, so creating an engine is cheap and may happen on any thread.

Reading order, tables and the language of each line: engine.reading.order (recursive XY-cut).
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import replace
from itertools import takewhile
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from describe_aloud.engine.description import TextLine
from describe_aloud.engine.ocr_engines import ENGINE_ONNXRUNTIME, OcrSettings, build_rapidocr
from describe_aloud.engine.ocr_input import bounded_for_ocr
from describe_aloud.engine.ocr_memory import release_engine_memory
from describe_aloud.engine.ocr_prep import bgr_array, install_exact_det_preprocess
from describe_aloud.engine.ocr_two_step import FirstBlock, read_in_two_steps, two_steps_supported
from describe_aloud.engine.reading.order import Piece as _Piece
from describe_aloud.engine.reading.phantom import SAME_PLACE_OVERLAP, overlap
from describe_aloud.engine.reading.order import reading_order

__all__ = ["OcrEngine", "reading_order"]

log = logging.getLogger(__name__)

# Lines the recogniser is less sure of than this are mostly noise (textures, icons read as letters).
MIN_CONFIDENCE = 0.5
# A single character is kept only when it is a letter or digit read with this confidence.
MIN_SINGLE_CHAR_CONFIDENCE = 0.8
# Longest image side handed to the detector; larger images are scaled down (boxes mapped back). rapidocr
# would do the same at 2000; screens up to 2560 wide keep small UI text legible at this size.
MAX_SIDE = 2560


class OcrEngine:
    """Reads the text in an image. Not thread-safe: one engine per thread (see the module docstring)."""

    def __init__(self, *, max_side: int = MAX_SIDE, threads: int | None = None,
                 settings: OcrSettings | None = None) -> None:
        self.max_side = max_side
        self.threads = threads
        # Engine, detector size and classifier: engine.ocr_engines (OpenVINO when installed).
        self.settings = settings if settings is not None else OcrSettings(threads=threads)
        self.engine_name: str | None = None  # "openvino" / "onnxruntime" once built
        self._ocr: Any = None
        self._owner: int | None = None
        self._warm = False
        self._warm_lock = threading.Lock()

    def _engine(self) -> Any:
        if self._ocr is None:
            from describe_aloud.engine.privacy import disable_onnxruntime_telemetry

            disable_onnxruntime_telemetry()  # before rapidocr creates a session: see engine/privacy.py
            # Heavy (rapidocr, cv2, the engine): only when text is first read.
            ocr, self.engine_name = build_rapidocr(self.settings, max_side_len=self.max_side)
            if self.engine_name == ENGINE_ONNXRUNTIME:
                _sessions_without_spinning(ocr, self.settings.threads)
            install_exact_det_preprocess(ocr)  # same values, a quarter of the time: engine/ocr_prep.py
            self._ocr = ocr
        return self._ocr

    def warm_up(self) -> None:
        """Load the models now (e.g. in the background at start) instead of on the first `read`. May run
        on another thread than the reads, as long as not at the same time as one. Runs once: a second call
        waits for the first one to finish (so a warm-up started on a helper thread can be joined by calling
        it again from the owner thread) and then returns at once."""
        with self._warm_lock:
            if self._warm:
                return
            # Shaped like a screen (16:9): rapidocr scales every image so its short side is 736 px, and
            # OpenVINO keeps buffers for the largest detector input it has seen. A 160x48 strip became
            # 2453x736 (+350 MB resident); 256x144 becomes 1312x736, a 1280x720 screen's own size (+200 MB).
            sample = Image.new("RGB", (256, 144), "white")
            ImageDraw.Draw(sample).text((8, 8), "Ready", fill="black", font_size=24)
            # Text, so that detection finds a line and the classifier and recogniser load too.
            self._engine()(np.asarray(sample)[:, :, ::-1])
            self._warm = True

    def warm_up_for_size(self, size: tuple[int, int]) -> None:
        """Read a page of `size` once (width, height: a screen's), so the first real capture of that size
        is not the first time onnxruntime sees its shapes: on the 2-core test machine the first read of
        a 1280x720 screen took 0.76-1.06 s after the small warm-up, the following ones 0.35 s."""
        width, height = max(64, int(size[0])), max(64, int(size[1]))
        page = Image.new("RGB", (width, height), "white")
        draw = ImageDraw.Draw(page)
        for row, words in enumerate(("File Edit View Help", "Ready to describe the screen", "Settings")):
            draw.text((24, 24 + 48 * row), words, fill="black", font_size=24)
        self.read(page)

    def warm_up_in_background(self) -> threading.Thread:
        """Start `warm_up` on a daemon thread and return it. Most of the warm-up is onnxruntime building
        its sessions and running once, which releases the GIL: it overlaps well with loading a captioner."""
        thread = threading.Thread(target=self._warm_up_logged, name="ocr-warm-up", daemon=True)
        thread.start()
        return thread

    def _warm_up_logged(self) -> None:
        try:
            self.warm_up()
        except Exception:  # noqa: BLE001 - the owner's own warm_up or first read reports the failure
            log.warning("OCR warm-up failed", exc_info=True)

    def read(self, image: Image.Image, *,
             on_first_lines: Callable[[list[TextLine]], None] | None = None,
             upright: bool = False) -> list[TextLine]:
        """The text lines of `image` in reading order, boxes in the image's own pixels.

        upright: the text cannot be upside down (a capture of the screen): the angle classifier, which only
        tells 0 from 180 degrees, is skipped. Measured on the reading corpus's 32 screens and 6 real screens
        (docs/benchmarks.md): the same lines, or better ones where it had turned a short word over
        ("rot" for "root", "Mik" for "Milk"), and one model run per line less.

        on_first_lines: on a dense image (engine.ocr_two_step), called with its first lines in reading
        order while the rest is still recognised: only lines whose place in the reading order no text still
        being recognised can change (`_first_lines`), so they are the first lines of what `read` returns.
        The lines returned are the same as without it."""
        self._check_owner()
        rgb = image if image.mode == "RGB" else image.convert("RGB")
        scale = 1.0
        if max(rgb.size) > self.max_side:
            scale = max(rgb.size) / self.max_side
            size = (max(1, round(rgb.width / scale)), max(1, round(rgb.height / scale)))
            rgb = rgb.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)
        rgb = bounded_for_ocr(rgb)  # a thin strip would be upscaled to gigabytes: see engine/ocr_input.py
        if rgb is None:
            return []
        bgr = bgr_array(rgb)  # contiguous: a strided view made every OpenCV call copy it (engine/ocr_prep.py)
        with self._warm_lock:  # a warm-up still running on its own thread finishes first
            ocr = self._engine()
            _set_classifier(ocr, self.settings.use_cls and not upright)
            if on_first_lines is not None and two_steps_supported(ocr):
                def first(block: FirstBlock) -> None:
                    lines = _first_lines(block, scale, image.size)
                    if lines:
                        on_first_lines(lines)

                try:
                    result = read_in_two_steps(ocr, bgr, first)
                except MemoryError:
                    raise  # reading again would only run out of memory again
                except Exception:  # noqa: BLE001 - rapidocr's inner steps changed: read as before, in one
                    log.warning("two-step read failed; reading in one step", exc_info=True)
                    result = ocr(bgr)
            else:
                result = ocr(bgr)
        pieces = _pieces_from_result(result, scale, image.size)
        return reading_order(pieces)

    def release_memory(self) -> int:
        """Give back the buffers the inference engine keeps between reads (OpenVINO: those of the largest
        image read; engine/ocr_memory.py), for a quiet spell: the next read allocates them again. Returns how
        many models released theirs; 0 while a read or the warm-up runs (never waits for one)."""
        if self._ocr is None or not self._warm_lock.acquire(blocking=False):
            return 0
        try:
            return release_engine_memory(self._ocr)
        finally:
            self._warm_lock.release()

    def _check_owner(self) -> None:
        me = threading.get_ident()
        if self._owner is None:
            self._owner = me
        elif self._owner != me:
            log.warning("OcrEngine used from a second thread; create one engine per thread")


def _set_classifier(ocr: Any, on: bool) -> None:
    """Whether this read runs rapidocr's angle classifier: rapidocr 3 reads its `use_cls` at every call (its
    own `update_params(use_cls=...)` sets the same attribute), engine.ocr_two_step reads it too."""
    if hasattr(ocr, "use_cls"):
        ocr.use_cls = on


# rapidocr 3.10's lazy model loaders and where each loaded part keeps its onnxruntime session.
_LOADERS = ("_load_det_model", "_load_cls_model", "_load_rec_model")
_PARTS = ("text_det", "text_cls", "text_rec")


def _sessions_without_spinning(ocr: Any, threads: int | None) -> int:
    """Load rapidocr's three models now and give each an onnxruntime session whose idle threads sleep
    instead of spinning (rapidocr has no setting for it). Returns how many sessions were replaced.

    Why: the app reads the text, then captions at once with every core; onnxruntime's threads, still
    spinning after a read, took those cores from the caption (measured on the 2-core test machine, a GIT
    caption right after a read took 0.48 s instead of 0.43 s alone; without spinning 0.44 s, and the read
    itself took no longer: 0.29 s). Building the three sessions again costs 75 ms, once. With another
    rapidocr version whose parts look different, its own sessions are kept."""
    try:
        import onnxruntime as ort
    except ImportError:
        return 0
    for loader, part_name in zip(_LOADERS, _PARTS):
        if part_name == "text_cls" and not getattr(ocr, "use_cls", True):
            continue  # the classifier is off: never loaded
        load = getattr(ocr, loader, None)
        if callable(load):
            load()
    replaced = 0
    for part_name in _PARTS:
        wrapper = getattr(getattr(ocr, part_name, None), "session", None)
        session = getattr(wrapper, "session", None)
        path = getattr(session, "_model_path", None)
        if not isinstance(session, ort.InferenceSession) or not path:
            continue
        options = ort.SessionOptions()
        options.log_severity_level = 4
        options.enable_cpu_mem_arena = False  # rapidocr's own default
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if threads:
            options.intra_op_num_threads = threads
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            wrapper.session = ort.InferenceSession(path, sess_options=options, providers=session.get_providers())
        except Exception:  # noqa: BLE001 - rapidocr's own session still works
            log.info("kept rapidocr's own %s session", part_name, exc_info=True)
            continue
        replaced += 1
    if replaced != len(_PARTS) - (0 if getattr(ocr, "use_cls", True) else 1):
        log.info("%d of rapidocr's %d sessions have idle threads that spin", len(_PARTS) - replaced, len(_PARTS))
    return replaced


# What the boxes not recognised yet may turn out to say, at the two extremes of the reading order's
# table-or-columns rule (engine.reading.order: a side of numbers or of "Label:" texts makes a table): text
# that is neither, and text that is both. Only lines placed the same way in both are said early.
_NEUTRAL = "\ufffc"
_NUMBER_AND_LABEL = "0:"
# Sentence ends: an early handover that stops after a line without one, in the middle of a paragraph, would
# cut a sentence in two ("... open the." / "Settings page ...").
_ENDS_SENTENCE = tuple(".!?:;。！？：；…")
# A line this many times wider than high is prose (a UI label, a menu item, a file name is much shorter).
_PROSE_ASPECT = 15.0


def _first_lines(block: FirstBlock, scale: float, size: tuple[int, int]) -> list[TextLine]:
    """The lines that lead the reading order of the whole image, whatever the boxes still being recognised
    say: their order is worked out with those boxes in their places as text that tips the table rule one
    way and as text that tips it the other, and only the lines both orders begin with, the same, are early.
    A line over the place of a box still being read ends them too (engine.reading.phantom may merge the two
    readings), and so does a line of prose that ends without a full stop (its sentence goes on)."""
    known = _pieces_from_result(block.result, scale, size)
    places = [_Piece.from_quad(_NEUTRAL, quad, 1.0, scale, size) for quad in block.pending]
    boxes = [TextLine(p.text, (p.x0, p.y0, p.x1, p.y1), 1.0) for p in places]

    def settled(line: TextLine) -> bool:
        return all(overlap(line, p) < SAME_PLACE_OVERLAP for p in boxes)

    orders = [list(takewhile(settled, reading_order(known + [replace(p, text=text) for p in places])))
              for text in (_NEUTRAL, _NUMBER_AND_LABEL)]
    early: list[TextLine] = []
    for a, b in zip(*orders):
        if (a.text, a.box) != (b.text, b.box):
            break
        early.append(a)
    while early and _sentence_goes_on(early[-1]):
        early.pop()
    return early


def _sentence_goes_on(line: TextLine) -> bool:
    x0, y0, x1, y1 = line.box
    return not line.text.rstrip().endswith(_ENDS_SENTENCE) and (x1 - x0) >= _PROSE_ASPECT * max(1.0, y1 - y0)


def _pieces_from_result(result: Any, scale: float, size: tuple[int, int] | None = None) -> list[_Piece]:
    """Pieces of text from rapidocr's output: boxes scaled back to the image (and kept inside it)."""
    boxes = getattr(result, "boxes", None)
    txts = getattr(result, "txts", None)
    scores = getattr(result, "scores", None)
    if boxes is None or txts is None or scores is None:
        return []
    pieces = []
    for quad, text, score in zip(boxes, txts, scores):
        text = " ".join(str(text).split())
        if _worth_keeping(text, float(score)):
            pieces.append(_Piece.from_quad(text, quad, float(score), scale, size))
    return pieces


def _worth_keeping(text: str, confidence: float) -> bool:
    if not text or confidence < MIN_CONFIDENCE:
        return False
    if len(text) == 1:
        return text.isalnum() and confidence >= MIN_SINGLE_CHAR_CONFIDENCE
    return any(ch.isalnum() for ch in text)
