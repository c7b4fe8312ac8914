"""WeCom's form of a neutral message (core.chat.message): a button card when it has
actions, else a text. WeCom shows no bold in a card or a text, so strong spans are plain;
the line naming the item becomes the card's title."""

from __future__ import annotations

from collections.abc import Sequence

from bot.wecom.client import SELECTION_OPTIONS, Button, Card
from core.chat import batch
from core.chat.message import Message, callback, parse_callback, plain

#: WeCom takes files of 5 B–20 MB (上传临时素材)
UPLOAD_LIMIT = 20 * 1024 * 1024
#: a card holds at most 6 buttons
CARD_BUTTONS = 6
#: main_title.title: WeCom shows about 26 characters of it
TITLE_LIMIT = 26
#: a drop-down option's text: WeCom shows about 16 characters of it
OPTION_LIMIT = 16
#: the item a drop-down card's buttons name: the one chosen in the drop-down
SELECTED = 0
#: pushes listed in one drop-down card
SELECTION_ITEMS = SELECTION_OPTIONS
BY_SELECTION = "在“收件”中选定一件，再点下方按钮；批示：点“批示”后发送批示内容。"


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


def selection_card(messages: Sequence[Message], key: str) -> Card:
    """Several pushes as one card (a backlog, core.chat.batch): each listed by its brief
    lines, chosen in the card's drop-down; its buttons (each action any of them has, e.g.
    已阅, 批示) act on the item chosen, their keys naming item `SELECTED`."""
    listing = batch.batch_message(messages, hint=BY_SELECTION)
    rows = [plain(row) for row in listing.lines]
    labels: dict[str, str] = {}
    for m in messages:
        for a, k in zip(m.all_actions(), selection_keys(m), strict=False):
            labels.setdefault(k, a.label)
    buttons = tuple(Button(label, k, style=1 if i == 0 else 2)
                    for i, (k, label) in enumerate(list(labels.items())[:CARD_BUTTONS]))
    options = tuple((str(m.item_id), option_text(m)) for m in messages
                    if m.item_id is not None)
    return Card(task_id=task_id(key), title=rows[0][:TITLE_LIMIT], buttons=buttons,
                text="\n".join(rows[1:]), source="机要收发", options=options,
                options_title="收件")


def option_text(message: Message) -> str:
    """A push's drop-down option: its 收件序号 and its head line (kind and number)."""
    head = plain(message.lines[message.head]) if message.head is not None else ""
    return f"#{message.item_id} {head}".strip()[:OPTION_LIMIT]


def selection_keys(message: Message) -> tuple[str, ...]:
    """The keys its buttons get in a drop-down card (``r:0``, ``k:0:b``…); () when some
    button does not act on the message's own item (it cannot be chosen in a drop-down)."""
    keys = []
    for a in message.all_actions()[:CARD_BUTTONS]:
        cb = parse_callback(a.key)
        if cb is None or cb.item_id != message.item_id:
            return ()
        keys.append(callback(cb.action, SELECTED, cb.kind))
    return tuple(keys)
