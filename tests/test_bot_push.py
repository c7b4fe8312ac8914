"""End to end: items received as intake receives them reach exactly the right chats."""

from __future__ import annotations

from pathlib import Path

from bot.telegram.app import ChatBot
from core.services.context import Context
from core.storage.items import get_item
from tests.bot_worker import (
    CHANGWU,
    DUTY_ROOM,
    JIYAO,
    LEADERS,
    MISHUZHANG,
    REGISTRARS,
    STRANGER,
    WENSHU,
    YINGJI,
    ZHOUZHANG,
    bot_settings,
    button_data,
    deliver,
    push_of,
    pushed_items,
    pushes,
    running_bot,
    settled,
)
from tests.fake_telegram import FakeTelegram, Upload

EVERYONE = (*LEADERS, *REGISTRARS, 200003, 200004, DUTY_ROOM)


async def test_items_reach_exactly_the_leaders_of_their_portfolio(
    fake: FakeTelegram, env: tuple[Context, ChatBot]
) -> None:
    """A 办件 from 州财政局 goes to 常务副州长 alone; a 中发 阅件 to 州长 and 秘书长 (default)."""
    ctx, _ = env
    ban = await deliver(ctx, "d008.eml")
    yue = await deliver(ctx, "d011.eml")
    assert (ban.kind, yue.kind) == ("办件", "阅件")
    await fake.wait_until(lambda: len(pushes(fake)) >= 3)
    await settled(ctx)
    expected = {CHANGWU: [ban.item_id], ZHOUZHANG: [yue.item_id], MISHUZHANG: [yue.item_id]}
    for chat_id in EVERYONE:
        assert pushed_items(fake, chat_id) == expected.get(chat_id, []), chat_id

    call = push_of(fake, CHANGWU, ban.item_id)
    text = call.result.get("caption") or call.result.get("text")
    assert f"办件 {ban.number}" in text
    assert "来文单位：甘孜州财政局" in text
    assert "文号：甘财〔2024〕57号" in text
    assert "标题：甘孜州财政局关于动用州级预备费支持灾后恢复重建的请示" in text
    assert "收到时间：" in text
    assert button_data(call) == [f"r:{ban.item_id}", f"i:{ban.item_id}"]
    # the document goes with the push of an unclassified item
    assert call.method == "sendDocument"
    upload = call.params["document"]
    assert isinstance(upload, Upload)
    assert upload.filename.endswith(".docx")


async def test_classified_item_push_is_a_notice_without_title_text_or_file(
    fake: FakeTelegram, env: tuple[Context, ChatBot]
) -> None:
    """A 秘密 办件 reaches its leader as a notice: kind, number, sender, 涉密 — nothing more."""
    ctx, _ = env
    got = await deliver(ctx, "d035.eml")
    await fake.wait_until(lambda: len(pushes(fake, YINGJI)) >= 1)
    await settled(ctx)
    call = push_of(fake, YINGJI, got.item_id)
    async with ctx.db.reader() as r:
        item = await get_item(r, got.item_id)
    assert item is not None
    assert item["secrecy"] == "秘密"
    assert call.method == "sendMessage"
    assert [c.method for c in fake.sent()] == ["sendMessage"]
    assert fake.files == {}
    text = call.result["text"]
    assert "涉密件" in text
    assert f"办件 {got.number}" in text
    assert "四川省应急管理厅" in text
    assert item["title"] not in text
    assert "汛期" not in text
    assert (item["doc_number"] or "川应急") not in text


async def test_classified_title_shown_only_when_policy_allows(
    tmp_path: Path, fake: FakeTelegram
) -> None:
    """With classified_titles on, the title appears; the file and text still never do."""
    settings = bot_settings(tmp_path / "data", fake, classified_titles=True)
    async with running_bot(settings) as (ctx, _):
        got = await deliver(ctx, "d035.eml")
        await fake.wait_until(lambda: len(pushes(fake, YINGJI)) >= 1)
        await settled(ctx)
    call = push_of(fake, YINGJI, got.item_id)
    assert "加强汛期重点部位安全防范" in call.result["text"]
    assert call.method == "sendMessage"


async def test_urgent_item_goes_at_once_to_leader_duty_and_registry_marked_at_the_top(
    fake: FakeTelegram, env: tuple[Context, ChatBot]
) -> None:
    """A 特急 telegram goes to 州长, the whole duty list and the registrars, 特急 first."""
    ctx, _ = env
    got = await deliver(ctx, "d006.eml")
    await fake.wait_until(lambda: len(pushes(fake)) >= 5)
    await settled(ctx)
    for chat_id in (ZHOUZHANG, DUTY_ROOM, MISHUZHANG, WENSHU, JIYAO):
        assert pushed_items(fake, chat_id) == [got.item_id], chat_id
    text = push_of(fake, ZHOUZHANG, got.item_id).result["text"]
    assert text.splitlines()[0] == "‼️【特急】"
    # the duty room can acknowledge it; only leaders get 批示
    assert button_data(push_of(fake, DUTY_ROOM, got.item_id)) == [f"r:{got.item_id}"]
    assert f"i:{got.item_id}" in button_data(push_of(fake, ZHOUZHANG, got.item_id))


async def test_stranger_is_refused_and_audited(
    fake: FakeTelegram, env: tuple[Context, ChatBot]
) -> None:
    """Someone not in the configuration gets a short Chinese refusal, logged in the audit."""
    ctx, _ = env
    fake.inject_command(STRANGER, "/counts 2026")
    call = await fake.wait_for("sendMessage", lambda c: c.chat_id == STRANGER)
    assert call.text == "您无权使用本机器人。如需开通，请联系机要室。"
    message = fake.inject_message(STRANGER, "你好")
    query = fake.inject_callback(STRANGER, message["message_id"], "r:1")
    await fake.wait_for("answerCallbackQuery")
    assert fake.callback_answered(query)
    async with ctx.db.reader() as r:
        rows = await r.fetchall("SELECT * FROM audit WHERE action = 'bot.refused'")
    assert len(rows) == 3
    assert {row["actor"] for row in rows} == {f"tg:{STRANGER}"}
    assert not [c for c in fake.sent() if c.chat_id != STRANGER]


async def test_commands_menu_is_set_per_role(
    fake: FakeTelegram, env: tuple[Context, ChatBot]
) -> None:
    """setMyCommands gives each chat the commands of its role; strangers see /help only."""
    await fake.wait_until(lambda: len(fake.calls_of("setMyCommands")) >= 1 + 11)

    def names(chat_id: int | None) -> set[str]:
        scope = None if chat_id is None else {"type": "chat", "chat_id": chat_id}
        return {c["command"] for c in fake.commands(scope)}

    assert names(None) == {"help"}
    assert {"review", "register", "correct", "find", "next"} <= names(WENSHU)
    assert "review" not in names(ZHOUZHANG)
    assert {"help", "doc", "subscribe"} <= names(ZHOUZHANG)
    assert names(DUTY_ROOM) == {"help"}
    assert "correct" not in names(200003)
