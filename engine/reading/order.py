"""Reading order: recognised pieces of text -> lines in the order a sighted reader reads them.

Recursive XY-cut over the pieces' boxes:
- blocks separated by a wide empty band across the whole width (a menu bar, a toolbar, a footer) are read
  top to bottom, each on its own;
- within a block, columns separated by a clear vertical gutter are read one after the other, left to right;
  a line that spans the gutter (a title over two columns) separates sections read top to bottom;
- within a column, lines go top to bottom and pieces on the same line are joined left to right.

Table or columns? Both have a gutter and, in print, both often have rows that line up. The rule (see
`_is_table`): a region is a TABLE, read row by row with its cells separated by CELL_SEPARATOR, when
1. most of its rows have text on both sides of the gutter, centres within a third of a line height, and
2. the two sides are not both prose (lines of PROSE_LINE_HEIGHTS line heights or more: an article's
   columns), and
3. something says "table": three or more cells in a row, a column of numbers ("2.1 MB", "22/tcp", "3.40"),
   labels ending in ":", or two columns of clearly different widths (short labels beside longer values,
   as in a form).
Otherwise the region is COLUMNS, read one after the other: two lists of similar phrases side by side are
read as two lists, a sidebar beside a page (rows that do not pair up) is read before the page.

Each leaf of the cut (a column section, a table, a title) is a block: its lines carry the same `block`
number, so a reader (or the JSON) can keep them together.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from statistics import median
from typing import Sequence

import numpy as np

from describe_aloud.engine.description import CELL_SEPARATOR, Box, TextLine
from describe_aloud.engine.reading.script import language_of

# A gap between columns must be at least this many median line heights wide (word spaces are ~0.3).
GUTTER_LINE_HEIGHTS = 1.2
# An empty band across the whole width at least this many median line heights high separates blocks.
BAND_GAP_LINE_HEIGHTS = 0.75
# Lines allowed to cross a gutter (titles spanning columns), as a share of the lines considered (at least
# 2, fewer than half).
GUTTER_CROSSING_SHARE = 0.25
# Table rule: this share of the region's rows must have text on both sides of the gutter...
TABLE_ALIGNED_ROWS = 0.7
# ...with their centres this many line heights apart at most...
TABLE_ROW_TOLERANCE = 0.35
# ...at least one side must not be prose: lines (median) shorter than this many line heights...
PROSE_LINE_HEIGHTS = 10.0
# ...and a sign of a table: this many cells in most aligned rows, a column with this share of numbers,
# or one column this many times wider than the other.
TABLE_MIN_CELLS = 3
TABLE_NUMBER_SHARE = 0.5
TABLE_WIDTH_RATIO = 1.6
# A cell that is a number, maybe with a unit or a protocol: "3.40", "2.1 MB", "22/tcp", "0612 345 678".
_NUMBER = re.compile(r"^[#$€£¥+\-–]?\d[\d\s.,:/%+\-–]*(\s?[A-Za-z]{1,3}|/[a-z]{2,4})?$")
MAX_DEPTH = 24


@dataclass(frozen=True)
class Piece:
    """One box of text as the recogniser found it, in image pixels."""

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
    def width(self) -> float:
        return max(0.0, self.x1 - self.x0)

    @property
    def cy(self) -> float:
        return (self.y0 + self.y1) / 2

    @classmethod
    def from_quad(cls, text: str, quad, confidence: float, scale: float = 1.0,  # noqa: ANN001 - 4x2 points
                  size: tuple[int, int] | None = None) -> "Piece":
        """The box around a detector's quadrilateral, scaled by `scale` and, given the image's `size`, kept
        inside the image (the detector's margin may reach past the edge)."""
        q = np.asarray(quad, dtype=float) * scale
        if size is not None:
            q[:, 0] = q[:, 0].clip(0, size[0])
            q[:, 1] = q[:, 1].clip(0, size[1])
        return cls(text, float(q[:, 0].min()), float(q[:, 1].min()), float(q[:, 0].max()), float(q[:, 1].max()),
                   confidence)


@dataclass(frozen=True)
class _Layout:
    line_height: float
    min_gutter: float  # narrowest vertical gap between columns
    min_band_gap: float  # narrowest empty horizontal band that separates blocks


Row = list[Piece]
# A block: its rows, and whether it is a table (cells separated) or running text.
Block = tuple[list[Row], bool]


def reading_order(pieces: Sequence[Piece]) -> list[TextLine]:
    """Lines in reading order, each with its block number, reading index and language."""
    if not pieces:
        return []
    line_height = median(p.height for p in pieces)
    layout = _Layout(line_height, line_height * GUTTER_LINE_HEIGHTS, line_height * BAND_GAP_LINE_HEIGHTS)
    lines: list[TextLine] = []
    for block_index, (rows, table) in enumerate(_order(list(pieces), layout, 0)):
        for row in rows:
            line = _to_line(row, layout if table else None)
            lines.append(replace(line, block=block_index, index=len(lines)))
    return lines


def lines_in_order(lines: Sequence[TextLine]) -> list[TextLine]:
    """Put lines that came from elsewhere (another OCR, a test) in reading order."""
    return reading_order([Piece(l.text, *l.box, l.confidence) for l in lines])


def _order(pieces: list[Piece], layout: _Layout, depth: int) -> list[Block]:
    if not pieces:
        return []
    if len(pieces) == 1 or depth > MAX_DEPTH:
        return [(_rows(pieces), False)]
    bands = _bands(pieces, layout.min_band_gap)
    if len(bands) > 1:  # blocks one above the other, each with its own columns
        return [block for band in bands for block in _order(band, layout, depth + 1)]
    cut = _find_gutter(pieces, layout.min_gutter)
    if cut is None:
        return [(_rows(pieces), False)]
    crossing = [p for p in pieces if p.x0 < cut < p.x1]
    if len(crossing) > max(2, GUTTER_CROSSING_SHARE * len(_rows(pieces))):
        # Not titles over columns but a strip that happens to be empty in most lines (a dense terminal's
        # lines cut into boxes at different places): cut there, each line was read in pieces out of order.
        return [(_rows(pieces), False)]
    if not crossing:
        if _is_table(pieces, cut, layout):
            return [(_rows(pieces), True)]
        left = [p for p in pieces if p.x1 <= cut]
        right = [p for p in pieces if p.x0 >= cut]
        return _order(left, layout, depth + 1) + _order(right, layout, depth + 1)
    # Lines spanning the gutter cut the page into sections, each read on its own, top to bottom.
    blocks: list[Block] = []
    section: list[Piece] = []
    crossing_ids = {id(p) for p in crossing}
    for p in sorted(pieces, key=lambda p: (p.cy, p.x0)):
        if id(p) in crossing_ids:
            blocks += _order(section, layout, depth + 1)
            blocks.append(([[p]], False))
            section = []
        else:
            section.append(p)
    return blocks + _order(section, layout, depth + 1)


def _is_table(pieces: list[Piece], cut: float, layout: _Layout) -> bool:
    """The table-or-columns rule of the module docstring."""
    rows = _rows(pieces)
    if len(rows) < 2:
        return False
    aligned: list[Row] = []
    for row in rows:
        left = [p for p in row if p.x1 <= cut]
        right = [p for p in row if p.x0 >= cut]
        if left and right and abs(median(p.cy for p in left) - median(p.cy for p in right)) <= (
            TABLE_ROW_TOLERANCE * layout.line_height
        ):
            aligned.append(row)
    if len(aligned) < 2 or len(aligned) < TABLE_ALIGNED_ROWS * len(rows):
        return False
    left_side = [p for p in pieces if p.x1 <= cut]
    right_side = [p for p in pieces if p.x0 >= cut]
    prose_width = PROSE_LINE_HEIGHTS * layout.line_height
    if all(median(p.width for p in side) >= prose_width for side in (left_side, right_side)):
        return False
    cells = [_cells(row, layout.min_gutter) for row in aligned]
    if median(len(c) for c in cells) >= TABLE_MIN_CELLS:
        return True
    if any(_number_share(side) >= TABLE_NUMBER_SHARE for side in (left_side, right_side)):
        return True
    if sum(p.text.rstrip().endswith((":", "：")) for p in left_side) >= TABLE_NUMBER_SHARE * len(left_side):
        return True
    widths = sorted(max(p.x1 for p in side) - min(p.x0 for p in side) for side in (left_side, right_side))
    return widths[1] >= TABLE_WIDTH_RATIO * max(1.0, widths[0])


def _cells(row: Row, min_gutter: float) -> list[list[Piece]]:
    """A row cut into cells at gaps at least a gutter wide."""
    cells = [[row[0]]]
    for before, p in zip(row, row[1:]):
        if p.x0 - before.x1 >= min_gutter:
            cells.append([p])
        else:
            cells[-1].append(p)
    return cells


def _number_share(side: list[Piece]) -> float:
    return sum(bool(_NUMBER.match(p.text.strip())) for p in side) / max(1, len(side))


def _bands(pieces: list[Piece], min_gap: float) -> list[list[Piece]]:
    """Split at empty horizontal bands across the whole width at least `min_gap` high, top to bottom.
    Ordinary line spacing is narrower, and in two columns the gaps of one rarely meet those of the other,
    so this separates blocks (a menu bar, a toolbar, a footer), not the lines of columns."""
    bands: list[list[Piece]] = []
    bottom = float("-inf")
    for p in sorted(pieces, key=lambda p: p.y0):
        if bands and p.y0 - bottom < min_gap:
            bands[-1].append(p)
        else:
            bands.append([p])
        bottom = max(bottom, p.y1)
    return bands


def _find_gutter(pieces: list[Piece], min_gutter: float) -> float | None:
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


def _rows(pieces: list[Piece]) -> list[Row]:
    """Group pieces into lines (vertical overlap), top to bottom, each line left to right."""
    rows: list[Row] = []
    for p in sorted(pieces, key=lambda p: (p.cy, p.x0)):
        if rows and _same_row(rows[-1], p):
            rows[-1].append(p)
        else:
            rows.append([p])
    return [sorted(row, key=lambda p: p.x0) for row in rows]


def _same_row(row: Row, p: Piece) -> bool:
    y0 = min(q.y0 for q in row)
    y1 = max(q.y1 for q in row)
    overlap = min(y1, p.y1) - max(y0, p.y0)
    return overlap >= 0.5 * min(p.height, median(q.height for q in row))


def _to_line(row: Row, table: _Layout | None) -> TextLine:
    """One line; in a table, pieces further apart than a gutter are cells, joined by CELL_SEPARATOR."""
    text = row[0].text
    for before, p in zip(row, row[1:]):
        cell_break = table is not None and p.x0 - before.x1 >= table.min_gutter
        text += (CELL_SEPARATOR if cell_break else " ") + p.text
    box: Box = (min(p.x0 for p in row), min(p.y0 for p in row), max(p.x1 for p in row), max(p.y1 for p in row))
    return TextLine(text, box, min(p.confidence for p in row), language=language_of(text))
