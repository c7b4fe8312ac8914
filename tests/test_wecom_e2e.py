"""End to end over loopback: the real WeCom adapter (client, delivery, callback server)
against tests/fake_wecom.py, on the example office with some people on WeCom."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.wecom.app import WeComBot
from core.model import Kind
from core.services import circulation, lookup, registry
from core.services.context import open_context
from tests.bot_worker import ShiftedClock, deliver
from tests.fake_wecom import FakeWeCom, Message
from tests.wecom_helpers import (
    WECOM_USERS,
    callback_url,
    running_wecom,
    wait_for,
    wecom_office,
    wecom_settled,
)

CHANGWU, YINGJI, ZHOUZHANG, ZHIBAN, WENSHU = "changwu", "yingji", "zhouzhang", "zhiban", "wenshu"


@pytest.fixture
async def fake() -> AsyncIterator[FakeWeCom]:
    async with FakeWeCom(users=set(WECOM_USERS.values())) as server:
        yield server


def cards(fake: FakeWeCom, user: str) -> list[Message]:
    return [m for m in fake.shown(user) if m.msgtype == "template_card"]


def card_text(message: Message) -> str:
    card = message.body["template_card"]
    return f"{card['main_title']['title']}\n{card.get('sub_title_text', '')}"


def keys(message: Message) -> list[str]:
    return [b["key"] for b in message.body["template_card"]["button_list"]]


def card_of(fake: FakeWeCom, user: str, item_id: int) -> Message:
    for m in cards(fake, user):
        if f"收件序号 {item_id}" in card_text(m):
            return m
    raise AssertionError(f"no card of item {item_id} to {user}")


def response_code(fake: FakeWeCom, message: Message) -> str:
    return next(code for code, m in fake.cards.items() if m is message)


async def press(fake: FakeWeCom, app: WeComBot, user: str, message: Message, key: str) -> None:
    task = message.body["template_card"]["task_id"]
    got = await fake.deliver(callback_url(app),
                             fake.card_event_xml(user, key, task, response_code(fake, message)))
    assert got.accepted


async def say(fake: FakeWeCom, app: WeComBot, user: str, text: str, msg_id: str) -> None:
    got = await fake.deliver(callback_url(app), fake.text_xml(user, text, msg_id))
    assert got.accepted


def texts(fake: FakeWeCom, user: str) -> list[str]:
    return [m.content for m in fake.shown(user) if m.msgtype == "text"]


async def test_pushes_follow_the_portfolio_as_cards_with_the_file(
    tmp_path: Path, fake: FakeWeCom
) -> None:
    """A 办件 from 州财政局 reaches 常务副州长 on WeCom as a card (已阅, 批示) and its file;
    nobody else on WeCom gets it; the sent card is recorded as (wecom, userid, msgid)."""
    async with running_wecom(wecom_office(tmp_path / "data", fake)) as (ctx, _):
        got = await deliver(ctx, "d008.eml")
        await wecom_settled(ctx)
        async with ctx.db.reader() as r:
            rows = await r.fetchall("SELECT channel, address, message_ref FROM deliveries"
                                    " WHERE item_id = ? AND channel = 'wecom'", (got.item_id,))
    card = card_of(fake, CHANGWU, got.item_id)
    text = card_text(card)
    assert text.startswith(f"办件 {got.number}")
    assert "来文单位：甘孜州财政局" in text
    assert "标题：甘孜州财政局关于动用州级预备费支持灾后恢复重建的请示" in text
    assert "点“批示”后发送批示内容即可批示。" in text
    assert keys(card) == [f"r:{got.item_id}", f"i:{got.item_id}"]
    files = [m for m in fake.shown(CHANGWU) if m.msgtype == "file"]
    assert len(files) == 1
    assert fake.media[files[0].body["file"]["media_id"]][0].endswith(".docx")
    for user in (YINGJI, ZHOUZHANG, ZHIBAN, WENSHU):
        assert fake.shown(user) == [], user
    assert [tuple(r) for r in rows] == [("wecom", CHANGWU, card.msgid)]


async def test_read_by_card_is_recorded_and_the_card_marked_done(
    tmp_path: Path, fake: FakeWeCom
) -> None:
    async with running_wecom(wecom_office(tmp_path / "data", fake)) as (ctx, app):
        got = await deliver(ctx, "d008.eml")
        await wecom_settled(ctx)
        card = card_of(fake, CHANGWU, got.item_id)
        await press(fake, app, CHANGWU, card, f"r:{got.item_id}")
        await wait_for(lambda: any("已记录“已阅”" in t for t in texts(fake, CHANGWU)))
        status = await lookup.item_status(ctx, str(got.item_id))
    assert [(r["reader"], r["how"]) for r in status.reads] == [("常务副州长", "read")]
    assert fake.updated[response_code(fake, card)] == ([CHANGWU], "已阅")


async def test_a_retried_button_press_is_handled_once(tmp_path: Path, fake: FakeWeCom) -> None:
    """批示 pressed, and WeCom retries the event (it has no MsgId) after two lost answers:
    one prompt, one card update."""
    async with running_wecom(wecom_office(tmp_path / "data", fake)) as (ctx, app):
        got = await deliver(ctx, "d008.eml")
        await wecom_settled(ctx)
        card = card_of(fake, CHANGWU, got.item_id)
        xml = fake.card_event_xml(CHANGWU, f"i:{got.item_id}",
                                  card.body["template_card"]["task_id"],
                                  response_code(fake, card))
        sent = await fake.deliver(callback_url(app), xml, lose_answers=2)
        await wait_for(lambda: any("请直接发送对" in t for t in texts(fake, CHANGWU)))
        await asyncio.sleep(0.5)  # time for a second handling to show, were there one
    assert len(sent.attempts) == 3
    assert sum("请直接发送对" in t for t in texts(fake, CHANGWU)) == 1
    assert fake.updated[response_code(fake, card)] == ([CHANGWU], "待批示")


async def test_instruct_by_button_then_text_turns_a_yue_into_a_numbered_ban(
    tmp_path: Path, fake: FakeWeCom
) -> None:
    """批示 pressed, then the text: recorded verbatim, the 阅件 becomes a 办件 with the next
    办件 number; a 批示 naming its 收件序号 works without pressing; the same text
    callback retried is recorded once."""
    async with running_wecom(wecom_office(tmp_path / "data", fake)) as (ctx, app):
        yue = await registry.register_paper(ctx, kind=Kind.YUE, sender="甘孜州财政局",
                                            title="关于州级财政预算执行情况的通报")
        other = await registry.register_paper(ctx, kind=Kind.YUE, sender="甘孜州财政局",
                                              title="关于政府债务管理情况的通报")
        app.wake()
        await wecom_settled(ctx)
        card = card_of(fake, CHANGWU, yue.id)
        await press(fake, app, CHANGWU, card, f"i:{yue.id}")
        await wait_for(lambda: any("请直接发送对" in t for t in texts(fake, CHANGWU)))
        await say(fake, app, CHANGWU, "请财政局抓紧研究，提出意见。", "7001")
        await wait_for(lambda: any("批示已记录" in t for t in texts(fake, CHANGWU)))
        await say(fake, app, CHANGWU, f"收件序号 {other.id} 同意。", "7002")
        await wait_for(lambda: sum("批示已记录" in t for t in texts(fake, CHANGWU)) >= 2)
        # a plain text after both: nothing waits for a 批示, so it gets the hint
        await say(fake, app, CHANGWU, "好的", "7003")
        await wait_for(lambda: any("如需批示" in t for t in texts(fake, CHANGWU)))
        first = await lookup.item_status(ctx, str(yue.id))
        second = await lookup.item_status(ctx, str(other.id))
    assert [i["text"] for i in first.instructions] == ["请财政局抓紧研究，提出意见。"]
    assert first.item["kind"] == "办件"
    answer = next(t for t in texts(fake, CHANGWU) if "批示已记录" in t)
    assert f"本件已由阅件 {yue.number} 转为办件，办件编号 {first.item['number']}" in answer
    assert [i["text"] for i in second.instructions] == ["同意。"]
    assert fake.updated[response_code(fake, card)] == ([CHANGWU], "待批示")


async def test_classified_item_is_an_envelope_only_card(tmp_path: Path, fake: FakeWeCom) -> None:
    async with running_wecom(wecom_office(tmp_path / "data", fake)) as (ctx, _):
        got = await deliver(ctx, "d035.eml")
        await wecom_settled(ctx)
    card = card_of(fake, YINGJI, got.item_id)
    text = card_text(card)
    assert "【涉密件·秘密】" in text
    assert "标题" not in text
    assert "文号" not in text
    assert "本件为涉密件，正文和附件不在聊天中发送" in text
    assert [m.msgtype for m in fake.shown(YINGJI)] == ["template_card"]
    assert fake.media == {}


async def test_urgent_item_escalates_on_wecom_until_read(tmp_path: Path, fake: FakeWeCom) -> None:
    clock = ShiftedClock()
    async with running_wecom(wecom_office(tmp_path / "data", fake), clock) as (ctx, app):
        got = await deliver(ctx, "d006.eml")
        await wecom_settled(ctx)
        first = card_of(fake, ZHOUZHANG, got.item_id)
        assert card_text(first).startswith(f"办件 {got.number}") or got.number is None
        assert "【特急】" in card_text(first) or "【特提】" in card_text(first)
        clock.shift = timedelta(minutes=ctx.settings.bot.urgent_ack_minutes, seconds=1)
        assert await circulation.escalate_due(ctx) == 1
        app.wake()
        await wecom_settled(ctx)

        def reminded() -> list[str]:
            return sorted(m.user for m in fake.messages
                          if m.msgtype == "template_card" and "第1次提醒" in card_text(m))

        assert reminded() == [ZHIBAN, ZHOUZHANG]
        duty = next(m for m in cards(fake, ZHIBAN) if "第1次提醒" in card_text(m))
        await press(fake, app, ZHIBAN, duty, f"r:{got.item_id}")
        await wait_for(lambda: fake.updated.get(response_code(fake, duty)) is not None)
        clock.shift += timedelta(hours=1)
        status = await lookup.item_status(ctx, str(got.item_id))
        assert await circulation.escalate_due(ctx) == 0
    assert status.urgent is not None
    assert status.urgent["acked_by"] == "州政府总值班室"


async def test_strangers_and_forged_callbacks_are_refused_and_audited(
    tmp_path: Path, fake: FakeWeCom
) -> None:
    async with running_wecom(wecom_office(tmp_path / "data", fake)) as (ctx, app):
        got = await deliver(ctx, "d008.eml")
        await wecom_settled(ctx)
        card = card_of(fake, CHANGWU, got.item_id)
        # a member the directory does not know presses a real card's button
        await press(fake, app, "lisi", card, f"r:{got.item_id}")
        forged = await fake.deliver(callback_url(app),
                                    fake.text_xml(CHANGWU, "同意", "9001"), forge=True)
        assert [a.status for a in forged.attempts] == [403]

        async def audited() -> list[Any]:
            async with ctx.db.reader() as r:
                return await r.fetchall(
                    "SELECT actor, action, detail FROM audit WHERE action IN"
                    " ('bot.refused', 'chat.callback_refused') ORDER BY id")

        for _ in range(100):
            if len(await audited()) >= 2:
                break
            await asyncio.sleep(0.05)
        rows = await audited()
        status = await lookup.item_status(ctx, str(got.item_id))
    assert [(r["actor"], r["action"]) for r in rows] == [
        ("wecom:lisi", "bot.refused"), ("wecom:127.0.0.1", "chat.callback_refused")]
    assert "signature" in rows[1]["detail"]
    assert status.reads == []
    assert status.instructions == []
    assert fake.updated == {}


async def test_token_expiry_mid_burst_loses_nothing(tmp_path: Path, fake: FakeWeCom) -> None:
    """Every token is revoked while a burst goes out: the client fetches a new one and
    every push is shown once."""
    async with running_wecom(wecom_office(tmp_path / "data", fake),
                             batch_items=1) as (ctx, app):
        items = [await registry.register_paper(ctx, kind=Kind.BAN, sender="甘孜州财政局",
                                               title=f"关于第{i}批资金的请示") for i in range(8)]
        app.wake()
        await wait_for(lambda: len(cards(fake, CHANGWU)) >= 2)
        fake.revoke_tokens()
        await wecom_settled(ctx)
    shown = [card_text(m) for m in cards(fake, CHANGWU)]
    for item in items:
        assert sum(f"收件序号 {item.id}" in t for t in shown) == 1, item.id
    assert ("message/send", 40014) in fake.refusals
    assert fake.tokens_issued >= 2


async def test_a_restart_sends_nothing_twice(tmp_path: Path, fake: FakeWeCom) -> None:
    settings = wecom_office(tmp_path / "data", fake)
    async with running_wecom(settings) as (ctx, _):
        got = await deliver(ctx, "d008.eml")
        await wecom_settled(ctx)
    before = len(fake.messages)
    async with running_wecom(settings) as (ctx, app):
        app.wake()
        await asyncio.sleep(0.5)
        await wecom_settled(ctx)
        async with ctx.db.reader() as r:
            rows = await r.fetchall("SELECT resend FROM deliveries WHERE item_id = ?"
                                    " AND channel = 'wecom'", (got.item_id,))
    assert len(fake.messages) == before
    assert [r["resend"] for r in rows] == [0]


async def test_serve_starts_the_wecom_adapter_only_when_enabled(
    tmp_path: Path, fake: FakeWeCom
) -> None:
    from jiyao.serve import PARTS, wecom_component

    settings = wecom_office(tmp_path / "data", fake)
    off = settings.model_copy(update={
        "wecom": settings.wecom.model_copy(update={"enabled": False})})
    assert wecom_component in PARTS["serve"]
    for s, expected in ((settings, True), (off, False)):
        ctx = await open_context(s)
        try:
            assert isinstance(wecom_component(ctx), WeComBot) is expected
        finally:
            await ctx.db.close()


async def test_registry_notices_reach_registry_staff_on_wecom(
    tmp_path: Path, fake: FakeWeCom
) -> None:
    """A returned item's notice goes to 文书处理室 on WeCom as it goes on Telegram."""
    async with running_wecom(wecom_office(tmp_path / "data", fake)) as (ctx, _):
        got = await deliver(ctx, "d026.eml")
        await wecom_settled(ctx)
    assert got.outcome == "return"
    notices = [t for t in texts(fake, WENSHU) if f"收件序号 {got.item_id}" in t]
    assert len(notices) == 1
    assert fake.shown(CHANGWU) == []
