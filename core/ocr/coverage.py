"""How much of a page's ink OCR left unread: the sign of a page too blurred or too faint
for the detector, which then finds a few large lines and none of the body.

Pure (an array in, a share out). The page is cut into cells; a cell with ink is read
when a box the engine kept covers it (with one cell of margin, the engine's boxes are
tight). Only ink that stands as tall as text counts, so that the specks and the
fold line of a fax, which no box covers, do not make a short page look unread.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from core.ocr.model import Box

if TYPE_CHECKING:
    import numpy as np

#: cell side in pixels (a 三号 character at 200 dpi is ~45 pixels high, 5 cells)
_CELL = 8
#: a cell holds ink when this share of its pixels is dark (2 of 64)
_INK = 0.03
_DARK = 128
#: ink counts when it stands this many cells tall: text does; specks and a fold line
#: (at most 4 pixels) do not
_TALL = 3


def unread_ink(grey: np.ndarray, boxes: Sequence[Box]) -> float:
    """The share (0–1) of the ink cells of `grey` (H×W uint8) that no box covers;
    0 for a blank page."""
    import numpy as np

    height, width = grey.shape[:2]
    rows, cols = height // _CELL, width // _CELL
    if rows < _TALL or cols == 0:
        return 0.0
    dark = grey[: rows * _CELL, : cols * _CELL] < _DARK
    cells = dark.reshape(rows, _CELL, cols, _CELL).mean(axis=(1, 3)) >= _INK
    tall = np.ones((rows - _TALL + 1, cols), dtype=bool)
    for k in range(_TALL):
        tall &= cells[k : rows - _TALL + 1 + k]
    ink = np.zeros_like(cells)
    for k in range(_TALL):
        ink[k : rows - _TALL + 1 + k] |= tall
    total = int(ink.sum())
    if total == 0:
        return 0.0
    covered = np.zeros_like(ink)
    for box in boxes:
        top, left = max(0, int(box.top // _CELL) - 1), max(0, int(box.left // _CELL) - 1)
        bottom = min(rows, int(box.bottom // _CELL) + 2)
        right = min(cols, int(box.right // _CELL) + 2)
        covered[top:bottom, left:right] = True
    return int((ink & ~covered).sum()) / total
