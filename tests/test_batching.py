"""A backlog to one person goes as one message listing the items, each with its buttons,
on Telegram and on WeCom; 特急 goes alone and first (issue 15 item 4)."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from core.config import Settings
from core.model import Kind
from core.services import lookup, registry
from core.services.context import open_context
from tests.bot_worker import CHANGWU, bot_settings, button_data, deliver, running_bot, settled
from tests.fake_telegram import FakeTelegram, html_to_text
from tests.fake_wecom import FakeWeCom
from tests.wecom_helpers import (
    WECOM_USERS,
    callback_url,
    running_wecom,
    wait_for,
    wecom_office,
    wecom_settled,
)

REF = re.compile(r"收件序号 (\d+)")
ORDINARY = 11


async def _backlog(settings: Settings) -> tuple[list[int], int]:
    """Eleven 办件 for 常务副州长 and then one 特急, registered before any chat runs."""
    ctx = await open_context(settings)
    try:
        ordinary = [
            (await registry.register_paper(ctx, kind=Kind.BAN, sender="甘孜州财政局",
                                           title=f"关于第{i}批专项资金的请示")).id
            for i in range(ORDINARY)]
        urgent = await registry.register_paper(ctx, kind=Kind.BAN, sender="甘孜州财政局",
                                               title="关于紧急调拨救灾资金的请示",
                                               urgency="特急")
    finally:
        await ctx.db.close()
    return ordinary, urgent.id


async def test_a_telegram_backlog_is_batched_with_each_items_buttons(
    tmp_path: Path, fake: FakeTelegram
) -> None:
    settings = bot_settings(tmp_path / "data", fake)
    ordinary, urgent = await _backlog(settings)
    async with running_bot(settings) as (ctx, _):
        await fake.wait_until(lambda: len(fake.sent(CHANGWU)) >= 2)
        await settled(ctx, timeout=30)
    sent = [c for c in fake.sent(CHANGWU) if "收件序号" in (c.text or "")]
    listed = [[int(x) for x in REF.findall(c.text or "")] for c in sent]
    assert listed[0] == [urgent]  # alone and first
    assert "【特急】" in (sent[0].text or "")
    assert sorted(i for ids in listed[1:] for i in ids) == ordinary  # each once
    assert len(sent) < 1 + ORDINARY / 2
    for call, ids in zip(sent[1:], listed[1:], strict=True):
        if len(ids) > 1:
            assert html_to_text(call.text or "").startswith(f"待阅处收件 {len(ids)} 件")
        assert button_data(call) == [d for i in ids for d in (f"r:{i}", f"i:{i}")]


@pytest.fixture
async def wecom() -> AsyncIterator[FakeWeCom]:
    async with FakeWeCom(users=set(WECOM_USERS.values())) as server:
        yield server


async def test_a_wecom_backlog_is_one_drop_down_card(tmp_path: Path, wecom: FakeWeCom) -> None:
    """特急 alone and first; the eleven others in drop-down cards of up to ten, whose
    已阅 and 批示 act on the item chosen; 已阅 on one leaves the card to the others."""
    settings = wecom_office(tmp_path / "data", wecom)
    ordinary, urgent = await _backlog(settings)
    async with running_wecom(settings) as (ctx, app):
        app.wake()
        await wecom_settled(ctx, timeout=30)
        cards = [m for m in wecom.shown("changwu") if m.msgtype == "template_card"]
        texts = [f"{m.body['template_card']['main_title']['title']}\n"
                 f"{m.body['template_card'].get('sub_title_text', '')}" for m in cards]
        listed = [[int(x) for x in REF.findall(t)] for t in texts]
        assert listed[0] == [urgent]
        assert sorted(i for ids in listed[1:] for i in ids) == ordinary
        assert len(cards) == 1 + -(-ORDINARY // 10)
        for card, ids in zip(cards[1:], listed[1:], strict=True):
            body = card.body["template_card"]
            keys = [b["key"] for b in body["button_list"]]
            if len(ids) == 1:  # one left over: its own card, its own buttons
                assert keys == [f"r:{ids[0]}", f"i:{ids[0]}"]
                continue
            options = [int(o["id"]) for o in body["button_selection"]["option_list"]]
            assert options == ids
            assert keys == ["r:0", "i:0"]
        chosen = listed[1][1]
        card = cards[1]
        code = next(c for c, m in wecom.cards.items() if m is card)
        pressed = wecom.card_event_xml("changwu", "r:0", card.body["template_card"]["task_id"],
                                       code, selected=str(chosen))
        assert (await wecom.deliver(callback_url(app), pressed)).accepted
        await wait_for(lambda: any("已记录“已阅”" in (m.content or "")
                                   for m in wecom.shown("changwu")))
        read = await lookup.item_status(ctx, str(chosen))
        other = await lookup.item_status(ctx, str(listed[1][0]))
    assert [r["chat_id"] for r in read.reads] == [CHANGWU]
    assert other.reads == []
    assert code not in wecom.updated  # the card's buttons stay for the other items


async def test_wecom_batches_the_registrys_notices_too(tmp_path: Path,
                                                      wecom: FakeWeCom) -> None:
    """Six returned items waiting for 文书处理室: their notices share texts, each once."""
    settings = wecom_office(tmp_path / "data", wecom)
    ctx = await open_context(settings)
    try:
        returned = [(await deliver(ctx, "d026.eml", message_id=f"r{i}@test")).item_id
                    for i in range(6)]
    finally:
        await ctx.db.close()
    async with running_wecom(settings) as (ctx, app):
        app.wake()
        await wecom_settled(ctx, timeout=30)
    texts = [m.content for m in wecom.shown("wenshu") if m.msgtype == "text"]
    named = [int(x) for t in texts for x in REF.findall(t)]
    assert sorted(named) == sorted(returned)
    assert len(texts) < len(returned)
    assert any(t.startswith("新消息 ") for t in texts)


async def test_a_wecom_burst_stays_within_the_members_limit_with_room_for_urgent(
    tmp_path: Path,
) -> None:
    """Eighty pushes wait for one leader, then a 特急 comes, on a member limit shrunk to 6
    messages in 4 s (WeCom's 30 a minute, scaled down) on both sides: the fake drops
    nothing, every item is listed once in a few cards, and the 特急 goes at once though the
    ordinary cards have used what they may of the window (three slots stay for it)."""
    limits = ((6, 4.0),)
    async with FakeWeCom(users=set(WECOM_USERS.values()), member_limits=limits) as server:
        settings = wecom_office(tmp_path / "data", server)
        ctx = await open_context(settings)
        try:
            ordinary = [
                (await registry.register_paper(ctx, kind=Kind.BAN, sender="甘孜州财政局",
                                               title=f"关于第{i}批专项资金的请示")).id
                for i in range(80)]
        finally:
            await ctx.db.close()
        async with running_wecom(settings) as (ctx, app):
            assert app.client is not None
            pacer = app.client.pacer
            pacer.limits, pacer.margin = limits, 0.2
            app.wake()
            await wait_for(lambda: pacer.recent("changwu", 4.0) >= 3, timeout=20)
            await asyncio.sleep(0.5)  # the ordinary ones take what they may of the window
            registered = time.monotonic()
            urgent = await registry.register_paper(ctx, kind=Kind.BAN, sender="甘孜州财政局",
                                                   title="关于紧急调拨救灾资金的请示",
                                                   urgency="特急")
            app.wake()
            await wecom_settled(ctx, timeout=60)
        shown = server.shown("changwu")
        listed = [[int(x) for x in REF.findall(_shown_text(m))] for m in shown]
        assert server.dropped() == []
        assert sorted(i for ids in listed for i in ids if i != urgent.id) == ordinary
        # cards of ten, and a few not full (the tests' 0.05 s gap lets one go early)
        assert len(shown) <= 1 + 8 + 3
        first_urgent = next(m for m, ids in zip(shown, listed, strict=True) if urgent.id in ids)
        assert listed[shown.index(first_urgent)] == [urgent.id]  # alone
        # it did not wait for the window the ordinary cards keep filling
        assert first_urgent.at - registered < 1.5
        assert any(m.at > first_urgent.at for m in shown)  # ordinary ones were still waiting


def _shown_text(m: object) -> str:
    body = getattr(m, "body", {})
    card = body.get("template_card") or {}
    if card:
        return f"{card['main_title']['title']}\n{card.get('sub_title_text', '')}"
    return str(getattr(m, "content", "") or "")


async def _forty(settings: Settings, title: str) -> list[int]:
    """Forty 办件 for 常务副州长 with long titles (`title` with the number at {}),
    registered before any chat runs."""
    ctx = await open_context(settings)
    try:
        return [(await registry.register_paper(ctx, kind=Kind.BAN, sender="甘孜州财政局",
                                               title=title.format(i))).id for i in range(40)]
    finally:
        await ctx.db.close()


async def test_a_telegram_backlog_longer_than_a_message_fills_each_and_waits_for_the_next(
    tmp_path: Path, fake: FakeTelegram
) -> None:
    """Forty long-titled 办件 for one leader: each message is filled to near Telegram's
    4,096 characters (not halved), the rest waits for the chat's next slot, and every item
    is listed exactly once."""
    settings = bot_settings(tmp_path / "data", fake)
    ids = await _forty(settings, "关于申请下达第{}批省级财政衔接推进乡村振兴补助资金"
                                 "并做好项目资金监管和绩效评价工作以及配套资金到位情况"
                                 "专项检查的请示")
    async with running_bot(settings) as (ctx, _):
        await settled(ctx, timeout=60)
    sent = [c for c in fake.sent(CHANGWU) if "收件序号" in (c.text or "")]
    listed = [[int(x) for x in REF.findall(c.text or "")] for c in sent]
    assert sorted(i for group in listed for i in group) == ids
    lengths = [len(html_to_text(c.text or "")) for c in sent]
    assert max(lengths) <= 4096
    assert len(sent) >= 2  # forty of these do not fit in one message
    assert all(n > 3400 for n in lengths[:-1]), lengths  # filled, not halved
    assert fake.max_in_window(1.0, CHANGWU) == 1


def test_what_did_not_fit_goes_back_first_in_line_after_any_urgent() -> None:
    from collections import deque

    from core.chat.backlog import put_back
    from core.services.outbox import Event

    def event(n: int, *, urgent: bool = False) -> Event:
        return Event(id=n, channel="chat", event="push", item_id=n, target=str(CHANGWU),
                     payload={"urgent": urgent}, attempts=0, created_at="", due_at="")

    queue = deque([event(9, urgent=True), event(5), event(6)])
    put_back(queue, [event(1), event(2)])
    assert [e.id for e in queue] == [9, 1, 2, 5, 6]
    empty: deque[Event] = deque()
    put_back(empty, [event(3)])
    assert [e.id for e in empty] == [3]


def test_a_telegram_batch_keeps_under_100_buttons_and_4096_characters() -> None:
    """Forty items of three buttons each do not go in one message: Telegram refuses more
    than 100 buttons (the fake does too); each group's listing also fits 4,096."""
    from bot.telegram import render
    from bot.telegram.delivery import BUTTON_LIMIT, TEXT_LIMIT, Delivery
    from core.chat.batch import batch_message
    from core.chat.message import Action, Message, line

    def push(n: int, title: str) -> Message:
        rows = (line(f"收件序号 {n}"), line(f"标题：{title}"))
        acts = (Action("同意拟办", f"a:{n}"), Action("已阅", f"r:{n}"), Action("批示", f"i:{n}"))
        return Message(rows, (acts,), None, n, head=0)

    short = Delivery._groups([push(n, "短") for n in range(1, 41)])
    assert [len(g) for g in short] == [33, 7]
    long = Delivery._groups([push(n, "长" * 600) for n in range(1, 41)])
    for groups in (short, long):
        assert [m.item_id for g in groups for m in g] == list(range(1, 41))
        for g in groups:
            assert sum(len(m.all_actions()) for m in g) <= BUTTON_LIMIT
            listing = render.plain_length(render.html_text(batch_message(g)))
            assert len(g) == 1 or listing <= TEXT_LIMIT
    assert max(len(g) for g in long) < 7


async def test_a_filled_batch_with_rare_characters_is_still_delivered(
    tmp_path: Path, fake: FakeTelegram
) -> None:
    """Titles naming a person with a rare character outside the BMP (赵孟𫖯, 𠮷): each
    counts as two for Telegram. Every item must still reach the leader."""
    settings = bot_settings(tmp_path / "data", fake)
    ids = await _forty(settings, "关于𠮷𠮷𠮷𠮷𠮷同志（赵孟𫖯𫖯𫖯𫖯）第{}批省级财政衔接"
                                 "推进乡村振兴补助资金并做好项目资金监管和绩效评价工作"
                                 "以及配套资金到位情况专项检查的请示")
    async with running_bot(settings) as (ctx, _):
        await settled(ctx, timeout=60)
        async with ctx.db.reader() as r:
            failed = await r.fetchall(
                "SELECT id, last_error FROM outbox WHERE last_error IS NOT NULL")
    sent = [c for c in fake.sent(CHANGWU) if "收件序号" in (c.text or "")]
    listed = sorted(int(x) for c in sent for x in REF.findall(c.text or ""))
    assert [dict(x) for x in failed] == []
    assert listed == ids
