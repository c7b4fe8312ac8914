"""The handling flow in chat (real PTB stack, loopback fake Bot API): /assign by a
registrar tells the 主办 section in its chat; /done 编号 结果 from that section closes it;
another section may not; /propose and /slip for registrars."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any

from pypdf import PdfReader

from bot.telegram import render
from bot.telegram.app import ChatBot
from bot.telegram.handlers import flow
from core.services import handling
from core.services.context import Context
from tests.bot_worker import JIYAO, ZHOUZHANG, ZONGHE, button_data, deliver
from tests.fake_telegram import Call, FakeTelegram
from tests.test_handling import add_item

ZHENGWU = 200004  # 政务公开科's chat


def _answer(fake: FakeTelegram, chat_id: int) -> Callable[[str], Coroutine[Any, Any, str]]:
    def answer(c: Call) -> bool:
        return c.chat_id == chat_id and not str(c.result["text"]).startswith("【")

    async def ask(command: str) -> str:
        since = len(fake.calls)
        fake.inject_command(chat_id, command)
        call = await fake.wait_for("sendMessage", answer, since=since)
        return str(call.result["text"])

    return ask


async def test_assign_and_done_in_chat(fake: FakeTelegram, env: tuple[Context, ChatBot]) -> None:
    ctx, _ = env
    ban = await deliver(ctx, "d008.eml")
    due = (ctx.clock() + timedelta(days=20)).date().isoformat()
    registrar = _answer(fake, JIYAO)
    assert await registrar(f"/assign {ban.number}") == render.USAGE["assign"]
    out = await registrar(f"/assign {ban.number} 综合科、政务公开科 {due}")
    assert out.startswith(f"已交办：{ban.number}")
    assert f"综合科（主办），期限 {due}" in out
    told = await fake.wait_for(
        "sendMessage",
        lambda c: c.chat_id == ZONGHE and str(c.result["text"]).startswith("【交办】"))
    assert f"/done {ban.number}" in str(told.result["text"])

    refused = await _answer(fake, ZHENGWU)(f"/done {ban.number} 已办")
    assert "未交政务公开科主办" in refused
    assert (await _answer(fake, ZONGHE)(f"/done {ban.number} 已按要求落实")).startswith("已办结")
    view = await handling.status(ctx, str(ban.number))
    assert view is not None
    assert (view.step, view.result) == ("已办结", "已按要求落实")
    assert "没有此项权限" in await _answer(fake, ZONGHE)(f"/assign {ban.number} 综合科 {due}")


async def test_proposal_push_and_accept_button(fake: FakeTelegram,
                                               env: tuple[Context, ChatBot]) -> None:
    """拟办 after the push: the leader gets the item again with the 拟办意见 and a 同意拟办
    button; pressing it records the 批示 and the item waits to be handed on."""
    ctx, _ = env
    ban = await deliver(ctx, "d008.eml")
    await handling.propose(ctx, ref=str(ban.number), text="拟请综合科牵头办理", leader="州长",
                           units=["综合科"])
    def proposal_push() -> list[Call]:
        return [c for c in fake.calls if c.chat_id == ZHOUZHANG
                and "拟办意见：拟请综合科牵头办理" in (c.text or "")]

    await fake.wait_until(lambda: bool(proposal_push()))
    pushed = proposal_push()[0]
    assert "【拟办】" in (pushed.text or "")
    accept = [d for d in button_data(pushed) if d.startswith("a:")]
    assert accept == [f"a:{ban.item_id}"]
    since = len(fake.calls)
    fake.inject_callback(ZHOUZHANG, int(pushed.result["message_id"]), accept[0])
    await fake.wait_for("answerCallbackQuery",
                        lambda c: "已同意拟办" in str(c.params.get("text")), since=since)
    view = await handling.status(ctx, str(ban.number))
    assert view is not None
    assert (view.step, view.accepted_by) == ("待交办", "州长")
    doc = await _answer(fake, JIYAO)(f"/doc {ban.number}")
    assert "办理环节：待交办；当前经办：文书处理室" in doc


async def test_propose_in_chat(fake: FakeTelegram, env: tuple[Context, ChatBot]) -> None:
    """/propose by a registrar: the 拟办 with leader, unit and due; the leader gets it with
    同意拟办; a section chat may not propose."""
    ctx, _ = env
    ban = await deliver(ctx, "d008.eml")
    due = (ctx.clock() + timedelta(days=20)).date().isoformat()
    registrar = _answer(fake, JIYAO)
    assert await registrar(f"/propose {ban.number}") == flow.USAGE_PROPOSE
    assert "期限格式不对" in await registrar(f"/propose {ban.number} 拟办 期限=下周")
    assert "没有名为" in await registrar(f"/propose {ban.number} 拟办 领导=无此人")
    out = await registrar(
        f"/propose {ban.number} 拟请综合科 牵头办理 领导=州长 承办=综合科、甘孜军分区 期限={due}")
    assert out == f"已拟办：{ban.number}，已呈州长批示。"
    view = await handling.status(ctx, str(ban.number))
    assert view is not None
    assert view.proposal is not None
    assert (view.step, view.holder, view.proposal.text) == ("待批示", "州长", "拟请综合科 牵头办理")
    assert view.proposal.units == ("综合科", "甘孜军分区")
    assert view.proposal.due is not None
    assert view.proposal.due.isoformat() == due
    pushed = await fake.wait_for(  # the item's file goes with the push, the text its caption
        "sendDocument",
        lambda c: c.chat_id == ZHOUZHANG and "拟办意见：拟请综合科 牵头办理" in (c.text or ""))
    assert f"a:{ban.item_id}" in button_data(pushed)
    # the leader sees what 同意拟办 agrees to: the units (first 主办) and the due day
    assert f"承办：综合科（主办）、甘孜军分区（协办）；期限：{due}" in (pushed.text or "")
    assert "没有此项权限" in await _answer(fake, ZONGHE)(f"/propose {ban.number} 拟办")


async def test_slip_in_chat(fake: FakeTelegram, env: tuple[Context, ChatBot]) -> None:
    """/slip sends the 公文处理单 as a PDF to the registrar who asks; a 秘密 item's is
    refused (its envelope is all chat shows); a section chat may not ask."""
    ctx, _ = env
    ban = await deliver(ctx, "d008.eml")
    await handling.propose(ctx, ref=str(ban.number), text="拟请综合科牵头办理", leader="州长")
    registrar = _answer(fake, JIYAO)
    assert await registrar("/slip") == flow.USAGE_SLIP
    since = len(fake.calls)
    fake.inject_command(JIYAO, f"/slip {ban.number}")
    sent = await fake.wait_for("sendDocument", lambda c: c.chat_id == JIYAO, since=since)
    document = sent.result["document"]
    assert document["file_name"] == f"公文处理单-{ban.number}.pdf"
    pdf = fake.files[document["file_id"]].data
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages).replace("\n", "")
    data = await handling.slip(ctx, str(ban.number))
    for want in (str(ban.number), data.title, data.sender, "拟请综合科牵头办理", "领导批示"):
        assert want
        assert want in text, want
    # the audit entry is written once the file has gone (just after sendDocument answers)
    for _ in range(100):
        async with ctx.db.reader() as r:
            sent_rows = await r.fetchall(
                "SELECT actor, subject, detail FROM audit WHERE action = 'slip.sent'")
        if sent_rows:
            break
        await asyncio.sleep(0.05)
    assert len(sent_rows) == 1
    assert sent_rows[0]["subject"] == f"item:{ban.item_id}"
    assert f"telegram:{JIYAO}" in sent_rows[0]["detail"]

    secret = await add_item(ctx, title="关于边境防务部署的请示", doc_type="请示",
                            sender="康定市人民政府", secrecy="秘密")
    since = len(fake.calls)
    refused = await registrar(f"/slip {secret}")
    assert "涉密件，公文处理单不在聊天中发送" in refused
    assert "边境防务" not in refused
    assert not [c for c in fake.calls[since:] if c.method == "sendDocument" and c.chat_id == JIYAO]
    assert "没有此项权限" in await _answer(fake, ZONGHE)(f"/slip {ban.number}")
