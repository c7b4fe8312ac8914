"""An item's push rendered once as a neutral message (DOMAIN §7), for every adapter.

What a push may show is decided by core.visibility (`seen`); this module only words it: a
classified (秘密/机密) item gets a notice only — kind, number, sender, that it is
classified — no title unless `[bot] classified_titles`, no text, no file.
"""

from __future__ import annotations

from datetime import date, datetime

from core import localtime
from core.chat.message import (
    ACCEPT,
    INSTRUCT,
    PASS_ON,
    READ,
    RESEND_MARK,
    Action,
    Attachment,
    Line,
    Message,
    callback,
    line,
    plain,
    strong,
)
from core.config import Settings
from core.model import OUTCOME_ZH
from core.routing import is_urgent
from core.services.push import (
    PURPOSE_CIRCULATE,
    PURPOSE_PROPOSAL,
    ROLE_LEADER,
    ROLE_SUBSCRIBER,
    PushView,
)
from core.visibility import Facts, Policy, Shown, Viewer, shown

#: how a leader writes a 批示 where the platform has replies (Telegram) or has not (WeCom)
INSTRUCT_BY_REPLY = "回复本消息即可批示。"
INSTRUCT_BY_BUTTON = "点“批示”后发送批示内容即可批示。"


# ------------------------------------------------------------------ times
def local(settings: Settings, at: datetime) -> str:
    return localtime.full_zh(at, settings.tz)


def day_text(text: str) -> str:
    try:
        d = date.fromisoformat(text[:10])
    except ValueError:
        return text
    return f"{d.year}年{d.month}月{d.day}日"


# ------------------------------------------------------------------ what may be shown
def policy(settings: Settings, upload_limit: int | None) -> Policy:
    return Policy.of(settings, upload_limit=upload_limit)


def seen(view: PushView, settings: Settings, viewer: Viewer = Viewer.LEADER,
         upload_limit: int | None = None) -> Shown:
    """What `viewer` may see of the pushed item."""
    facts = Facts(view.outcome, view.secrecy, view.blob_size if view.blob else None)
    return shown(facts, viewer, policy(settings, upload_limit))


def attaches_file(view: PushView, settings: Settings, viewer: Viewer = Viewer.LEADER,
                  upload_limit: int | None = None) -> bool:
    """The document goes with the message."""
    return view.blob is not None and seen(view, settings, viewer, upload_limit).file


# ------------------------------------------------------------------ the push
def head(view: PushView) -> Line:
    kind = view.kind or OUTCOME_ZH.get(view.outcome, "收件")
    return line(strong(kind), f" {view.number or '（不编号）'}")


def push_lines(
    view: PushView, settings: Settings, *, chat_id: int, role: str, purpose: str,
    escalation: int = 0, resend: bool = False, upload_limit: int | None = None,
    instruct_hint: str = INSTRUCT_BY_REPLY,
) -> tuple[Line, ...]:
    """The lines of the push person `chat_id` gets as `role`."""
    may = seen(view, settings, Viewer(role), upload_limit)
    lines: list[Line] = []
    if resend:
        lines.append(line(f"{RESEND_MARK}上次推送时系统中断，可能已收到，请勿重复办理。"))
    if is_urgent(view.urgency):
        lines.append(line("‼️", strong(f"【{view.urgency}】")))
    if escalation:
        lines.append(line(strong(f"【第{escalation}次提醒】"),
                          "推送后尚无人点“已阅”，请立即阅处。"))
    if purpose == PURPOSE_PROPOSAL:
        lines.append(line(strong("【拟办】"), "机要室已提出拟办意见，请批示或点“同意拟办”。"))
    lines.append(head(view))
    if may.classified:
        lines.append(line(strong(f"【涉密件·{view.secrecy}】")))
    position = view.position_of(chat_id)
    if view.circulation and position is not None:
        lines.append(line(f"传阅：第 {position[0]}/{position[1]} 位"
                          + ("（上一位已阅，传至您处）" if purpose == PURPOSE_CIRCULATE else "")))
    lines.append(line(f"来文单位：{view.sender or '不明'}"))
    if view.doc_number and may.doc_number:
        lines.append(line(f"文号：{view.doc_number}"))
    if view.title and may.title:
        lines.append(line(f"标题：{view.title}"))
    if view.urgency and not is_urgent(view.urgency):
        lines.append(line(f"紧急程度：{view.urgency}"))
    lines.append(line(f"收到时间：{local(settings, view.received_at)}"
                      + ("（纸质件）" if view.channel == "paper" else "")))
    if view.deadline:
        lines.append(line(f"办理期限：{day_text(view.deadline)}"))
    if view.proposal and may.quotes and role == ROLE_LEADER:
        lines.append(line(f"拟办意见：{view.proposal}"))
    if may.classified:
        lines.append(line("本件为涉密件，正文和附件不在聊天中发送，请到机要室阅办。"))
    elif view.blob and not may.file:
        lines.append(line("原件请在收文系统中查看。"))
    if view.circulation:
        lines.append(line("传阅顺序：" + " → ".join(name for name, _, _ in view.circulation)))
    if role == ROLE_LEADER:
        lines.append(line(instruct_hint))
    elif role == ROLE_SUBSCRIBER:
        lines.append(line("（按您订阅的关键词推送）"))
    lines.append(line(f"收件序号 {view.item_id}"))
    return tuple(lines)


def push_actions(view: PushView, *, chat_id: int, role: str, leader: bool) -> tuple[Action, ...]:
    """已阅 and 批示 for leaders (传下一位 for the current 内刊 holder); 已阅 for urgent."""
    row: list[Action] = []
    if leader or is_urgent(view.urgency) or role == ROLE_SUBSCRIBER:
        row.append(Action("已阅", callback(READ, view.item_id)))
    if leader:
        row.append(Action("批示", callback(INSTRUCT, view.item_id)))
        if view.proposal and not view.classified:
            row.append(Action("同意拟办", callback(ACCEPT, view.item_id)))
        holder = next((s for _, c, s in view.circulation if c == chat_id), None)
        if holder == "current":
            row.append(Action("传下一位", callback(PASS_ON, view.item_id)))
    return tuple(row)


def after_read_actions(item_id: int, leader: bool) -> tuple[Action, ...]:
    """Once read, only 批示 stays (for a leader)."""
    return (Action("批示", callback(INSTRUCT, item_id)),) if leader else ()


def push_message(
    view: PushView, settings: Settings, *, chat_id: int, role: str, purpose: str,
    leader: bool, escalation: int = 0, resend: bool = False, upload_limit: int | None = None,
    instruct_hint: str = INSTRUCT_BY_REPLY,
) -> Message:
    """The whole push: its lines, its buttons and, when it may go, the document."""
    lines = push_lines(view, settings, chat_id=chat_id, role=role, purpose=purpose,
                       escalation=escalation, resend=resend, upload_limit=upload_limit,
                       instruct_hint=instruct_hint)
    actions = push_actions(view, chat_id=chat_id, role=role, leader=leader)
    file = None
    if view.blob and attaches_file(view, settings, Viewer(role), upload_limit):
        file = Attachment(view.blob, view.filename or "原件", view.blob_size)
    return Message(lines, (actions,) if actions else (), file, view.item_id,
                   is_urgent(view.urgency), head=lines.index(head(view)),
                   brief=tuple(row for row in lines if _in_brief(row)))


#: lines a batch leaves out: the same for every item just received, or said once for all
_NOT_IN_BRIEF = ("文号：", "收到时间：", "传阅顺序：", "原件请在收文系统中查看", "本件为涉密件",
                 "（按您订阅", INSTRUCT_BY_REPLY, INSTRUCT_BY_BUTTON)


def _in_brief(row: Line) -> bool:
    """A line of the push that also stands in a batch listing several items."""
    return not plain(row).startswith(_NOT_IN_BRIEF)
