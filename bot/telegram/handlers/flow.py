"""The handling flow in chat: /done 编号 结果 (办结, by a registrar or the 主办 unit's
section chat) and /assign 编号 单位[、单位] 期限 (交办, registrars)."""

from __future__ import annotations

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
from core.chat import answers
from core.errors import PermissionDeniedError
from core.permissions import Can, Principal
from core.services import followups, handling, instructions

_UNITS = re.compile(r"[、，,；;\s]+")


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


async def accept(query: CallbackQuery, context: Ctx, principal: Principal, item_id: int) -> None:
    """同意拟办: the leader's one-button 批示 is the registry's proposal, verbatim."""
    if not principal.can(Can.INSTRUCT):
        raise PermissionDeniedError("只有领导可以批示", actor=principal.actor)
    done = await instructions.accept_proposal(runtime(context).ctx, item_id=item_id,
                                              chat_id=principal.chat_id)
    await query.answer(answers.accepted_answer(done))
