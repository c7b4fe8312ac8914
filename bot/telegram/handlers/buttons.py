"""Buttons on pushes and on the review queue: 已阅, 批示, 传下一位, and the kind buttons.

The data is validated against the pressing chat: the item must have been pushed to it
(a leader acts only on items routed to them). A stale or foreign button gets a polite
answer, never an error.
"""

from __future__ import annotations

import logging

from telegram import CallbackQuery, ForceReply, InlineKeyboardMarkup, Update
from telegram.error import BadRequest

from bot.telegram import render
from bot.telegram.handlers import flow
from bot.telegram.handlers.common import Ctx, principal_of, runtime
from core.chat import answers
from core.errors import ConflictError, JiyaoError, NotFoundError, PermissionDeniedError
from core.permissions import Can, Principal
from core.services import circulation, delivery, instructions, push, registry

log = logging.getLogger("bot.buttons")

STALE = "此按钮已失效。"


async def _set_markup(query: CallbackQuery, markup: InlineKeyboardMarkup | None) -> None:
    """Change the buttons under the pressed message; an unchanged keyboard is no error."""
    try:
        await query.edit_message_reply_markup(reply_markup=markup)
    except BadRequest as exc:
        log.debug("keyboard not changed: %s", exc)


async def on_button(update: Update, context: Ctx) -> None:
    query = update.callback_query
    if query is None:
        return
    principal = principal_of(update, context)
    cb = render.parse_callback(query.data)
    if principal is None or cb is None:
        await query.answer(STALE)
        return
    try:
        if cb.action == render.READ:
            await _read(query, context, principal, cb.item_id)
        elif cb.action == render.PASS_ON:
            await _pass_on(query, context, principal, cb.item_id)
        elif cb.action == render.INSTRUCT:
            await _instruct_prompt(query, context, principal, cb.item_id)
        elif cb.action == render.ACCEPT:
            await flow.accept(query, context, principal, cb.item_id)
        elif cb.action == render.KIND and cb.kind is not None:
            await _classify(query, context, principal, cb)
        else:
            await query.answer(STALE)
    except PermissionDeniedError as exc:
        await query.answer(f"{exc}。", show_alert=True)
    except NotFoundError:
        await query.answer("此件已不存在。")
    except ConflictError as exc:
        await query.answer(str(exc))
    except JiyaoError as exc:
        await query.answer(f"未能完成：{exc}"[:200], show_alert=True)


async def _read(query: CallbackQuery, context: Ctx, principal: Principal, item_id: int) -> None:
    if not principal.can(Can.READ):
        await query.answer(STALE)
        return
    rt = runtime(context)
    result = await circulation.mark_read(rt.ctx, item_id=item_id, chat_id=principal.chat_id)
    await query.answer(answers.read_answer(result))
    if not result.already:
        rt.wake()
    await _set_markup(query, render.after_read_buttons(item_id, principal.is_leader))


async def _pass_on(query: CallbackQuery, context: Ctx, principal: Principal,
                   item_id: int) -> None:
    if not principal.is_leader:
        await query.answer(STALE)
        return
    rt = runtime(context)
    result = await circulation.pass_on(rt.ctx, item_id=item_id, chat_id=principal.chat_id)
    await query.answer(answers.passed_answer(result))
    rt.wake()
    await _set_markup(query, render.after_read_buttons(item_id, leader=True))


async def _instruct_prompt(query: CallbackQuery, context: Ctx, principal: Principal,
                           item_id: int) -> None:
    ctx = runtime(context).ctx
    await instructions.require_instructor(ctx, item_id, principal.chat_id)
    view = await push.push_view(ctx, item_id)
    if view is None:
        raise NotFoundError("收件", str(item_id))
    await query.answer()
    label = view.number or "此件"
    prompt = await context.bot.send_message(
        principal.chat_id,
        answers.prompt_text(label, item_id, by_reply=True),
        reply_markup=ForceReply(selective=True, input_field_placeholder="批示内容"),
    )
    await delivery.record_prompt(ctx, item_id=item_id, chat_id=principal.chat_id,
                                 message_ref=prompt.message_id)


async def _classify(query: CallbackQuery, context: Ctx, principal: Principal,
                    cb: render.Callback) -> None:
    if not principal.can(Can.REVIEW) or cb.kind is None:
        await query.answer("您无权分类。")
        return
    rt = runtime(context)
    try:
        done = await registry.classify_review(rt.ctx, item_id=cb.item_id, kind=cb.kind,
                                   actor=principal.actor)
    except ConflictError:
        await query.answer("此件已分类。")
        await _set_markup(query, None)
        return
    number = done.number or "（不编号）"
    await query.answer(f"已登记为{done.kind} {number}")
    rt.wake()
    try:
        await query.edit_message_text(
            f"收件序号 {done.id} 已分类为{done.kind}，登记号 {number}，"
            f"由 {principal.name} 登记，已按分工推送。"
        )
    except BadRequest as exc:
        log.debug("review message not edited: %s", exc)
