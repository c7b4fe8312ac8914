"""End to end: what reaches a chat about classified, sealed and quarantined items (DOMAIN §7),
and who may act on an item."""

from __future__ import annotations

from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from core.services.context import Context
from core.services.receive import receive
from tests.bot_worker import (
    MISHUZHANG,
    OFFICE,
    REGISTRARS,
    WENSHU,
    ZHOUZHANG,
    bot_settings,
    corpus,
    push_of,
    pushes,
    running_bot,
    settled,
)
from tests.fake_telegram import Call, FakeTelegram, Upload
from tests.intake_helpers import first


def _answer(fake: FakeTelegram, chat_id: int) -> Callable[[str], Any]:
    """Send a command and wait for the bot's answer (notices starting with 【 are skipped)."""

    def answer(c: Call) -> bool:
        return c.chat_id == chat_id and not str(c.result.get("text", "")).startswith("【")

    async def ask(command: str) -> str:
        since = len(fake.calls)
        fake.inject_command(chat_id, command)
        call = await fake.wait_for("sendMessage", answer, since=since)
        return str(call.result["text"])

    return ask


def _shown(call: Call) -> str:
    """Everything a sent message shows: its text or caption and the names of its files."""
    files = [v.filename for v in call.params.values() if isinstance(v, Upload)]
    return "\n".join([call.text or "", *files])


async def _receive(ctx: Context, raw: bytes) -> Any:
    return await receive(ctx, raw, mail_from="sender@example.gov.cn", rcpt_tos=[OFFICE])


async def test_doc_of_a_sealed_item_shows_the_envelope_only(
    tmp_path: Path, fake: FakeTelegram
) -> None:
    """/doc of a 亲启 or 绝密 item names neither its title nor its 文号, even when policy
    lets chat show the titles of 秘密/机密 items."""
    sealed = [first(lambda d: d["outcome"] == "sealed" and not d["secrecy"]),
              first(lambda d: d["outcome"] == "sealed" and d["secrecy"])]
    settings = bot_settings(tmp_path / "data", fake, classified_titles=True)
    async with running_bot(settings) as (ctx, _):
        got = [await _receive(ctx, corpus(label["file"])) for label in sealed]
        await settled(ctx)
        ask = _answer(fake, WENSHU)
        for label, item in zip(sealed, got, strict=True):
            assert item.outcome == "sealed"
            text = await ask(f"/doc {item.item_id}")
            assert f"收件序号 {item.item_id}" in text
            assert label["title"] not in text
            assert label["doc_number"] not in text
        assert fake.calls_of("sendDocument") == []


async def test_quarantined_item_is_neither_found_nor_opened_in_chat(
    fake: FakeTelegram, env: tuple[Context, Any]
) -> None:
    """A quarantined item's title and text are not searchable from chat, and /doc shows
    neither its title nor its file."""
    ctx, _ = env
    label = first(lambda d: d["outcome"] == "quarantine" and d["title"])
    got = await _receive(ctx, corpus(label["file"]))
    assert got.outcome == "quarantine"
    await settled(ctx)
    ask = _answer(fake, WENSHU)
    keyword = label["title"][-8:]
    found = await ask(f"/find {keyword}")
    assert f"收件序号 {got.item_id}" not in found
    assert "没有找到" in found
    text = await ask(f"/doc {got.item_id}")
    assert f"收件序号 {got.item_id}" in text
    assert label["title"] not in text
    await settled(ctx)
    assert fake.calls_of("sendDocument") == []


_CLASSIFIED_BODY = """秘密★1年
四川省应急管理厅文件
川应急〔2024〕80号
四川省应急管理厅关于调整重点目标防护等级的意见
重点目标防护等级调整方案如下，请严格控制知悉范围。
四川省应急管理厅
2024年7月1日
"""


def _classified_without_addressee() -> bytes:
    """A 秘密 document from a known organ that names no addressee: it waits for review."""
    m = EmailMessage()
    m["From"] = "四川省应急管理厅 <ban@yjt.sc.gov.cn>"
    m["To"] = OFFICE
    m["Subject"] = "来文"
    m["Message-ID"] = "<secrecy-review@yjt.sc.gov.cn>"
    m.set_content("见附件。")
    m.add_attachment(_CLASSIFIED_BODY.encode(), maintype="text", subtype="plain",
                     filename="附件1.txt")
    return bytes(m)


async def test_classified_item_waiting_for_review_reaches_staff_as_a_notice_only(
    fake: FakeTelegram, env: tuple[Context, Any]
) -> None:
    """The staff notice and the /review entry of a 秘密 item in review carry no file, no title,
    no 文号 and no text, and say that it is classified."""
    ctx, _ = env
    got = await _receive(ctx, _classified_without_addressee())
    assert got.outcome == "review"
    async with ctx.db.reader() as r:
        item = await r.fetchone("SELECT secrecy FROM items WHERE id = ?", (got.item_id,))
    assert item is not None
    assert item["secrecy"] == "秘密"
    await settled(ctx)
    review = await _answer(fake, WENSHU)("/review")
    assert "待分类收件 1 件" in review
    await fake.wait_until(lambda: len(pushes(fake, WENSHU)) >= 2)
    secrets = ("川应急〔2024〕80号", "重点目标防护等级", "知悉范围", "附件1")
    for staff in REGISTRARS:
        sent = pushes(fake, staff)
        assert sent, staff
        for call in sent:
            assert call.method == "sendMessage"
            shown = _shown(call)
            assert "秘密" in shown
            assert not [s for s in secrets if s in shown], shown
    assert fake.calls_of("sendDocument") == []


async def test_leader_reached_as_duty_cannot_instruct_an_item_routed_to_another(
    fake: FakeTelegram, env: tuple[Context, Any]
) -> None:
    """A leader on the duty list gets a 特急 item of another leader to acknowledge it: a reply
    or a forged 批示 button from that chat records no 批示 and converts nothing."""
    ctx, _ = env
    label = first(lambda d: d["urgency"] == "特急" and d["outcome"] == "register")
    got = await _receive(ctx, corpus(label["file"]))
    await fake.wait_until(lambda: len(pushes(fake, MISHUZHANG)) >= 1
                          and len(pushes(fake, ZHOUZHANG)) >= 1)
    await settled(ctx)
    duty_push = push_of(fake, MISHUZHANG, got.item_id)
    assert f"i:{got.item_id}" not in str(duty_push.params.get("reply_markup"))
    since = len(fake.calls)
    fake.inject_message(MISHUZHANG, "请应急局办理。",
                        reply_to_message_id=duty_push.result["message_id"])
    refusal = await fake.wait_for("sendMessage", lambda c: c.chat_id == MISHUZHANG,
                                  since=since)
    assert "批示已记录" not in (refusal.text or "")
    query = fake.inject_callback(MISHUZHANG, duty_push.result["message_id"],
                                 f"i:{got.item_id}")
    await fake.wait_until(lambda: fake.callback_answered(query))
    await settled(ctx)
    assert not [c for c in fake.sent(MISHUZHANG) if "请回复本消息" in (c.text or "")]
    async with ctx.db.reader() as r:
        assert await r.fetchall("SELECT * FROM instructions") == []
