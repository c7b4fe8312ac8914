"""WeCom's form of a neutral message (core.chat.message): a button card when it has
actions, else a text. WeCom shows no bold in a card or a text, so strong spans are plain;
the line naming the item becomes the card's title."""

from __future__ import annotations

from bot.wecom.client import Button, Card
from core.chat.message import Message, plain

#: WeCom takes files of 5 B–20 MB (上传临时素材)
UPLOAD_LIMIT = 20 * 1024 * 1024
#: a card holds at most 6 buttons
CARD_BUTTONS = 6
#: main_title.title: WeCom shows about 26 characters of it
TITLE_LIMIT = 26


def task_id(key: str) -> str:
    """A card's task id from the delivery's stable key (a resend reuses it)."""
    return "jy-" + "".join(c if c.isalnum() or c in "_-@" else "-" for c in key)[:120]


def card(message: Message, key: str) -> Card:
    """A button_interaction card: the head line as title, the rest as its text."""
    rows = [plain(row) for row in message.lines]
    index = message.head if message.head is not None else 0
    title = rows[index] if rows else "机要通知"
    rest = [r for i, r in enumerate(rows) if i != index]
    buttons = tuple(Button(a.label, a.key, style=1 if i == 0 else 2)
                    for i, a in enumerate(message.all_actions()[:CARD_BUTTONS]))
    return Card(task_id=task_id(key), title=title[:TITLE_LIMIT] or "机要通知",
                buttons=buttons, text="\n".join(rest), source="机要收发")


def text(message: Message) -> str:
    return message.text().strip() or "（空消息）"
