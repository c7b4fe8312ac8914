"""What the public catalogue may show: the one rule, decided on a record's facts.

A dispatch record is in the catalogue only while all of these hold: its number is not
voided, it carries no 密级, its 可否公开 is 主动公开, a 主动公开 cycle of it was
published (`jiyao published`), its latest 保密审查 passed, and that publication was not
withdrawn since. Everything else — 不予公开, 依申请公开, undecided, classified, voided,
withdrawn, failed review — is never shown: no page, no search entry, no file.
"""

from __future__ import annotations

from dataclasses import dataclass

ACTIVE_DISCLOSURE = "主动公开"


@dataclass(frozen=True, slots=True)
class Facts:
    """What the rule looks at, as stored."""

    status: str  # dispatch status: "active" | "void"
    disclosure: str | None  # 主动公开 | 依申请公开 | 不予公开 | None (待定)
    secrecy: str | None  # 秘密 | 机密 | 绝密 | None
    published_cycle: int | None  # latest published 主动公开 cycle, None if never
    review: str | None  # latest 保密审查 result: 通过 | 不通过 | None
    withdrawn_cycle: int | None  # cycle of the latest withdrawal (撤回), None if never


def refusal(f: Facts) -> str | None:
    """Why the record may not be public (Chinese, for staff), or None when it may."""
    if f.status != "active":
        return "发文已作废"
    if f.secrecy:
        return f"涉密（{f.secrecy}）"
    if f.disclosure != ACTIVE_DISCLOSURE:
        return f"公开属性为{f.disclosure or '待定'}"
    if f.published_cycle is None:
        return "尚未登记公开"
    if f.review != "通过":
        return "保密审查未通过" if f.review else "没有保密审查记录"
    if f.withdrawn_cycle is not None and f.withdrawn_cycle >= f.published_cycle:
        return "已撤回公开"
    return None


def publishable(f: Facts) -> bool:
    return refusal(f) is None
