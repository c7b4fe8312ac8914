"""The delivery loop against a misbehaving Bot API: 429s, 5xx, lost answers, blocked chats,
and the rate limits it must keep."""

from __future__ import annotations

import asyncio
import itertools
import re
from collections import Counter
from pathlib import Path

from bot.telegram.app import ChatBot
from bot.telegram.delivery import MOST_ITEMS, maybe_delivered
from bot.telegram.render import item_refs_in
from core.model import Kind
from core.services import push, registry
from core.services.context import Context, open_context
from core.storage import outbox
from tests.bot_worker import (
    CHANGWU,
    WENSHU,
    YINGJI,
    bot_settings,
    deliver,
    pushes,
    running_bot,
    settled,
)
from tests.fake_telegram import FakeTelegram, Upload

#: corpus messages registered and pushed to leaders
REGISTERED = ("d001.eml", "d004.eml", "d007.eml", "d008.eml", "d009.eml", "d011.eml",
              "d013.eml", "d020.eml", "d022.eml", "d023.eml")


async def _push_targets(ctx: Context) -> Counter[tuple[int, int]]:
    async with ctx.db.reader() as r:
        rows = await r.fetchall("SELECT item_id, target FROM outbox WHERE event = 'push'")
    return Counter((int(x["item_id"]), int(x["target"])) for x in rows)


def _received(fake: FakeTelegram) -> Counter[tuple[int, int]]:
    from bot.telegram.render import item_refs_in

    return Counter((i, int(c.chat_id or 0)) for c in pushes(fake) for i in item_refs_in(c.text))


async def test_everything_is_delivered_once_despite_429s_and_5xx(
    tmp_path: Path, fake: FakeTelegram
) -> None:
    """For a while 40 % of calls fail with 429 or 5xx; in the end each push arrived once."""
    fake.set_error_rate(0.4, statuses=(429, 500, 502, 503), retry_after=1, seed=11)
    async with running_bot(bot_settings(tmp_path / "data", fake)) as (ctx, _):
        for i, name in enumerate(REGISTERED):
            await deliver(ctx, name, message_id=f"flaky-{i}@test")
        await asyncio.sleep(2.5)
        failed = [c for c in fake.calls if c.failed and c.method != "getUpdates"]
        fake.set_error_rate(0.0)
        await settled(ctx, timeout=30)
        expected = await _push_targets(ctx)
        async with ctx.db.reader() as r:
            recorded = await r.fetchall(
                "SELECT item_id, CAST(address AS INTEGER) AS chat_id, resend FROM deliveries"
                " WHERE purpose = 'push'")
    assert failed, "the fault injection did not hit any call"
    assert {c.status for c in failed} & {429, 500, 502, 503}
    assert set(expected.values()) == {1}
    assert _received(fake) == expected
    assert not [c for c in pushes(fake) if "【重发】" in (c.text or "")]
    assert len(recorded) == len(expected)
    assert not [x for x in recorded if x["resend"]]


async def test_lost_answer_is_resent_marked(tmp_path: Path, fake: FakeTelegram) -> None:
    """The push arrived but its answer was lost: it goes again marked 【重发】, recorded once."""
    fake.lose_reply_next("sendMessage")
    async with running_bot(bot_settings(tmp_path / "data", fake)) as (ctx, _):
        got = await deliver(ctx, "d035.eml")  # classified: a plain sendMessage
        await fake.wait_until(lambda: len(pushes(fake, YINGJI)) >= 2, timeout=10)
        await settled(ctx)
        async with ctx.db.reader() as r:
            rows = await r.fetchall("SELECT CAST(message_ref AS INTEGER) AS message_id, resend"
                                    " FROM deliveries WHERE item_id = ?",
                                    (got.item_id,))
    first, second = pushes(fake, YINGJI)
    assert first.lost
    assert "【重发】" not in (first.text or "")
    assert (second.text or "").startswith("【重发】")
    assert [(x["message_id"], x["resend"]) for x in rows] == [
        (second.result["message_id"], 1)
    ]


async def test_blocked_chat_is_given_up_and_audited(tmp_path: Path, fake: FakeTelegram) -> None:
    """A chat that blocked the bot is not retried forever; the failure is in the audit log."""
    fake.block(CHANGWU)
    async with running_bot(bot_settings(tmp_path / "data", fake)) as (ctx, _):
        got = await deliver(ctx, "d008.eml")
        await settled(ctx)
        async with ctx.db.reader() as r:
            event = await r.fetchone(
                "SELECT attempts, last_error, done_at FROM outbox WHERE event = 'push'"
                " AND item_id = ?", (got.item_id,))
            audit = await r.fetchall("SELECT * FROM audit WHERE action = 'delivery.failed'")
    assert event is not None
    assert event["done_at"] is not None
    assert "Forbidden" in event["last_error"]
    assert len(audit) == 1
    assert len(fake.calls_of("sendDocument", include_failed=True)) == 1


async def test_pushes_keep_to_telegram_rate_limits(tmp_path: Path, fake: FakeTelegram) -> None:
    """One chat gets at most one message a second; the bot as a whole at most 30. Notices
    waiting for one chat go as few messages: a full batch, then the three left."""
    async with running_bot(bot_settings(tmp_path / "data", fake)) as (ctx, _):
        now = ctx.clock()
        async with ctx.db.unit_of_work() as uow:
            for i in range(MOST_ITEMS + 3):
                await outbox.enqueue(uow, channel="chat", event="notice", target=WENSHU,
                                     payload={"text": f"通知 {i}"}, at=now)
            for chat_id in range(500_001, 500_061):
                await outbox.enqueue(uow, channel="chat", event="notice", target=chat_id,
                                     payload={"text": "群发测试"}, at=now)
            await uow.commit()
        await settled(ctx, timeout=20)
    assert len(fake.sent()) == 62
    listed = [len(re.findall(r"通知 \d+", c.text or "")) for c in fake.sent(WENSHU)]
    assert listed == [MOST_ITEMS, 3]
    assert fake.max_in_window(1.0, WENSHU) == 1
    assert fake.max_rate_per_chat(1.0) <= 1.0
    assert fake.max_rate_total(1.0) <= 30.0
    times = fake.send_times(WENSHU)
    assert min(b - a for a, b in itertools.pairwise(times)) >= 1.0


async def test_plain_events_carry_text_buttons_and_files(
    tmp_path: Path, fake: FakeTelegram
) -> None:
    """Any chat event with a chat id target is sent: text, buttons, and a stored file."""
    async with running_bot(bot_settings(tmp_path / "data", fake)) as (ctx, _):
        digest = ctx.blobs.put(b"%PDF-1.4 stats")
        now = ctx.clock()
        async with ctx.db.unit_of_work() as uow:
            await outbox.enqueue(
                uow, channel="chat", event="stats.pdf", target=WENSHU, at=now,
                payload={"text": "本月统计 <附件>", "blob": digest, "filename": "统计.pdf",
                         "buttons": [[{"text": "已阅", "data": "r:1"}]]},
            )
            await uow.commit()
        await settled(ctx)
    (call,) = fake.sent(WENSHU)
    assert call.method == "sendDocument"
    assert call.params["caption"] == "本月统计 <附件>"
    upload = call.params["document"]
    assert isinstance(upload, Upload)
    assert (upload.filename, upload.data) == ("统计.pdf", b"%PDF-1.4 stats")
    assert call.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "r:1"


def test_only_unanswered_requests_count_as_maybe_delivered() -> None:
    """A timeout or dropped connection may have delivered; a 5xx or 429 answer did not."""
    import httpx
    from telegram.error import NetworkError, RetryAfter, TimedOut

    dropped = NetworkError("httpx.RemoteProtocolError: closed")
    dropped.__cause__ = httpx.RemoteProtocolError("closed")
    assert maybe_delivered(dropped)
    assert maybe_delivered(TimedOut())
    assert not maybe_delivered(NetworkError("Bad Gateway"))
    assert not maybe_delivered(RetryAfter(1))


async def test_route_events_left_by_an_earlier_version_are_routed_at_start(
    tmp_path: Path, fake: FakeTelegram
) -> None:
    """Items an earlier version left to be routed behind its transaction are routed when the
    service starts (before the chat adapters, as `jiyao serve` does); a damaged one fails on
    its own (kept, retried) and the others go out.

    The earlier version's state is made with no bot running: rewriting the outbox under a
    live delivery loop raced it (the loop had claimed or sent the deleted pushes, and
    SQLite gave their ids to the new route events, which the loop then marked done)."""
    settings = bot_settings(tmp_path / "data", fake)
    ctx = await open_context(settings)
    try:
        items = [await registry.register_paper(ctx, kind=Kind.YUE, sender="丹巴县人民政府",
                                               title=title)
                 for title in ("记录损坏的来文", "好的来文")]
        bad, good = items
        async with ctx.db.unit_of_work() as uow:
            # as the old version left them: a route event each, no pushes yet
            await uow.execute("DELETE FROM outbox WHERE event = 'push'")
            await uow.execute("UPDATE items SET kind = '公函' WHERE id = ?", (bad.id,))
            for item in items:
                await outbox.enqueue(uow, channel="chat", event="route", target="route",
                                     payload={"item_id": item.id}, at=ctx.clock(),
                                     item_id=item.id)
            await uow.commit()
        assert await push.route_waiting(ctx) == 1
    finally:
        await ctx.db.close()
    async with running_bot(settings) as (ctx, _):
        # the damaged item's route event stays, so wait for the pushes alone
        await fake.wait_until(lambda: any(good.id in item_refs_in(c.text)
                                          for c in pushes(fake)), timeout=15)
        async with ctx.db.reader() as r:
            route = await r.fetchone(
                "SELECT attempts, last_error, done_at FROM outbox WHERE event = 'route'"
                " AND item_id = ?", (bad.id,))
            pushed = await r.fetchall("SELECT item_id FROM outbox WHERE event = 'push'")
    assert {row["item_id"] for row in pushed} == {good.id}
    assert {i for c in pushes(fake) for i in item_refs_in(c.text)} == {good.id}
    assert route is not None
    assert route["done_at"] is None
    assert route["attempts"] >= 1
    assert "ValueError" in route["last_error"]


def test_urgent_events_go_before_ordinary_ones_in_a_chat_queue() -> None:
    """特急 pushes overtake ordinary ones waiting for the same chat, keeping their own order."""
    from collections import deque

    from core.chat.backlog import queue_event
    from core.storage.outbox import Event

    def event(i: int, urgent: bool) -> Event:
        return Event(i, "chat", "push", i, "100001", {"urgent": urgent}, 0, "", "")

    queue: deque[Event] = deque()
    for i, urgent in ((1, False), (2, False), (3, True), (4, False), (5, True)):
        queue_event(queue, event(i, urgent))
    assert [e.id for e in queue] == [3, 5, 1, 2, 4]


async def test_unreachable_bot_api_does_not_stop_start(tmp_path: Path) -> None:
    """With the Bot API down at start, start() returns and the bot connects once it is up."""
    import socket

    from bot.telegram import app as bot_app

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    async with FakeTelegram() as fake:
        settings = bot_settings(tmp_path / "data", fake)
    down = settings.model_copy(update={"bot": settings.bot.model_copy(
        update={"base_url": f"http://127.0.0.1:{port}/bot"})})
    ctx = await open_context(down)
    bot = ChatBot(ctx, poll=0.05)
    old = bot_app.RECONNECT_FIRST
    bot_app.RECONNECT_FIRST = 0.2
    try:
        await bot.start()  # must not raise: intake beside it keeps running
        assert bot.app is None
        async with FakeTelegram(port=port) as fake:
            await fake.wait_for("getMe", timeout=10)
            await fake.wait_until(lambda: bot.app is not None and bot.app.running, timeout=10)
    finally:
        bot_app.RECONNECT_FIRST = old
        await bot.stop()
        await ctx.db.close()
