"""The events waiting for one recipient, in the order they go: 特急/特提 first, then the
others oldest first; when a backlog of pushes builds up, several go as one batch."""

from __future__ import annotations

from collections import deque

from core.chat.batch import MAX_ITEMS
from core.services.outbox import PUSH, Event

#: a backlog of this many pushes to one recipient goes as one message listing them
BATCH_FROM = 3


def queue_event(queue: deque[Event], event: Event) -> None:
    """An urgent (特急/特提) event goes before the ordinary ones waiting for its chat."""
    if not event.payload.get("urgent"):
        queue.append(event)
        return
    position = next((i for i, e in enumerate(queue) if not e.payload.get("urgent")), len(queue))
    queue.insert(position, event)


def batchable(event: Event, *, notices: bool = False) -> bool:
    """A push that may wait in a batch (with `notices`, a plain notice without a file too);
    特急/特提 go alone."""
    if event.payload.get("urgent"):
        return False
    return event.event == PUSH or (notices and not event.payload.get("blob"))


def take(queue: deque[Event], batch_from: int = BATCH_FROM, most: int = MAX_ITEMS, *,
         notices: bool = False) -> list[Event]:
    """The next send to a recipient: its first event, or when at least `batch_from`
    batchable events wait at the head of the queue, up to `most` of them."""
    waiting = 0
    for event in queue:
        if not batchable(event, notices=notices) or waiting >= most:
            break
        waiting += 1
    count = waiting if waiting >= batch_from else 1
    return [queue.popleft() for _ in range(count)]
