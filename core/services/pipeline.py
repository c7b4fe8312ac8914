"""The pipeline: the named steps that decide an item behind the SMTP edge.

The edge has stored the message and answered 250 (收到); here it is read and decided.
Each item goes through STEPS in order, each step with its own time limit
(`[pipeline] step_seconds`), each logging one line per item:

    keep     the raw bytes the edge committed with the row into the blob store
    read     MIME and documents (the raw bytes from the blob store)
    ocr      text of image parts (a fax, a scan) by OCR, unless the envelope seals it
    check    签收 checks and classification (core.reading)
    store    the attachments' blobs
    record   register number, route / notify / return: one transaction

Workers claim items from the database (a lease, `core.storage.queue`), oldest first. A
worker that dies leaves its lease to run out and the item is claimed again; a step that
raises or overruns its limit counts a try; after `[pipeline] max_attempts` tries the
item is shunted: kept with its raw bytes untouched, staff told in chat, listed by
`jiyao items --outcome shunted`, and given back with `jiyao reprocess ID`. One bad
message never blocks the ones behind it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from core.chat.address import addresses_of
from core.clock import parse_iso
from core.errors import ConflictError, NotFoundError, StepFailedError
from core.model import Outcome
from core.routing import registry_staff
from core.services import claims, decide, notices
from core.services.context import Context
from core.services.decide import ClaimLostError, Work
from core.services.receive import Received, log_item
from core.storage import audit, outbox, queue
from core.storage import items as repo
from core.storage.db import Row, UnitOfWork

log = logging.getLogger("jiyao.pipeline")

ACTOR = "pipeline"


@dataclass(frozen=True)
class Step:
    """One named step: what it does to the item on its way (`Work`)."""

    name: str
    run: Callable[[Context, Work], Awaitable[None]]


STEPS: tuple[Step, ...] = (
    Step("keep", decide.keep),
    Step("read", decide.read),
    Step("ocr", decide.ocr),
    Step("check", decide.check_and_classify),
    Step("store", decide.store_parts),
    Step("record", decide.record),
)


#: how many messages a second the edge is accepting just now (a decaying average), as
#: the workers the edge's process started see it
EdgeRate = Callable[[], float]
#: an edge accepting faster than this is in a burst: a sustained 50 a second is not, a
#: burst of senders is (a thousand and more)
EDGE_BURST_RATE = 200.0
#: seconds between a waiting worker's looks at the edge's rate
EDGE_LOOK_SECONDS = 0.01


#: told when a step starts, with its name and the time (`time.monotonic`, the same in
#: every process of the host) by which it must have ended: its limit plus `[pipeline]
#: lease_margin`; and `(None, 0.0)` when it ended. A supervisor watches it to kill a
#: worker stuck in a step where the step's own timeout cannot reach (jiyao.pipeline).
StepWatch = Callable[[str | None, float], None]


def lease_of(ctx: Context, steps: Sequence[Step]) -> timedelta:
    """How long a claim lasts: every step's limit, and the margin (`lease_margin`)."""
    limits = ctx.settings.pipeline
    return timedelta(seconds=sum(limits.limit_of(s.name) for s in steps) + limits.lease_margin)


async def run_steps(
    ctx: Context, work: Work, steps: Sequence[Step] = STEPS, watch: StepWatch | None = None
) -> Received:
    margin = ctx.settings.pipeline.lease_margin
    for step in steps:
        limit = ctx.settings.pipeline.limit_of(step.name)
        started = time.monotonic()
        if watch is not None:
            watch(step.name, started + limit + margin)
        try:
            async with asyncio.timeout(limit):
                await step.run(ctx, work)
        except TimeoutError as exc:
            raise StepFailedError(step.name, f"超过时限 {limit:g} 秒") from exc
        except ClaimLostError:
            raise
        except Exception as exc:
            raise StepFailedError(step.name, f"{type(exc).__name__}: {exc}") from exc
        finally:
            if watch is not None:
                watch(None, 0.0)
        log.info("流程 %-6s 收件序号 %d %.0f ms", step.name, work.item_id,
                 (time.monotonic() - started) * 1000)
    assert work.result is not None, "the record step sets the result"
    log_item(work.result, ctx.settings.tz)
    return work.result


class Worker:
    """Claims received items one after another and runs them through the steps."""

    def __init__(
        self, ctx: Context, *, name: str | None = None, steps: Sequence[Step] = STEPS,
        watch: StepWatch | None = None, edge_rate: EdgeRate | None = None,
    ) -> None:
        self.ctx = ctx
        self.name = name or claims.worker_name(f"{id(self):x}")
        self.steps = tuple(steps)
        self.watch = watch
        self.edge_rate = edge_rate
        self._wake = asyncio.Event()
        self._warned_at = 0.0
        self._unsure = False  # a failure may have left a claim of ours behind

    def wake(self) -> None:
        """Something was accepted: look now instead of at the next poll."""
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Work until `stop` is set; the item in hand is finished first."""
        poll = self.ctx.settings.pipeline.poll_seconds
        swept = 0.0
        while not stop.is_set():
            if time.monotonic() - swept > ORPHAN_SWEEP_SECONDS:
                swept = time.monotonic()
                try:
                    await claims.expire_dead_claims(self.ctx)
                except Exception:
                    log.exception("检查中断进程的认领失败")
            await self.edge_first(stop)
            if stop.is_set():
                break
            try:
                did = await self.step_once()
            except Exception:
                log.exception("流程出错，稍后重试")
                self._unsure = True
                did = False
            if did:
                continue
            try:
                await number_held(self.ctx)
            except Exception:
                log.exception("按收文顺序编号失败，稍后重试")
            self._wake.clear()
            waits = [asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stop.wait())]
            await asyncio.wait(waits, timeout=poll, return_when=asyncio.FIRST_COMPLETED)
            for w in waits:
                w.cancel()

    async def edge_first(self, stop: asyncio.Event | None = None) -> None:
        """While the edge is accepting a burst, wait for it to end, at most `[pipeline]
        edge_first_seconds` (or until `stop`): the edge's group commit then has the write
        lock to itself."""
        limit = self.ctx.settings.pipeline.edge_first_seconds
        if self.edge_rate is None or not limit:
            return
        deadline = time.monotonic() + limit
        # the rate is another process's: nothing here to await but time
        while (self.edge_rate() > EDGE_BURST_RATE and time.monotonic() < deadline  # noqa: ASYNC110
               and not (stop is not None and stop.is_set())):
            await asyncio.sleep(EDGE_LOOK_SECONDS)

    async def step_once(self) -> bool:
        """Shunt what has used up its tries, then take one item; False when none waits."""
        if self._unsure:
            await self.release_all()
            self._unsure = False
        await shunt_exhausted(self.ctx)
        settings = self.ctx.settings.pipeline
        now = claims.lease_clock()
        async with self.ctx.db.unit_of_work() as uow:
            claim = await queue.claim_next(
                uow, worker=self.name, now=now, until=now + lease_of(self.ctx, self.steps),
                max_attempts=settings.max_attempts,
            )
            await uow.commit()
        if claim is None:
            return False
        await self._backlog_warning()
        await process(self.ctx, claim, self.name, self.steps, self.watch)
        return True

    async def release_all(self) -> None:
        async with self.ctx.db.unit_of_work() as uow:
            n = await queue.release_all(uow, self.name)
            await uow.commit()
        if n:
            log.info("已交还 %d 件未处理完的收件", n)

    async def _backlog_warning(self) -> None:
        if time.monotonic() - self._warned_at < 60:
            return
        state = await queue_status(self.ctx)
        if state.received > self.ctx.settings.pipeline.backlog_warn:
            self._warned_at = time.monotonic()
            log.warning("待处理收件积压 %d 件（最早 %s 收到）", state.received, state.oldest)


#: how often a worker looks for claims left by dead processes of this host
ORPHAN_SWEEP_SECONDS = 10.0


async def number_held(ctx: Context) -> dict[int, str]:
    """Number what waited for an earlier item once that item's hold has passed (run by
    an idle worker: no decision may come to do it)."""
    async with ctx.db.reader() as r:
        if not await queue.any_number_pending(r):
            return {}
    async with ctx.db.unit_of_work() as uow:
        given = await decide.number_in_receipt_order(ctx, uow, now=ctx.clock())
        await uow.commit()
    for item_id, number in given.items():
        log.info("收件序号 %d 按收文顺序编号 %s", item_id, number)
    return given


async def process(
    ctx: Context, claim: queue.Claim, worker: str, steps: Sequence[Step] = STEPS,
    watch: StepWatch | None = None,
) -> Received | None:
    """Run one claimed item through the steps; on failure give it back or shunt it."""
    async with ctx.db.reader() as r:
        item = await repo.get_item(r, claim.item_id)
    assert item is not None  # claimed a moment ago; items are never deleted
    work = Work(item=item, worker=worker)
    try:
        return await run_steps(ctx, work, steps, watch)
    except ClaimLostError:
        log.warning("收件序号 %d 的认领已过期，由其他进程处理", claim.item_id)
        return None
    except StepFailedError as exc:
        log.error("收件序号 %d 第 %d 次处理失败：%s", claim.item_id, claim.attempts, exc,  # noqa: TRY400 - the cause is logged below
                  exc_info=exc.__cause__)
        backoff = ctx.settings.pipeline.retry_seconds * 2 ** (claim.attempts - 1)
        async with ctx.db.unit_of_work() as uow:
            await queue.release(
                uow, claim.item_id, worker, error=str(exc),
                retry_at=claims.lease_clock() + timedelta(seconds=backoff),
            )
            await uow.commit()
        if claim.attempts >= ctx.settings.pipeline.max_attempts:
            await shunt_exhausted(ctx)
        return None
    finally:
        size = work.size
        del work
        decide.collect_after(size)


async def shunt_exhausted(ctx: Context) -> list[int]:
    """Shunt every received item whose tries are used up and that nobody holds."""
    now = claims.lease_clock()
    limit = ctx.settings.pipeline.max_attempts
    async with ctx.db.reader() as r:  # mostly none: no write lock taken for nothing
        if not await queue.exhausted(r, now=now, max_attempts=limit):
            return []
    shunted: list[int] = []
    async with ctx.db.unit_of_work() as uow:
        for item in await queue.exhausted(
            uow, now=now, max_attempts=ctx.settings.pipeline.max_attempts
        ):
            await _shunt(ctx, uow, item, now=ctx.clock())
            shunted.append(int(item["id"]))
        if shunted:  # the items behind a shunted one need not wait for it
            await decide.number_in_receipt_order(ctx, uow, now=ctx.clock())
        await uow.commit()
    for item_id in shunted:
        log.error("收件序号 %d 已转人工处理（多次处理失败，原件已保存）", item_id)
    return shunted


async def _shunt(ctx: Context, uow: UnitOfWork, item: Row, *, now: datetime) -> None:
    error = item["last_error"] or "处理进程中断或超时"
    step = error.split(" ", 2)[1] if error.startswith("步骤 ") else "（进程中断）"
    await queue.mark_shunted(uow, item, error=error, at=now)
    await audit.append(
        uow, at=now, actor=ACTOR, action="shunt", subject=f"item:{item['id']}",
        detail={"attempts": item["attempts"], "error": error},
    )
    text = notices.shunted_notice(
        item_id=item["id"], received=parse_iso(item["received_at"]).astimezone(ctx.settings.tz),
        mail_from=item["mail_from"], step=step, attempts=item["attempts"],
    )
    for chat_id in registry_staff(ctx.settings):
        for to in addresses_of(ctx.settings, chat_id):
            await outbox.enqueue(
                uow, channel=outbox.CHAT, event="staff_notice", target=to.target,
                payload={"text": text, "buttons": [], "blob": None, "filename": None,
                         "urgent": False},
                at=now, item_id=item["id"],
            )


async def decide_now(ctx: Context, item_id: int, steps: Sequence[Step] = STEPS) -> Received:
    """Claim one received item and decide it in this task (tests, `receive`)."""
    worker = claims.worker_name(f"inline-{item_id}")
    now = claims.lease_clock()
    async with ctx.db.unit_of_work() as uow:
        claim = await queue.claim_item(
            uow, item_id, worker=worker, now=now, until=now + lease_of(ctx, steps)
        )
        await uow.commit()
    if claim is None:
        raise ConflictError(f"收件序号 {item_id} 不在待处理状态或正由其他进程处理")
    got = await process(ctx, claim, worker, steps)
    if got is None:
        async with ctx.db.reader() as r:
            item = await repo.get_item(r, item_id)
        assert item is not None
        return Received(
            item_id=item_id, outcome=item["outcome"], kind=None, reason=None, number=None,
            message_id=item["message_id"], received=item["received_at"],
        )
    return got


async def reprocess(ctx: Context, item_id: int, *, actor: str = "staff") -> None:
    """Give a shunted item back to the pipeline (`jiyao reprocess`), its tries reset."""
    now = ctx.clock()
    async with ctx.db.unit_of_work() as uow:
        item = await repo.get_item(uow, item_id)
        if item is None:
            raise NotFoundError("收件", str(item_id))
        if item["outcome"] != Outcome.SHUNTED.value:
            raise ConflictError(f"收件序号 {item_id} 不是待人工处理件，无需重新处理")
        await queue.mark_received_again(uow, item)
        await audit.append(
            uow, at=now, actor=actor, action="reprocess", subject=f"item:{item_id}",
            detail={"last_error": item["last_error"]},
        )
        await uow.commit()


# ------------------------------------------------------------------ status


@dataclass(frozen=True)
class QueueStatus:
    received: int
    in_progress: int
    shunted: int
    oldest: str | None
    per_minute: float  # decided over the last RATE_MINUTES


RATE_MINUTES = 5


async def queue_status(ctx: Context) -> QueueStatus:
    since = ctx.clock() - timedelta(minutes=RATE_MINUTES)  # decided_at is the domain's time
    async with ctx.db.reader() as r:
        row = await queue.status(r, now=claims.lease_clock(), since=since)
    return QueueStatus(
        received=int(row["received"]), in_progress=int(row["in_progress"]),
        shunted=int(row["shunted"]), oldest=row["oldest"],
        per_minute=int(row["decided_recently"]) / RATE_MINUTES,
    )
