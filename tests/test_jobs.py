"""The scheduled jobs run in `jiyao serve` on APScheduler whichever chat adapters are
enabled: an office with only WeCom gets its 特急 escalation, reminders and digest too."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from core.services.context import open_context
from jiyao import serve
from jiyao.jobs import Jobs
from tests.bot_worker import ShiftedClock, deliver
from tests.fake_wecom import FakeWeCom
from tests.wecom_helpers import (
    WECOM_USERS,
    running_wecom,
    wait_for,
    wecom_office,
    wecom_settled,
)


@pytest.fixture
async def fake() -> AsyncIterator[FakeWeCom]:
    async with FakeWeCom(users=set(WECOM_USERS.values())) as server:
        yield server


def _card_text(m: object) -> str:
    card = getattr(m, "body", {}).get("template_card") or {}
    return f"{card.get('main_title', {}).get('title', '')}\n{card.get('sub_title_text', '')}"


async def test_an_office_gets_the_jobs_with_wecom_only_or_no_chat(tmp_path: Path,
                                                                   fake: FakeWeCom) -> None:
    """Without any chat adapter the reminder sweep still runs: 催办 by mail needs none."""
    settings = wecom_office(tmp_path / "data", fake)
    assert settings.bot_token() is None
    ctx = await open_context(settings)
    try:
        assert isinstance(serve.jobs_component(ctx), Jobs)
        bare = settings.model_copy(update={"wecom": settings.wecom.model_copy(
            update={"enabled": False})})
        bare_ctx = dataclasses.replace(ctx, settings=bare)
        jobs = serve.jobs_component(bare_ctx)
        assert isinstance(jobs, Jobs)
        await jobs.start()
        try:  # the sweep alone: no digest, no 特急 escalation with nobody to reach
            assert jobs.scheduler is not None
            assert [j.id for j in jobs.scheduler.get_jobs()] == ["reminders"]
        finally:
            await jobs.stop()
        assert serve.chat_jobs_component(bare_ctx) is None  # `jiyao bot` has nothing to run
    finally:
        await ctx.db.close()


async def test_the_scheduler_escalates_an_unread_urgent_item_on_wecom(
    tmp_path: Path, fake: FakeWeCom
) -> None:
    """No Telegram bot: the escalation job, run by the scheduler, sends the 特急 again."""
    clock = ShiftedClock()
    async with running_wecom(wecom_office(tmp_path / "data", fake), clock) as (ctx, app):
        await deliver(ctx, "d006.eml")
        app.wake()
        await wecom_settled(ctx)
        clock.shift = timedelta(minutes=ctx.settings.bot.urgent_ack_minutes, seconds=1)
        jobs = Jobs(ctx, escalate_every=0.2, first_sweep=0.1, first_escalate=0.1)
        serve._wire([app, jobs])
        assert jobs.wakes == [app.wake]
        await jobs.start()
        try:
            await wait_for(lambda: any("第1次提醒" in _card_text(m) for m in fake.messages),
                           timeout=15)
        finally:
            await jobs.stop()


async def test_the_digest_runs_daily_at_its_time_in_the_offices_zone(
    tmp_path: Path, fake: FakeWeCom
) -> None:
    settings = wecom_office(tmp_path / "data", fake)
    ctx = await open_context(settings)
    jobs = Jobs(ctx)
    try:
        await jobs.start()
        assert jobs.scheduler is not None
        found = {job.id: job for job in jobs.scheduler.get_jobs()}
        assert set(found) == {"reminders", "urgent", "digest"}
        at: datetime = found["digest"].next_run_time
        hour, minute = (int(x) for x in settings.schedule.digest_time.split(":"))
        local = at.astimezone(settings.tz)
        assert (local.hour, local.minute) == (hour, minute)
        assert local - datetime.now(settings.tz) <= timedelta(days=1)
    finally:
        await jobs.stop()
        await ctx.db.close()
