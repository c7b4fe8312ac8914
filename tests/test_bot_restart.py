"""`jiyao bot` killed (SIGKILL) in the middle of a batch and started again: no push lost,
none doubled except those in flight, which come again marked 【重发】; a reply to a push
sent before the restart still finds its item."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections import Counter
from pathlib import Path

from bot.telegram.render import item_ref_in, item_refs_in
from core.services.context import Context, open_context
from tests.bot_worker import (
    TOKEN,
    bot_settings,
    deliver,
    pending_chat_events,
    pushes,
    start_bot_process,
)
from tests.fake_telegram import SEND_METHODS, FakeTelegram

#: 10 items for five different leaders (2 copies each of five corpus messages)
BATCH = ("d001.eml", "d004.eml", "d008.eml", "d009.eml", "d013.eml")


async def _in_flight(ctx: Context) -> set[tuple[int, int]]:
    """(item, chat) of push events claimed and not done: in flight when the process died."""
    async with ctx.db.reader() as r:
        rows = await r.fetchall(
            "SELECT item_id, target FROM outbox WHERE event = 'push'"
            " AND claimed_at IS NOT NULL AND done_at IS NULL")
    return {(int(x["item_id"]), int(x["target"])) for x in rows}


async def _wait(predicate: object, timeout: float, what: str, log: Path) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = predicate()  # type: ignore[operator]
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if asyncio.get_running_loop().time() > deadline:
            tail = log.read_text(encoding="utf-8", errors="replace")[-3000:]
            raise AssertionError(f"{what} 未在 {timeout} 秒内发生；机器人日志：\n{tail}")
        await asyncio.sleep(0.02)


async def test_sigkill_mid_batch_loses_nothing_and_marks_only_the_in_flight(
    tmp_path: Path, fake: FakeTelegram
) -> None:
    """Kill -9 while pushes are in flight, restart: every push arrives; only the in-flight
    ones come twice, the second time marked 【重发】; a reply to an old push finds its item."""
    data = tmp_path / "data"
    log = tmp_path / "bot.log"
    ctx = await open_context(bot_settings(data, fake))
    first = second = None
    try:
        # a backlog waiting at start goes as one batch per chat
        for name in BATCH:
            await deliver(ctx, name, message_id=f"restart-0-{name}@test")
        # each send stays in flight for a while, so the kill lands on one
        fake.set_delay(0.3, methods=SEND_METHODS)
        first = await start_bot_process(data, fake, log)
        await _wait(lambda: len(fake.sent()) >= 5, 20, "积压的批量推送", log)

        def single() -> bool:
            return any(100001 <= int(c.chat_id or 0) <= 100006 and c.result is not None
                       and len(item_refs_in(c.text)) == 1 for c in pushes(fake))

        # one item alone reaches its leaders as a push of its own
        await deliver(ctx, BATCH[0], message_id="restart-single@test")
        await _wait(single, 20, "单件推送", log)
        for name in BATCH:
            await deliver(ctx, name, message_id=f"restart-1-{name}@test")

        def sending() -> bool:
            # a push (not a reminder the sweeper queued meanwhile) is on its way
            return any(c.method in SEND_METHODS and c.ok and c.result is None
                       and "收件序号" in (c.text or "") for c in fake.calls)

        await _wait(sending, 10, "有推送在途", log)
        first.send_signal(signal.SIGKILL)
        assert await first.wait() == -signal.SIGKILL
        in_flight = await _in_flight(ctx)
        assert in_flight, "the kill did not land on a push in flight"
        before = {(i, c.chat_id) for c in pushes(fake) for i in item_refs_in(c.text)}
        fake.set_delay(0.0)

        # a leader answers a push delivered before the restart
        old = next(c for c in pushes(fake) if 100001 <= int(c.chat_id or 0) <= 100006
                   and c.result is not None and len(item_refs_in(c.text)) == 1)
        old_item = item_ref_in(old.text)
        fake.inject_message(int(old.chat_id or 0), "请有关部门抓紧落实。",
                            reply_to_message_id=old.result["message_id"])

        second = await start_bot_process(data, fake, log)
        await _wait(lambda: _none_pending(ctx), 40, "全部推送完成", log)
        await _wait(lambda: any("批示已记录" in (c.text or "") for c in fake.sent()), 10,
                    "批示确认", log)
        second.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(second.wait(), 15) == 0
        async with ctx.db.reader() as r:
            events = await r.fetchall(
                "SELECT item_id, target FROM outbox WHERE event = 'push'")
            recorded = await r.fetchall(
                "SELECT item_id, CAST(address AS INTEGER) AS chat_id, resend FROM deliveries"
                " WHERE purpose = 'push'")
            instruction = await r.fetchone("SELECT item_id, text FROM instructions")
    finally:
        for proc in (first, second):
            if proc is not None and proc.returncode is None:
                proc.kill()
                with contextlib.suppress(Exception):
                    await proc.wait()
        await ctx.db.close()

    expected = {(int(e["item_id"]), int(e["target"])) for e in events}
    got = Counter((i, int(c.chat_id or 0)) for c in pushes(fake) for i in item_refs_in(c.text))
    assert set(got) == expected, "a push was lost or went to the wrong chat"
    doubled = {pair for pair, n in got.items() if n > 1}
    assert doubled <= in_flight
    assert max(got.values()) <= 2
    marked = {(item_ref_in(c.text), int(c.chat_id or 0)) for c in pushes(fake)
              if (c.text or "").startswith("【重发】")}
    assert marked == in_flight
    for pair in doubled:
        copies = [c for c in pushes(fake)
                  if pair in {(i, c.chat_id) for i in item_refs_in(c.text)}]
        assert "【重发】" not in (copies[0].text or "")
    assert not (marked - in_flight)
    assert len(recorded) == len(expected)
    assert {(x["item_id"], x["chat_id"]) for x in recorded if x["resend"]} == in_flight
    assert before  # pushes went out before the kill
    assert TOKEN not in log.read_text(encoding="utf-8", errors="replace")
    assert instruction is not None
    assert (instruction["item_id"], instruction["text"]) == (old_item, "请有关部门抓紧落实。")


async def _none_pending(ctx: Context) -> bool:
    return await pending_chat_events(ctx) == 0
