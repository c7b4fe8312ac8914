"""A backlog to one person as one message (issue 15 item 4): the items listed, each with
its own actions; 特急/特提 never wait in a batch (the adapters send them alone, first).

Telegram allows about one message a second to a chat and WeCom 30 a minute to a member:
listing what waits in one message keeps a burst from queueing minutes behind itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from core.chat.message import Action, Line, Message, line, plain, strong
from core.chat.push import INSTRUCT_BY_BUTTON, INSTRUCT_BY_REPLY

T = TypeVar("T")

#: items listed in one message at most (a Telegram text stays under 4,096 characters)
MAX_ITEMS = 10
_HINTS = frozenset({INSTRUCT_BY_REPLY, INSTRUCT_BY_BUTTON})
#: a batch's footer when any item listed has an original
FILES_NOT_SENT = "（原件未随批量推送发送，请在收文系统中查看）"
#: how to write a 批示 on one item of a batch, where there are replies or not
BATCH_BY_REPLY = "批示：点对应收件的“批示 #序号”，再回复提示消息。"
BATCH_BY_BUTTON = "批示：点对应收件的“批示 #序号”，再发送批示内容。"


def _labelled(action: Action, item_id: int) -> Action:
    return Action(f"{action.label} #{item_id}", action.key)


def batch_message(messages: Sequence[Message], *, hint: str = BATCH_BY_BUTTON) -> Message:
    """One message listing `messages` (pushes of items, none urgent): each item's lines
    (its `brief` ones, for a push) under a numbered rule, its actions as one row labelled
    with its 收件序号. Files do not go in a batch; the footer says where the originals are."""
    pushes = all(m.head is not None for m in messages)
    heading = f"待阅处收件 {len(messages)} 件" if pushes else f"新消息 {len(messages)} 条"
    lines: list[Line] = [line(strong(heading))]
    rows: list[tuple[Action, ...]] = []
    leader = False
    for i, m in enumerate(messages, start=1):
        lines.append(line(f"—— {i}/{len(messages)} ——"))
        leader = leader or any(plain(row) in _HINTS for row in m.lines)
        lines.extend(row for row in (m.lines if m.brief is None else m.brief)
                     if plain(row) not in _HINTS)
        if m.item_id is not None and m.all_actions():
            rows.append(tuple(_labelled(a, m.item_id) for a in m.all_actions()))
    # said once, not under each item: a long batch stays one message
    if any(m.file is not None for m in messages):
        lines.append(line(FILES_NOT_SENT))
    if leader:
        lines.append(line(hint))
    return Message(tuple(lines), tuple(rows), None, None, urgent=False, head=0)


def batches(messages: Sequence[Message], *, max_items: int = MAX_ITEMS,
            max_actions: int | None = None) -> list[list[Message]]:
    """`messages` cut into groups of at most `max_items`, and at most `max_actions` buttons
    (a WeCom card holds six); a message with too many actions for one group goes alone."""
    groups: list[list[Message]] = []
    current: list[Message] = []
    actions = 0
    for m in messages:
        n = len(m.all_actions())
        full = len(current) >= max_items or (
            max_actions is not None and current and actions + n > max_actions)
        if full:
            groups.append(current)
            current, actions = [], 0
        current.append(m)
        actions += n
    if current:
        groups.append(current)
    return groups


def one_per_item(pairs: Sequence[tuple[T, Message]]) -> list[tuple[T, Message]]:
    """Each item's push once: where several waiting pushes name the same item (its push,
    then its 拟办), all of them carry the last one's message, which is the newest."""
    last = {m.item_id: m for _, m in pairs if m.item_id is not None and m.head is not None}
    return [(x, last.get(m.item_id, m) if m.head is not None and m.item_id is not None else m)
            for x, m in pairs]


def distinct(messages: Sequence[Message]) -> list[Message]:
    """`messages` without repeats of the same message object, in order."""
    return list({id(m): m for m in messages}.values())
