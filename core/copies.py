"""Print count (发文的份数计算, DOMAIN §5): distribution lists, proportional changes, fax.

The seed: 158 copies to 州级各部门和各县, 15 to the provincial government, 5 per
provincial department; "增加或减少受文单位时，按比例相应增加或减少文件印数"; "凡传真发出的
文件，一般不另行发送文件" (0 paper copies). Added or removed units change the count by
copies × units changed ÷ units in the list, and the resulting count is rounded up, so
an addition adds ⌈…⌉ and a removal takes away only ⌊…⌋: never a copy short.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from core.config import Distribution
from core.errors import InvalidInputError
from core.limits import check_count
from core.registers import normalize_width


@dataclass(frozen=True)
class Share:
    """One line of the 分发: who gets how many copies (a list, the units added, 存档)."""

    recipient: str
    units: int | None
    copies: int

    def as_json(self) -> dict[str, Any]:
        return {"recipient": self.recipient, "units": self.units, "copies": self.copies}


@dataclass(frozen=True)
class CopyCount:
    """The number of paper copies to print, the calculation line by line, and the 分发.
    `fax`: sent by fax, so no paper copies (the shares then carry 0)."""

    total: int
    lines: list[str]
    shares: list[Share] = field(default_factory=list)
    fax: bool = False

    def as_json(self) -> dict[str, Any]:
        return {"total": self.total, "lines": self.lines, "fax": self.fax,
                "shares": [x.as_json() for x in self.shares]}

    def shares_text(self) -> str:
        return shares_line(((x.recipient, x.copies) for x in self.shares), fax=self.fax)


def shares_line(shares: Iterable[tuple[str, int]], *, fax: bool) -> str:
    """The 分发 in one line: each recipient and its copies (sent by fax: the recipients)."""
    return "；".join(name if fax else f"{name} {copies} 份" for name, copies in shares)


@dataclass(frozen=True)
class _Part:
    name: str
    copies: int
    units: int


def count_copies(
    distributions: Sequence[Distribution],
    lists: Sequence[str],
    *,
    departments: int | None = None,
    add_units: int = 0,
    remove_units: int = 0,
    extra: int = 0,
    fax: bool = False,
) -> CopyCount:
    """Copies for the named lists; units added/removed are in proportion to the first list."""
    _check_counts(departments=departments, add_units=add_units, remove_units=remove_units,
                  extra=extra)
    chosen = _lookup(distributions, lists)
    if departments is not None and not any(d.per_unit for d in chosen):
        per_unit = _join(d.name for d in distributions if d.per_unit) or "无"
        raise InvalidInputError(
            f"--departments 只用于按部门计份的名单（{per_unit}）", field="departments"
        )
    if fax:
        note = "（另加份数亦不印）" if extra else ""
        return CopyCount(0, [
            f"发送名单：{_join(d.name for d in chosen)}",
            f"传真发出，不另行印发纸质文件{note}",
            "合计：0 份",
        ], [Share(f"{d.name}（传真）", d.units, 0) for d in chosen], fax=True)
    lines: list[str] = []
    parts = [_part(d, departments, lines) for d in chosen]
    shares = [Share(p.name, p.units, p.copies) for p in parts]
    delta = _adjust(parts[0], add_units, remove_units, lines)
    net = add_units - remove_units
    if delta > 0:
        shares.append(Share("增加的受文单位", net, delta))
    elif delta < 0 or net < 0:
        first = shares[0]
        shares[0] = Share(f"{first.recipient}（减 {-net} 个单位）", (first.units or 0) + net,
                          first.copies + delta)
    total = sum(x.copies for x in shares)
    if extra:
        lines.append(f"另加（存档等）：{extra} 份")
        shares.append(Share("存档等", None, extra))
        total += extra
    lines.append(f"合计：{total} 份")
    return CopyCount(total, lines, shares)


def assumption(d: Distribution) -> str:
    """What the seed does not state about a list and the count takes as given."""
    if d.basis:
        return f"假定：{d.basis}"
    if d.per_unit:
        return f"假定：“{d.name}”每个部门 {d.copies} 份（种子未载明按部门计还是合计）"
    return f"假定：“{d.name}”共 {d.units} 个受文单位（种子未载明单位数，按比例增减以此为准）"


def describe(d: Distribution) -> str:
    """A list as `jiyao copies` names it: its count, what the seed gives it for, and the
    assumption it rests on."""
    each = "每个部门 " if d.per_unit else ""
    used = f"；适用：{'、'.join(d.documents)}" if d.documents else ""
    return f"{d.name}：{each}{d.copies} 份{used}"


_COUNT_NAMES = {"departments": "部门数", "add_units": "加发单位数", "remove_units": "减发单位数",
                "extra": "另加份数"}


def _check_counts(**counts: int | None) -> None:
    for name, value in counts.items():
        if value is not None and value < 0:
            label = _COUNT_NAMES.get(name, name)
            raise InvalidInputError(f"{label}不能为负数：{value}", field=name)
        check_count(value, _COUNT_NAMES.get(name, name), field=name)
    if counts["departments"] == 0:
        raise InvalidInputError("部门数至少为 1", field="departments")


def _join(names: Iterable[str]) -> str:
    """List names for staff; 、 separates them unless a name contains one (then ；)."""
    items = list(names)
    return ("；" if any("、" in n for n in items) else "、").join(items)


def _lookup(distributions: Sequence[Distribution], lists: Sequence[str]) -> list[Distribution]:
    by_name = {d.name: d for d in distributions}
    valid = _join(by_name) or "（未配置任何名单）"
    if not lists:
        raise InvalidInputError(f"请指定发送名单，可选：{valid}", field="list")
    chosen: list[Distribution] = []
    for raw in lists:
        name = raw.strip()
        if name not in by_name:
            raise InvalidInputError(f"未知发送名单 {raw!r}，可选：{valid}", field="list")
        if by_name[name] in chosen:
            raise InvalidInputError(f"发送名单重复：{name}", field="list")
        chosen.append(by_name[name])
    return chosen


def _part(d: Distribution, departments: int | None, lines: list[str]) -> _Part:
    used = f"（适用：{'、'.join(d.documents)}）" if d.documents else ""
    if not d.per_unit:
        lines += [f"{d.name}{used}：{d.copies} 份", f"  {assumption(d)}"]
        return _Part(d.name, d.copies, d.units)
    n = departments or 1
    copies = d.copies * n
    lines += [f"{d.name}{used}：{d.copies} 份 × {n} 个部门 = {copies} 份", f"  {assumption(d)}"]
    return _Part(d.name, copies, d.units * n)


def _adjust(basis: _Part, add_units: int, remove_units: int, lines: list[str]) -> int:
    """Copies added (positive) or removed (negative) for a net change of units."""
    net = add_units - remove_units
    if remove_units > basis.units + add_units:
        raise InvalidInputError(
            f"减少的单位数 {remove_units} 超过名单“{basis.name}”的 {basis.units} 个单位",
            field="remove_units",
        )
    if not add_units and not remove_units:
        return 0
    what = _change_words(add_units, remove_units)
    scale = f"按“{basis.name}”{basis.copies} 份 ÷ {basis.units} 个单位"
    if net > 0:
        delta = -(-net * basis.copies // basis.units)  # ceil
        lines.append(f"{what}（{scale}）：⌈{net} × {basis.copies} ÷ {basis.units}⌉ = {delta} 份")
        return delta
    if net < 0:
        delta = -net * basis.copies // basis.units  # floor: the count itself rounds up
        lines.append(
            f"{what}（{scale}）：⌊{-net} × {basis.copies} ÷ {basis.units}⌋ = {delta} 份（减）"
        )
        return -delta
    lines.append(f"{what}：0 份")
    return 0


def _change_words(add_units: int, remove_units: int) -> str:
    if add_units and remove_units:
        net = add_units - remove_units
        tail = f"净增 {net} 个" if net > 0 else (f"净减 {-net} 个" if net < 0 else "相抵")
        return f"增加 {add_units} 个、减少 {remove_units} 个单位，{tail}"
    if add_units:
        return f"增加 {add_units} 个单位"
    return f"减少 {remove_units} 个单位"


@dataclass
class CopiesRequest:
    """What a chat line like `州级各部门和各县 +2 传真` asks for."""

    lists: list[str] = field(default_factory=list)
    departments: int | None = None
    add_units: int = 0
    remove_units: int = 0
    extra: int = 0
    fax: bool = False


FAX_WORD = "传真"
_TOKEN_ADD = re.compile(r"^\+(\d+)$")
_TOKEN_REMOVE = re.compile(r"^[-−](\d+)$")
_TOKEN_DEPTS = re.compile(r"^[×xX*](\d+)$")
_TOKEN_EXTRA = re.compile(r"^(?:另加|存档)(\d+)份?$")


def parse_request(text: str) -> CopiesRequest:
    """Parse the bot's `/copies 名单 [名单…] [+N|-N] [×N] [另加N] [传真]` arguments."""
    req = CopiesRequest()
    for token in normalize_width(text).split():
        if m := _TOKEN_ADD.match(token):
            req.add_units += int(m[1])
        elif m := _TOKEN_REMOVE.match(token):
            req.remove_units += int(m[1])
        elif m := _TOKEN_DEPTS.match(token):
            req.departments = int(m[1])
        elif m := _TOKEN_EXTRA.match(token):
            req.extra += int(m[1])
        elif token == FAX_WORD:
            req.fax = True
        else:
            req.lists.append(token)
    return req
