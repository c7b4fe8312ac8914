"""Print counts (core/copies.py) against the seed's figures and the example lists."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.config import Distribution, load_settings
from core.copies import count_copies, parse_request
from core.errors import InvalidInputError
from tests.conftest import EXAMPLE

LISTS = load_settings(EXAMPLE).distribution
MAIN = "州级各部门和各县"


def test_all_departments_and_counties_is_158() -> None:
    """州级各部门和各县 = 158 copies (seed)."""
    r = count_copies(LISTS, [MAIN])
    assert r.total == 158
    assert r.lines == [f"{MAIN}（适用：川府发、川办发、甘府发、甘办发、四大件、政府令）：158 份",
                       ("  假定：“州级各部门和各县”共 58 个受文单位"
                        "（州级部门 40 个、县（市）18 个；种子未载明单位数）"),
                       "合计：158 份"]
    assert [x.as_json() for x in r.shares] == [
        {"recipient": MAIN, "units": 58, "copies": 158}]


def test_the_seeds_lists_are_named_with_their_documents() -> None:
    """四大件 and 政府令 go to 州级各部门和各县 (158, seed); each list says what it is for."""
    from core.copies import describe

    named = {d.name: describe(d) for d in LISTS}
    assert "四大件、政府令" in named[MAIN]
    assert named[MAIN].startswith(f"{MAIN}：158 份")
    assert named["省级部门"].startswith("省级部门：每个部门 5 份")


def test_two_more_units_add_in_proportion_rounded_up() -> None:
    """Two more units: 158 + ⌈2 × 158 ÷ 58⌉ = 164, shown line by line."""
    r = count_copies(LISTS, [MAIN], add_units=2)
    assert r.total == 164
    assert r.lines[0].startswith(f"{MAIN}（")
    assert r.lines[0].endswith("：158 份")
    assert "58 个受文单位" in r.lines[1]  # the assumption the proportion rests on
    assert "⌈2 × 158 ÷ 58⌉ = 6 份" in r.lines[2]
    assert r.lines[2].startswith("增加 2 个单位")
    assert r.lines[-1] == "合计：164 份"
    assert [(x.recipient, x.units, x.copies) for x in r.shares] == [
        (MAIN, 58, 158), ("增加的受文单位", 2, 6)]


def test_provincial_government_is_15() -> None:
    """报送省政府 = 15 copies (seed)."""
    assert count_copies(LISTS, ["报送省政府"]).total == 15


def test_provincial_departments_count_per_department() -> None:
    """省级部门 × 3 departments = 15 copies (5 each)."""
    r = count_copies(LISTS, ["省级部门"], departments=3)
    assert r.total == 15
    assert r.lines[0].endswith("：5 份 × 3 个部门 = 15 份")
    assert r.lines[1] == ("  假定：“省级部门”每个部门 5 份"
                          "（种子只写“省级部门的5份”，按所发部门数计）")


def test_larger_list_is_227() -> None:
    """州级各部门、州属企事业单位和各县 = 227 copies (seed)."""
    assert count_copies(LISTS, ["州级各部门、州属企事业单位和各县"]).total == 227


@pytest.mark.parametrize("name", [d.name for d in LISTS])
def test_fax_means_no_paper_copies(name: str) -> None:
    """Any list sent by fax gets 0 paper copies, even with units and extras added."""
    r = count_copies(LISTS, [name], add_units=3, extra=2, fax=True)
    assert r.total == 0
    assert r.lines[-1] == "合计：0 份"
    assert any("传真" in line for line in r.lines)


def test_removing_units_never_leaves_a_copy_short() -> None:
    """A removal takes ⌊…⌋ copies away, so the count itself is rounded up: 158 − 2 = 156."""
    r = count_copies(LISTS, [MAIN], remove_units=1)
    assert r.total == 156
    assert "⌊1 × 158 ÷ 58⌋ = 2 份" in r.lines[2]
    assert [(x.recipient, x.units, x.copies) for x in r.shares] == [
        (f"{MAIN}（减 1 个单位）", 57, 156)]


def test_lists_and_extras_add_up() -> None:
    """Several lists, a net change against the first list and 存档 copies sum line by line."""
    r = count_copies(LISTS, [MAIN, "报送省政府", "省级部门"], departments=2, add_units=3,
                     remove_units=1, extra=2)
    # 158 + 15 + 10 + ⌈2 × 158 ÷ 58⌉ (= 6) + 2
    assert r.total == 191
    assert r.lines[-2] == "另加（存档等）：2 份"
    assert r.as_json()["total"] == 191
    assert sum(x["copies"] for x in r.as_json()["shares"]) == 191
    assert r.shares[-1].recipient == "存档等"


def test_unknown_list_names_the_valid_ones() -> None:
    """An unknown list name is refused with every configured name listed."""
    with pytest.raises(InvalidInputError) as err:
        count_copies(LISTS, ["省政府"])
    for d in LISTS:
        assert d.name in str(err.value)
    assert "未知发送名单" in str(err.value)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"departments": 2}, "只用于按部门计份"),
        ({"remove_units": 59}, "超过"),
        ({"add_units": -1}, "不能为负数"),
        ({"departments": 0}, "至少为 1"),
    ],
)
def test_impossible_requests_are_refused(kwargs: dict[str, int], message: str) -> None:
    """Departments on a whole list, removing more units than exist, negatives: refused."""
    with pytest.raises(InvalidInputError, match=message):
        count_copies(LISTS, [MAIN], **kwargs)


def test_no_or_repeated_lists_are_refused() -> None:
    """At least one list is needed, and naming one twice is a mistake."""
    with pytest.raises(InvalidInputError, match="请指定发送名单"):
        count_copies(LISTS, [])
    with pytest.raises(InvalidInputError, match="重复"):
        count_copies(LISTS, [MAIN, MAIN])


def test_chat_request_is_parsed() -> None:
    """The bot's `/copies` arguments: lists, +N/−N, ×N departments, 另加N, 传真."""
    req = parse_request("州级各部门和各县 省级部门 ＋2 -1 ×3 另加2 传真")
    assert req.lists == [MAIN, "省级部门"]
    assert (req.add_units, req.remove_units, req.departments, req.extra, req.fax) == (
        2, 1, 3, 2, True)


@given(copies=st.integers(1, 500), units=st.integers(1, 100), add=st.integers(0, 100),
       remove=st.integers(0, 100))
def test_count_is_the_exact_proportion_rounded_up(
    copies: int, units: int, add: int, remove: int
) -> None:
    """The total is ⌈copies × (units + add − remove) ÷ units⌉ whenever the removal is possible."""
    lists = [Distribution(name="甲", copies=copies, units=units)]
    if remove > units + add:
        with pytest.raises(InvalidInputError):
            count_copies(lists, ["甲"], add_units=add, remove_units=remove)
        return
    total = count_copies(lists, ["甲"], add_units=add, remove_units=remove).total
    exact_numerator = copies * (units + add - remove)
    assert total == -(-exact_numerator // units)
