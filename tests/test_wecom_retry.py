"""A WeCom callback whose handling failed is not marked handled: a transient failure is
tried again (in this run, or after a restart) and records nothing twice; a permanent one,
or one whose tries ran out, is marked failed with its reason and registry staff are told.
Over loopback against tests/fake_wecom.py, with the real adapter and database."""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.wecom.app import WeComBot
from bot.wecom.callback import is_transient
from bot.wecom.client import BusyError, ContentError, RateLimitedError, TransportError
from core.errors import InvalidInputError, StorageError
from core.retry import RetryPolicy
from core.services import chat_inbox, handling, instructions, lookup
from core.services.context import Context
from tests.bot_worker import ShiftedClock, deliver
from tests.conftest import run_cli
from tests.fake_wecom import FakeWeCom, Message
from tests.test_wecom_e2e import CHANGWU, WENSHU, card_of, cards, keys, press, say, texts
from tests.wecom_helpers import (
    WECOM_USERS,
    running_wecom,
    wait_for,
    wecom_office,
    wecom_settled,
)

#: a retry in a few hundredths of a second
QUICK = RetryPolicy(first=0.05, cap=0.2)
#: a retry an hour away: only a restart (with the clock moved on) reaches it
SLOW = RetryPolicy(first=3600.0, cap=3600.0)
RECORDED = "批示已记录"
FAILED = "【聊天回调处理失败】"


@pytest.fixture
async def fake() -> AsyncIterator[FakeWeCom]:
    async with FakeWeCom(users=set(WECOM_USERS.values())) as server:
        yield server


async def inbox_rows(ctx: Context) -> list[Any]:
    async with ctx.db.reader() as r:
        return await r.fetchall("SELECT key, attempts, retry_at, done_at, failed_at, error"
                                " FROM chat_inbox WHERE key LIKE 'msg%' ORDER BY received_at")


async def until(check: Callable[[], Awaitable[bool]], timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError("condition not reached")
        await asyncio.sleep(0.02)


class FailingInstruct:
    """`instructions.instruct` replaced: raises `error` on the first `times` calls (None:
    on every one), then records as the real one does; `calls` counts them."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, error: Exception,
                 times: int | None = None) -> None:
        self.error, self.times, self.calls = error, times, 0
        self._real = instructions.instruct
        monkeypatch.setattr(instructions, "instruct", self)

    async def __call__(self, *args: Any, **kw: Any) -> instructions.Instructed:
        self.calls += 1
        if self.times is None or self.calls <= self.times:
            raise self.error
        return await self._real(*args, **kw)


async def prompted(ctx: Context, fake: FakeWeCom, app: WeComBot) -> int:
    """A 办件 pushed to 常务副州长, who pressed 批示 and got the prompt: its item id."""
    got = await deliver(ctx, "d008.eml")
    await wecom_settled(ctx)
    await press(fake, app, CHANGWU, card_of(fake, CHANGWU, got.item_id), f"i:{got.item_id}")
    await wait_for(lambda: any("请直接发送对" in t for t in texts(fake, CHANGWU)))
    return got.item_id


def count(fake: FakeWeCom, user: str, text: str) -> int:
    return sum(text in t for t in texts(fake, user))


async def test_wecom_busy_while_answering_a_pishi_is_tried_again_and_records_it_once(
    tmp_path: Path, fake: FakeWeCom
) -> None:
    """The 批示 is recorded, then WeCom answers the confirmation with -1 (system busy): the
    callback is tried again; the second try finds the 批示 by its MsgId (the prompt it
    answered is closed by now), records nothing, and the leader gets the confirmation."""
    async with running_wecom(wecom_office(tmp_path / "data", fake),
                             callback_retry=QUICK) as (ctx, app):
        item_id = await prompted(ctx, fake, app)
        # the leader's answer fails, not the notice to 文书处理室 sent meanwhile
        fake.fail_next_to[CHANGWU] = deque([-1])
        await say(fake, app, CHANGWU, "请财政局抓紧研究，提出意见。", "7001")
        await wait_for(lambda: count(fake, CHANGWU, RECORDED) >= 1)
        await asyncio.sleep(0.3)  # time for a third handling to show, were there one
        status = await lookup.item_status(ctx, str(item_id))
        rows = await inbox_rows(ctx)
        assert app.server is not None
        retried = app.server.retried
    assert ("message/send", -1) in fake.refusals
    assert [i["text"] for i in status.instructions] == ["请财政局抓紧研究，提出意见。"]
    assert count(fake, CHANGWU, RECORDED) == 1
    assert count(fake, CHANGWU, "如需批示") == 0
    assert retried == 1
    assert [(r["attempts"], r["done_at"] is not None, r["failed_at"]) for r in rows] == [
        (1, True, None)]
    assert "BusyError" in rows[0]["error"]


async def test_a_busy_database_is_tried_again_not_answered_as_a_failure(
    tmp_path: Path, fake: FakeWeCom, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The database refuses the 批示's write once (as when another process held the lock
    past the busy timeout): the leader is not told 未能完成, the callback is tried again
    and the 批示 recorded once."""
    busy_once = FailingInstruct(monkeypatch, StorageError("数据库写入失败：database is locked"),
                                times=1)
    async with running_wecom(wecom_office(tmp_path / "data", fake),
                             callback_retry=QUICK) as (ctx, app):
        item_id = await prompted(ctx, fake, app)
        await say(fake, app, CHANGWU, "同意。", "7002")
        await wait_for(lambda: count(fake, CHANGWU, RECORDED) >= 1)
        status = await lookup.item_status(ctx, str(item_id))
    assert busy_once.calls == 2
    assert [i["text"] for i in status.instructions] == ["同意。"]
    assert count(fake, CHANGWU, "未能完成") == 0


async def test_a_permanent_failure_is_marked_failed_staff_are_told_and_it_is_not_retried(
    tmp_path: Path, fake: FakeWeCom, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug in the handling (not transient): tried once, marked failed with its reason,
    audited, 文书处理室 told in Chinese, and listed for staff; a restart does not try it."""
    broken = FailingInstruct(monkeypatch, KeyError("seq"))
    settings = wecom_office(tmp_path / "data", fake)
    async with running_wecom(settings, callback_retry=QUICK) as (ctx, app):
        await prompted(ctx, fake, app)
        await say(fake, app, CHANGWU, "请财政局抓紧研究。", "7003")
        await wait_for(lambda: count(fake, WENSHU, FAILED) >= 1)
        await asyncio.sleep(0.3)  # time for a retry to show, were there one
        rows = await inbox_rows(ctx)
        failed = await chat_inbox.failed(ctx, "wecom")
        async with ctx.db.reader() as r:
            audited = await r.fetchall(
                "SELECT detail FROM audit WHERE action = 'chat.callback_failed'")
    assert broken.calls == 1
    assert [(r["attempts"], r["done_at"], r["failed_at"] is not None) for r in rows] == [
        (1, None, True)]
    assert "KeyError" in rows[0]["error"]
    assert [k.fields["Content"] for k in failed] == ["请财政局抓紧研究。"]
    assert len(audited) == 1
    notice = next(t for t in texts(fake, WENSHU) if FAILED in t)
    assert "常务副州长" in notice
    assert "“请财政局抓紧研究。”" in notice
    assert "重试无益" in notice
    assert "KeyError" in notice
    # the leader is told too, without the error's text
    (told,) = [t for t in texts(fake, CHANGWU) if "系统未能处理" in t]
    assert "“请财政局抓紧研究。”" in told
    assert "已告知文书处理室与您核实" in told
    assert "KeyError" not in told
    async with running_wecom(settings, callback_retry=QUICK) as (ctx, app):
        await asyncio.sleep(0.3)
        assert await chat_inbox.Inbox(ctx, "wecom").waiting() == []
    assert broken.calls == 1
    # staff see it in `jiyao queue`
    shown = run_cli("queue", data_dir=tmp_path / "data")
    assert shown.returncode == 0, shown.stderr
    assert "聊天回调处理失败：1 条" in shown.stdout
    assert f"wecom:{CHANGWU}  消息“请财政局抓紧研究。”  试 1 次：KeyError" in shown.stdout
    as_json = json.loads(run_cli("queue", "--json", data_dir=tmp_path / "data").stdout)
    assert [(c["user"], c["tries"]) for c in as_json["callbacks_failed"]] == [(CHANGWU, 1)]


async def test_tries_running_out_mark_it_failed_and_tell_staff(
    tmp_path: Path, fake: FakeWeCom, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The database stays busy for every try: after three the callback is failed, staff
    told how many tries were made; it is not tried a fourth time."""
    busy = FailingInstruct(monkeypatch, StorageError("数据库写入失败：database is locked"))
    async with running_wecom(wecom_office(tmp_path / "data", fake), callback_retry=QUICK,
                             callback_tries=3) as (ctx, app):
        await prompted(ctx, fake, app)
        await say(fake, app, CHANGWU, "阅。", "7004")
        await wait_for(lambda: count(fake, WENSHU, FAILED) >= 1)
        await asyncio.sleep(0.3)  # time for a fourth try to show, were there one
        rows = await inbox_rows(ctx)
    assert busy.calls == 3
    assert [(r["attempts"], r["failed_at"] is not None) for r in rows] == [(3, True)]
    notice = next(t for t in texts(fake, WENSHU) if FAILED in t)
    assert "重试 3 次仍未成功" in notice
    assert "database is locked" in notice
    assert count(fake, CHANGWU, "未能完成") == 0


async def test_a_retry_waiting_at_a_stop_is_made_after_the_restart(
    tmp_path: Path, fake: FakeWeCom
) -> None:
    """The answer fails (WeCom busy) and the retry is an hour away when jiyao stops; the
    next start, once that hour has passed, tries it: the leader gets the confirmation,
    the 批示 recorded by the first try is not recorded again."""
    settings = wecom_office(tmp_path / "data", fake)
    async with running_wecom(settings, callback_retry=SLOW) as (ctx, app):
        item_id = await prompted(ctx, fake, app)
        fake.fail_next_to[CHANGWU] = deque([-1])
        await say(fake, app, CHANGWU, "请财政局抓紧研究，提出意见。", "7005")

        async def retry_kept() -> bool:
            return any(r["attempts"] == 1 for r in await inbox_rows(ctx))

        await until(retry_kept)
    assert count(fake, CHANGWU, RECORDED) == 0
    clock = ShiftedClock()
    clock.shift = timedelta(hours=2)
    async with running_wecom(settings, clock, callback_retry=SLOW) as (ctx, app):
        await wait_for(lambda: count(fake, CHANGWU, RECORDED) >= 1)
        status = await lookup.item_status(ctx, str(item_id))
        rows = await inbox_rows(ctx)
    assert [i["text"] for i in status.instructions] == ["请财政局抓紧研究，提出意见。"]
    assert count(fake, CHANGWU, RECORDED) == 1
    assert [r["done_at"] is not None for r in rows] == [True]


async def test_accept_pressed_and_tried_again_after_a_lost_answer_records_one_pishi(
    tmp_path: Path, fake: FakeWeCom
) -> None:
    """同意拟办 records a 批示 from a button press, which has no MsgId: the press tried again
    after its answer failed must find that 批示 (by the press's key), not add a second."""
    async with running_wecom(wecom_office(tmp_path / "data", fake),
                             callback_retry=QUICK) as (ctx, app):
        got = await deliver(ctx, "d008.eml")
        await wecom_settled(ctx)
        await handling.propose(ctx, ref=str(got.number), text="拟请综合科牵头办理",
                               leader="常务副州长", units=["综合科"])
        app.wake()

        def proposal() -> Message | None:
            return next((m for m in cards(fake, CHANGWU)
                         if f"a:{got.item_id}" in keys(m)), None)

        await wait_for(lambda: proposal() is not None)
        await wecom_settled(ctx)  # the card's file too: the failure is for the answer
        card = proposal()
        assert card is not None
        fake.fail_next_to[CHANGWU] = deque([-1])
        await press(fake, app, CHANGWU, card, f"a:{got.item_id}")
        await wait_for(lambda: count(fake, CHANGWU, "已同意拟办") >= 1)
        await asyncio.sleep(0.3)
        status = await lookup.item_status(ctx, str(got.item_id))
        assert app.server is not None
        retried = app.server.retried
    assert retried == 1
    assert len(status.instructions) == 1
    assert status.instructions[0]["text"].startswith("同意拟办意见：拟请综合科牵头办理")
    assert count(fake, CHANGWU, "已同意拟办（第1条批示）") == 1


def test_what_counts_as_transient() -> None:
    assert is_transient(BusyError("message/send", -1, "system busy"))
    assert is_transient(RateLimitedError("message/send", 45009, "api freq out of limit"))
    assert is_transient(TransportError("message/send", None, "HTTP 502"))
    assert is_transient(StorageError("数据库写入失败：database is locked"))
    assert is_transient(TimeoutError())
    assert not is_transient(ContentError("message/send", 44004, "empty content"))
    assert not is_transient(InvalidInputError("批示内容为空"))
    assert not is_transient(KeyError("seq"))
