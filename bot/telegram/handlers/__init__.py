"""The bot's update handlers, installed on a PTB Application by `install`."""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.telegram.handlers import buttons, commands, flow, instruct, outgoing, register
from bot.telegram.handlers.common import gate, on_error

#: handler group of the gate: runs before every other handler
GATE_GROUP = -1


def install(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """The gate first, then the registration conversation, commands, buttons and replies."""
    app.add_handler(TypeHandler(Update, gate), group=GATE_GROUP)
    app.add_handler(register.conversation())
    for name, func in (
        ("start", commands.cmd_help),
        ("help", commands.cmd_help),
        ("next", commands.cmd_next),
        ("counts", commands.cmd_counts),
        ("status", commands.cmd_status),
        ("find", commands.cmd_find),
        ("doc", commands.cmd_doc),
        ("review", commands.cmd_review),
        ("correct", commands.cmd_correct),
        ("errors", commands.cmd_errors),
        ("overdue", commands.cmd_overdue),
        ("subscribe", commands.cmd_subscribe),
        ("unsubscribe", commands.cmd_unsubscribe),
        ("take", outgoing.cmd_take),
        ("copies", outgoing.cmd_copies),
        ("done", outgoing.cmd_done),
        ("assign", flow.cmd_assign),
        ("propose", flow.cmd_propose),
        ("slip", flow.cmd_slip),
    ):
        app.add_handler(CommandHandler(name, func))
    app.add_handler(CallbackQueryHandler(buttons.on_button))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, instruct.on_text))
    app.add_handler(MessageHandler(filters.COMMAND, commands.cmd_unknown))
    app.add_handler(MessageHandler(~filters.TEXT & ~filters.COMMAND, instruct.on_other))
    app.add_error_handler(on_error)
