"""What kind of image this is (photo, screen, document), from the text regions AND what lies outside them.

Text coverage alone is not enough: a small dialog or a page with four lines has little text yet is no
picture, and a photo with one "8" read in the foam is no screen. So the kind is decided from features of
the background, measured on the blank check's thumbnail (<= 256 px, box-filtered: sensor noise and JPEG
grain averaged away) with the text boxes masked out:

- flat: share of background pixels equal to their neighbours (within FLAT_LEVELS): UI and paper are flat,
  photos almost never are;
- texture: share of background pixels with a soft gradient (TEXTURE_LEVELS): the continuous tones of a
  photograph; drawn UI has sharp edges or none;
- straight edges: rows / columns with a long straight run of strong edge (window frames, bars, buttons,
  table rules): UI structure. A page of text has few, a photo's edges are rarely that long and straight;
- paper: a light, colourless dominant tone covering most of the image (a document rather than a screen).

Cost: a few array operations on the thumbnail (about 1 ms; bench/bench_reading.py).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from describe_aloud.engine.description import ImageKind, TextLine

SMOOTH_LEVELS = 2.0
TEXTURE_MAX_LEVELS = 40.0
MAX_LINE_HEIGHT_SHARE = 0.3
EDGE_LEVELS = 24.0
# A straight edge runs over at least this share of the thumbnail's width (height for vertical ones): a
# button's top in a large window is about a twentieth of its width.
LONG_EDGE_SHARE = 0.06
# Edges this close to the image's border (share of its side) are not counted.
BORDER_MARGIN = 0.04
# Photographic background: at least this much texture and at most this much flat (and no paper).
PHOTO_MIN_TEXTURE = 0.25
PHOTO_MAX_FLAT = 0.35
# A drawn picture: soft gradients over at least this share of it, one flat tone at most (no panes), no
# paper and hardly any straight edges.
PICTURE_MIN_SMOOTH = 0.03
# Flat tones: grey levels binned this wide, each covering at least this share of the image.
TONE_BIN = 4
TONE_SHARE = 0.05
# Dense text makes any image a text kind (a photographed book page): this coverage, or this many lines
# covering a smaller share.
TEXT_COVERAGE_MOSTLY = 0.15
TEXT_LINES_MOSTLY = 8
TEXT_COVERAGE_WITH_MANY_LINES = 0.04
# Paper: this share of the image is one light, colourless tone...
PAPER_SHARE = 0.6
# ...and at most this share of it is in clear colour (a logo is fine, a picture panel is a screen).
PAPER_MAX_COLOUR = 0.05
# A page has few long straight edges (table rules, a header line); a UI has many (bars, frames, buttons).
DOCUMENT_MAX_EDGES = 2


@dataclass(frozen=True)
class KindFeatures:
    coverage: float  # share of the image inside text boxes
    lines: int
    flat: float  # background pixels equal to their neighbours: UI, paper, flat fills
    smooth: float  # changing by at most SMOOTH_LEVELS: gradients, skies, soft light
    texture: float  # changing more, but short of a sharp edge: photographic texture, grain
    edges: int  # long straight edges, horizontal + vertical
    tones: int  # flat tones covering TONE_SHARE of the image each (paper: one; a window with panes: more)
    paper: bool

    @property
    def dense_text(self) -> bool:
        return self.coverage >= TEXT_COVERAGE_MOSTLY or (
            self.lines >= TEXT_LINES_MOSTLY and self.coverage >= TEXT_COVERAGE_WITH_MANY_LINES
        )

    @property
    def drawn_picture(self) -> bool:
        return (self.smooth >= PICTURE_MIN_SMOOTH and self.tones <= 1 and not self.paper
                and self.edges <= DOCUMENT_MAX_EDGES)

    @property
    def photographic(self) -> bool:
        return self.texture >= PHOTO_MIN_TEXTURE and self.flat <= PHOTO_MAX_FLAT and not self.paper


def classify(size: tuple[int, int], lines: Sequence[TextLine], thumb: np.ndarray) -> ImageKind:
    """PHOTO, SCREEN or DOCUMENT (BLANK is decided before, by the blank check)."""
    return decide(features(size, lines, thumb))


def decide(f: KindFeatures) -> ImageKind:
    if f.lines == 0:
        return ImageKind.PHOTO  # nothing to read: the picture is what there is (a capture says "screen")
    page = f.edges <= DOCUMENT_MAX_EDGES and f.tones <= 1  # no UI structure, no panes of other tones
    if f.dense_text:
        # A page of text, even photographed in uneven light (not paper then), or a screen full of text.
        return ImageKind.DOCUMENT if page and (f.paper or f.flat < PHOTO_MAX_FLAT) else ImageKind.SCREEN
    if f.photographic:
        return ImageKind.PHOTO  # a few words on a photo: a sign, a label, a number in the foam
    if f.drawn_picture:
        return ImageKind.PHOTO  # artwork, a wallpaper, with a word on it
    if f.paper and page:
        return ImageKind.DOCUMENT  # a page with a few lines
    return ImageKind.SCREEN  # text on a plain background with UI structure, panes or dark mode


def features(size: tuple[int, int], lines: Sequence[TextLine], thumb: np.ndarray) -> KindFeatures:
    h, w = thumb.shape[:2]
    area = float(size[0] * size[1]) or 1.0
    sx, sy = w / max(1, size[0]), h / max(1, size[1])
    # One or two characters "read" in a box taller than this share of the image are the recogniser reading
    # a whole texture (an "8" the size of a cup of coffee), not text: they say nothing about the kind. A
    # real line may be that tall (a label, a banner), so longer text counts.
    lines = [l for l in lines if (l.box[3] - l.box[1]) <= MAX_LINE_HEIGHT_SHARE * size[1]
             or sum(c.isalnum() for c in l.text) > 2]
    text = np.zeros((h, w), dtype=bool)
    covered = 0.0
    for line in lines:
        x0, y0, x1, y1 = line.box
        covered += max(0.0, x1 - x0) * max(0.0, y1 - y0)
        text[max(0, int(y0 * sy) - 1): int(np.ceil(y1 * sy)) + 1,
             max(0, int(x0 * sx) - 1): int(np.ceil(x1 * sx)) + 1] = True
    # Channel by channel: numpy reduces over a last axis of 3 about ten times slower than this.
    channels = [thumb[:, :, c] for c in range(3)] if thumb.ndim == 3 else [thumb] * 3
    grey = (channels[0] + channels[1] + channels[2]) / 3.0
    colour = np.maximum(np.maximum(*channels[:2]), channels[2]) - np.minimum(np.minimum(*channels[:2]), channels[2])
    # Largest step to the right / lower neighbour, any channel.
    step = np.zeros((h, w), dtype=np.float32)
    for channel in channels:
        if w > 1:
            np.maximum(step[:, :-1], np.abs(channel[:, 1:] - channel[:, :-1]), out=step[:, :-1])
        if h > 1:
            np.maximum(step[:-1, :], np.abs(channel[1:, :] - channel[:-1, :]), out=step[:-1, :])
    background = ~text
    n = max(1, int(background.sum()))
    return KindFeatures(
        coverage=covered / area,
        lines=len(lines),
        flat=float(((step == 0) & background).sum()) / n,
        smooth=float(((step > 0) & (step <= SMOOTH_LEVELS) & background).sum()) / n,
        texture=float(((step > SMOOTH_LEVELS) & (step < TEXTURE_MAX_LEVELS) & background).sum()) / n,
        edges=_long_edges(grey, text, axis=0) + _long_edges(grey, text, axis=1),
        paper=_paper(grey, colour),
        tones=_tones(grey, (step == 0) & background),
    )


def _long_edges(grey: np.ndarray, text: np.ndarray, axis: int) -> int:
    """Rows (axis=0) or columns (axis=1) holding a straight edge run of LONG_EDGE_SHARE of the side,
    outside the text (a line of small text shrinks to a grey band with long straight edges)."""
    g, t = (grey, text) if axis == 0 else (grey.T, text.T)
    if g.shape[0] < 2:
        return 0
    edge = np.abs(np.diff(g, axis=0)) >= EDGE_LEVELS  # a step between this row and the next
    edge &= ~(t[:-1] | t[1:])
    # Not along the image's own border: a scanned page's edge, the frame of a captured window.
    margin = max(1, int(BORDER_MARGIN * g.shape[0]))
    edge[:margin] = False
    edge[-margin:] = False
    need = max(3, int(LONG_EDGE_SHARE * g.shape[1]))
    # Longest run of True per row, in whole-array steps: the count of Trues so far, minus the count at the
    # last False before each place.
    count = np.cumsum(edge, axis=1, dtype=np.int32)
    at_false = np.maximum.accumulate(np.where(edge, 0, count), axis=1)
    longest = (count - at_false).max(axis=1) if edge.shape[1] else np.zeros(edge.shape[0], dtype=np.int32)
    return int((longest >= need).sum())


def _tones(grey: np.ndarray, flat: np.ndarray) -> int:
    """How many flat grey levels (in bins of TONE_BIN) each cover TONE_SHARE of the image."""
    if not flat.any():
        return 0
    counts = np.bincount((grey[flat] * (1.0 / TONE_BIN)).astype(np.int32), minlength=256 // TONE_BIN + 1)
    return int((counts >= TONE_SHARE * grey.size).sum())


def _paper(grey: np.ndarray, colour: np.ndarray) -> bool:
    """Most of the image is one light, colourless tone and little of it is in clear colour."""
    if float((colour > 40).mean()) > PAPER_MAX_COLOUR:
        return False
    light = (grey > 170) & (colour < 20)
    if not light.any():
        return False
    tone = float(np.median(grey[light]))
    return float(((np.abs(grey - tone) <= 12) & (colour < 20)).mean()) >= PAPER_SHARE
