"""Slash commands: /help, /next, /counts, /find, /doc, /review, /correct, /errors, /overdue,
/subscribe, /unsubscribe. Each checks the role (core.permissions) and answers bad arguments with
its usage text."""

from __future__ import annotations

import asyncio
import logging
import re

from telegram import Update

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
from bot.telegram.menu import commands_for
from core.errors import InvalidInputError
from core.model import Kind
from core.permissions import Can
from core.registers import FIRST_YEAR, LAST_YEAR
from core.services import access, lookup, overdue, pipeline, push, registry, subscriptions

log = logging.getLogger("bot.commands")

_YEAR = re.compile(r"^(\d{4})$")
_YEAR_MONTH = re.compile(r"^(\d{4})[-/.年](\d{1,2})月?$")


async def cmd_help(update: Update, context: Ctx) -> None:
    principal = must_principal(update, context)
    await reply(update, render.help_text(principal.name, commands_for(principal),
                                         principal.is_leader))


def _kind(text: str, usage: str) -> Kind:
    try:
        return registry.parse_kind(text)
    except InvalidInputError as exc:
        raise UsageError(f"{exc}\n{render.USAGE[usage]}") from None


@requires(Can.NEXT, "next")
async def cmd_next(update: Update, context: Ctx) -> None:
    text = args_text(update)
    if not text:
        raise UsageError(render.USAGE["next"])
    kind = _kind(text, "next")
    if not kind.numbered:
        raise UsageError(f"{kind.value}不编号。{render.USAGE['next']}")
    number = await registry.next_number(runtime(context).ctx, kind)
    await reply(update, f"下一个{kind.value}登记号：{number}")


def parse_period(text: str) -> tuple[int | None, int | None]:
    """'' → this year; 2026 → the year; 2026-03 (or 2026年3月) → the month."""
    text = text.strip().replace(" ", "")
    if not text:
        return None, None
    m = _YEAR.match(text) or _YEAR_MONTH.match(text)
    if m is None or not FIRST_YEAR <= int(m.group(1)) <= LAST_YEAR:
        raise UsageError(render.USAGE["counts"])
    if m.re is _YEAR:
        return int(m.group(1)), None
    month = int(m.group(2))
    if not 1 <= month <= 12:
        raise UsageError(render.USAGE["counts"])
    return int(m.group(1)), month


@requires(Can.COUNTS, "counts")
async def cmd_counts(update: Update, context: Ctx) -> None:
    year, month = parse_period(args_text(update))
    c = await registry.counts(runtime(context).ctx, year=year, month=month)
    await reply(update, render.counts_text(c.year, c.month, c.by_kind, c.by_outcome))


@requires(Can.QUEUE)
async def cmd_status(update: Update, context: Ctx) -> None:
    ctx = runtime(context).ctx
    state = await pipeline.queue_status(ctx)
    await reply(update, render.queue_text(state, ctx.settings))


@requires(Can.FIND, "find")
async def cmd_find(update: Update, context: Ctx) -> None:
    keyword = args_text(update)
    if not keyword:
        raise UsageError(render.USAGE["find"])
    rt = runtime(context)
    found = await lookup.find(rt.ctx, keyword)
    await reply(update, render.found_text(keyword, found, rt.ctx.settings))


@requires(Can.DOC, "doc")
async def cmd_doc(update: Update, context: Ctx) -> None:
    ref = args_text(update)
    if not ref:
        raise UsageError(render.USAGE["doc"])
    principal = must_principal(update, context)
    ctx = runtime(context).ctx
    status = await lookup.item_status(ctx, ref)
    item_id = int(status.item["id"])
    viewer = await access.viewer_of(ctx, item_id, principal)
    await reply(update, render.status_text(status, ctx.settings, viewer), html=True)
    view = await push.push_view(ctx, item_id)
    if view is not None and view.blob and render.attaches_file(view, ctx.settings, viewer):
        data = await asyncio.to_thread(ctx.blobs.get, view.blob)
        message = update.effective_message
        if message is not None:
            await message.reply_document(data, filename=view.filename or "原件",
                                         caption=f"收件序号 {item_id} 原件")


@requires(Can.REVIEW)
async def cmd_review(update: Update, context: Ctx) -> None:
    ctx = runtime(context).ctx
    queue = await lookup.review_queue(ctx, limit=10)
    if not queue:
        await reply(update, "没有待分类的收件。")
        return
    await reply(update, f"待分类收件 {len(queue)} 件（最早的在前）：")
    message = update.effective_message
    assert message is not None
    for entry in queue:
        await message.reply_text(render.review_text(entry, ctx.settings),
                                 reply_markup=render.review_buttons(entry.item_id))


@requires(Can.CORRECT, "correct")
async def cmd_correct(update: Update, context: Ctx) -> None:
    parts = args_text(update).split(maxsplit=2)
    if len(parts) < 3:
        raise UsageError(render.USAGE["correct"])
    ref, kind_text, reason = parts
    kind = _kind(kind_text, "correct")
    principal = must_principal(update, context)
    done = await registry.correct(runtime(context).ctx, ref=ref, kind=kind, reason=reason,
                                  actor=principal.actor)
    old = done.old_number or "（无编号）"
    new = done.new_number or "（不编号）"
    await reply(update, f"已更正：收件序号 {done.item_id} {done.old_kind or '未分类'}→"
                        f"{done.new_kind}，原编号 {old} 作废，新编号 {new}。"
                        f"理由：{reason}（计入错情率）")


@requires(Can.ERRORS, "errors")
async def cmd_errors(update: Update, context: Ctx) -> None:
    text = args_text(update)
    if text and not (_YEAR.match(text) and FIRST_YEAR <= int(text) <= LAST_YEAR):
        raise UsageError(render.USAGE["errors"])
    report = await registry.errors(runtime(context).ctx, year=int(text) if text else None)
    await reply(update, render.errors_text(report.year, report.registrations,
                                           report.corrections, report.rate))


@requires(Can.OVERDUE)
async def cmd_overdue(update: Update, context: Ctx) -> None:
    report = await overdue.overdue(runtime(context).ctx)
    await reply(update, report.text())


@requires(Can.SUBSCRIBE, "subscribe")
async def cmd_subscribe(update: Update, context: Ctx) -> None:
    principal = must_principal(update, context)
    ctx = runtime(context).ctx
    keyword = args_text(update)
    if not keyword:
        words = await subscriptions.subscriptions(ctx, principal.chat_id)
        mine = "、".join(words) if words else "（无）"
        raise UsageError(f"{render.USAGE['subscribe']}\n您当前订阅：{mine}")
    added = await subscriptions.subscribe(ctx, chat_id=principal.chat_id, keyword=keyword)
    words = await subscriptions.subscriptions(ctx, principal.chat_id)
    head = f"已订阅“{keyword.strip()}”。" if added else f"“{keyword.strip()}”早已订阅。"
    await reply(update, f"{head}标题或来文单位含订阅词的非涉密收件也会推送给您。"
                        f"\n当前订阅：{'、'.join(words)}")


@requires(Can.SUBSCRIBE, "subscribe")
async def cmd_unsubscribe(update: Update, context: Ctx) -> None:
    principal = must_principal(update, context)
    keyword = args_text(update) or None
    removed = await subscriptions.unsubscribe(runtime(context).ctx, chat_id=principal.chat_id,
                                     keyword=keyword)
    if not removed:
        await reply(update, "没有可取消的订阅。")
    elif keyword:
        await reply(update, f"已取消订阅“{keyword}”。")
    else:
        await reply(update, f"已取消全部 {removed} 个订阅。")


async def cmd_unknown(update: Update, context: Ctx) -> None:
    await reply(update, "未知命令。发送 /help 查看您可用的命令。")
