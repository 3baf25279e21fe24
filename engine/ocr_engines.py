"""How rapidocr is built: which inference engine runs its models, how large the detector's input is, and
whether the text-angle classifier runs. engine.ocr reads text; this module only constructs.

Engine: OpenVINO where it is installed (wheels for Linux x86-64 / ARM64, Windows x86-64, macOS ARM64),
onnxruntime otherwise (every platform). Both run the same ONNX files shipped inside the rapidocr wheel, so
nothing is downloaded. OpenVINO's CPU kernels were 2.5x faster than onnxruntime's on the same models and
settings on an Intel Xeon (AVX512 + AMX), and read the same text (bench/bench_ocr.py, docs/benchmarks.md).
The environment variable environment.OCR_ENGINE (`onnxruntime` or `openvino`) forces one.

Detector size, by the size of the text, not of the screen: rapidocr's default scales a screen so that its
SHORT side is at least 736 px (a 1280x720 screen becomes 1312x736), so the cost follows the screen's size.
Here the detector first looks with the long side at DET_MAX_SIDE (736: a 1280x720 screen scaled by 0.575).
Text of ordinary size is found there (the recogniser reads each cut-out line from the full-size image, so
letters are read at their real size). Only when the text found is small in the detector's input (median box
under MIN_TEXT_PX high: a dense 8 pt terminal, 11 px letters) does it look again, scaled so that the text is
TARGET_TEXT_PX high. Measured on real screens (bench/bench_ocr.py): at a flat 736 a dense 8 pt xterm lost
half of its words; with the second look it reads as many as rapidocr's default did; browser pages, GTK
dialogs and 12 pt terminals keep the single, cheap look.

Classifier: it only detects text turned upside down (0 / 180 degrees), which screens do not have; it costs
one extra model run per line. On by default for now, with rapidocr's own detector size (see OcrSettings:
the faster text-sized policy read less on the reading corpus).
"""
from __future__ import annotations

import importlib.util
import logging
from dataclasses import dataclass
from typing import Any

from describe_aloud.engine import environment

log = logging.getLogger(__name__)

ENGINE_OPENVINO = "openvino"
ENGINE_ONNXRUNTIME = "onnxruntime"
ENGINES = (ENGINE_OPENVINO, ENGINE_ONNXRUNTIME)

# The detector's input: the long side scaled to at most this many pixels (never enlarged past rapidocr's own
# minimum). See the module docstring for why small text survives.
DET_MAX_SIDE = 736
# Text boxes (the detector's, margin included) lower than this in the detector's input are "small text":
# look again larger. On 1280x720 real screens at 736: 8 pt xterm 10.9 px, GTK dialog 12.6, browser 17.
MIN_TEXT_PX = 12.0
TARGET_TEXT_PX = 16.0
# Lines the recogniser is less sure of than this are dropped by rapidocr already (engine.ocr filters again).
TEXT_SCORE = 0.5


@dataclass(frozen=True)
class OcrSettings:
    """What rapidocr is built with. `engine` "auto" = OpenVINO when installed, else onnxruntime.
    `det_max_side` None = rapidocr's own policy (short side >= 736), the app's setting before this module."""

    engine: str = "auto"
    # The app keeps rapidocr's own detector size and the classifier by default: the text-sized detector
    # (det_max_side=DET_MAX_SIDE, min_text_px=MIN_TEXT_PX, use_cls=False) was faster but read less on the
    # reading corpus (tests/engine/test_reading_corpus.py: table cells merged, "YAMAHA" missed, a column
    # order error), and the same text as before is the condition for a faster default (issue 17).
    det_max_side: int | None = None
    min_text_px: float | None = None  # None: never look again larger
    use_cls: bool = True
    threads: int | None = None


def engine_installed(engine: str) -> bool:
    """Whether the Python package of `engine` can be imported (without importing it: it is heavy)."""
    try:
        return importlib.util.find_spec(engine) is not None
    except (ImportError, ValueError):  # a broken install, or a module set to None (blocked)
        return False


def choose_engine(requested: str = "auto") -> str:
    """The engine to build: `requested` when installed, else onnxruntime. "auto" honours environment.OCR_ENGINE."""
    if requested == "auto":
        requested = (environment.OCR_ENGINE.get() or "auto").lower()
    if requested == "auto":
        return ENGINE_OPENVINO if engine_installed(ENGINE_OPENVINO) else ENGINE_ONNXRUNTIME
    if requested not in ENGINES:
        log.warning("unknown OCR engine %r; using onnxruntime", requested)
        return ENGINE_ONNXRUNTIME
    if not engine_installed(requested):
        log.info("OCR engine %s is not installed; using onnxruntime", requested)
        return ENGINE_ONNXRUNTIME
    return requested


def rapidocr_params(settings: OcrSettings, engine: str, *, max_side_len: int) -> dict[str, Any]:
    """rapidocr 3 `params` for `settings` on `engine` (already chosen). `max_side_len` is rapidocr's own
    whole-image limit (engine.ocr scales larger images itself before)."""
    from rapidocr import EngineType

    engine_type = EngineType.OPENVINO if engine == ENGINE_OPENVINO else EngineType.ONNXRUNTIME
    params: dict[str, Any] = {
        "Global.log_level": "error",
        "Global.text_score": TEXT_SCORE,
        "Global.max_side_len": max_side_len,
        "Global.use_cls": settings.use_cls,
        "Det.engine_type": engine_type,
        "Cls.engine_type": engine_type,
        "Rec.engine_type": engine_type,
    }
    if settings.det_max_side is not None:
        # limit_type "max": the long side is scaled down to limit_side_len (rapidocr's default is "min").
        params["Det.limit_type"] = "max"
        params["Det.limit_side_len"] = settings.det_max_side
    if settings.threads:
        if engine == ENGINE_OPENVINO:
            params["EngineConfig.openvino.inference_num_threads"] = settings.threads
        else:
            params["EngineConfig.onnxruntime.intra_op_num_threads"] = settings.threads
    if engine == ENGINE_OPENVINO:
        # One request at a time, as fast as possible (not throughput streams).
        params["EngineConfig.openvino.performance_hint"] = "LATENCY"
    return params


def build_rapidocr(settings: OcrSettings, *, max_side_len: int) -> tuple[Any, str]:
    """(a RapidOCR instance, the engine it runs on). Falls back to onnxruntime when OpenVINO is installed
    but cannot build its models (an unsupported CPU, a broken install): text is still read."""
    from describe_aloud.engine.ocr_start import (
        cache_compiled_models,
        model_table_read_once,
    )

    with model_table_read_once():  # ~0.2 s sooner at start: engine/ocr_start.py
        from rapidocr import RapidOCR

    engine = choose_engine(settings.engine)
    ocr = None
    if engine == ENGINE_OPENVINO:
        try:
            cache_compiled_models()  # compiled once, loaded at later starts: engine/ocr_start.py
            ocr = RapidOCR(params=rapidocr_params(settings, engine, max_side_len=max_side_len))
            _load_parts(ocr, settings.use_cls)
        except Exception:  # noqa: BLE001 - onnxruntime reads the same text, only slower
            log.warning("OpenVINO could not run the OCR models; using onnxruntime", exc_info=True)
            engine, ocr = ENGINE_ONNXRUNTIME, None
    if ocr is None:
        ocr = RapidOCR(params=rapidocr_params(settings, engine, max_side_len=max_side_len))
    if settings.det_max_side is not None and settings.min_text_px:
        ocr.text_det = TextSizedDetector(ocr._load_det_model(), settings.det_max_side, settings.min_text_px)
    return ocr, engine


class TextSizedDetector:
    """rapidocr's text detector, run at `first_side`, and again larger when the text it found is small (see
    the module docstring). Everything else (its session, settings) is the wrapped detector's."""

    def __init__(self, detector: Any, first_side: int, min_text_px: float,
                 target_text_px: float = TARGET_TEXT_PX) -> None:
        self.detector = detector
        self.first_side = first_side
        self.min_text_px = min_text_px
        self.target_text_px = target_text_px
        self.last_side = first_side  # the detector size of the last call (the bench reports it)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.detector, name)

    def __call__(self, img: Any) -> Any:
        long_side = max(img.shape[0], img.shape[1])
        self.detector.limit_side_len = self.first_side
        self.last_side = self.first_side
        result = self.detector(img)
        side = self.second_side(result, long_side)
        if side is None:
            return result
        self.detector.limit_side_len = side
        self.last_side = side
        try:
            return self.detector(img)
        finally:
            self.detector.limit_side_len = self.first_side

    def second_side(self, result: Any, long_side: int) -> int | None:
        """The long side for a second look, or None when the first one saw text of a legible size."""
        import numpy as np

        boxes = getattr(result, "boxes", None)
        if boxes is None or len(boxes) == 0 or long_side <= self.first_side:
            return None
        boxes = np.asarray(boxes, dtype=float)
        height = float(np.median(boxes[:, :, 1].max(axis=1) - boxes[:, :, 1].min(axis=1)))  # image pixels
        scale = min(1.0, self.first_side / long_side)
        if height * scale >= self.min_text_px:
            return None
        wanted = self.first_side * self.target_text_px / max(1.0, height * scale)
        side = int(-(-min(wanted, long_side) // 32) * 32)  # a multiple of 32, as the detector rounds
        return side if side > self.first_side else None


def _load_parts(ocr: Any, use_cls: bool) -> None:
    """Build rapidocr's models now (it builds them lazily on the first read), so a failing engine shows here."""
    loaders = ["_load_det_model", "_load_rec_model"] + (["_load_cls_model"] if use_cls else [])
    for name in loaders:
        load = getattr(ocr, name, None)
        if callable(load):
            load()


__all__ = [
    "DET_MAX_SIDE",
    "ENGINES",
    "ENGINE_ONNXRUNTIME",
    "ENGINE_OPENVINO",
    "MIN_TEXT_PX",
    "OcrSettings",
    "TextSizedDetector",
    "build_rapidocr",
    "choose_engine",
    "engine_installed",
    "rapidocr_params",
]
