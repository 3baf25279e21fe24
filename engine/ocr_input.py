"""What OCR is allowed to see: a bound on the memory text reading can take, for any size and aspect.

rapidocr's detector scales an image so that its *short* side is 736 px (and its pre-processing so that it is
at least 30 px). For a thin strip that multiplies the long side too: a 397-byte PNG of 10000 x 8 pixels
(a banner, a separator line, a progress bar) became a 9600 x 38400 x 3 float32 array (4.1 GiB), and a run
over several such files was killed by the kernel's OOM killer. engine.ocr shrinks the long side to its
`max_side` first; `bounded_for_ocr` then pads the short side (with the strip's own border colour, so no new
edges look like text) until the aspect ratio is at most `MAX_ASPECT`. The detector's input is then at most
736 x (736 * MAX_ASPECT) pixels when it scales up, or max_side squared when it does not, whatever the file.
Padding goes to the right / bottom, so the boxes found stay in the image's own coordinates.

A strip thinner than `MIN_TEXT_PIXELS` cannot hold legible text: it is not read at all (nothing is lost).

Pure functions, thread-safe.
"""
from __future__ import annotations

import logging
import math

import numpy as np
from PIL import Image

log = logging.getLogger(__name__)

MAX_ASPECT = 8  # long side / short side handed to the detector
MIN_TEXT_PIXELS = 4  # no script is legible below this many pixels


def border_colour(rgb: Image.Image) -> tuple[int, int, int]:
    """The median colour of the image's outermost rows and columns (its background, for a strip)."""
    arr = np.asarray(rgb)
    edges = np.concatenate([arr[0], arr[-1], arr[:, 0], arr[:, -1]])
    return tuple(int(v) for v in np.median(edges, axis=0))  # type: ignore[return-value]


def bounded_for_ocr(rgb: Image.Image, *, max_aspect: int = MAX_ASPECT) -> Image.Image | None:
    """`rgb` padded to an aspect ratio of at most `max_aspect`, or None when it is too thin to hold text."""
    width, height = rgb.size
    short, long = min(width, height), max(width, height)
    if short < MIN_TEXT_PIXELS:
        log.info("OCR skipped a %dx%d image: too thin to hold legible text", width, height)
        return None
    if long <= max_aspect * short:
        return rgb
    padded_short = math.ceil(long / max_aspect)
    size = (width, padded_short) if width >= height else (padded_short, height)
    canvas = Image.new("RGB", size, border_colour(rgb))
    canvas.paste(rgb, (0, 0))
    log.debug("OCR input %dx%d padded to %dx%d (aspect bound)", width, height, *size)
    return canvas
