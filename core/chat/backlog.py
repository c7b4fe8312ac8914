"""The events waiting for one recipient, in the order they go: 特急/特提 first, then the
others oldest first; when a backlog builds up, what waits goes as one batch."""

from __future__ import annotations

from collections import deque

from core.chat.batch import MAX_ITEMS
from core.services.outbox import PUSH, Event

#: a backlog of this many to one recipient goes as one message listing them
BATCH_FROM = 2


def _after_urgent(queue: deque[Event]) -> int:
    """The place after the urgent (特急/特提) events at the head of `queue`."""
    return next((i for i, e in enumerate(queue) if not e.payload.get("urgent")), len(queue))


def queue_event(queue: deque[Event], event: Event) -> None:
    """An urgent (特急/特提) event goes before the ordinary ones waiting for its chat."""
    if not event.payload.get("urgent"):
        queue.append(event)
        return
    queue.insert(_after_urgent(queue), event)


def put_back(queue: deque[Event], events: list[Event]) -> None:
    """Events taken but not sent (the rest of a batch that did not fit one message) go
    back first in line, in their order, after any 特急/特提 that came meanwhile."""
    position = _after_urgent(queue)
    for offset, event in enumerate(events):
        queue.insert(position + offset, event)


def batchable(event: Event, *, notices: bool = True) -> bool:
    """A push that may wait in a batch (with `notices`, a plain notice too, unless it has
    buttons without the item that labels them); 特急/特提 go alone. A batch carries no
    files (it says where the originals are): on WeCom each file would be one more of the
    member's 30 messages a minute, on Telegram one more second."""
    if event.payload.get("urgent"):
        return False
    if event.event == PUSH:
        return True
    if not notices:
        return False
    return not event.payload.get("buttons") or event.item_id is not None


def waiting_batch(queue: deque[Event], most: int = MAX_ITEMS, *, notices: bool = True) -> int:
    """How many batchable events wait at the head of `queue` (at most `most`)."""
    waiting = 0
    for event in queue:
        if not batchable(event, notices=notices) or waiting >= most:
            break
        waiting += 1
    return waiting


def take(queue: deque[Event], batch_from: int = BATCH_FROM, most: int = MAX_ITEMS, *,
         notices: bool = True) -> list[Event]:
    """The next send to a recipient: its first event, or when at least `batch_from`
    batchable events wait at the head of the queue, up to `most` of them."""
    waiting = waiting_batch(queue, most, notices=notices)
    count = waiting if waiting >= batch_from else 1
    return [queue.popleft() for _ in range(count)]
