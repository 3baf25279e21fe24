"""What the pixels say before any model runs: the blank check (one flat colour, named) and the thumbnail
it works on. The kind of image (photo, screen, document) is engine.reading.kind, on the same thumbnail.

Pure functions over a small box-filtered thumbnail; the Describer calls them on its owner thread."""
from __future__ import annotations

import colorsys

import numpy as np
from PIL import Image

from describe_aloud.engine.i18n import N_, _, pgettext

# Blank check: the image is shrunk (box filter, which averages sensor / JPEG noise away) to this many
# pixels on its longest side; it is blank when no pixel of it strays more than BLANK_TOLERANCE levels
# from the median colour on any channel. Calling a page with one small word "blank" would hide it from
# the user, so the check errs on the side of "not blank" (a flat wall with a shadow gets a caption).
BLANK_THUMB_SIDE = 256
BLANK_TOLERANCE = 16

# ------------------------------------------------------------------------------------- blank check

def thumbnail(rgb: Image.Image) -> np.ndarray:
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


def blank_reason(thumb: np.ndarray) -> str | None:
    """"all dark grey" when the image is one flat colour, else None."""
    flat = thumb.reshape(-1, 3)
    deviation = float(np.abs(flat - np.median(flat, axis=0)).max())
    if deviation > BLANK_TOLERANCE:
        return None
    # Translators: a blank image's look, said as "The image is blank: all dark grey."
    return _("all {colour}").format(colour=colour_name(tuple(flat.mean(axis=0))))


def colour_name(rgb: tuple[float, ...]) -> str:
    """A plain colour name for a mean colour: "black", "white", "dark grey", "light blue"..."""
    r, g, b = (float(c) / 255.0 for c in rgb[:3])
    hue, light, sat = colorsys.rgb_to_hls(r, g, b)
    if sat < 0.15 or max(r, g, b) - min(r, g, b) < 0.08:
        if light < 0.08:
            return pgettext("colour", "black")
        if light > 0.92:
            return pgettext("colour", "white")
        if light < 0.35:
            return pgettext("colour", "dark grey")
        if light > 0.7:
            return pgettext("colour", "light grey")
        return pgettext("colour", "grey")
    degrees = hue * 360
    for limit, name in ((15, N_("red")), (40, N_("orange")), (70, N_("yellow")), (165, N_("green")),
                        (195, N_("cyan")), (255, N_("blue")), (290, N_("purple")), (335, N_("pink")),
                        (360, N_("red"))):
        if degrees < limit:
            base = _(name)
            break
    if light < 0.3:
        # Translators: a colour name, e.g. "dark blue"; {colour} is one of the colours above.
        return _("dark {colour}").format(colour=base)
    if light > 0.75:
        return _("light {colour}").format(colour=base)
    return base
