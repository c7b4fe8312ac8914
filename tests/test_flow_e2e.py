"""Issue 17's "Must show", in one run of the real parts: a county 请示 arrives over SMTP
→ the registrar proposes (/propose) → the leader taps 同意拟办 → the registrar assigns
(/assign) → the 主办 organ is mailed through the loopback smarthost, the 协办 section told
in chat → at the due day's working morning both are reminded (the organ by mail too) → the
organ replies to the reminder mail over SMTP: 办结 → a 批复 is owed, and the 甘府函 number
taken for it is linked → the slip (sent to chat by /slip) carries all of it."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Callable, Coroutine
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any

import aiosmtplib
import pytest
from pypdf import PdfReader

from bot.telegram.app import ChatBot
from core.config import Settings
from core.services import dispatch, handling, reminders
from core.services.context import Context
from intake_daemon.mailer import ReturnMailer
from tests.bot_worker import (
    JIYAO,
    REGISTRARS,
    ZHOUZHANG,
    ZONGHE,
    bot_settings,
    button_data,
    corpus,
    running_bot,
)
from tests.conftest import FrozenClock
from tests.fake_telegram import Call, FakeTelegram
from tests.intake_helpers import OFFICE, Captured, ServedIntake, smarthost, wait_decided

ORGAN = "甘孜军分区"
ORGAN_MAIL = "jfq@gzz.gov.cn"
NUMBER = "办2026-0001"
TITLE = "康定市人民政府关于申请追加城区道路改造资金的请示"


def _pointing_at(settings: Settings, port: int) -> Settings:
    return settings.model_copy(update={"smarthost": settings.smarthost.model_copy(
        update={"host": "127.0.0.1", "port": port, "enabled": True, "timeout": 5.0})})


@pytest.fixture
async def office(tmp_path: Path, fake: FakeTelegram, clock: FrozenClock,
                 ) -> AsyncIterator[tuple[Context, ChatBot, Any, ServedIntake]]:
    async with smarthost() as (mailbox, port):
        settings = _pointing_at(bot_settings(tmp_path / "data", fake), port)
        async with running_bot(settings, clock) as (ctx, bot):
            intake = ServedIntake(ctx)
            await intake.start()
            try:
                yield ctx, bot, mailbox, intake
            finally:
                await intake.stop()


def _asker(fake: FakeTelegram, chat_id: int) -> Callable[[str], Coroutine[Any, Any, str]]:
    async def ask(command: str) -> str:
        since = len(fake.calls)
        fake.inject_command(chat_id, command)
        call = await fake.wait_for(
            "sendMessage",
            lambda c: c.chat_id == chat_id and not str(c.result["text"]).startswith("【"),
            since=since)
        return str(call.result["text"])

    return ask


async def _send(port: int, msg: EmailMessage | bytes, sender: str) -> None:
    await aiosmtplib.send(msg, hostname="127.0.0.1", port=port, sender=sender,
                          recipients=[OFFICE])


def _sent_to(fake: FakeTelegram, chat_id: int, since: int) -> list[str]:
    return [c.text or "" for c in fake.calls[since:]
            if c.chat_id == chat_id and c.ok and c.method in ("sendMessage", "sendDocument")]


async def test_county_request_through_the_whole_flow(
    office: tuple[Context, ChatBot, Any, ServedIntake], fake: FakeTelegram,
    clock: FrozenClock,
) -> None:
    ctx, _, mailbox, intake = office
    mailer = ReturnMailer(ctx)
    registrar = _asker(fake, JIYAO)

    # 签收 and 登记: the 请示 arrives over SMTP and is numbered
    await _send(intake.port, corpus("d007.eml"), "bgs@kangding.gov.cn")
    await wait_decided(ctx)
    view = await handling.status(ctx, NUMBER)
    assert view is not None
    assert (view.step, view.holder) == ("待拟办", "文书处理室")

    # 拟办 in chat, pushed to the leader with 同意拟办
    out = await registrar(f"/propose {NUMBER} 拟请甘孜军分区会同综合科办理 领导=州长 "
                          f"承办={ORGAN}、综合科 期限=2026-03-13")
    assert out == f"已拟办：{NUMBER}，已呈州长批示。"

    def proposal(c: Call) -> bool:
        return c.chat_id == ZHOUZHANG and "拟办意见：拟请甘孜军分区会同综合科办理" in (c.text or "")

    pushed = await fake.wait_for("sendDocument", proposal)
    since = len(fake.calls)
    fake.inject_callback(ZHOUZHANG, int(pushed.result["message_id"]),
                         next(d for d in button_data(pushed) if d.startswith("a:")))
    await fake.wait_for("answerCallbackQuery",
                        lambda c: "已同意拟办" in str(c.params.get("text")), since=since)
    doc = await registrar(f"/doc {NUMBER}")
    assert "办理环节：待交办；当前经办：文书处理室" in doc

    # 交办: the organ (主办) by mail with the 批示 verbatim, the section (协办) in chat
    out = await registrar(f"/assign {NUMBER} {ORGAN}、综合科 2026-03-13")
    assert f"{ORGAN}（主办），期限 2026-03-13" in out
    assert await mailer.drain() == 1
    (notice,) = await mailbox.wait_for(1)
    assert notice.rcpt_tos == [ORGAN_MAIL]
    body = notice.message.get_content()
    assert TITLE in body
    assert "州长批示" in body
    assert "同意拟办意见：拟请甘孜军分区会同综合科办理" in body
    await fake.wait_for("sendMessage", lambda c: c.chat_id == ZONGHE
                        and str(c.text).startswith("【交办】") and "协办" in str(c.text))

    # 催办 at the due day's working morning (Fri 13 March, 09:00 local): not before (the
    # reminders ahead of the day went out on their days)
    clock.now = datetime(2026, 3, 12, 8, 0, tzinfo=UTC)
    await reminders.sweep(ctx, ctx.clock())
    ahead = await mailer.drain()
    since = len(fake.calls)
    clock.now = datetime(2026, 3, 13, 0, 59, tzinfo=UTC)
    await reminders.sweep(ctx, ctx.clock())
    assert await mailer.drain() == 0
    clock.now = datetime(2026, 3, 13, 1, 0, 30, tzinfo=UTC)
    await reminders.sweep(ctx, ctx.clock())
    assert await mailer.drain() == 1
    reminder: Captured = (await mailbox.wait_for(2 + ahead))[-1]
    assert reminder.rcpt_tos == [ORGAN_MAIL]
    assert "今天（2026-03-13）是最后期限" in reminder.message.get_content()
    assert reminder.message["In-Reply-To"] == notice.message["Message-ID"]
    await fake.wait_until(lambda: any("最后期限" in t for t in _sent_to(fake, ZONGHE, since)))
    for chat in REGISTRARS:  # the organ has no chat: the registry is reminded for it
        await fake.wait_until(lambda c=chat: any(  # type: ignore[misc]
            "最后期限" in t for t in _sent_to(fake, c, since)))

    # 办结: the organ answers the reminder mail, as a mail client threads it
    clock.now = datetime(2026, 3, 13, 2, 0, tzinfo=UTC)
    answer = EmailMessage()
    answer["From"] = f"{ORGAN} <{ORGAN_MAIL}>"
    answer["To"] = OFFICE
    answer["Subject"] = "答复：" + str(reminder.message["Subject"])
    answer["Message-ID"] = make_msgid(domain="gzz.gov.cn")
    answer["In-Reply-To"] = str(reminder.message["Message-ID"])
    answer["References"] = f"{notice.message['Message-ID']} {reminder.message['Message-ID']}"
    answer.set_content("道路改造资金已会同综合科核实并拨付。\n\n"
                       f"-----原始邮件-----\n{reminder.message.get_content()}")
    since = len(fake.calls)
    await _send(intake.port, answer, ORGAN_MAIL)
    await wait_decided(ctx)
    view = await handling.status(ctx, NUMBER)
    assert view is not None
    assert (view.step, view.result, view.reply_owed) == (
        "已办结", "道路改造资金已会同综合科核实并拨付。", "批复")
    await fake.wait_until(lambda: any(
        t.startswith("【办结】") and "请拟批复" in t for t in _sent_to(fake, JIYAO, since)))

    # 答复: the 甘府函 number taken for the 批复 is linked to the item
    taken = await dispatch.take(ctx, code="甘府函", title="关于追加城区道路改造资金的批复",
                                section="机要室", reply_to=NUMBER)
    view = await handling.status(ctx, NUMBER)
    assert view is not None
    assert view.reply_number == taken.number
    assert taken.number.startswith("甘府函")
    assert await handling.replies_owed(ctx) == []

    # the 公文处理单, sent to the registrar's chat, carries every field
    since = len(fake.calls)
    fake.inject_command(JIYAO, f"/slip {NUMBER}")
    sent = await fake.wait_for("sendDocument", lambda c: c.chat_id == JIYAO, since=since)
    pdf = fake.files[sent.result["document"]["file_id"]].data
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    text = text.replace("\n", "")
    for want in (NUMBER, "康定市人民政府", "康府〔2024〕23号", TITLE, "收文日期", "密级",
                 "紧急程度", "州长（2026年3月2日 17:00）：同意拟办意见：拟请甘孜军分区",
                 f"{ORGAN}（主办）、综合科（协办）", "2026-03-13",
                 "道路改造资金已会同综合科核实并拨付", f"应批复：{taken.number}"):
        assert want in text, want
