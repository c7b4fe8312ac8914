"""The handling flow of a received 办件 (条例 Art. 24): pure rules, no I/O.

签收 → 拟办 (the registry proposes leader, 承办单位 and 期限) → 批示 (the leader instructs, or
accepts the proposal) → 交办 (the registry confirms the 承办单位: the first 主办, the others
协办) → 承办 → 办结 (the 承办单位 reports the result) → 答复 when the sender asked for one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
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


def proposal_summary(text: str, units: Sequence[str], due: date | None) -> str:
    """A 拟办意见 as a leader reads it before 同意拟办: the text, then the proposed 承办单位
    (first 主办) and 办理期限 when given."""
    extra = "；".join(x for x in (
        "承办：" + "、".join(f"{u}（{r}）" for r, u in roles(list(units))) if units else "",
        f"期限：{due.isoformat()}" if due else "") if x)
    return f"{text}（{extra}）" if extra else text


# ------------------------------------------------------------------ 办结 by reply mail
#: the tag a 交办 notice's subject carries, kept by mail clients in the reply's subject
REPLY_TAG = "办结回复"
_TAGGED = re.compile(r"【\s*" + REPLY_TAG + r"\s*([^】\s]{1,40})\s*】")
_MSGID = re.compile(r"<([^<>\s]{1,250})>")
#: lines that start the quoted original in a reply (Outlook, Foxmail, QQ, Gmail, Apple)
_QUOTE_START = re.compile(
    r"^\s*(>|-{2,}\s*(原始邮件|Original Message)|发件人[:：]|From:|在.{0,80}写道[:：]\s*$"
    r"|On .{0,120}wrote:\s*$|_{5,})", re.IGNORECASE)
#: how many Message-IDs of a reply are looked up
MAX_REFERENCES = 20
#: how many of the reply's first lines make the 办理结果
RESULT_LINES = 5


def notice_subject(number: str) -> str:
    """The subject of the 交办 notice mailed to a 承办单位; its reply names the item."""
    return f"交办：{number}（办结后请直接回复本邮件）【{REPLY_TAG} {number}】"


def tagged_number(subject: str | None) -> str | None:
    """The register number a reply's subject names in its 【办结回复 编号】 tag."""
    m = _TAGGED.search(subject or "")
    return m.group(1) if m else None


def referenced_ids(in_reply_to: str | None, references: str | None) -> list[str]:
    """The Message-IDs (without angle brackets) a reply points at, In-Reply-To first; a
    long thread's References give their latest ones."""
    found = _MSGID.findall(in_reply_to or "") + _MSGID.findall(references or "")[::-1]
    return list(dict.fromkeys(found))[:MAX_REFERENCES]


def reply_result(body: str) -> str:
    """The 办理结果 a reply mail reports: its first non-empty lines above the quoted
    original."""
    lines: list[str] = []
    for line in body.replace("\r\n", "\n").split("\n"):
        if _QUOTE_START.match(line):
            break
        if line.strip():
            lines.append(line.strip())
        if len(lines) == RESULT_LINES:
            break
    return "\n".join(lines)
