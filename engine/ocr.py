"""Offline text reading with rapidocr (its ONNX models ship inside the wheel), lines in reading order.

Threading contract: an `OcrEngine` is owned by one thread. Create one per thread that reads text (the
describer's owner thread, a batch worker...). The rapidocr model is loaded lazily on the first `read`,
once per engine, so creating an engine is cheap and may happen on any thread.

Reading order (see `reading_order`): blocks separated by a wide empty band across the whole width (a menu
bar, a toolbar) are read top to bottom; within a block, columns separated by a clear vertical gutter are
read one after the other, left to right; a line that spans the gutter (a title over two columns) separates sections that are
read top to bottom; within a column lines go top to bottom, and pieces of text on the same line are
joined left to right.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from statistics import median
from typing import Any, Sequence

import numpy as np
from PIL import Image, ImageDraw

from describe_aloud.engine.description import Box, TextLine
from describe_aloud.engine.ocr_engines import ENGINE_ONNXRUNTIME, OcrSettings, build_rapidocr
from describe_aloud.engine.ocr_input import bounded_for_ocr

log = logging.getLogger(__name__)

# Lines the recogniser is less sure of than this are mostly noise (textures, icons read as letters).
MIN_CONFIDENCE = 0.5
# A single character is kept only when it is a letter or digit read with this confidence.
MIN_SINGLE_CHAR_CONFIDENCE = 0.8
# Longest image side handed to the detector; larger images are scaled down (boxes mapped back). rapidocr
# would do the same at 2000; screens up to 2560 wide keep small UI text legible at this size.
MAX_SIDE = 2560
# A gap between columns must be at least this many median line heights wide (word spaces are ~0.3).
GUTTER_LINE_HEIGHTS = 1.2
# An empty band across the whole width at least this many median line heights high separates blocks.
BAND_GAP_LINE_HEIGHTS = 0.75
# Lines allowed to cross a gutter (titles spanning columns), as a share of the lines considered (at least
# 2, fewer than half).
GUTTER_CROSSING_SHARE = 0.25


@dataclass(frozen=True)
class _Piece:
    text: str
    x0: float
    y0: float
    x1: float
    y1: float
    confidence: float

    @property
    def height(self) -> float:
        return max(1.0, self.y1 - self.y0)

    @property
    def cy(self) -> float:
        return (self.y0 + self.y1) / 2


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
            sample = Image.new("RGB", (160, 48), "white")
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

    def read(self, image: Image.Image) -> list[TextLine]:
        """The text lines of `image` in reading order, boxes in the image's own pixels."""
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
        with self._warm_lock:  # a warm-up still running on its own thread finishes first
            result = self._engine()(np.asarray(rgb)[:, :, ::-1])  # rapidocr takes BGR arrays
        pieces = _pieces_from_result(result, scale, image.size)
        return reading_order(pieces)

    def _check_owner(self) -> None:
        me = threading.get_ident()
        if self._owner is None:
            self._owner = me
        elif self._owner != me:
            log.warning("OcrEngine used from a second thread; create one engine per thread")


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
        if not _worth_keeping(text, float(score)):
            continue
        q = np.asarray(quad, dtype=float) * scale
        if size is not None:  # the detector's margin may reach past the edge
            q[:, 0] = q[:, 0].clip(0, size[0])
            q[:, 1] = q[:, 1].clip(0, size[1])
        pieces.append(
            _Piece(text, float(q[:, 0].min()), float(q[:, 1].min()), float(q[:, 0].max()),
                   float(q[:, 1].max()), float(score))
        )
    return pieces


def _worth_keeping(text: str, confidence: float) -> bool:
    if not text or confidence < MIN_CONFIDENCE:
        return False
    if len(text) == 1:
        return text.isalnum() and confidence >= MIN_SINGLE_CHAR_CONFIDENCE
    return any(ch.isalnum() for ch in text)


# ---------------------------------------------------------------------------------------------- order

def reading_order(pieces: Sequence[_Piece]) -> list[TextLine]:
    """Order recognised pieces of text as a reader would (see the module docstring)."""
    if not pieces:
        return []
    line_height = median(p.height for p in pieces)
    layout = _Layout(min_gutter=line_height * GUTTER_LINE_HEIGHTS,
                     min_band_gap=line_height * BAND_GAP_LINE_HEIGHTS)
    return [_to_line(row) for row in _order(list(pieces), layout, depth=0)]


@dataclass(frozen=True)
class _Layout:
    min_gutter: float  # narrowest vertical gap between columns
    min_band_gap: float  # narrowest empty horizontal band that separates blocks (a menu bar from the page)


def _order(pieces: list[_Piece], layout: _Layout, depth: int) -> list[list[_Piece]]:
    """Rows (lists of pieces on one line) in reading order."""
    if len(pieces) <= 1 or depth > 24:
        return _rows(pieces)
    bands = _bands(pieces, layout.min_band_gap)
    if len(bands) > 1:  # blocks one above the other, each with its own columns
        return [row for band in bands for row in _order(band, layout, depth + 1)]
    cut = _find_gutter(pieces, layout.min_gutter)
    if cut is None:
        return _rows(pieces)
    crossing = [p for p in pieces if p.x0 < cut < p.x1]
    if not crossing:
        left = [p for p in pieces if p.x1 <= cut]
        right = [p for p in pieces if p.x0 >= cut]
        return _order(left, layout, depth + 1) + _order(right, layout, depth + 1)
    # Lines spanning the gutter cut the page into sections, each read on its own, top to bottom.
    rows: list[list[_Piece]] = []
    section: list[_Piece] = []
    crossing_ids = {id(p) for p in crossing}
    for p in sorted(pieces, key=lambda p: (p.cy, p.x0)):
        if id(p) in crossing_ids:
            rows += _order(section, layout, depth + 1)
            rows += _rows([p])
            section = []
        else:
            section.append(p)
    rows += _order(section, layout, depth + 1)
    return rows


def _bands(pieces: list[_Piece], min_gap: float) -> list[list[_Piece]]:
    """Split at empty horizontal bands across the whole width at least `min_gap` high, top to bottom.
    Ordinary line spacing is narrower, and in two columns the gaps of one rarely meet those of the other,
    so this separates blocks (a menu bar, a toolbar, a footer), not the lines of columns."""
    bands: list[list[_Piece]] = []
    bottom = float("-inf")
    for p in sorted(pieces, key=lambda p: p.y0):
        if bands and p.y0 - bottom < min_gap:
            bands[-1].append(p)
        else:
            bands.append([p])
        bottom = max(bottom, p.y1)
    return bands


def _find_gutter(pieces: list[_Piece], min_gutter: float) -> float | None:
    """The x of a column gutter: the middle of the widest vertical strip that no line crosses, or failing
    that, one crossed by as few lines as possible (titles over both columns). None when there is none."""
    left = int(min(p.x0 for p in pieces))
    right = int(np.ceil(max(p.x1 for p in pieces))) + 1
    cover = np.zeros(right - left, dtype=np.int32)
    for p in pieces:
        cover[int(p.x0) - left: int(np.ceil(p.x1)) - left] += 1
    allowed = min(max(2, int(len(pieces) * GUTTER_CROSSING_SHARE)), (len(pieces) - 1) // 2)
    for threshold in range(allowed + 1):
        best: float | None = None
        best_width = 0
        for start, stop in _runs(cover <= threshold):
            if start == 0 or stop == len(cover) or stop - start < min_gutter or stop - start <= best_width:
                continue
            cut = left + (start + stop) / 2
            # Text that does not cross on both sides, or this is no column gutter.
            if any(p.x1 <= cut for p in pieces) and any(p.x0 >= cut for p in pieces):
                best, best_width = cut, stop - start
        if best is not None:
            return best
    return None


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, stop) of each run of True in a 1-D mask."""
    padded = np.concatenate(([False], mask, [False])).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist()))


def _rows(pieces: list[_Piece]) -> list[list[_Piece]]:
    """Group pieces into lines (vertical overlap), top to bottom, each line left to right."""
    rows: list[list[_Piece]] = []
    for p in sorted(pieces, key=lambda p: (p.cy, p.x0)):
        if rows and _same_row(rows[-1], p):
            rows[-1].append(p)
        else:
            rows.append([p])
    return [sorted(row, key=lambda p: p.x0) for row in rows]


def _same_row(row: list[_Piece], p: _Piece) -> bool:
    y0 = min(q.y0 for q in row)
    y1 = max(q.y1 for q in row)
    overlap = min(y1, p.y1) - max(y0, p.y0)
    return overlap >= 0.5 * min(p.height, median(q.height for q in row))


def _to_line(row: list[_Piece]) -> TextLine:
    box: Box = (min(p.x0 for p in row), min(p.y0 for p in row), max(p.x1 for p in row), max(p.y1 for p in row))
    return TextLine(" ".join(p.text for p in row), box, min(p.confidence for p in row))
