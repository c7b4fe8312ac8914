"""Ink no box covers is measured; specks and a fold line are not ink of text."""

from __future__ import annotations

import numpy as np

from core.ocr.coverage import unread_ink
from core.ocr.model import Box


def page_with_lines(lines: int) -> np.ndarray:
    page = np.full((2000, 1400), 255, dtype=np.uint8)
    for i in range(lines):
        top = 200 + i * 80
        for x in range(150, 1250, 50):  # characters 40 px square, strokes every 8 px
            page[top : top + 40 : 8, x : x + 40] = 0
            page[top : top + 40, x : x + 40 : 8] = 0
    return page


def boxes(lines: int) -> list[Box]:
    return [Box(145, 195 + i * 80, 1255, 245 + i * 80) for i in range(lines)]


def test_all_text_read_leaves_nothing() -> None:
    assert unread_ink(page_with_lines(10), boxes(10)) == 0.0


def test_lines_not_read_are_counted() -> None:
    assert unread_ink(page_with_lines(10), boxes(6)) == 0.4
    assert unread_ink(page_with_lines(10), []) == 1.0


def test_specks_and_a_fold_line_are_not_text() -> None:
    page = page_with_lines(2)
    rng = np.random.default_rng(1)
    for y, x in zip(rng.integers(0, 1997, 400), rng.integers(0, 1397, 400), strict=True):
        page[y : y + 3, x : x + 3] = 0
    page[1040:1043, :] = 0  # the fold
    assert unread_ink(page, boxes(2)) < 0.01


def test_a_blank_page_has_nothing_unread() -> None:
    assert unread_ink(np.full((100, 100), 255, dtype=np.uint8), []) == 0.0
