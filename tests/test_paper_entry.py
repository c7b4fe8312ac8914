"""A paper item as staff type it (issue 14 item 4): its 文号 typed with [ ], 【】, （）, ()
or spaces is registered in the 〔年〕 form a received one has, and a 来文单位 the directory
does not know is registered with a warning naming the closest directory names — from
`jiyao register` and from chat /register alike."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.telegram.app import ChatBot
from core.model import Kind
from core.reading.fields import canonical_doc_number, extract_fields
from core.services import registry
from core.services.context import Context
from tests.bot_worker import WENSHU
from tests.conftest import run_cli
from tests.fake_telegram import Call, FakeTelegram

#: how a received document prints the 字号 (its head, as the reader reads it)
RECEIVED = extract_fields(
    "四川省人民政府文件\n川府发〔2024〕21号\n四川省人民政府关于做好防汛工作的通知\n"
    "甘孜藏族自治州人民政府：\n请认真贯彻执行。\n四川省人民政府\n2024年6月3日\n"
).doc_number
TYPED = ["川府发[2024]21号", "川府发【2024】21号", "川府发（2024）21号", "川府发(2024)21号",
         "川府发 〔2024〕 21 号", "川府发 [2024] 第21号", "川府发［２０２４］021号",
         "川府发﹝2024﹞21号"]


@pytest.mark.parametrize("typed", TYPED)
def test_canonical_doc_number_reads_what_staff_type(typed: str) -> None:
    assert RECEIVED is not None
    assert canonical_doc_number(typed) == RECEIVED.value == "川府发〔2024〕21号"


@pytest.mark.parametrize("text", ["川府发2024-21", "关于川府发〔2024〕21号的通知", "第21号", ""])
def test_canonical_doc_number_is_none_for_anything_else(text: str) -> None:
    assert canonical_doc_number(text) is None


async def test_paper_doc_number_is_stored_as_a_received_one(ctx: Context) -> None:
    stored = []
    for typed in TYPED:
        done = await registry.register_paper(ctx, kind=Kind.YUE, sender="四川省人民政府",
                                             title="关于做好防汛工作的通知", doc_number=typed)
        assert done.warnings == ()
        stored.append((await registry.show(ctx, str(done.id)))["doc_number"])
    assert stored == ["川府发〔2024〕21号"] * len(TYPED)


async def test_a_doc_number_not_in_the_usual_form_is_kept_with_a_warning(ctx: Context) -> None:
    done = await registry.register_paper(ctx, kind=Kind.YUE, sender="四川省人民政府",
                                         title="通知", doc_number=" 川府发2024-21 ")
    assert done.number is not None
    assert (await registry.show(ctx, str(done.id)))["doc_number"] == "川府发2024-21"
    (warning,) = done.warnings
    assert warning.startswith("文号“川府发2024-21”不是")
    assert "川府发〔2024〕21号" in warning  # the form it should take


async def test_unknown_sender_is_registered_with_the_closest_names(ctx: Context) -> None:
    done = await registry.register_paper(ctx, kind=Kind.BAN, sender="康定市政府",
                                         title="关于申请资金的请示")
    assert done.number is not None
    row = await registry.show(ctx, str(done.id))
    assert (row["sender"], row["outcome"]) == ("康定市政府", "register")
    assert done.warnings == (
        "来文单位“康定市政府”不在通讯录中，最接近的有：康定市人民政府；仍按所填登记。",)
    far = await registry.register_paper(ctx, kind=Kind.YUE, sender="某某科技有限公司",
                                        title="函")
    assert far.warnings == (
        "来文单位“某某科技有限公司”不在通讯录中，也没有相近的名称；仍按所填登记。",)
    known = await registry.register_paper(ctx, kind=Kind.YUE, sender="康定市人民政府",
                                          title="报告")
    assert known.warnings == ()


def test_cli_register_normalises_and_warns(tmp_path: Path) -> None:
    r = run_cli("register", "--kind", "办件", "--sender", "甘孜州财政厅", "--title", "请示",
                "--doc-number", "甘财 [2026] 第 8 号", data_dir=tmp_path, check=True)
    lines = r.stdout.splitlines()
    assert lines[0].startswith("已登记：办件 办2026-")
    assert lines[1:] == [
        "注意：来文单位“甘孜州财政厅”不在通讯录中，最接近的有：甘孜州财政局；仍按所填登记。"]
    number = lines[0].split()[1].split("（")[0]
    shown = run_cli("show", number, data_dir=tmp_path, check=True).stdout
    assert "文号：甘财〔2026〕8号" in shown
    as_json = run_cli("register", "--kind", "阅件", "--sender", "甘孜州财政厅", "--title", "t",
                      "--json", data_dir=tmp_path, check=True).stdout
    assert json.loads(as_json)["warnings"][0].startswith("来文单位“甘孜州财政厅”")


async def test_chat_register_takes_a_doc_number_and_warns(
    fake: FakeTelegram, env: tuple[Context, ChatBot]
) -> None:
    """/register 文号=川府发 【2024】 21号: the confirmation shows the 文号 as it will be
    registered and the closest names of an unknown sender; so does the reply after it."""
    ctx, _ = env
    since = len(fake.calls)
    fake.inject_command(WENSHU, "/register 文号=川府发 【2024】 21号 特急")
    first = await fake.wait_for("sendMessage", lambda c: c.chat_id == WENSHU, since=since)
    fake.inject_callback(WENSHU, first.result["message_id"], "g:y")
    await fake.wait_for("sendMessage", lambda c: "请输入来文单位" in (c.text or ""), since=since)
    fake.inject_message(WENSHU, "四川省政府")
    await fake.wait_for("sendMessage", lambda c: "请输入标题" in (c.text or ""), since=since)
    fake.inject_message(WENSHU, "关于做好防汛工作的通知")
    confirm: Call = await fake.wait_for("sendMessage", lambda c: "请确认" in (c.text or ""),
                                        since=since)
    text = confirm.text or ""
    assert "文号：川府发〔2024〕21号" in text
    assert "紧急程度：特急" in text
    assert "注意：来文单位“四川省政府”不在通讯录中，最接近的有：四川省人民政府" in text
    fake.inject_callback(WENSHU, confirm.result["message_id"], "g:ok")
    done = await fake.wait_for("editMessageText", lambda c: "已登记" in str(c.params["text"]),
                               since=since)
    assert "最接近的有：四川省人民政府" in str(done.params["text"])
    async with ctx.db.reader() as r:
        row = await r.fetchone("SELECT sender, doc_number, urgency FROM items"
                               " WHERE channel = 'paper'")
    assert row is not None
    assert tuple(row) == ("四川省政府", "川府发〔2024〕21号", "特急")
