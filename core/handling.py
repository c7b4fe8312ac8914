"""The handling flow of a received 办件 (条例 Art. 24): pure rules, no I/O.

签收 → 拟办 (the registry proposes leader, 承办单位 and 期限) → 批示 (the leader instructs, or
accepts the proposal) → 交办 (the registry confirms the 承办单位: the first 主办, the others
协办) → 承办 → 办结 (the 承办单位 reports the result) → 答复 when the sender asked for one.
"""

from __future__ import annotations

from enum import StrEnum


class Step(StrEnum):
    """Where an item stands; the holder is who has to act next."""

    PROPOSE = "待拟办"  # the registry has to propose its handling
    INSTRUCT = "待批示"  # a leader has to instruct (or accept the 拟办)
    ASSIGN = "待交办"  # instructed; the registry has to hand it to the 承办单位
    HANDLING = "承办中"  # the 主办 unit is working on it
    DONE = "已办结"


ROLE_LEAD = "主办"
ROLE_HELP = "协办"

#: words in a 函's title that ask the receiver for an answer (商请函, 征求意见函, 询问函)
_ASKING = ("商请", "请求", "申请", "征求", "请予", "询问", "函询", "恳请", "请示")


#: classification rules (core.reading.classify) whose finding is that the sender asks for
#: an answer, and the answer it is owed
_RULE_REPLY = {"qingshi": "批复", "letter_request": "复函"}


def reply_owed(doc_type: str | None, title: str | None, rule: str | None = None) -> str | None:
    """The 答复 an item is owed: 批复 for a 请示, 复函 for a 函 that asks; else None. The
    classifying rule decides when it found so; a paper item (no rule) goes by 文种 and
    title."""
    if rule in _RULE_REPLY:
        return _RULE_REPLY[rule]
    kind = (doc_type or "").strip()
    text = title or ""
    if kind == "请示" or (not kind and text.endswith("的请示")):
        return "批复"
    if kind == "函" or (not kind and text.endswith("的函")):
        return "复函" if any(w in text for w in _ASKING) else None
    return None


def roles(units: list[str]) -> list[tuple[str, str]]:
    """(role, unit) for units in the order given: the first 主办, the others 协办; a unit
    named twice counts once."""
    seen = list(dict.fromkeys(u.strip() for u in units if u.strip()))
    return [(ROLE_LEAD if i == 0 else ROLE_HELP, u) for i, u in enumerate(seen)]
