"""The pixel work around rapidocr's models, done once and fast, with bit-identical results.

Profiled on a 1280x720 screen of 8 lines (docs/benchmarks.md, "Where the OCR time goes"), two costs outside
the models were a third of a read, and neither changes a single value the models see:

- **A BGR view with a negative stride.** rapidocr takes BGR; `np.asarray(rgb)[:, :, ::-1]` is a view, and
  every OpenCV call copies a non-contiguous array into a temporary first: the detector's resize copied the
  whole screen, and so did the crop of every text box (5 ms per line instead of 0.3 ms). `bgr_array` makes
  the one contiguous BGR copy (cv2.cvtColor, well under a millisecond); the pixels are the same.
- **The detector's normalisation in float64.** rapidocr's DetPreProcess computes
  `(img.astype(float32) / 255 - mean) / std` with mean and std as float64 arrays, so the whole 1312x736x3
  image is converted to float64 and back (38 ms). Each output value depends only on the input byte and its
  channel, so a 256-entry table per channel, computed with exactly rapidocr's expression, gives the same
  float32 bits by construction (`ExactDetPreProcess`, 2 ms). It is installed only after a probe of every
  byte value in every channel through rapidocr's own DetPreProcess came out identical; otherwise rapidocr's
  is kept (another rapidocr version whose pre-processing differs).

Thread-safe (pure functions; the installed pre-processor holds only its tables).
"""
from __future__ import annotations

import logging
from typing import Any

import numpy as np
from PIL import Image

log = logging.getLogger(__name__)


def bgr_array(rgb: Image.Image) -> np.ndarray:
    """`rgb` (mode RGB) as the contiguous BGR uint8 array rapidocr takes."""
    import cv2

    return cv2.cvtColor(np.asarray(rgb), cv2.COLOR_RGB2BGR)


def _table(scale: float, mean: Any, std: Any) -> np.ndarray:
    """(3, 256) float32: rapidocr's DetPreProcess.normalize of every byte value, per channel (same expression,
    same dtypes: float32 bytes times the Python float 1/255, minus and divided by float64 arrays)."""
    values = np.repeat(np.arange(256, dtype=np.uint8)[:, None], 3, axis=1)  # (256, 3): byte value, channel
    normalised = (values.astype("float32") * scale - np.asarray(mean)) / np.asarray(std)
    return np.ascontiguousarray(normalised.astype(np.float32).T)


def exact_det_preprocess_class() -> type | None:
    """A subclass of rapidocr's DetPreProcess whose normalisation is a table lookup, or None when rapidocr
    has no DetPreProcess shaped as expected."""
    try:
        from rapidocr.ch_ppocr_det.utils import DetPreProcess
    except ImportError:
        return None
    if not all(callable(getattr(DetPreProcess, name, None)) for name in ("resize", "normalize", "permute")):
        return None

    class ExactDetPreProcess(DetPreProcess):  # type: ignore[misc, valid-type]
        """rapidocr's DetPreProcess, its normalise + permute + float32 done by a table (see the module)."""

        _tables: dict[tuple, np.ndarray] = {}

        def __call__(self, img: np.ndarray) -> np.ndarray | None:
            resized = self.resize(img)
            if resized is None:
                return None
            if resized.dtype != np.uint8 or resized.ndim != 3 or resized.shape[2] != 3:
                return super().__call__(img)  # not a byte image: rapidocr's own arithmetic
            key = (tuple(np.ravel(self.mean)), tuple(np.ravel(self.std)), float(self.scale))
            table = self._tables.get(key)
            if table is None:
                table = self._tables[key] = _table(self.scale, self.mean, self.std)
            import cv2

            # OpenCV's LUT writes float32 from a float32 table: 1.6 ms for a 1312x736 plane set (np.take 6 ms).
            out = np.empty((1, 3, *resized.shape[:2]), dtype=np.float32)
            for channel, plane in enumerate(cv2.split(resized)):
                out[0, channel] = cv2.LUT(plane, table[channel].reshape(1, 256))
            return out

    return ExactDetPreProcess


def _probe_identical(cls: type, detector: Any) -> bool:
    """Every byte value in every channel, through rapidocr's pre-processing and through `cls`: same bits?"""
    from rapidocr.ch_ppocr_det.utils import DetPreProcess

    values = np.arange(64 * 96) % 256  # every byte value 24 times, in every channel
    probe = np.stack([np.roll(values, 37 * c) for c in range(3)], axis=1).reshape(64, 96, 3).astype(np.uint8)
    args = (64, "max", detector.mean, detector.std)  # no resize: every value reaches the normalisation
    theirs, ours = DetPreProcess(*args)(probe), cls(*args)(probe)
    return (theirs is not None and ours is not None and theirs.dtype == ours.dtype
            and theirs.shape == ours.shape and np.array_equal(theirs.view(np.uint32), ours.view(np.uint32)))


def install_exact_det_preprocess(ocr: Any) -> bool:
    """Make rapidocr's detector (of the RapidOCR `ocr`, models loaded) pre-process with `ExactDetPreProcess`.
    Returns whether it did (False: rapidocr's own is kept, the text is the same either way, only slower)."""
    load = getattr(ocr, "_load_det_model", None)  # rapidocr 3 builds its models lazily
    detector = load() if callable(load) else getattr(ocr, "text_det", None)
    detector = getattr(detector, "detector", detector)  # engine.ocr_engines.TextSizedDetector wraps it
    cls = exact_det_preprocess_class()
    if cls is None or detector is None or not callable(getattr(detector, "get_preprocess", None)):
        return False
    try:
        if not _probe_identical(cls, detector):
            log.info("rapidocr's detector pre-processing differs from the table's; keeping rapidocr's")
            return False
    except Exception:  # noqa: BLE001 - another rapidocr: its own pre-processing still works
        log.info("kept rapidocr's detector pre-processing", exc_info=True)
        return False

    def get_preprocess() -> Any:
        return cls(detector.limit_side_len, detector.limit_type, detector.mean, detector.std)

    detector.get_preprocess = get_preprocess
    return True


__all__ = ["bgr_array", "exact_det_preprocess_class", "install_exact_det_preprocess"]
