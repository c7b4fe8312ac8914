"""End to end: 批示 by reply and by button, 已阅, 内刊 传阅, 特急 escalation, subscriptions."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bot.telegram.app import ChatBot
from core.errors import PermissionDeniedError
from core.services import circulation, instructions, lookup, subscriptions
from core.services.context import Context
from tests.bot_worker import (
    CHANGWU,
    DUTY_ROOM,
    JIAOWEI,
    JIYAO,
    LEADERS,
    MISHUZHANG,
    NONGYE,
    WENSHU,
    YINGJI,
    ZHOUZHANG,
    ShiftedClock,
    bot_settings,
    button_data,
    deliver,
    push_of,
    pushed_items,
    pushes,
    running_bot,
    settled,
)
from tests.fake_telegram import FakeTelegram


def _message_id(fake: FakeTelegram, chat_id: int, item_id: int) -> int:
    return int(push_of(fake, chat_id, item_id).result["message_id"])


async def test_reply_to_push_turns_yue_into_ban_and_tells_the_registry(
    fake: FakeTelegram, env: tuple[Context, ChatBot]
) -> None:
    """州长 replies to a 阅件 push: 批示 kept verbatim, next 办件 number, registry told; a second
    leader's 批示 is kept after it."""
    ctx, _ = env
    await deliver(ctx, "d008.eml")  # 办2026-0001 goes first: the 阅件 becomes 办…-0002
    yue = await deliver(ctx, "d011.eml")
    await fake.wait_until(lambda: len(pushes(fake)) >= 3)
    await settled(ctx)
    text = "请常务副州长阅示。\n  请财政局研究，提出意见后报州政府。"
    fake.inject_message(ZHOUZHANG, text, reply_to_message_id=_message_id(fake, ZHOUZHANG,
                                                                          yue.item_id))
    confirm = await fake.wait_for("sendMessage", lambda c: c.chat_id == ZHOUZHANG
                                  and "批示已记录" in (c.text or ""))
    year = yue.number.removeprefix("阅")[:4] if yue.number else ""
    assert f"本件已由阅件 {yue.number} 转为办件，办件编号 办{year}-0002" in (confirm.text or "")
    for staff in (WENSHU, JIYAO):
        notice = await fake.wait_for(
            "sendMessage", lambda c, s=staff: c.chat_id == s and "【领导批示】" in (c.text or "")
        )
        assert text in (notice.text or "")
        assert "请按批示转承办单位办理" in (notice.text or "")

    fake.inject_message(MISHUZHANG, "同意州长批示。",
                        reply_to_message_id=_message_id(fake, MISHUZHANG, yue.item_id))
    await fake.wait_for("sendMessage", lambda c: c.chat_id == MISHUZHANG
                        and "第2条批示" in (c.text or ""))
    async with ctx.db.reader() as r:
        rows = await r.fetchall(
            "SELECT seq, leader, text, number, converted_from FROM instructions"
            " WHERE item_id = ? ORDER BY seq", (yue.item_id,))
        entries = await r.fetchall(
            "SELECT kind, number, status FROM register_entries WHERE item_id = ? ORDER BY id",
            (yue.item_id,))
        item = await r.fetchone("SELECT kind FROM items WHERE id = ?", (yue.item_id,))
        audits = await r.fetchall(
            "SELECT actor FROM audit WHERE action = 'instruct' ORDER BY id")
    assert [tuple(x) for x in rows] == [
        (1, "州长", text, f"办{year}-0002", yue.number),
        (2, "秘书长", "同意州长批示。", f"办{year}-0002", None),
    ]
    assert [tuple(x) for x in entries] == [
        ("阅件", yue.number, "converted"), ("办件", f"办{year}-0002", "active"),
    ]
    assert item is not None
    assert item["kind"] == "办件"
    assert [a["actor"] for a in audits] == ["leader:州长", "leader:秘书长"]


async def test_instruct_button_prompt_reply_is_matched_to_the_item(
    fake: FakeTelegram, env: tuple[Context, ChatBot]
) -> None:
    """批示 button → ForceReply prompt → the answer to the prompt is the 批示 on that item."""
    ctx, _ = env
    ban = await deliver(ctx, "d008.eml")
    await fake.wait_until(lambda: len(pushes(fake, CHANGWU)) >= 1)
    push_id = _message_id(fake, CHANGWU, ban.item_id)
    query = fake.inject_callback(CHANGWU, push_id, f"i:{ban.item_id}")
    prompt = await fake.wait_for("sendMessage", lambda c: "请回复本消息" in (c.text or ""))
    assert fake.callback_answered(query)
    assert prompt.params["reply_markup"]["force_reply"] is True
    fake.inject_message(CHANGWU, "同意动用预备费。",
                        reply_to_message_id=prompt.result["message_id"])
    confirm = await fake.wait_for("sendMessage", lambda c: "批示已记录" in (c.text or ""))
    assert f"登记号：{ban.number}" in (confirm.text or "")
    async with ctx.db.reader() as r:
        row = await r.fetchone("SELECT text FROM instructions WHERE item_id = ?", (ban.item_id,))
    assert row is not None
    assert row["text"] == "同意动用预备费。"


async def test_leader_cannot_act_on_an_item_not_routed_to_them(
    fake: FakeTelegram, env: tuple[Context, ChatBot]
) -> None:
    """Buttons and replies are checked against the pressing chat: no push, no 已阅, no 批示."""
    ctx, _ = env
    ban = await deliver(ctx, "d008.eml")  # 常务副州长 only
    await fake.wait_until(lambda: len(pushes(fake, CHANGWU)) >= 1)
    own = fake.inject_message(NONGYE, "测试")
    query = fake.inject_callback(NONGYE, own["message_id"], f"r:{ban.item_id}")
    await fake.wait_for("answerCallbackQuery")
    assert fake.callback_answered(query)
    stale = fake.inject_callback(NONGYE, own["message_id"], "x:forged")
    await fake.wait_until(lambda: fake.callback_answered(stale))
    with pytest.raises(PermissionDeniedError):
        await instructions.instruct(ctx, item_id=ban.item_id, chat_id=NONGYE, text="越权")
    async with ctx.db.reader() as r:
        assert await r.fetchall("SELECT * FROM reads") == []
        assert await r.fetchall("SELECT * FROM instructions") == []


async def test_neikan_circulates_leader_to_leader_and_registry_sees_where(
    fake: FakeTelegram, env: tuple[Context, ChatBot]
) -> None:
    """A 内刊 goes to one leader at a time in rank order; 已阅 or 传下一位 passes it on."""
    ctx, _ = env
    got = await deliver(ctx, "d022.eml")
    assert got.kind == "内刊"
    await fake.wait_until(lambda: len(pushes(fake, ZHOUZHANG)) >= 1)
    await settled(ctx)
    assert [pushed_items(fake, c) for c in LEADERS] == [[got.item_id], [], [], [], [], []]
    first = push_of(fake, ZHOUZHANG, got.item_id)
    assert button_data(first) == [f"r:{got.item_id}", f"i:{got.item_id}", f"n:{got.item_id}"]
    assert "传阅：第 1/6 位" in (first.text or "")

    query = fake.inject_callback(ZHOUZHANG, first.result["message_id"], f"r:{got.item_id}")
    await fake.wait_until(lambda: len(pushes(fake, CHANGWU)) >= 1)
    assert fake.callback_answered(query)
    second = push_of(fake, CHANGWU, got.item_id)
    assert "传阅：第 2/6 位" in (second.text or "")
    # the 州长's keyboard keeps only 批示
    keyboard = fake.message(ZHOUZHANG, first.result["message_id"])["reply_markup"]
    assert [b["text"] for row in keyboard["inline_keyboard"] for b in row] == ["批示"]

    fake.inject_callback(CHANGWU, second.result["message_id"], f"n:{got.item_id}")
    await fake.wait_until(lambda: len(pushes(fake, NONGYE)) >= 1)
    # a stale 传下一位 and a second 已阅 change nothing
    again = fake.inject_callback(CHANGWU, second.result["message_id"], f"n:{got.item_id}")
    twice = fake.inject_callback(ZHOUZHANG, first.result["message_id"], f"r:{got.item_id}")
    await fake.wait_until(lambda: fake.callback_answered(again) and fake.callback_answered(twice))
    await settled(ctx)
    assert pushed_items(fake, JIAOWEI) == []

    fake.inject_command(WENSHU, f"/doc {got.item_id}")
    status = await fake.wait_for("sendMessage", lambda c: c.chat_id == WENSHU
                                 and "传阅：" in (c.text or ""))
    shown = status.result["text"]
    assert ("州长（已阅） → 常务副州长（已传） → 分管农业副州长（当前） → "
            "分管教卫副州长（待传）") in shown
    async with ctx.db.reader() as r:
        rows = await r.fetchall(
            "SELECT leader, status FROM circulation WHERE item_id = ? ORDER BY position",
            (got.item_id,))
    assert [r_["status"] for r_ in rows] == ["read", "passed", "current", "waiting", "waiting",
                                            "waiting"]


async def test_circulation_ends_with_a_notice_to_the_registry(
    fake: FakeTelegram, env: tuple[Context, ChatBot]
) -> None:
    """When the last leader has read a 内刊, the registry is told to take it back."""
    ctx, _ = env
    got = await deliver(ctx, "d022.eml")
    for chat_id in LEADERS:
        await fake.wait_until(lambda c=chat_id: len(pushes(fake, c)) >= 1)
        push = push_of(fake, chat_id, got.item_id)
        fake.inject_callback(chat_id, push.result["message_id"], f"r:{got.item_id}")
    notice = await fake.wait_for("sendMessage", lambda c: "【传阅完毕】" in (c.text or ""))
    assert notice.chat_id in (WENSHU, JIYAO)


async def test_urgent_item_escalates_until_acknowledged(
    tmp_path: Path, fake: FakeTelegram
) -> None:
    """Nobody taps 已阅 within the set minutes: the push goes again, down the duty list;
    the first 已阅 stops it and the registry learns who acknowledged when."""
    clock = ShiftedClock()
    async with running_bot(bot_settings(tmp_path / "data", fake), clock) as (ctx, _):
        got = await deliver(ctx, "d006.eml")
        await fake.wait_until(lambda: len(pushes(fake)) >= 5)
        await settled(ctx)
        assert await circulation.escalate_due(ctx) == 0  # not yet due
        clock.shift = timedelta(minutes=ctx.settings.bot.urgent_ack_minutes, seconds=1)
        assert await circulation.escalate_due(ctx) == 1

        def reminded() -> list[int]:
            return sorted(int(c.chat_id or 0) for c in fake.sent()
                          if "第1次提醒" in (c.text or ""))

        await fake.wait_until(lambda: len(reminded()) >= 2)
        await settled(ctx)
        assert reminded() == [ZHOUZHANG, DUTY_ROOM]

        duty_push = push_of(fake, DUTY_ROOM, got.item_id)
        fake.inject_callback(DUTY_ROOM, duty_push.result["message_id"], f"r:{got.item_id}")
        notice = await fake.wait_for("sendMessage", lambda c: "件已确认】" in (c.text or ""))
        assert "由 州政府总值班室 于" in (notice.text or "")
        clock.shift += timedelta(hours=1)
        assert await circulation.escalate_due(ctx) == 0
        status = await lookup.item_status(ctx, str(got.item_id))
    assert status.urgent is not None
    assert status.urgent["acked_by"] == "州政府总值班室"


async def test_unacknowledged_urgent_item_runs_down_the_ladder_then_alerts_the_registry(
    ctx: Context,
) -> None:
    """Each step adds the next duty chat; past the last one the registry is alerted once."""
    got = await deliver(ctx, "d006.eml")
    async with ctx.db.reader() as r:
        pushed = await r.fetchall("SELECT target FROM outbox WHERE event = 'push'"
                                  " AND item_id = ?", (got.item_id,))
    assert len(pushed) == 5  # routed in the registering transaction
    step = timedelta(minutes=ctx.settings.bot.urgent_ack_minutes, seconds=1)
    now = ctx.clock()
    for level in (1, 2, 3):
        assert await circulation.escalate_due(ctx, now + step * level) == 1, level
    assert await circulation.escalate_due(ctx, now + step * 10) == 0
    async with ctx.db.reader() as r:
        rows = await r.fetchall(
            "SELECT target, json_extract(payload, '$.purpose') AS purpose FROM outbox"
            " WHERE event = 'push' AND item_id = ? ORDER BY id", (got.item_id,))
        alert = await r.fetchall(
            "SELECT target FROM outbox WHERE event = 'chat_notice' AND payload LIKE '%无人确认%'")
    by_purpose: dict[str, list[int]] = {}
    for row in rows:
        by_purpose.setdefault(row["purpose"], []).append(int(row["target"]))
    assert by_purpose["urgent:1"] == [ZHOUZHANG, DUTY_ROOM]
    assert by_purpose["urgent:2"] == [ZHOUZHANG, DUTY_ROOM, MISHUZHANG]
    assert "urgent:4" not in by_purpose
    assert sorted(int(a["target"]) for a in alert) == [WENSHU, JIYAO]


async def test_subscription_adds_matching_unclassified_items(
    fake: FakeTelegram, env: tuple[Context, ChatBot]
) -> None:
    """/subscribe 预备费 brings 州财政局's 请示 to the 应急 leader too; /unsubscribe stops it."""
    ctx, _ = env
    fake.inject_command(YINGJI, "/subscribe 预备费")
    await fake.wait_for("sendMessage", lambda c: "已订阅“预备费”" in (c.text or ""))
    ban = await deliver(ctx, "d008.eml")
    await fake.wait_until(lambda: len(pushes(fake, YINGJI)) >= 1)
    await settled(ctx)
    call = push_of(fake, YINGJI, ban.item_id)
    assert "按您订阅的关键词推送" in (call.text or "")
    assert pushed_items(fake, CHANGWU) == [ban.item_id]
    fake.inject_command(YINGJI, "/unsubscribe")
    await fake.wait_for("sendMessage", lambda c: "已取消全部 1 个订阅" in (c.text or ""))
    assert await subscriptions.subscriptions(ctx, YINGJI) == []
