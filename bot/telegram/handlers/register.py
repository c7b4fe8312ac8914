"""/register: a paper item (by hand or 机要交通), guided — kind → sender → title → confirm.

Marks go on the command line: `/register 秘密 特急 信封=JY-0042 期限=2026-12-20
文号=川府发〔2024〕21号` (密级 秘密/机密/绝密, 紧急程度 加急/特急, 信封编号, 办理期限,
文号: typed with [ ], 【】, （） or spaces it is registered in the 〔年〕 form); a 绝密 item
is sealed. An unknown 来文单位 or a 文号 not in the usual form is registered as typed, with
a warning (the closest directory names) at the confirmation and after it.

The item is numbered like any other and pushed by 分工 once confirmed. /cancel leaves.
"""

from __future__ import annotations

import re
import warnings
from datetime import date
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from bot.telegram import render
from bot.telegram.handlers.common import Ctx, must_principal, reply, requires, runtime
from core.errors import InvalidInputError, JiyaoError
from core.limits import MAX_FIELD
from core.model import Kind
from core.permissions import Can
from core.services import registry

KIND, SENDER, TITLE, CONFIRM = range(4)
TIMEOUT_SECONDS = 600
_DATA = "reg"
_KIND_DATA = re.compile(r"^g:([bycnj])$")
_CONFIRM_DATA = re.compile(r"^g:(ok|no)$")


def _draft(context: Ctx) -> dict[str, Any]:
    data = context.user_data
    assert data is not None
    draft = data.setdefault(_DATA, {})
    assert isinstance(draft, dict)
    return draft


def _kind_buttons() -> InlineKeyboardMarkup:
    row = [InlineKeyboardButton(k.value, callback_data=f"g:{render.CODE_OF_KIND[k]}")
           for k in Kind]
    return InlineKeyboardMarkup([row[:3], row[3:]])


def parse_marks(words: list[str]) -> dict[str, str]:
    """The marks written after /register; InvalidInputError (in Chinese) on anything else."""
    marks: dict[str, str] = {}
    words = list(words)
    while words:
        word = words.pop(0)
        if word.startswith("文号="):
            # a 文号 may be typed with spaces (川府发 [2024] 21号): it runs to the next mark
            parts = [word[3:]]
            while words and not _is_mark(words[0]):
                parts.append(words.pop(0))
            number = " ".join(p for p in parts if p).strip()
            if not number:
                raise InvalidInputError("文号= 后面请写文号，例如 文号=川府发〔2024〕21号")
            marks["doc_number"] = number
        elif word in registry.PAPER_SECRECY:
            marks["secrecy"] = word
        elif word in registry.PAPER_URGENCY:
            marks["urgency"] = word
        elif word.startswith("信封=") and word[3:].strip():
            marks["envelope_no"] = word[3:].strip()
        elif word.startswith("期限="):
            try:
                marks["due"] = date.fromisoformat(word[3:]).isoformat()
            except ValueError:
                raise InvalidInputError(f"办理期限格式不对：{word[3:]!r}（例如 2026-03-15）") \
                    from None
        else:
            raise InvalidInputError(
                f"看不懂 {word!r}：可写 秘密/机密/绝密、加急/特急、信封=编号、期限=YYYY-MM-DD、"
                "文号=发文字号"
            )
    return marks


def _is_mark(word: str) -> bool:
    return (word in registry.PAPER_SECRECY or word in registry.PAPER_URGENCY
            or word.startswith(("信封=", "期限=", "文号=")))


_MARK_ZH = {"secrecy": "密级", "urgency": "紧急程度", "envelope_no": "信封编号",
            "due": "办理期限", "doc_number": "文号"}


@requires(Can.REGISTER)
async def start(update: Update, context: Ctx) -> int:
    _draft(context).clear()
    message = update.effective_message
    assert message is not None
    try:
        marks = parse_marks(list(context.args or []))
    except InvalidInputError as exc:
        await reply(update, f"{exc}。")
        return ConversationHandler.END
    _draft(context)["marks"] = marks
    await message.reply_text(
        "登记纸质来文。请选择类别（或直接输入，如“办件”）；发送 /cancel 取消。",
        reply_markup=_kind_buttons(),
    )
    return KIND


async def _ask_sender(update: Update, context: Ctx, kind: Kind) -> int:
    _draft(context)["kind"] = kind.value
    await reply(update, f"类别：{kind.value}。请输入来文单位：")
    return SENDER


async def kind_button(update: Update, context: Ctx) -> int:
    query = update.callback_query
    assert query is not None
    m = _KIND_DATA.match(query.data or "")
    if m is None:
        await query.answer("请选择类别。")
        return KIND
    await query.answer()
    kind = render.KIND_CODES[m.group(1)]
    await query.edit_message_text(f"登记纸质来文：类别 {kind.value}")
    return await _ask_sender(update, context, kind)


async def kind_text(update: Update, context: Ctx) -> int:
    message = update.effective_message
    try:
        kind = registry.parse_kind((message.text if message else "") or "")
    except InvalidInputError as exc:
        await reply(update, f"{exc}。请重新选择或输入类别：")
        return KIND
    return await _ask_sender(update, context, kind)


def _field(update: Update) -> str:
    message = update.effective_message
    return ((message.text if message else "") or "").strip()


async def sender(update: Update, context: Ctx) -> int:
    text = _field(update)
    if not text or len(text) > MAX_FIELD:
        await reply(update, f"来文单位不能为空，且不超过 {MAX_FIELD} 字。请重新输入：")
        return SENDER
    _draft(context)["sender"] = text
    await reply(update, "请输入标题：")
    return TITLE


async def title(update: Update, context: Ctx) -> int:
    text = _field(update)
    if not text or len(text) > MAX_FIELD:
        await reply(update, f"标题不能为空，且不超过 {MAX_FIELD} 字。请重新输入：")
        return TITLE
    draft = _draft(context)
    draft["title"] = text
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("确认登记", callback_data="g:ok"),
                                      InlineKeyboardButton("取消", callback_data="g:no")]])
    message = update.effective_message
    assert message is not None
    given = dict(draft.get("marks", {}))
    facts = registry.check_paper(
        runtime(context).ctx, sender=draft["sender"], doc_number=given.get("doc_number")
    )
    if facts.doc_number:
        given["doc_number"] = facts.doc_number  # as it will be registered
    marks = "".join(f"\n{_MARK_ZH[k]}：{v}" for k, v in given.items())
    await message.reply_text(
        f"请确认：\n类别：{draft['kind']}\n来文单位：{draft['sender']}\n标题：{text}{marks}"
        + _warnings(facts.warnings),
        reply_markup=keyboard,
    )
    return CONFIRM


async def confirm(update: Update, context: Ctx) -> int:
    query = update.callback_query
    assert query is not None
    m = _CONFIRM_DATA.match(query.data or "")
    draft = dict(_draft(context))
    _draft(context).clear()
    if m is None or m.group(1) == "no":
        await query.answer("已取消")
        await query.edit_message_text("已取消登记。")
        return ConversationHandler.END
    principal = must_principal(update, context)
    rt = runtime(context)
    try:
        marks = dict(draft.get("marks", {}))
        due = marks.pop("due", None)
        done = await registry.register_paper(
            rt.ctx, kind=Kind(draft["kind"]), sender=draft["sender"], title=draft["title"],
            actor=principal.actor, due=date.fromisoformat(due) if due else None, **marks,
        )
    except (JiyaoError, KeyError) as exc:
        await query.answer("登记失败")
        await query.edit_message_text(f"登记失败：{exc}")
        return ConversationHandler.END
    rt.wake()
    await query.answer("已登记")
    if done.sealed:
        await query.edit_message_text(
            f"已登记：绝密件封存（不编号、不推送，收件序号 {done.id}）\n来文单位：{draft['sender']}"
            + _warnings(done.warnings)
        )
        return ConversationHandler.END
    await query.edit_message_text(
        f"已登记：{done.kind} {done.number or '（不编号）'}（收件序号 {done.id}）\n"
        f"来文单位：{draft['sender']}\n标题：{draft['title']}\n已按分工推送。"
        + _warnings(done.warnings)
    )
    return ConversationHandler.END


def _warnings(warnings: tuple[str, ...]) -> str:
    return "".join(f"\n注意：{w}" for w in warnings)


async def cancel(update: Update, context: Ctx) -> int:
    _draft(context).clear()
    await reply(update, "已取消登记。")
    return ConversationHandler.END


def conversation() -> ConversationHandler[Any]:
    text = filters.TEXT & ~filters.COMMAND
    with warnings.catch_warnings():
        # per_message=False is intended: one registration per chat, buttons and text mixed
        warnings.simplefilter("ignore", PTBUserWarning)
        return ConversationHandler(
            entry_points=[CommandHandler("register", start)],
            states={
                KIND: [CallbackQueryHandler(kind_button, pattern=_KIND_DATA),
                       MessageHandler(text, kind_text)],
                SENDER: [MessageHandler(text, sender)],
                TITLE: [MessageHandler(text, title)],
                CONFIRM: [CallbackQueryHandler(confirm, pattern=_CONFIRM_DATA)],
            },
            fallbacks=[CommandHandler("cancel", cancel)],
            conversation_timeout=TIMEOUT_SECONDS,
            name="register",
        )
