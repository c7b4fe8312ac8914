"""办结 by reply mail, end to end over real SMTP: the 交办 notice goes out through the
loopback smarthost; the 承办单位's reply, sent to the intake's SMTP port by a real client,
records 办结 with its first lines; a reply from another organ, or from the 协办, goes to
review (a stranger's stays quarantined) and the item stays 承办中."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import date
from email.message import EmailMessage
from email.utils import make_msgid

import aiosmtplib
import pytest

from core.config import Settings
from core.handling import referenced_ids, reply_result, tagged_number
from core.services import handling
from core.services.context import Context, open_context
from intake_daemon.mailer import ReturnMailer
from tests.conftest import FrozenClock
from tests.intake_helpers import OFFICE, Captured, ServedIntake, smarthost, wait_decided
from tests.test_handling import add_item

UNIT = "甘孜军分区"
UNIT_MAIL = "jfq@gzz.gov.cn"
QUOTED = ("\n\n-----原始邮件-----\n发件人：甘孜藏族自治州人民政府\n"
          "【交办】办2026-0001《关于修缮道路的请示》\n")


class Office:
    """Intake (SMTP edge + pipeline) and the return mailer against a loopback smarthost."""

    def __init__(self, ctx: Context, mailbox: object) -> None:
        self.ctx = ctx
        self.mailbox = mailbox
        self.intake = ServedIntake(ctx)
        self.mailer = ReturnMailer(ctx)

    async def notice(self, n: int) -> Captured:
        """The n-th mail the smarthost got (the mailer drained first)."""
        await self.mailer.drain()
        got = await self.mailbox.wait_for(n)  # type: ignore[attr-defined]
        return got[n - 1]  # type: ignore[no-any-return]

    async def reply(self, to: Captured, *, sender: str, body: str,
                    threaded: bool = True) -> None:
        msg = EmailMessage()
        msg["From"] = f"{UNIT} <{sender}>"
        msg["To"] = OFFICE
        msg["Subject"] = "回复：" + str(to.message["Subject"])
        msg["Message-ID"] = make_msgid(domain="gzz.gov.cn")
        msg["Date"] = "Mon, 02 Mar 2026 18:00:00 +0800"
        if threaded:
            msg["In-Reply-To"] = str(to.message["Message-ID"])
            msg["References"] = str(to.message["Message-ID"])
        msg.set_content(body + QUOTED, charset="utf-8")
        await aiosmtplib.send(msg, hostname="127.0.0.1", port=self.intake.port,
                              sender=sender, recipients=[OFFICE])
        await wait_decided(self.ctx)


def _pointing_at(settings: Settings, port: int) -> Settings:
    return settings.model_copy(update={"smarthost": settings.smarthost.model_copy(
        update={"host": "127.0.0.1", "port": port, "enabled": True, "timeout": 5.0})})


@pytest.fixture
async def office(settings: Settings, clock: FrozenClock) -> AsyncIterator[Office]:
    async with smarthost() as (mailbox, port):
        ctx = await open_context(_pointing_at(settings, port), clock=clock)
        o = Office(ctx, mailbox)
        await o.intake.start()
        try:
            yield o
        finally:
            await o.intake.stop()
            await ctx.db.close()


async def _items(ctx: Context) -> list[dict[str, object]]:
    async with ctx.db.reader() as r:
        return [dict(x) for x in await r.fetchall(
            "SELECT id, outcome, kind, sender, evidence FROM items ORDER BY id")]


def test_reading_a_reply() -> None:
    assert tagged_number("回复：交办：办2026-0007（…）【办结回复 办2026-0007】") == "办2026-0007"
    assert tagged_number("关于办2026-0007的报告") is None
    assert referenced_ids("<a@x>", "<b@x> <c@x>") == ["a@x", "c@x", "b@x"]
    assert reply_result("已完成部署。\n\n人员已到位\n> 原文\n") == "已完成部署。\n人员已到位"
    assert reply_result("已办。\n在 2026年3月2日 17:00，甘孜州政府 写道：\n原文") == "已办。"
    assert reply_result("\n\n-----原始邮件-----\n原文") == ""


async def test_reply_from_the_unit_records_done(office: Office) -> None:
    ctx = office.ctx
    item_id = await add_item(ctx, title="关于修缮道路的请示", doc_type="请示",
                             sender="康定市人民政府")
    await handling.assign(ctx, ref="办2026-0001", units=[UNIT], due=date(2026, 3, 13))
    notice = await office.notice(1)
    assert notice.rcpt_tos == [UNIT_MAIL]
    assert "【办结回复 办2026-0001】" in str(notice.message["Subject"])
    assert "请直接回复本邮件" in notice.message.get_content()

    # a stranger stays quarantined (DOMAIN §2); another organ's reply goes to review
    await office.reply(notice, sender="someone@example.com", body="已办完")
    assert (await _items(ctx))[-1]["outcome"] == "quarantine"
    await office.reply(notice, sender="wenshu@sc.gov.cn", body="已办完")
    view = await handling.status(ctx, "办2026-0001")
    assert view is not None
    assert view.step == "承办中"
    other = (await _items(ctx))[-1]
    assert other["outcome"] == "review"
    assert "来自 wenshu@sc.gov.cn，不是承办单位 甘孜军分区 的地址" in str(other["evidence"])

    await office.reply(notice, sender=UNIT_MAIL, body="已完成防洪堤巡查部署。\n人员已到位。")
    view = await handling.status(ctx, "办2026-0001")
    assert view is not None
    assert (view.step, view.result) == ("已办结", "已完成防洪堤巡查部署。\n人员已到位。")
    assert view.reply_owed == "批复"
    got = (await _items(ctx))[-1]
    assert (got["outcome"], got["kind"], got["sender"]) == ("reply", None, UNIT)
    async with ctx.db.reader() as r:
        numbered = await r.fetchall("SELECT item_id FROM register_entries")
        done = await r.fetchone("SELECT done_reply_item, done_by FROM item_handling"
                                " WHERE item_id = ?", (item_id,))
        told = [str(json.loads(x["payload"]).get("text")) for x in await r.fetchall(
            "SELECT payload FROM outbox WHERE channel = 'chat' AND item_id = ?", (item_id,))]
        returned = await r.fetchall("SELECT id FROM outbox WHERE event = 'return_notice'")
    assert [x["item_id"] for x in numbered] == [item_id]  # the reply got no number
    assert done is not None
    assert (done["done_reply_item"], done["done_by"]) == (got["id"], f"mail:{UNIT_MAIL}")
    assert any(t.startswith("【办结】") and "由甘孜军分区报告" in t and "请拟批复" in t
               for t in told)
    assert returned == []  # nobody is mailed a 退回 for a reply


async def test_tag_alone_and_helpers_reply(office: Office) -> None:
    """A client that drops In-Reply-To: the subject's tag finds the item; the 协办's reply
    goes to review, the 主办's closes."""
    ctx = office.ctx
    await add_item(ctx, title="关于商请支持防汛物资的函", doc_type="函",
                   sender="康定市人民政府")
    await handling.assign(ctx, ref="办2026-0001", units=["四川省人民政府办公厅", UNIT],
                          due=date(2026, 3, 13))
    first = await office.notice(1)
    second = await office.notice(2)
    by_to = {m.rcpt_tos[0]: m for m in (first, second)}
    await office.reply(by_to[UNIT_MAIL], sender=UNIT_MAIL, body="已协助调拨", threaded=False)
    view = await handling.status(ctx, "办2026-0001")
    assert view is not None
    assert view.step == "承办中"
    assert "协办单位 甘孜军分区" in str((await _items(ctx))[-1]["evidence"])
    await office.reply(by_to["wenshu@sc.gov.cn"], sender="wenshu@sc.gov.cn",
                       body="物资已调拨到位", threaded=False)
    view = await handling.status(ctx, "办2026-0001")
    assert view is not None
    assert (view.step, view.result) == ("已办结", "物资已调拨到位")
