"""Outgoing numbers (core/numbering.py): GB/T 9704 format and the lenient parser."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.errors import InvalidInputError
from core.numbering import (
    DispatchRef,
    format_number,
    format_ref,
    format_short,
    normalize_number,
    parse_number,
)

VARIANTS = [
    ("甘府发〔2026〕12号", "甘府发〔2026〕12号"),
    ("甘府发[2026]12号", "甘府发〔2026〕12号"),
    ("甘府发（2026）12号", "甘府发〔2026〕12号"),
    ("甘府发(2026)12号", "甘府发〔2026〕12号"),
    ("甘府发〔2026〕第12号", "甘府发〔2026〕12号"),
    ("甘府发 〔2026〕 12 号", "甘府发〔2026〕12号"),
    ("甘府发〔２０２６〕１２号", "甘府发〔2026〕12号"),
    ("甘府发［2026］012号", "甘府发〔2026〕12号"),
    ("甘府发【2026】12号", "甘府发〔2026〕12号"),
    ("甘府发﹝2026﹞12", "甘府发〔2026〕12号"),
    ("\u3000甘办函〔2025〕3号\u3000", "甘办函〔2025〕3号"),
    ("政府会第3期", "政府会 第3期"),
    ("政府会 第 3 期", "政府会 第3期"),
    ("政府会 第３期", "政府会 第3期"),
    ("政府会2026年第3期", "政府会 2026年第3期"),
    ("政府会 〔2026〕第3期", "政府会 2026年第3期"),
    ("救灾要情 2025 年 第 12 期", "救灾要情 2025年第12期"),
]


@pytest.mark.parametrize(("typed", "canonical"), VARIANTS)
def test_variants_normalise_to_the_canonical_form(typed: str, canonical: str) -> None:
    """Every variant staff type normalises to the one canonical number."""
    assert normalize_number(typed) == canonical


def test_format_follows_gbt_9704() -> None:
    """Full year in 〔〕, no leading zero, no 第; issues read 第N期 with the year stored."""
    assert format_number("甘府发", 2026, 12) == "甘府发〔2026〕12号"
    assert format_number("甘府发", 2026, 1) == "甘府发〔2026〕1号"
    assert format_number("政府会", 2026, 3, "issue") == "政府会 2026年第3期"
    assert format_short("政府会", 3) == "政府会 第3期"


def test_parse_gives_code_year_sequence_and_style() -> None:
    """The parser separates code, year, sequence and style."""
    assert parse_number("甘府发[2026]第12号") == DispatchRef("甘府发", 12, 2026, "year")
    assert parse_number("政府会 第3期") == DispatchRef("政府会", 3, None, "issue")
    assert parse_number("政府会2026年第3期") == DispatchRef("政府会", 3, 2026, "issue")


@pytest.mark.parametrize(
    "typed",
    ["", "甘府发", "甘府发2026-12", "甘府发〔26〕12号", "甘府发〔2026〕0号", "〔2026〕12号",
     "甘府发〔2026〕号", "政府会第期", "办2026-0001", "甘府发〔2026〕12号附件"],
)
def test_non_numbers_are_refused_in_chinese(typed: str) -> None:
    """Text that is no outgoing number is refused with an example of the right form."""
    with pytest.raises(InvalidInputError, match=r"无法识别的发文字号|序号须从 1 起"):
        parse_number(typed)


def test_year_number_needs_its_year() -> None:
    """A 〔year〕 number cannot be formatted without its year."""
    with pytest.raises(ValueError, match="year"):
        format_ref(DispatchRef("甘府发", 3, None, "year"))


# ---------------------------------------------------------------- properties
CODE_CHARS = "甘府发函办人政会救灾要情务信息川国中委决策动态与省内"
codes = st.text(alphabet=CODE_CHARS, min_size=1, max_size=6)
years = st.integers(1949, 2199)
seqs = st.integers(1, 99_999)

refs = st.one_of(
    st.builds(DispatchRef, codes, seqs, years, st.just("year")),
    st.builds(DispatchRef, codes, seqs, st.one_of(st.none(), years), st.just("issue")),
)


@given(refs)
def test_parse_of_format_is_identity(ref: DispatchRef) -> None:
    """parse(format(x)) == x for every number of either style."""
    assert parse_number(format_ref(ref)) == ref


BRACKETS = [("〔", "〕"), ("[", "]"), ("(", ")"), ("（", "）"), ("［", "］"), ("【", "】")]
FULL = {str(d): chr(ord(str(d)) + 0xFEE0) for d in range(10)}


def _widen(draw: st.DrawFn, text: str) -> str:
    """Make some digits full-width and sprinkle spaces between characters."""
    out = ""
    for ch in text:
        shown = FULL[ch] if ch.isdigit() and draw(st.booleans()) else ch
        out += shown + draw(st.sampled_from(["", "", "", " ", "\u3000"]))
    return out


@st.composite
def typed_year_numbers(draw: st.DrawFn) -> tuple[str, DispatchRef]:
    ref = DispatchRef(draw(codes), draw(seqs), draw(years), "year")
    opening, closing = draw(st.sampled_from(BRACKETS))
    seq_text = "0" * draw(st.integers(0, 2)) + str(ref.seq)
    di = draw(st.sampled_from(["", "第"]))
    hao = draw(st.sampled_from(["号", "号", ""]))
    return _widen(draw, f"{ref.code}{opening}{ref.year}{closing}{di}{seq_text}{hao}"), ref


@st.composite
def typed_issue_numbers(draw: st.DrawFn) -> tuple[str, DispatchRef]:
    year = draw(st.one_of(st.none(), years))
    ref = DispatchRef(draw(codes), draw(seqs), year, "issue")
    if year is None:
        middle = ""
    else:
        opening, closing = draw(st.sampled_from(BRACKETS))
        middle = draw(st.sampled_from([f"{year}年", f"{opening}{year}{closing}"]))
    return _widen(draw, f"{ref.code}{middle}第{ref.seq}期"), ref


@given(st.one_of(typed_year_numbers(), typed_issue_numbers()))
def test_every_accepted_variant_normalises(case: tuple[str, DispatchRef]) -> None:
    """Any bracket, 第, leading zeros, spaces and full-width digits give the canonical form."""
    typed, ref = case
    assert parse_number(typed) == ref
    assert normalize_number(typed) == format_ref(ref)
    assert normalize_number(format_ref(ref)) == format_ref(ref)
