"""The per-recipient paced queue every chat adapter's delivery loop runs on (issue 15
item 4): one queue and one worker per recipient; when the recipient's next send slot
comes (core.chat.pace), everything waiting for them goes as one message (a batch,
core.chat.batch), 特急/特提 alone and first.

The loop looks at the outbox every `poll` seconds (or at once when woken) and hands each
due event to its recipient's queue. A worker sends when
- the recipient's pacer allows it (ordinary messages leave `spare` slots of each window
  for 特急), and
- the head is urgent, or cannot wait in a batch, or a full batch (`most`) waits, or
  `gap` seconds have passed since the previous send: a batch that is not full waits
  that long for more, so a burst fills batches instead of spending the recipient's
  budget one item at a time.

Sending, and recording what was sent, is the adapter's (`send`).
"""

from __future__ import annotations

import abc
import asyncio
import logging
import time
from collections import deque

from core.chat.backlog import put_back, queue_event, take, waiting_batch
from core.chat.pace import Pacer
from core.services import outbox
from core.services.context import Context
from core.services.outbox import Event
from core.services.runner import Runner

log = logging.getLogger("core.chat.paced")

#: events read from the outbox per look
BATCH = 2000
#: seconds a waiting worker sleeps before it looks at its queue again
TICK = 0.05


class PacedDelivery(Runner):
    """Drains the chat outbox to one platform's recipients; `wake()` after writing events."""

    #: the outbox targets served: WeCom members (wecom:…) or Telegram chats
    wecom: bool = False

    def __init__(self, ctx: Context, pacer: Pacer, *, poll: float, grace: float, most: int,
                 gap: float = 0.0, spare: int = 0, per_take: int | None = None) -> None:
        super().__init__(ctx, poll=poll, grace=grace)
        self.pacer = pacer
        self.most = most
        self.gap = gap
        self.spare = spare
        #: events taken per recipient and per look: enough to fill a batch
        self.per_take = per_take or most + 2
        self._queues: dict[str, deque[Event]] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._known: set[int] = set()
        self._last: dict[str, float] = {}
        #: messages sent, and events they carried
        self.sent = 0
        self.events_sent = 0

    # ------------------------------------------------------------ the adapter's part
    @abc.abstractmethod
    def recipient(self, event: Event) -> str | None:
        """The address `event` goes to on this platform; None when its target is invalid."""

    @abc.abstractmethod
    async def refuse(self, event: Event) -> None:
        """Give up an event whose target is invalid."""

    @abc.abstractmethod
    async def send(self, address: str, events: list[Event]) -> list[Event]:
        """Send `events` (one, or a batch) to `address` and record them; the events left
        over (not claimed, they did not fit one message), which wait for the next slot."""

    # ------------------------------------------------------------ the loop
    def tasks(self) -> list[asyncio.Task[None]]:
        return list(self._workers.values())

    async def pump(self) -> bool:
        """Hand due events to the recipients' workers (one per recipient)."""
        events = await outbox.due_chat(self.ctx, self.ctx.clock(), per_chat=self.per_take,
                                       limit=BATCH, wecom=self.wecom)
        for event in events:
            if event.id in self._known:
                continue
            to = self.recipient(event)
            if to is None:
                await self.refuse(event)
                continue
            self._known.add(event.id)
            queue_event(self._queues.setdefault(to, deque()), event)
            if to not in self._workers:
                self._workers[to] = asyncio.create_task(self._worker(to), name=f"chat-{to}")
        return False

    def wait(self, address: str, queue: deque[Event]) -> float:
        """Seconds until the next send to `address` (0: now)."""
        head = queue[0]
        if head.payload.get("urgent"):
            return self.pacer.delay(address)
        slot = self.pacer.delay(address, spare=self.spare)
        waiting = waiting_batch(queue, self.most)
        if waiting == 0 or waiting >= self.most:
            return slot  # nothing to gather: the head goes alone, or a batch is full
        last = self._last.get(address)
        gather = 0.0 if last is None else last + self.gap - time.monotonic()
        return max(slot, gather)

    async def _worker(self, address: str) -> None:
        queue = self._queues[address]
        try:
            while queue and not self.stopping:
                wait = self.wait(address, queue)
                if wait > 0:
                    # look again soon: a 特急 or a full batch may come meanwhile
                    await self.pause(min(wait, TICK))
                    continue
                taken = take(queue, batch_from=2, most=self.most, notices=True)
                left: list[Event] = []
                try:
                    left = await self.send(address, taken)
                except Exception:
                    log.exception("推送 %s 出错", [e.id for e in taken])
                finally:
                    self._last[address] = time.monotonic()
                    for event in taken:
                        if event not in left:
                            self._known.discard(event.id)
                put_back(queue, left)
        finally:
            for event in queue:
                self._known.discard(event.id)
            queue.clear()
            self._workers.pop(address, None)
