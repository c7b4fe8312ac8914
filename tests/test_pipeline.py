"""The pipeline behind the edge: claims, retries, shunt and reprocess, the queue's state.

Real SQLite files, messages accepted through the real service; a pipeline built in the
test adds a failing or slow step where a test needs one (the production STEPS have none).
"""

from __future__ import annotations

import asyncio
import json
import socket
from datetime import timedelta
from typing import Any

from core.config import Settings
from core.services import admin, claims, pipeline
from core.services.context import Context, open_context
from core.services.decide import Work
from core.services.pipeline import STEPS, Step, Worker
from core.services.receive import Sender, accept
from tests.conftest import FrozenClock, run_cli
from tests.intake_helpers import OFFICE, corpus, first, realistic, with_message_id

POISON = b"X-Test-Poison: yes"


async def _explode(ctx: Context, work: Work) -> None:
    raw = await asyncio.to_thread(ctx.blobs.get, work.item["raw_blob"])
    if POISON in raw:
        raise ValueError("reader crashed on this document")


def _with_step(step: Step, before: str = "record") -> tuple[Step, ...]:
    at = next(i for i, s in enumerate(STEPS) if s.name == before)
    return (*STEPS[:at], step, *STEPS[at:])


def _tuned(settings: Settings, **pipeline_: Any) -> Settings:
    return settings.model_copy(update={
        "pipeline": settings.pipeline.model_copy(update={"retry_seconds": 0, **pipeline_}),
    })


async def _accept_all(ctx: Context, raws: list[bytes]) -> list[int]:
    sender = Sender("a@example.org", (OFFICE,), "127.0.0.1:1")
    return [(await accept(ctx, raw, sender)).item_id for raw in raws]


async def _drain(worker: Worker, limit: int = 100) -> None:
    for _ in range(limit):
        if not await worker.step_once():
            return
    raise AssertionError("the pipeline did not drain")


async def _rows(ctx: Context, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    async with ctx.db.reader() as r:
        return [dict(x) for x in await r.fetchall(sql, params)]


async def test_accept_records_received_with_how_the_sender_came(ctx: Context) -> None:
    """The edge's row: received, raw blob durable, envelope and peer kept; nothing read."""
    (raw,) = realistic(1, "acc")
    got = await accept(ctx, raw, Sender("a@example.org", (OFFICE,), "10.0.0.9:4000",
                                        auth_user="fax-gateway", tls=True))
    assert got.outcome == "received"
    (item,) = await _rows(ctx, "SELECT * FROM items")
    assert item["outcome"] == "received"
    assert item["title"] is None
    # committed with the row; the pipeline files it in the blob store under raw_blob
    (staged,) = await _rows(ctx, "SELECT * FROM raw_staged")
    assert (staged["item_id"], staged["raw"]) == (item["id"], raw)
    assert ctx.blobs.verify(item["raw_blob"]) is not None  # not filed yet
    assert (item["mail_from"], json.loads(item["rcpt_tos"])) == ("a@example.org", [OFFICE])
    assert (item["peer"], item["auth_user"], item["tls"]) == ("10.0.0.9:4000", "fax-gateway", 1)
    again = await accept(ctx, raw, Sender("a@example.org", (OFFICE,)))
    assert again.duplicate
    assert again.item_id == got.item_id
    assert await admin.check(ctx) == []  # staged bytes are checked against raw_blob
    await _drain(Worker(ctx))
    assert ctx.blobs.get(item["raw_blob"]) == raw  # `keep` filed them, the copy dropped
    assert await _rows(ctx, "SELECT * FROM raw_staged") == []
    assert await admin.check(ctx) == []


async def test_check_finds_staged_bytes_that_do_not_match_their_blob_name(
    ctx: Context,
) -> None:
    (raw,) = realistic(1, "tamper")
    got = await accept(ctx, raw, Sender("a@example.org", (OFFICE,)))
    async with ctx.db.unit_of_work() as uow:
        await uow.execute("UPDATE raw_staged SET raw = ? WHERE item_id = ?",
                          (raw + b"x", got.item_id))
        await uow.commit()
    assert await admin.check(ctx) == [f"暂存的原件与哈希不符：收件序号 {got.item_id}"]


async def test_poison_item_is_shunted_and_does_not_block_the_rest(
    settings: Settings, clock: FrozenClock
) -> None:
    """A step failing on one message: tried max_attempts times, shunted with its error,
    staff told; the items behind it are decided; `reprocess` gives it back."""
    ctx = await open_context(_tuned(settings, max_attempts=2), clock=clock)
    try:
        raws = realistic(4, "poison")
        raws[1] = POISON + b"\r\n" + raws[1]
        ids = await _accept_all(ctx, raws)
        worker = Worker(ctx, steps=_with_step(Step("explode", _explode)))
        await _drain(worker)
        rows = {r["id"]: r for r in await _rows(ctx, "SELECT * FROM items")}
        poisoned = rows[ids[1]]
        assert poisoned["outcome"] == "shunted"
        assert poisoned["attempts"] == 2
        assert "reader crashed" in poisoned["last_error"]
        assert ctx.blobs.get(poisoned["raw_blob"]) == raws[1]
        others = [rows[i]["outcome"] for i in ids if i != ids[1]]
        assert "received" not in others
        assert "shunted" not in others
        notices = await _rows(ctx, "SELECT payload FROM outbox WHERE item_id = ?", (ids[1],))
        assert notices
        assert all("待人工处理" in json.loads(n["payload"])["text"] for n in notices)
        assert all("reader crashed" not in n["payload"] for n in notices)  # error stays out
        state = await pipeline.queue_status(ctx)
        assert (state.received, state.shunted) == (0, 1)

        await pipeline.reprocess(ctx, ids[1])
        await _drain(Worker(ctx))  # fixed: the production steps
        (again,) = await _rows(ctx, "SELECT outcome, attempts FROM items WHERE id = ?",
                               (ids[1],))
        assert again["outcome"] not in ("received", "shunted")
        assert await admin.check(ctx) == []
    finally:
        await ctx.db.close()


async def test_a_step_over_its_time_limit_counts_a_try(
    settings: Settings, clock: FrozenClock
) -> None:
    """A step that overruns its `[pipeline] step_seconds` fails the try; the item is
    shunted after its tries, with the step named."""
    tuned = _tuned(settings, max_attempts=1, step_seconds={"hang": 0.2})
    ctx = await open_context(tuned, clock=clock)

    async def hang(_ctx: Context, _work: Work) -> None:
        await asyncio.sleep(30)

    try:
        (item_id,) = await _accept_all(ctx, realistic(1, "hang"))
        await _drain(Worker(ctx, steps=_with_step(Step("hang", hang))))
        (row,) = await _rows(ctx, "SELECT outcome, last_error FROM items WHERE id = ?",
                             (item_id,))
        assert row["outcome"] == "shunted"
        assert "hang" in row["last_error"]
        assert "时限" in row["last_error"]
    finally:
        await ctx.db.close()


async def test_a_lease_of_a_dead_worker_is_taken_again(ctx: Context) -> None:
    """A claim whose worker process is gone (SIGKILL) is ended and the item decided."""
    (item_id,) = await _accept_all(ctx, realistic(1, "dead"))
    async with ctx.db.unit_of_work() as uow:
        await uow.execute(
            "UPDATE items SET claimed_by = ?, claim_until = '9999-01-01T00:00:00Z',"
            " attempts = 1 WHERE id = ?",
            (f"{socket.gethostname()}:999999999:x", item_id),
        )
        await uow.commit()
    worker = Worker(ctx)
    assert not await worker.step_once()  # held: not claimable
    assert await claims.expire_dead_claims(ctx) == 1
    assert await worker.step_once()
    (row,) = await _rows(ctx, "SELECT outcome, attempts FROM items")
    assert row["outcome"] not in ("received", "shunted")
    assert row["attempts"] == 2


async def test_queue_command_and_reprocess_refusal(ctx: Context) -> None:
    """`jiyao queue` shows what waits; `jiyao reprocess` of an item not shunted is refused
    in Chinese."""
    await _accept_all(ctx, realistic(3, "q"))
    data = ctx.settings.storage.data_dir
    shown = run_cli("queue", data_dir=data)
    assert shown.returncode == 0, shown.stderr
    assert "待处理：3 件" in shown.stdout
    as_json = json.loads(run_cli("queue", "--json", data_dir=data).stdout)
    assert as_json["received"] == 3
    assert as_json["oldest"] is not None
    refused = run_cli("reprocess", "1", data_dir=data)
    assert refused.returncode != 0
    assert "不是待人工处理件" in refused.stderr
    assert "Traceback" not in refused.stderr


async def test_two_workers_share_the_queue_without_doubling(
    settings: Settings, clock: FrozenClock
) -> None:
    """Two workers on separate connections claim disjoint items: each decided once."""
    ctx_a = await open_context(settings, clock=clock)
    ctx_b = await open_context(settings, clock=clock)
    try:
        await _accept_all(ctx_a, realistic(12, "two"))
        stop = asyncio.Event()
        runs = [asyncio.create_task(Worker(c).run(stop)) for c in (ctx_a, ctx_b)]
        for _ in range(600):
            if (await pipeline.queue_status(ctx_a)).received == 0:
                break
            await asyncio.sleep(0.05)
        stop.set()
        await asyncio.gather(*runs)
        audited = await _rows(ctx_a, "SELECT subject FROM audit WHERE action = 'receive'")
        assert len(audited) == 12
        assert len({a["subject"] for a in audited}) == 12
        assert await admin.check(ctx_a) == []
    finally:
        await ctx_a.db.close()
        await ctx_b.db.close()


# ------------------------------------------------------------------ receipt order


def _ban_messages(n: int, tag: str) -> list[bytes]:
    label = first(lambda d: d["outcome"] == "register" and d["kind"] == "办件"
                  and not d.get("envelope_no"))
    return [with_message_id(corpus(label["file"]), f"{tag}.{i}@example.org") for i in range(n)]


class _Gate:
    """A slow step in front: the first item waits until the test opens the gate."""

    def __init__(self, slow_id: int) -> None:
        self.slow_id = slow_id
        self.opened = asyncio.Event()
        self.entered = asyncio.Event()

    async def __call__(self, _ctx: Context, work: Work) -> None:
        if work.item_id == self.slow_id:
            self.entered.set()
            await self.opened.wait()


async def _numbers(ctx: Context) -> dict[int, str | None]:
    rows = await _rows(
        ctx, "SELECT i.id, e.number FROM items i LEFT JOIN register_entries e"
        " ON e.item_id = i.id AND e.status = 'active' ORDER BY i.id",
    )
    return {r["id"]: r["number"] for r in rows}


async def _until(cond: Any, timeout: float = 20.0) -> None:
    for _ in range(int(timeout / 0.05)):
        if await cond():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not reached")


async def test_numbers_follow_receipt_order_behind_a_slow_item(
    settings: Settings, clock: FrozenClock
) -> None:
    """Items decided while an earlier one is still being read wait for it; once it is
    decided all are numbered in the order they were received, each routed then."""
    ctx = await open_context(_tuned(settings, number_hold_seconds=3600), clock=clock)
    stop = asyncio.Event()
    try:
        ids = await _accept_all(ctx, _ban_messages(3, "order"))
        gate = _Gate(ids[0])
        steps = _with_step(Step("slow", gate))
        slow = asyncio.create_task(Worker(ctx, steps=steps).run(stop))
        await asyncio.wait_for(gate.entered.wait(), 20)
        fast = asyncio.create_task(Worker(ctx, steps=steps).run(stop))

        async def later_decided() -> bool:
            rows = await _rows(ctx, "SELECT outcome FROM items WHERE id > ?", (ids[0],))
            return all(r["outcome"] == "register" for r in rows)

        await _until(later_decided)
        assert set((await _numbers(ctx)).values()) == {None}  # held behind item 1
        routes = await _rows(ctx, "SELECT subject FROM audit WHERE action = 'route'")
        assert routes == []
        gate.opened.set()

        async def all_numbered() -> bool:
            return None not in (await _numbers(ctx)).values()

        await _until(all_numbered)
        numbers = await _numbers(ctx)
        assert [numbers[i] for i in ids] == ["办2026-0001", "办2026-0002", "办2026-0003"]
        routes = await _rows(ctx, "SELECT subject FROM audit WHERE action = 'route'")
        assert sorted(r["subject"] for r in routes) == [f"item:{i}" for i in ids]
        assert await admin.check(ctx) == []
    finally:
        stop.set()
        gate.opened.set()
        await asyncio.gather(slow, fast, return_exceptions=True)
        await ctx.db.close()


async def test_a_slow_item_holds_later_numbers_only_for_the_hold(
    settings: Settings, clock: FrozenClock
) -> None:
    """Past `number_hold_seconds` the later items are numbered without the slow one,
    which takes the next number when it is decided."""
    ctx = await open_context(_tuned(settings, number_hold_seconds=60), clock=clock)
    stop = asyncio.Event()
    try:
        ids = await _accept_all(ctx, _ban_messages(3, "hold"))
        gate = _Gate(ids[0])
        steps = _with_step(Step("slow", gate))
        slow = asyncio.create_task(Worker(ctx, steps=steps).run(stop))
        await asyncio.wait_for(gate.entered.wait(), 20)
        fast = asyncio.create_task(Worker(ctx, steps=steps).run(stop))

        async def later_decided() -> bool:
            rows = await _rows(ctx, "SELECT outcome FROM items WHERE id > ?", (ids[0],))
            return all(r["outcome"] == "register" for r in rows)

        await _until(later_decided)
        assert set((await _numbers(ctx)).values()) == {None}
        clock.now += timedelta(seconds=61)  # the hold of item 1 has passed

        async def later_numbered() -> bool:
            numbers = await _numbers(ctx)
            return all(numbers[i] for i in ids[1:])

        await _until(later_numbered)
        numbers = await _numbers(ctx)
        assert numbers[ids[0]] is None
        assert [numbers[i] for i in ids[1:]] == ["办2026-0001", "办2026-0002"]
        gate.opened.set()

        async def first_numbered() -> bool:
            return (await _numbers(ctx))[ids[0]] is not None

        await _until(first_numbered)
        assert (await _numbers(ctx))[ids[0]] == "办2026-0003"
        assert await admin.check(ctx) == []
    finally:
        stop.set()
        gate.opened.set()
        await asyncio.gather(slow, fast, return_exceptions=True)
        await ctx.db.close()


async def test_stopping_finishes_the_item_in_hand_and_leaves_no_claim(
    settings: Settings, clock: FrozenClock
) -> None:
    """SIGTERM's path for a worker: stop waits for the item in hand to be decided, takes no
    other, and leaves no claim behind; the items it did not reach wait, unclaimed and with
    no try counted, for the next worker."""
    from jiyao.pipeline import InlinePipeline

    ctx = await open_context(_tuned(settings), clock=clock)
    try:
        ids = await _accept_all(ctx, _ban_messages(3, "stop"))
        gate = _Gate(ids[0])
        running = InlinePipeline(ctx, worker=Worker(ctx, steps=_with_step(Step("slow", gate))))
        await running.start()
        await asyncio.wait_for(gate.entered.wait(), 20)
        stopping = asyncio.create_task(running.stop())
        await asyncio.sleep(0.2)
        assert not stopping.done()  # the item in hand is finished first
        gate.opened.set()
        await asyncio.wait_for(stopping, 20)
        rows = await _rows(ctx, "SELECT id, outcome, claimed_by, attempts FROM items ORDER BY id")
        assert [r["outcome"] for r in rows] == ["register", "received", "received"]
        assert [r["claimed_by"] for r in rows] == [None, None, None]
        assert [r["attempts"] for r in rows[1:]] == [0, 0]
    finally:
        gate.opened.set()
        await ctx.db.close()
