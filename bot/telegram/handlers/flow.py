"""The handling flow in chat: /done 编号 结果 (办结, by a registrar or the 主办 unit's
section chat), /propose 编号 意见 (拟办), /assign 编号 单位[、单位] 期限 (交办) and
/slip 编号 (the 公文处理单 as a PDF file), the last three for registrars."""

from __future__ import annotations

import asyncio
import re
from datetime import date

from telegram import CallbackQuery, Update

from bot.telegram import render
from bot.telegram.handlers.common import (
    Ctx,
    UsageError,
    args_text,
    must_principal,
    reply,
    requires,
    runtime,
)
from core import slip as slip_pdf
from core.chat import answers
from core.errors import PermissionDeniedError
from core.permissions import Can, Principal
from core.services import followups, handling, instructions
from core.visibility import Viewer

_UNITS = re.compile(r"[、，,；;\s]+")
#: /propose's optional parts, each one word: 领导=州长 承办=综合科、甘孜军分区 期限=2026-03-20
_PROPOSE_KEYS = {"领导": "leader", "承办": "units", "期限": "due"}

USAGE_PROPOSE = ("用法：/propose 编号 拟办意见 [领导=领导] [承办=单位、单位] [期限=YYYY-MM-DD]"
                 "（例如 /propose 办2026-0001 拟请综合科牵头办理 领导=州长 承办=综合科 "
                 "期限=2026-03-20）")
USAGE_SLIP = "用法：/slip 编号（例如 /slip 办2026-0001）：发送公文处理单（PDF）"


async def done(update: Update, context: Ctx) -> None:
    """办结 with its result; a section chat may close only what it 主办s."""
    ref, _, result = args_text(update).strip().partition(" ")
    if not ref:
        raise UsageError(render.USAGE["done"])
    principal = must_principal(update, context)
    ctx = runtime(context).ctx
    registrar = principal.can(Can.ASSIGN)
    staff = next((s for s in ctx.settings.staff if s.chat_id == principal.chat_id), None)
    unit = None if registrar or staff is None else staff.section
    r = await followups.close_item(ctx, ref=ref, actor=principal.actor,
                                   result=result.strip() or None, unit=unit)
    owed = f"\n来文请求答复，已提醒登记人员拟{r['reply_owed']}。" if r["reply_owed"] else ""
    await reply(update, f"已办结：{ref}，催办停止。{owed}")


@requires(Can.ASSIGN, "assign")
async def cmd_assign(update: Update, context: Ctx) -> None:
    words = args_text(update).split()
    if len(words) < 3:
        raise UsageError(render.USAGE["assign"])
    ref, *middle, last = words
    try:
        due = date.fromisoformat(last)
    except ValueError:
        raise UsageError(f"期限格式不对：{last}\n{render.USAGE['assign']}") from None
    units = [u for u in _UNITS.split(" ".join(middle)) if u]
    principal = must_principal(update, context)
    view = await handling.assign(runtime(context).ctx, ref=ref, units=units, due=due,
                                 actor=principal.actor)
    lines = [f"已交办：{view.number}"]
    lines += [f"{a.unit}（{a.role}），期限 {a.due}" for a in view.assignments]
    await reply(update, "\n".join(lines))


@requires(Can.PROPOSE)
async def cmd_propose(update: Update, context: Ctx) -> None:
    """拟办: the registry's proposal, pushed to the leader with a 同意拟办 button."""
    words = args_text(update).split()
    if len(words) < 2:
        raise UsageError(USAGE_PROPOSE)
    ref, *words = words
    parts: dict[str, str] = {}
    text: list[str] = []
    for word in words:
        key, eq, value = word.partition("=")
        if eq and key in _PROPOSE_KEYS:
            parts[_PROPOSE_KEYS[key]] = value.strip()
        else:
            text.append(word)
    if not text:
        raise UsageError(USAGE_PROPOSE)
    due = None
    if parts.get("due"):
        try:
            due = date.fromisoformat(parts["due"])
        except ValueError:
            raise UsageError(f"期限格式不对：{parts['due']}\n{USAGE_PROPOSE}") from None
    principal = must_principal(update, context)
    view = await handling.propose(
        runtime(context).ctx, ref=ref, text=" ".join(text), leader=parts.get("leader"),
        units=[u for u in _UNITS.split(parts.get("units", "")) if u], due=due,
        actor=principal.actor)
    runtime(context).wake()
    await reply(update, f"已拟办：{view.number}，已呈{view.holder_text()}批示。")


@requires(Can.SLIP)
async def cmd_slip(update: Update, context: Ctx) -> None:
    """The 公文处理单 as a PDF file, for items chat may carry it for (core.visibility)."""
    ref = args_text(update)
    if not ref:
        raise UsageError(USAGE_SLIP)
    data = await handling.slip(runtime(context).ctx, ref, viewer=Viewer.STAFF)
    pdf = await asyncio.to_thread(slip_pdf.render, data)
    message = update.effective_message
    if message is not None:
        await message.reply_document(document=pdf, filename=f"公文处理单-{data.number}.pdf",
                                     caption=f"公文处理单：{data.number}")
        await handling.slip_sent(runtime(context).ctx, data.number,
                                 actor=must_principal(update, context).actor,
                                 to=f"telegram:{message.chat_id}")


async def accept(query: CallbackQuery, context: Ctx, principal: Principal, item_id: int) -> None:
    """同意拟办: the leader's one-button 批示 is the registry's proposal, verbatim."""
    if not principal.can(Can.INSTRUCT):
        raise PermissionDeniedError("只有领导可以批示", actor=principal.actor)
    done = await instructions.accept_proposal(runtime(context).ctx, item_id=item_id,
                                              chat_id=principal.chat_id)
    await query.answer(answers.accepted_answer(done))
