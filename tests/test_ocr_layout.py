"""Boxes OCR found go back into printed lines in reading order (pure geometry)."""

from __future__ import annotations

import math
import random

from core.ocr.layout import reading_order, separators, skew
from core.ocr.model import Detected

LINE = 40.0  # a line's height in pixels


def box(text: str, left: float, top: float, width: float | None = None,
        height: float = LINE, angle_deg: float = 0.0, score: float = 0.98) -> Detected:
    """A box whose top-left corner is at (left, top), rotated about the page origin."""
    width = width if width is not None else len(text) * height
    a = math.radians(angle_deg)
    cos, sin = math.cos(a), math.sin(a)

    def turn(x: float, y: float) -> tuple[float, float]:
        return (x * cos - y * sin, x * sin + y * cos)

    corners = (turn(left, top), turn(left + width, top),
               turn(left + width, top + height), turn(left, top + height))
    return Detected(corners, text, score)


def lines(found: list[Detected]) -> list[str]:
    out = []
    for row in reading_order(found):
        gaps = [*separators(row), ""]
        out.append("".join(d.text + gap for d, gap in zip(row, gaps, strict=True)))
    return out


def test_lines_top_to_bottom_whatever_order_the_engine_gives() -> None:
    found = [box(f"第{i}行正文内容", 100, 200 + i * 60) for i in range(12)]
    shuffled = found[:]
    random.Random(3).shuffle(shuffled)
    assert lines(shuffled) == [f"第{i}行正文内容" for i in range(12)]


def test_docno_and_signer_at_the_right_margin_are_one_line_with_a_space() -> None:
    found = [
        box("签发人：李明远", 1000, 402),
        box("康府〔2025〕17号", 150, 400),
        box("康定市人民政府文件", 300, 200, height=90),
    ]
    assert lines(found) == ["康定市人民政府文件", "康府〔2025〕17号 签发人：李明远"]


def test_a_line_split_into_boxes_is_joined_without_a_gap() -> None:
    found = [box("尚需购置扑火机具、", 100, 500), box("修建防火隔离带", 100 + 9 * LINE + 4, 503)]
    assert lines(found) == ["尚需购置扑火机具、修建防火隔离带"]


def test_the_red_rule_under_the_masthead_is_not_text() -> None:
    found = [box("康定市人民政府文件", 300, 200, height=90),
             box("一一一一一一", 100, 330, width=1400, height=12),
             box("康定市人民政府关于申请解决", 200, 400)]
    assert lines(found) == ["康定市人民政府文件", "康定市人民政府关于申请解决"]


def test_skew_is_measured_and_undone() -> None:
    """At 1.5° a 1400-pixel line falls 37 pixels, almost a line height: unrotated, the
    end of one line would meet the start of the next."""
    found = []
    for i in range(8):
        top = 200 + i * 55
        found += [box("甲乙丙丁戊己庚辛", 100, top, angle_deg=1.5),
                  box("子丑寅卯辰巳午未", 100 + 8 * LINE + 300, top, angle_deg=1.5)]
    assert math.degrees(skew(found)) == pytest_approx(1.5)
    assert lines(found) == ["甲乙丙丁戊己庚辛 子丑寅卯辰巳午未"] * 8


def test_joint_masthead_suffix_goes_with_the_last_organ() -> None:
    """`文件` stands centred beside the stacked organ names: it ends the masthead."""
    found = [
        box("甘孜州财政局", 200, 200, height=70),
        box("甘孜州农业农村局", 200, 290, height=70),
        box("文件", 900, 245, height=70),
        box("甘财〔2025〕45号", 150, 450),
    ]
    assert lines(found) == ["甘孜州财政局", "甘孜州农业农村局 文件", "甘财〔2025〕45号"]


def test_two_column_imprint_stays_one_line() -> None:
    found = [box("康定市人民政府办公室", 150, 2000),
             box("2025年3月18日印发", 1100, 2001)]
    assert lines(found) == ["康定市人民政府办公室 2025年3月18日印发"]


def pytest_approx(value: float) -> object:
    import pytest

    return pytest.approx(value, abs=0.05)
