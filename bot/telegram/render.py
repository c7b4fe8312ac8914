"""Telegram's form of the chat texts: neutral messages (core.chat) as HTML and inline
keyboards, and the command answers.

Pushes are worded once in core.chat.push (what may be shown: core.visibility); here they
become HTML (parse_mode HTML), every value escaped, with their buttons.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from datetime import datetime

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from core.chat import push as push_render
from core.chat.address import Address, person_of
from core.chat.message import (
    ACCEPT,
    CODE_OF_KIND,
    INSTRUCT,
    KIND,
    KIND_CODES,
    PASS_ON,
    READ,
    RESEND_MARK,
    Action,
    Callback,
    Message,
    actions_from_payload,
    callback,
    parse_callback,
)
from core.chat.push import local
from core.clock import parse_iso
from core.config import Settings
from core.model import OUTCOME_ZH, REASON_ZH, Kind, Outcome
from core.permissions import chat_name
from core.services.lookup import Found, ItemStatus, ReviewEntry
from core.services.pipeline import RATE_MINUTES, QueueStatus
from core.services.push import PushView
from core.visibility import Facts, Policy, Shown, Viewer, shown

# the callback keys and marks are core.chat.message's; handlers know them by these names
__all__ = [
    "ACCEPT", "CODE_OF_KIND", "INSTRUCT", "KIND", "KIND_CODES", "PASS_ON", "READ", "RESEND_MARK",
    "Callback", "callback", "parse_callback",
]

#: Telegram: captions up to 1024 characters, files the Bot API uploads up to 50 MB
CAPTION_LIMIT = 1024
UPLOAD_LIMIT = 50 * 1024 * 1024
#: the item reference every push and prompt carries: lets a reply find its item even
#: when the message itself was never recorded (sent just before a crash)
ITEM_REF = re.compile(r"收件序号\s*(\d{1,12})")


def item_ref_in(text: str | None) -> int | None:
    m = ITEM_REF.search(text or "")
    return int(m.group(1)) if m else None


def item_refs_in(text: str | None) -> list[int]:
    """Every item a message names (a batch lists several)."""
    return [int(x) for x in ITEM_REF.findall(text or "")]


# ------------------------------------------------------------------ neutral → Telegram
def _e(text: object) -> str:
    return html.escape(str(text), quote=False)


def html_text(message: Message) -> str:
    """A neutral message as Telegram HTML: strong spans bold, every value escaped."""
    return "\n".join(
        "".join(f"<b>{_e(s.text)}</b>" if s.strong else _e(s.text) for s in row)
        for row in message.lines
    )


def markup(rows: Sequence[Sequence[Action]]) -> InlineKeyboardMarkup | None:
    keyboard = [[InlineKeyboardButton(a.label, callback_data=a.key) for a in row]
                for row in rows if row]
    return InlineKeyboardMarkup(keyboard) if keyboard else None


def policy(settings: Settings) -> Policy:
    return push_render.policy(settings, UPLOAD_LIMIT)


def seen(view: PushView, settings: Settings, viewer: Viewer = Viewer.LEADER) -> Shown:
    """What `viewer` may see of the pushed item in Telegram."""
    return push_render.seen(view, settings, viewer, UPLOAD_LIMIT)


def attaches_file(view: PushView, settings: Settings, viewer: Viewer = Viewer.LEADER) -> bool:
    """The document goes with the message."""
    return push_render.attaches_file(view, settings, viewer, UPLOAD_LIMIT)


def push_message(
    view: PushView, settings: Settings, *, chat_id: int, role: str, purpose: str,
    leader: bool, escalation: int = 0, resend: bool = False,
) -> Message:
    return push_render.push_message(
        view, settings, chat_id=chat_id, role=role, purpose=purpose, leader=leader,
        escalation=escalation, resend=resend, upload_limit=UPLOAD_LIMIT,
    )


def push_text(
    view: PushView, settings: Settings, *, chat_id: int, role: str, purpose: str,
    escalation: int = 0, resend: bool = False,
) -> str:
    """The push a chat gets for an item (HTML)."""
    return html_text(Message(push_render.push_lines(
        view, settings, chat_id=chat_id, role=role, purpose=purpose, escalation=escalation,
        resend=resend, upload_limit=UPLOAD_LIMIT)))


def push_buttons(
    view: PushView, *, chat_id: int, role: str, leader: bool
) -> InlineKeyboardMarkup | None:
    """已阅 and 批示 for leaders (传下一位 for the current 内刊 holder); 已阅 for urgent."""
    return markup([push_render.push_actions(view, chat_id=chat_id, role=role, leader=leader)])


def after_read_buttons(item_id: int, leader: bool) -> InlineKeyboardMarkup | None:
    """Once read, only 批示 stays (for a leader)."""
    return markup([push_render.after_read_actions(item_id, leader)])


def buttons_from_payload(rows: object) -> InlineKeyboardMarkup | None:
    """Buttons of a plain outbox event: [[{"text", "data"}]]; anything malformed is dropped."""
    return markup(actions_from_payload(rows))


def length(text: str) -> int:
    """What Telegram's limits count: UTF-16 code units (a character outside the BMP, a
    rare name character such as 𠮷 or an emoji, counts two)."""
    return len(text.encode("utf-16-le")) // 2


def plain_length(html_text: str) -> int:
    """`length` of an HTML text as Telegram counts it (tags removed, entities decoded)."""
    return length(html.unescape(re.sub(r"<[^>]+>", "", html_text)))


# ------------------------------------------------------------------ command answers
REFUSAL = "您无权使用本机器人。如需开通，请联系机要室。"
NOT_UNDERSTOOD = "请回复推送消息以作批示，或发送 /help 查看可用命令。"

USAGE = {
    "next": "用法：/next 办件 或 /next 阅件",
    "counts": "用法：/counts、/counts 2026 或 /counts 2026-03",
    "find": "用法：/find 关键词（例如 /find 防汛）",
    "doc": "用法：/doc 编号（例如 /doc 办2026-0001，或收件序号 /doc 12）",
    "correct": "用法：/correct 编号 类别 理由（例如 /correct 阅2026-0003 办件 含请示事项）",
    "errors": "用法：/errors 或 /errors 2026",
    "subscribe": "用法：/subscribe 关键词（例如 /subscribe 防汛）",
    "take": "用法：/take 代字 标题 [印数 名单 [+N|-N] [传真]]（例如 /take 甘府发 "
            "关于做好防汛工作的通知 印数 州级各部门和各县 +2）",
    "copies": "用法：/copies 名单 [+N|-N] [×N] [另加N] [传真]（例如 /copies 州级各部门和各县 +2）",
    "done": "用法：/done 编号 办理结果（例如 /done 办2026-0001 已拨付资金）",
    "assign": "用法：/assign 编号 单位[、单位] 期限（例如 /assign 办2026-0001 综合科、甘孜军分区 "
              "2026-03-20；第一个为主办）",
}


def help_text(name: str, commands: Sequence[tuple[str, str]], leader: bool) -> str:
    lines = [f"{name}，您好。您可以使用："]
    lines += [f"/{cmd} — {text}" for cmd, text in commands]
    if leader:
        lines.append("收到推送后：点“已阅”表示已阅；回复推送消息或点“批示”即可批示。")
    return "\n".join(lines)


def counts_text(year: int, month: int | None, by_kind: dict[str, int],
                by_outcome: dict[str, int]) -> str:
    period = f"{year}年{month}月" if month else f"{year}年"
    kinds = "，".join(f"{k} {n}" for k, n in by_kind.items())
    others = "，".join(f"{OUTCOME_ZH.get(o, o)} {n}" for o, n in by_outcome.items()
                      if o != "register")
    total = sum(by_outcome.values())
    return f"{period}收件 {total} 件\n登记：{kinds}\n其他：{others}"


def errors_text(year: int, registrations: int, corrections: Sequence[dict[str, object]],
                rate: float) -> str:
    verdict = "未超过" if rate <= 0.01 else "已超过"
    lines = [(f"{year}年 登记 {registrations} 件，更正 {len(corrections)} 件，"
              f"错情率 {rate:.2%}（{verdict} 1% 上限）")]
    lines += [
        f"· {c['old_number'] or '收件' + str(c['item_id'])} {c['from'] or '未分类'}→{c['to']}"
        f"（{c['reason']}）" for c in corrections[-10:]
    ]
    return "\n".join(lines)


def found_text(keyword: str, found: Sequence[Found], settings: Settings) -> str:
    if not found:
        return f"没有找到含“{keyword}”的收件。"
    lines = [f"含“{keyword}”的收件 {len(found)} 件（最新在前）："]
    for f in found:
        ref = f.number or f"收件序号 {f.item_id}"
        kind = f.kind or OUTCOME_ZH.get(f.outcome, f.outcome)
        lines.append(f"· {ref}（{kind}）{f.sender or ''}《{f.title or '无标题'}》"
                     f" {local(settings, f.received_at)}")
    return "\n".join(lines)


def review_text(entry: ReviewEntry, settings: Settings) -> str:
    lines = [f"【待分类】收件序号 {entry.item_id}"
             + ("（传真）" if entry.channel == "fax" else "")]
    may = shown(Facts(Outcome.REVIEW, entry.secrecy), Viewer.STAFF, policy(settings))
    lines.append(f"来文单位：{entry.sender or '不明'}")
    if entry.doc_number and may.doc_number:
        lines.append(f"文号：{entry.doc_number}")
    if may.classified:
        lines.append(f"【涉密件·{entry.secrecy}】原件不在聊天中发送，请到机要室阅看。")
    if entry.title:
        lines.append(f"标题：{entry.title}" if may.title else "标题：（涉密件，不显示）")
    lines.append(f"收到时间：{local(settings, entry.received_at)}")
    if entry.reason:
        lines.append(f"原因：{REASON_ZH.get(entry.reason, entry.reason)}")
    lines.append("请选择类别（选定即登记编号并推送）：")
    return "\n".join(lines)


def review_buttons(item_id: int) -> InlineKeyboardMarkup:
    row = [InlineKeyboardButton(k.value, callback_data=callback(KIND, item_id, k)) for k in Kind]
    return InlineKeyboardMarkup([row[:3], row[3:]])


def status_text(status: ItemStatus, settings: Settings, viewer: Viewer = Viewer.STAFF) -> str:
    """/doc: the item, its entries and where it is (pushes, 已阅, 传阅, 批示, 特急)."""
    item = status.item
    may = shown(Facts(item["outcome"], item.get("secrecy")), viewer, policy(settings))
    kind = item.get("kind") or OUTCOME_ZH.get(item["outcome"], "收件")
    lines = [f"<b>{_e(kind)}</b> {_e(item.get('number') or '（不编号）')}　收件序号 {item['id']}"]
    if may.classified:
        lines.append(f"【涉密件·{_e(item['secrecy'])}】")
    lines.append(f"来文单位：{_e(item.get('sender') or '不明')}")
    if item.get("doc_number") and may.doc_number:
        lines.append(f"文号：{_e(item['doc_number'])}")
    if item.get("title") and may.title:
        lines.append(f"标题：{_e(item['title'])}")
    if item.get("urgency"):
        lines.append(f"紧急程度：{_e(item['urgency'])}")
    lines.append(f"收到时间：{local(settings, datetime.fromisoformat(item['received_at']))}")
    for entry in item.get("entries", []):
        state = {"active": "有效", "void": "作废", "converted": "转办件"}.get(
            entry["status"], entry["status"])
        note = f"（{_e(entry['note'])}）" if entry.get("note") else ""
        lines.append(f"登记：{_e(entry['number'])} {state}{note}")
    pushed = [d for d in status.deliveries if not d.purpose.startswith("prompt:")
              and d.purpose.split(":")[0] in {"push", "circulate", "urgent"}]
    if pushed:
        names = "、".join(dict.fromkeys(
            chat_name(settings, person_of(settings, Address(d.channel, d.address)) or 0)
            for d in pushed))
        lines.append(f"已推送：{_e(names)}")
    if status.circulation:
        marks = {"read": "已阅", "passed": "已传", "current": "当前", "waiting": "待传"}
        order = " → ".join(f"{_e(c['leader'])}（{marks.get(c['status'], c['status'])}）"
                           for c in status.circulation)
        lines.append(f"传阅：{order}")
    if status.reads:
        how = {"read": "已阅", "passed": "传出", "instructed": "批示"}
        lines.append("已阅：" + "、".join(
            f"{_e(r['reader'])}（{how.get(r['how'], r['how'])} "
            f"{local(settings, datetime.fromisoformat(r['at']))}）" for r in status.reads))
    if status.urgent:
        u = status.urgent
        if u.get("acked_at"):
            lines.append(f"特急确认：{_e(u['acked_by'])} "
                         f"{local(settings, datetime.fromisoformat(u['acked_at']))}")
        else:
            lines.append(f"特急确认：尚无人确认（已提醒 {u['level']} 次）")
    lines.extend(
        f"批示{ins['seq']}：{_e(ins['leader'])}"
        f"（{local(settings, datetime.fromisoformat(ins['at']))}）：{_e(ins['text'])}"
        for ins in status.instructions
    )
    if status.handling is not None:
        flow = status.handling
        lines.append(f"办理环节：{_e(flow.step)}；当前经办：{_e(flow.holder_text())}")
        lines.extend(f"承办：{_e(a.unit)}（{a.role}），期限 {a.due}" for a in flow.assignments)
    return "\n".join(lines)


def queue_text(state: QueueStatus, settings: Settings) -> str:
    """/status: the intake queue as `jiyao queue` shows it."""
    oldest = (
        parse_iso(state.oldest).astimezone(settings.tz).strftime("%m-%d %H:%M")
        if state.oldest else "无"
    )
    return "\n".join((
        "收文处理队列",
        f"待处理：{state.received} 件（处理中 {state.in_progress} 件）",
        f"待人工处理：{state.shunted} 件",
        f"最早等待：{oldest}",
        f"近 {RATE_MINUTES} 分钟：每分钟 {state.per_minute:.1f} 件",
    ))
