"""What OCR confuses is undone where the printed form is certain, and nothing else moves."""

from __future__ import annotations

import pytest

from core.ocr.normalize import normalize
from tests.data.fax import DOCUMENTS


@pytest.mark.parametrize(
    ("read", "printed"),
    [
        ("康府[2025]17号", "康府〔2025〕17号"),
        ("康府【2025】17号", "康府〔2025〕17号"),
        ("康府(2025)17号", "康府〔2025〕17号"),
        ("康府（2025）17号", "康府〔2025〕17号"),
        ("康府〈2025〉17号", "康府〔2025〕17号"),
        ("康府［2025］17号", "康府〔2025〕17号"),
        ("康府[2025 17号", "康府〔2025〕17号"),  # one bracket lost
        ("康府 2025]17号", "康府〔2025〕17号"),
        ("川办明电〔2025〕9号", "川办明电〔2025〕9号"),
        ("甘财[2O25]45号", "甘财〔2025〕45号"),  # O read for 0 inside the year
        ("泸府函[2025]第6号", "泸府函〔2025〕第6号"),
    ],
)
def test_brackets_of_a_year_in_a_docno_are_hexagonal(read: str, printed: str) -> None:
    assert normalize(read) == printed


@pytest.mark.parametrize(
    ("read", "printed"),
    [
        ("2O25年3月l8日", "2025年3月18日"),
        ("资金缺口386.5万元，l0号", "资金缺口386.5万元，10号"),
        ("电话：0836-282200l", "电话：0836-2822001"),
        ("１２８６处", "1286处"),  # full-width digits
        ("ＧＢ／Ｔ", "GB／T"),  # full-width letters; the slash is a mark and stays
        ("甘孜州人民政府:", "甘孜州人民政府："),
        ("妥否,请批示!", "妥否，请批示！"),
        ("建设(45公里)和", "建设（45公里）和"),
        ("森林草原，.全市", "森林草原，全市"),  # a speck beside a mark
        ("气温偏高.", "气温偏高。"),  # a full stop read small
    ],
)
def test_what_ocr_confuses_is_undone(read: str, printed: str) -> None:
    assert normalize(read) == printed


@pytest.mark.parametrize(
    "text",
    [
        "G318线泸定段K2856至K2871路段",
        "COVID-19疫情防控",
        "二〇二五年三月十八日",
        "（2024—2026年）",  # a year in brackets outside a 字号
        "2025年17号台风",  # no bracket: not a 字号
        "10:30召开",
        "共1,250户",
        "阿旺·扎西",
        "Ⅳ级应急响应",
        "PM2.5浓度",
        "see (a) above",
    ],
)
def test_normal_text_is_left_alone(text: str) -> None:
    assert normalize(text) == text


def test_every_printed_line_of_the_test_documents_survives() -> None:
    lines = [part for doc in DOCUMENTS for line in doc.lines
             for part in (line.text, line.right) if part]
    assert len(lines) > 60
    assert [normalize(line) for line in lines] == lines
