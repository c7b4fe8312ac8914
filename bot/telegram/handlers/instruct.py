"""批示 by reply: a leader replies to a push (or to the 批示 prompt) with the instruction.

The replied-to message leads to its item through the deliveries table, which survives a
restart; a push sent just before a crash (never recorded) is still found by the
收件序号 every push carries.
"""

from __future__ import annotations

import logging

from telegram import Message, Update

from bot.telegram import render
from bot.telegram.handlers.common import Ctx, principal_of, reply, runtime
from core.chat import answers
from core.chat.address import telegram as telegram_address
from core.errors import JiyaoError, PermissionDeniedError
from core.services import delivery, instructions

log = logging.getLogger("bot.instruct")


async def _item_of(update: Update, context: Ctx, replied: Message) -> int | None:
    ctx = runtime(context).ctx
    item_id = await delivery.item_of_message(ctx, replied.chat.id, replied.message_id)
    if item_id is not None:
        return item_id
    author = replied.from_user
    if author is None or author.id != context.bot.id:
        return None
    return render.item_ref_in(replied.text or replied.caption)


async def on_text(update: Update, context: Ctx) -> None:
    """A plain text message: a 批示 when it replies to a push, else a hint."""
    message = update.effective_message
    principal = principal_of(update, context)
    if message is None or principal is None:
        return
    replied = message.reply_to_message
    if replied is None:
        await reply(update, render.NOT_UNDERSTOOD)
        return
    listed = await delivery.items_of_message(runtime(context).ctx,
                                             telegram_address(replied.chat.id),
                                             replied.message_id)
    if len(listed) > 1:
        await reply(update, "此消息列有多件收件。请点对应收件的“批示 #序号”，再回复提示消息。")
        return
    item_id = await _item_of(update, context, replied)
    if item_id is None:
        await reply(update, "未找到所回复消息对应的收件。请回复机器人推送的收件消息作批示。")
        return
    rt = runtime(context)
    try:
        done = await instructions.instruct(rt.ctx, item_id=item_id, chat_id=principal.chat_id,
                                   text=message.text or "", source_message=message.message_id)
    except PermissionDeniedError as exc:
        await reply(update, f"{exc}。")
        return
    except JiyaoError as exc:
        await reply(update, f"批示未能记录：{exc}")
        return
    rt.wake()
    await message.reply_text(answers.instructed_answer(done), do_quote=True)


async def on_other(update: Update, context: Ctx) -> None:
    """Photos, voice, files: 批示 are taken as text only."""
    if update.effective_message is not None and update.effective_message.reply_to_message:
        await reply(update, "批示请以文字回复。")
