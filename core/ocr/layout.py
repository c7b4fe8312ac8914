"""Put the boxes OCR found on a page back into printed lines, in reading order.

Pure geometry on `Detected` boxes:
1. rules and furniture are dropped: the red line under the 版头 read as `一一一`;
2. the page's skew is measured from the boxes themselves (the slope of their long
   edges) and undone, so that a fax fed at 1.5° still has level lines;
3. boxes that stand side by side at the same height are one line — a 字号 and its
   签发人 at the right margin, a 印发机关 and its date, a line the engine split — and
   are joined left to right, with a space where they stand apart;
4. a box that stands beside a stack of lines (the `文件` of a joint 版头, centred on
   the organ names at its left) goes with the last line of the stack: the suffix ends
   the masthead;
5. lines are read top to bottom.
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from core.ocr.model import Box, Detected

#: two boxes are on one line when they share this much of the lower one's height
_SAME_LINE = 0.5
#: pieces of one line may overlap by this much of their height (the engine pads boxes)
_SIDE_BY_SIDE = 0.5
#: a gap wider than this many line heights is a space between the parts of a line
_SPACE_GAP = 0.5
#: only long boxes tell the skew: their slope is measured along many characters
_LONG_BOX = 3.0
#: a box reaches a line when it shares this much of its height (a suffix centred on two)
_REACH = 0.25
#: a box whose centre is this many line heights below its line-mates' leans to the next
_LEAN = 0.2
_RULE_CHARS = frozenset("-—–_一─━=~·.－＿")


@dataclass(frozen=True, slots=True)
class _Placed:
    item: Detected
    box: Box  # upright and deskewed: for ordering only


def reading_order(found: Sequence[Detected]) -> list[list[Detected]]:
    """The printed lines of a page, top to bottom, each line's boxes left to right."""
    kept = [d for d in found if d.text.strip() and not _is_rule(d)]
    if not kept:
        return []
    angle = skew(kept)
    placed = [_Placed(d, _upright(d.corners, angle)) for d in kept]
    rows = _rows(sorted(placed, key=lambda p: _centre(p.box)))
    return [[p.item for p in sorted(row, key=lambda p: p.box.left)] for row in rows]


def separators(line: Sequence[Detected]) -> list[str]:
    """What stands between each box of a line and the next: a space where they stand
    apart (字号 … 签发人), nothing where the engine cut a run of text."""
    angle = skew(line)
    boxes = [_upright(d.corners, angle) for d in line]
    height = statistics.median(b.height for b in boxes) if boxes else 0.0
    return [" " if b.left - a.right > _SPACE_GAP * height else ""
            for a, b in itertools.pairwise(boxes)]


def bounding_box(d: Detected) -> Box:
    """The upright rectangle around a box, in page pixels (for showing it to staff)."""
    xs = [p[0] for p in d.corners]
    ys = [p[1] for p in d.corners]
    return Box(min(xs), min(ys), max(xs), max(ys))


def skew(found: Sequence[Detected]) -> float:
    """The page's skew in radians (positive: lines fall to the right), the median slope
    of the long edges of its long boxes; 0 when no box is long enough to tell."""
    slopes: list[float] = []
    for d in found:
        (x0, y0), (x1, y1), (x2, y2), (x3, y3) = d.corners
        width = math.hypot(x1 - x0, y1 - y0)
        height = math.hypot(x3 - x0, y3 - y0)
        if height > 0 and width >= _LONG_BOX * height:
            slopes.append(math.atan2(y1 - y0, x1 - x0))
            slopes.append(math.atan2(y2 - y3, x2 - x3))
    return statistics.median(slopes) if slopes else 0.0


def _is_rule(d: Detected) -> bool:
    """A line drawn, not written: the 版头's red rule, a 分隔线, read as dashes."""
    text = d.text.strip()
    box = bounding_box(d)
    return len(text) >= 2 and set(text) <= _RULE_CHARS and box.width > 8 * box.height


def _upright(corners: Sequence[tuple[float, float]], angle: float) -> Box:
    cos, sin = math.cos(angle), math.sin(angle)
    xs = [x * cos + y * sin for x, y in corners]
    ys = [-x * sin + y * cos for x, y in corners]
    return Box(min(xs), min(ys), max(xs), max(ys))


def _centre(box: Box) -> float:
    return (box.top + box.bottom) / 2


def _band(row: Sequence[_Placed]) -> Box:
    """A line's height: the median top and bottom of its boxes (one tall box, a 版头
    character or a stamp, does not stretch it)."""
    top = statistics.median(p.box.top for p in row)
    bottom = statistics.median(p.box.bottom for p in row)
    return Box(min(p.box.left for p in row), top, max(p.box.right for p in row), bottom)


def _shared(a: Box, b: Box) -> float:
    """How much of the lower of two boxes their heights share (0–1)."""
    overlap = min(a.bottom, b.bottom) - max(a.top, b.top)
    low = min(a.height, b.height)
    return overlap / low if low > 0 and overlap > 0 else 0.0


def _beside(p: _Placed, row: Sequence[_Placed]) -> bool:
    """`p` stands beside every box of `row`, none above or below it."""
    for q in row:
        overlap = min(p.box.right, q.box.right) - max(p.box.left, q.box.left)
        if overlap > _SIDE_BY_SIDE * min(p.box.height, q.box.height):
            return False
    return True


def _rows(placed: Sequence[_Placed]) -> list[list[_Placed]]:
    rows: list[list[_Placed]] = []
    for p in placed:  # by centre, top down
        best: list[_Placed] | None = None
        best_share = _SAME_LINE
        for row in rows:
            share = _shared(p.box, _band(row))
            if share >= best_share and _beside(p, row):
                best, best_share = row, share
        if best is None:
            rows.append([p])
        else:
            best.append(p)
    rows.sort(key=lambda r: _centre(_band(r)))
    return _settle_side_boxes(rows)


def _settle_side_boxes(rows: list[list[_Placed]]) -> list[list[_Placed]]:
    """A box at the end of a line that stands lower than the rest of it, or alone between
    two lines, and reaches the next line beside it, belongs to the next line: the `文件`
    centred on a stack of organ names goes with the last of them."""
    i = 0
    while i < len(rows) - 1:
        row, below = rows[i], rows[i + 1]
        above = rows[i - 1] if i else []
        ends = sorted(row, key=lambda p: p.box.left)
        for p in {id(ends[0]): ends[0], id(ends[-1]): ends[-1]}.values():
            rest = [q for q in row if q is not p]
            if _leans_down(p, rest, above, below):
                row.remove(p)
                below.append(p)
        if not row:
            del rows[i]
            continue
        i += 1
    return rows


def _leans_down(p: _Placed, rest: Sequence[_Placed], above: Sequence[_Placed],
                below: Sequence[_Placed]) -> bool:
    if not (_shared(p.box, _band(below)) >= _REACH and _beside(p, below)):
        return False
    if rest:  # its line-mates stand higher: it sits between their line and the next
        band = _band(rest)
        return _centre(p.box) - _centre(band) > _LEAN * band.height
    return bool(above) and _shared(p.box, _band(above)) >= _REACH and _beside(p, above)
