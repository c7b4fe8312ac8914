"""Commands for outgoing documents and 办结: /take, /copies, /done.

/take gives a section the next number of a code it owns (机要室 for 甘府发/甘府函/甘办发/
甘办函); another section's code is refused naming its owner. /copies shows the print count
line by line. /done closes a 办件 so its 催办 stops.
"""

from __future__ import annotations

import re

from telegram import Update

from bot.telegram import render
from bot.telegram.handlers import flow
from bot.telegram.handlers.common import (
    Ctx,
    UsageError,
    args_text,
    must_principal,
    reply,
    requires,
    runtime,
)
from core.copies import CopiesRequest, parse_request
from core.errors import InvalidInputError, PermissionDeniedError
from core.limits import MAX_COUNT, MAX_FIELD
from core.permissions import Can
from core.services import dispatch

#: `/take 代字 标题 印数 名单 [+N|-N] [×N] [另加N] [传真]`: what follows 印数 (after a space,
#: optionally with ：) is a /copies line
COPIES_MARK = re.compile(r"\s+印数[:：=]?\s*")


def _copies(text: str, usage: str = "take") -> CopiesRequest:
    """A /copies line (also what follows 印数 in /take); `usage` is the command whose
    usage a line naming no list is answered with."""
    try:
        req = parse_request(text)
    except InvalidInputError as exc:
        raise UsageError(f"{exc}\n{render.USAGE['copies']}") from None
    if not req.lists:
        raise UsageError(render.USAGE[usage])
    counts = (req.departments or 0, req.add_units, req.remove_units, req.extra)
    if max(counts) > MAX_COUNT:
        raise UsageError(f"数字过大（每项最多 {MAX_COUNT}）。\n{render.USAGE['copies']}")
    return req


@requires(Can.TAKE, "take")
async def cmd_take(update: Update, context: Ctx) -> None:
    parts = args_text(update).split(maxsplit=1)
    if len(parts) < 2:
        raise UsageError(render.USAGE["take"])
    code, rest = parts
    title, *asked = (x.strip() for x in COPIES_MARK.split(rest, maxsplit=1))
    copies = _copies(asked[0]) if asked else None
    if not title:
        raise UsageError(render.USAGE["take"])
    if len(title) > MAX_FIELD:
        raise UsageError(f"标题过长（最多 {MAX_FIELD} 字）。\n{render.USAGE['take']}")
    principal = must_principal(update, context)
    ctx = runtime(context).ctx
    section = dispatch.section_for_chat(ctx.settings, principal.chat_id)
    if section is None:
        raise PermissionDeniedError("只有编号科室可以取发文字号", actor=principal.name)
    taken = await dispatch.take(ctx, code=code, title=title, section=section,
                                actor=principal.actor, copies=copies)
    lines = [f"已取号：{taken.short}", f"标题：{title}"]
    if taken.copies is not None:
        lines += ["印数（已随文号记录）：", *taken.copies.lines,
                  f"分发：{taken.copies.shares_text()}"]
    if taken.missing:
        lines.append(f"待补：{'、'.join(taken.missing)}（请在发文稿纸上填写后用 jiyao amend 补录）")
    await reply(update, "\n".join(lines))


@requires(Can.COPIES, "copies")
async def cmd_copies(update: Update, context: Ctx) -> None:
    text = args_text(update)
    if not text:
        raise UsageError(render.USAGE["copies"])
    req = _copies(text, "copies")
    result = dispatch.print_count(
        runtime(context).ctx.settings, req.lists, departments=req.departments,
        add_units=req.add_units, remove_units=req.remove_units, extra=req.extra, fax=req.fax,
    )
    await reply(update, "印数计算：\n" + "\n".join(result.lines))


@requires(Can.CLOSE, "done")
async def cmd_done(update: Update, context: Ctx) -> None:
    await flow.done(update, context)
