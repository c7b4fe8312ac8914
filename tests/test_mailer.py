"""Return notices mailed from the outbox through a loopback smarthost, with retries."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

from core.config import Settings
from core.retry import MAIL
from core.services.context import Context, open_context
from core.storage import outbox
from intake_daemon.mailer import ReturnMailer
from tests.conftest import FrozenClock
from tests.intake_helpers import free_port, smarthost

SUBJECT = "退回通知：川财建〔2024〕140号（错投）"
BODY = "四川省财政厅：\n\n……未予签收，现予退回。\n\n请更正后重新发送。\n"


def _pointing_at(settings: Settings, port: int) -> Settings:
    return settings.model_copy(update={"smarthost": settings.smarthost.model_copy(
        update={"host": "127.0.0.1", "port": port, "enabled": True, "timeout": 5.0})})


async def _enqueue(ctx: Context, to: str = "wenshu@czt.sc.gov.cn") -> int:
    async with ctx.db.unit_of_work() as uow:
        event_id = await outbox.enqueue(
            uow, channel=outbox.MAIL, event="return_notice", target=to,
            payload={"to": to, "subject": SUBJECT, "body": BODY, "in_reply_to": "m1@x"},
            at=ctx.clock(),
        )
        await uow.commit()
    return event_id


async def _event(ctx: Context, event_id: int) -> dict[str, Any]:
    async with ctx.db.reader() as r:
        row = await r.fetchone("SELECT * FROM outbox WHERE id = ?", (event_id,))
    assert row is not None
    return dict(row)


async def test_pending_notice_is_mailed_once_and_marked_done(
    settings: Settings, clock: FrozenClock
) -> None:
    """The smarthost gets the Chinese notice; the event is done; a second drain sends nothing."""
    async with smarthost() as (mailbox, port):
        ctx = await open_context(_pointing_at(settings, port), clock=clock)
        try:
            event_id = await _enqueue(ctx)
            mailer = ReturnMailer(ctx)
            assert await mailer.drain() == 1
            assert await mailer.drain() == 0
            (got,) = await mailbox.wait_for(1)
            assert got.rcpt_tos == ["wenshu@czt.sc.gov.cn"]
            assert got.mail_from == "shouwen@gzz.gov.cn"
            assert got.message["Subject"] == SUBJECT
            assert "请更正后重新发送" in got.message.get_content()
            assert got.message["Auto-Submitted"] == "auto-replied"
            assert got.message["In-Reply-To"] == "<m1@x>"
            assert (await _event(ctx, event_id))["done_at"] is not None
        finally:
            await ctx.db.close()


async def test_smarthost_down_then_up_is_retried_after_backoff(
    settings: Settings, clock: FrozenClock
) -> None:
    """Connection refused: the attempt is recorded and retried once its time comes."""
    port = free_port()
    ctx = await open_context(_pointing_at(settings, port), clock=clock)
    try:
        event_id = await _enqueue(ctx)
        mailer = ReturnMailer(ctx)
        assert await mailer.drain() == 0
        failed = await _event(ctx, event_id)
        assert failed["attempts"] == 1
        assert failed["done_at"] is None
        assert failed["last_error"]
        assert failed["due_at"] > failed["created_at"]
        async with smarthost(port) as (mailbox, _):
            assert await mailer.drain() == 0  # not due yet
            clock.now += timedelta(seconds=40)
            assert await mailer.drain() == 1
            await mailbox.wait_for(1)
        assert (await _event(ctx, event_id))["done_at"] is not None
    finally:
        await ctx.db.close()


async def test_temporary_refusal_is_retried(settings: Settings, clock: FrozenClock) -> None:
    """A 4xx from the smarthost leaves the notice pending for a later attempt."""
    async with smarthost() as (mailbox, port):
        mailbox.reply = "451 4.3.0 try later"
        ctx = await open_context(_pointing_at(settings, port), clock=clock)
        try:
            event_id = await _enqueue(ctx)
            mailer = ReturnMailer(ctx)
            assert await mailer.drain() == 0
            event = await _event(ctx, event_id)
            assert (event["attempts"], event["done_at"]) == (1, None)
            mailbox.reply = "250 OK"
            clock.now += timedelta(minutes=2)
            assert await mailer.drain() == 1
        finally:
            await ctx.db.close()


async def test_permanent_refusal_tells_staff(settings: Settings, clock: FrozenClock) -> None:
    """A 5xx is not retried: the event is closed and registry staff are told in chat."""
    async with smarthost() as (mailbox, port):
        mailbox.reply = "550 5.1.1 No such user"
        ctx = await open_context(_pointing_at(settings, port), clock=clock)
        try:
            event_id = await _enqueue(ctx, to="nobody@czt.sc.gov.cn")
            assert await ReturnMailer(ctx).drain() == 0
            event = await _event(ctx, event_id)
            assert event["done_at"] is not None
            assert "550" in event["last_error"]
            async with ctx.db.reader() as r:
                notes = await r.fetchall(
                    "SELECT target, payload FROM outbox WHERE event = 'staff_notice'"
                )
            assert sorted(int(n["target"]) for n in notes) == [200001, 200002]
            text = json.loads(notes[0]["payload"])["text"]
            assert "退回通知未送达" in text
            assert "nobody@czt.sc.gov.cn" in text
        finally:
            await ctx.db.close()


async def test_running_mailer_is_woken_and_stops(settings: Settings, clock: FrozenClock) -> None:
    """As a component: woken after a commit it mails at once, and stops cleanly."""
    async with smarthost() as (mailbox, port):
        ctx = await open_context(_pointing_at(settings, port), clock=clock)
        mailer = ReturnMailer(ctx, poll=30)
        await mailer.start()
        try:
            await asyncio.sleep(0.05)
            await _enqueue(ctx)
            mailer.wake()
            await mailbox.wait_for(1, timeout=5)
        finally:
            await mailer.stop()
            await ctx.db.close()


def test_mail_retries_double_from_30_seconds_up_to_an_hour() -> None:
    """Return mail waits 30 s after the first failure, doubling, with jitter, at most ~1 h."""
    for attempts in range(12):
        base = min(MAIL.cap, 30 * 2**attempts)
        delays = {MAIL.delay(attempts).total_seconds() for _ in range(20)}
        assert all(base <= d <= base + 0.2 * MAIL.first for d in delays), (attempts, delays)
        assert len(delays) > 1  # jittered
    assert MAIL.delay(100).total_seconds() <= MAIL.cap + 0.2 * MAIL.first
