"""End to end: staff commands, their roles and usage texts, the review queue, /register."""

from __future__ import annotations

from collections.abc import Callable

from telegram import Update
from telegram.ext import CommandHandler, ContextTypes

from bot.telegram import render
from bot.telegram.app import ChatBot
from core.services import dispatch, receive
from core.services.context import Context
from tests.bot_worker import (
    CHANGWU,
    JIYAO,
    NONGYE,
    WENSHU,
    ZHOUZHANG,
    ZONGHE,
    button_data,
    deliver,
    pushed_items,
    pushes,
    settled,
)
from tests.conftest import CORPUS
from tests.fake_telegram import Call, FakeTelegram


def _answer(fake: FakeTelegram, chat_id: int) -> Callable[[str], object]:
    """Send a command and wait for the bot's answer (notices and reminders, which start
    with 【…】, may arrive meanwhile and are skipped)."""

    def answer(c: Call) -> bool:
        return c.chat_id == chat_id and not str(c.result["text"]).startswith("【")

    async def ask(command: str) -> str:
        since = len(fake.calls)
        fake.inject_command(chat_id, command)
        call = await fake.wait_for("sendMessage", answer, since=since)
        return str(call.result["text"])

    return ask


async def test_lookups_answer_and_bad_arguments_get_usage(
    fake: FakeTelegram, env: tuple[Context, ChatBot]
) -> None:
    """/next, /counts, /find (trigram and short keywords), /errors and /overdue answer in
    Chinese; bad arguments get the usage text."""
    ctx, _ = env
    ban = await deliver(ctx, "d008.eml")
    yue = await deliver(ctx, "d011.eml")
    await deliver(ctx, "d035.eml")  # classified: never found in chat
    ask = _answer(fake, WENSHU)
    year = (ban.number or "")[1:5]
    assert await ask("/next 办件") == f"下一个办件登记号：办{year}-0003"
    assert await ask("/next 阅件") == f"下一个阅件登记号：阅{year}-0002"
    assert (await ask("/next 抄件")).startswith("抄件不编号")
    assert await ask("/next") == "用法：/next 办件 或 /next 阅件"
    assert "未知类别" in await ask("/next 公文")
    counts = await ask(f"/counts {year}")
    assert counts.startswith(f"{year}年收件 3 件")
    assert "办件 2" in counts
    assert "阅件 1" in counts
    assert (await ask(f"/counts {year}-13")).startswith("用法：/counts")
    assert (await ask("/counts 去年")).startswith("用法：/counts")
    found = await ask("/find 三中全会")
    assert yue.number in found
    assert ban.number not in found
    short = await ask("/find 财政")
    assert ban.number in short
    assert "没有找到" in await ask("/find 汛期重点部位")
    assert await ask("/find") == "用法：/find 关键词（例如 /find 防汛）"
    assert "错情率 0.00%" in await ask("/errors")
    assert await ask("/errors 今年") == "用法：/errors 或 /errors 2026"
    assert "逾期" in await ask("/overdue")
    assert await ask("/nosuch") == "未知命令。发送 /help 查看您可用的命令。"


async def test_roles_limit_commands_and_help_lists_only_ones_own(
    fake: FakeTelegram, env: tuple[Context, ChatBot]
) -> None:
    """A leader cannot /review or /correct; a section sees /overdue; /help lists per role."""
    _ctx, _ = env
    leader = _answer(fake, ZHOUZHANG)
    assert (await leader("/review")).startswith("您没有此项权限")
    assert (await leader("/correct 办2026-0001 阅件 错")).startswith("您没有此项权限")
    help_leader = await leader("/help")
    assert "/subscribe" in help_leader
    assert "/review" not in help_leader
    assert "回复推送消息或点“批示”即可批示" in help_leader
    section = _answer(fake, ZONGHE)
    help_section = await section("/help")
    assert "/overdue" in help_section
    assert "/find" not in help_section
    assert (await section("/find 防汛")).startswith("您没有此项权限")
    help_staff = await _answer(fake, WENSHU)("/help")
    assert "/register" in help_staff
    assert "/review" in help_staff


async def test_doc_shows_the_item_to_staff_and_only_routed_leaders(
    fake: FakeTelegram, env: tuple[Context, ChatBot]
) -> None:
    """/doc 编号 gives registry staff the record; a leader the item was not sent to is refused."""
    ctx, _ = env
    ban = await deliver(ctx, "d008.eml")
    await fake.wait_until(lambda: len(pushes(fake, CHANGWU)) >= 1)
    await settled(ctx)
    text = await _answer(fake, WENSHU)(f"/doc {ban.number}")
    assert f"办件 {ban.number}" in text
    assert "已推送：常务副州长" in text
    assert "未能完成：此件未送您阅批" in await _answer(fake, NONGYE)(f"/doc {ban.number}")
    assert "找不到编号" in await _answer(fake, WENSHU)("/doc 办2026-9999")
    assert "无法识别的编号" in await _answer(fake, WENSHU)("/doc 甲乙丙")
    assert (await _answer(fake, WENSHU)("/doc")).startswith("用法：/doc")


async def test_review_queue_kind_button_registers_numbers_and_pushes(
    fake: FakeTelegram, env: tuple[Context, ChatBot]
) -> None:
    """A fax waiting for review is classified with a button: numbered, then pushed."""
    ctx, _ = env
    got = await deliver(ctx, "d034.eml")
    assert got.outcome == "review"
    since = len(fake.calls)
    fake.inject_command(WENSHU, "/review")
    entry = await fake.wait_for("sendMessage", lambda c: c.chat_id == WENSHU
                                and "【待分类】" in (c.text or "") and bool(button_data(c)),
                                since=since)
    assert f"k:{got.item_id}:b" in button_data(entry)
    query = fake.inject_callback(WENSHU, entry.result["message_id"], f"k:{got.item_id}:b")
    await fake.wait_until(lambda: fake.callback_answered(query))
    edited = await fake.wait_for("editMessageText")
    assert "已分类为办件" in str(edited.params["text"])
    await fake.wait_until(lambda: len(pushes(fake, ZHOUZHANG)) >= 1)
    assert pushed_items(fake, ZHOUZHANG) == [got.item_id]
    # pressed again (a stale button): answered politely, nothing changes
    again = fake.inject_callback(WENSHU, entry.result["message_id"], f"k:{got.item_id}:y")
    await fake.wait_until(lambda: fake.callback_answered(again))
    async with ctx.db.reader() as r:
        entries = await r.fetchall("SELECT kind, status FROM register_entries WHERE item_id = ?",
                                   (got.item_id,))
    assert [tuple(e) for e in entries] == [("办件", "active")]
    assert "没有待分类的收件" in await _answer(fake, WENSHU)("/review")


async def test_correct_records_the_error(
    fake: FakeTelegram, env: tuple[Context, ChatBot]
) -> None:
    """/correct voids the wrong entry with its reason; /errors counts it."""
    ctx, _ = env
    yue = await deliver(ctx, "d011.eml")
    ask = _answer(fake, JIYAO)
    assert (await ask("/correct 阅2026-0001")).startswith("用法：/correct")
    assert "未知类别" in await ask(f"/correct {yue.number} 公函 理由")
    done = await ask(f"/correct {yue.number} 办件 含请示事项，应为办件")
    assert f"原编号 {yue.number} 作废" in done
    assert "计入错情率" in done
    assert "更正 1 件" in await ask("/errors")


async def test_register_conversation_numbers_a_paper_item_and_pushes_it(
    fake: FakeTelegram, env: tuple[Context, ChatBot]
) -> None:
    """/register asks kind, sender, title, then confirms: numbered and pushed by 分工."""
    _ctx, _ = env
    since = len(fake.calls)
    fake.inject_command(WENSHU, "/register")
    first = await fake.wait_for("sendMessage", lambda c: c.chat_id == WENSHU, since=since)
    assert "g:b" in button_data(first)
    fake.inject_callback(WENSHU, first.result["message_id"], "g:b")
    await fake.wait_for("sendMessage", lambda c: "请输入来文单位" in (c.text or ""))
    fake.inject_message(WENSHU, "甘孜州财政局")
    await fake.wait_for("sendMessage", lambda c: "请输入标题" in (c.text or ""))
    fake.inject_message(WENSHU, "关于拨付灾后重建资金的请示")
    confirm: Call = await fake.wait_for("sendMessage", lambda c: "请确认" in (c.text or ""))
    fake.inject_callback(WENSHU, confirm.result["message_id"], "g:ok")
    done = await fake.wait_for("editMessageText", lambda c: "已登记" in str(c.params["text"]))
    assert "办件 办" in str(done.params["text"])
    await fake.wait_until(lambda: len(pushes(fake, CHANGWU)) >= 1)
    text = pushes(fake, CHANGWU)[0].result["text"]
    assert "关于拨付灾后重建资金的请示" in text
    assert "（纸质件）" in text
    # /cancel leaves a registration half-way
    fake.inject_command(WENSHU, "/register")
    await fake.wait_for("sendMessage", lambda c: "登记纸质来文" in (c.text or ""), since=len(
        fake.calls) - 1)
    assert await _answer(fake, WENSHU)("/cancel") == "已取消登记。"


async def test_register_with_marks_pushes_a_secret_paper_item_envelope_only(
    fake: FakeTelegram, env: tuple[Context, ChatBot]
) -> None:
    """/register 秘密 特急 信封=… 期限=…: the marks are confirmed, stored, and the push is
    envelope-only (no title); a mark it cannot read is refused in Chinese."""
    ctx, _ = env
    assert "看不懂" in await _answer(fake, WENSHU)("/register 三级")
    since = len(fake.calls)
    fake.inject_command(WENSHU, "/register 秘密 特急 信封=JY-7 期限=2026-12-20")
    first = await fake.wait_for("sendMessage", lambda c: c.chat_id == WENSHU, since=since)
    fake.inject_callback(WENSHU, first.result["message_id"], "g:b")
    await fake.wait_for("sendMessage", lambda c: "请输入来文单位" in (c.text or ""), since=since)
    fake.inject_message(WENSHU, "甘孜州财政局")
    await fake.wait_for("sendMessage", lambda c: "请输入标题" in (c.text or ""), since=since)
    fake.inject_message(WENSHU, "关于某涉密资金的请示")
    confirm: Call = await fake.wait_for("sendMessage", lambda c: "请确认" in (c.text or ""),
                                        since=since)
    assert "信封编号：JY-7" in (confirm.text or "")
    fake.inject_callback(WENSHU, confirm.result["message_id"], "g:ok")
    await fake.wait_for("editMessageText", lambda c: "已登记" in str(c.params["text"]),
                        since=since)
    await fake.wait_until(lambda: len(pushes(fake, CHANGWU)) >= 1)
    text = pushes(fake, CHANGWU)[-1].result["text"]
    assert "涉密件" in text
    assert "涉密资金" not in text
    async with ctx.db.reader() as r:
        row = await r.fetchone("SELECT secrecy, urgency, deadline FROM items"
                               " WHERE envelope_no = 'JY-7'")
    assert row is not None
    assert tuple(row) == ("秘密", "特急", "2026-12-20")


async def test_error_handler_logs_and_tells_the_admin_chat(
    fake: FakeTelegram, env: tuple[Context, ChatBot]
) -> None:
    """An exception in a handler reaches the one error handler: admin told, user told."""
    _, bot = env

    async def boom(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        raise RuntimeError("测试故障")

    assert bot.app is not None
    bot.app.add_handler(CommandHandler("boom", boom), group=1)
    fake.inject_command(WENSHU, "/boom")
    admin = await fake.wait_for("sendMessage", lambda c: c.chat_id == JIYAO)
    assert admin.text == "【机器人出错】RuntimeError: 测试故障"
    await fake.wait_for("sendMessage", lambda c: c.chat_id == WENSHU
                        and "处理时出错" in (c.text or ""))


async def test_take_copies_and_done(fake: FakeTelegram, env: tuple[Context, ChatBot]) -> None:
    """/take numbers a code for its owner only, /copies shows the calculation, /done closes."""
    ctx, _ = env
    jiyao_ask = _answer(fake, JIYAO)
    taken = await jiyao_ask("/take 甘府发 关于做好冬季防火工作的通知")
    assert taken.startswith("已取号：甘府发〔")
    assert "1号" in taken
    zonghe_ask = _answer(fake, ZONGHE)
    refused = await zonghe_ask("/take 甘府发 关于某事的通知")
    assert "由机要室编号" in refused
    assert (await zonghe_ask("/take 政府会 第十次常务会议纪要")).startswith("已取号：政府会 第1期")
    assert await zonghe_ask("/take 甘府发") == render.USAGE["take"]
    counted = await jiyao_ask("/take 甘府发 关于做好森林防火工作的通知 印数 州级各部门和各县 +2")
    assert "标题：关于做好森林防火工作的通知\n" in counted
    assert "合计：164 份" in counted
    assert "分发：州级各部门和各县 158 份；增加的受文单位 6 份" in counted
    kept = await dispatch.show(ctx, counted.splitlines()[0].removeprefix("已取号："))
    assert kept["copies"]["total"] == 164
    faxed = await jiyao_ask("/take 甘府发 关于防火的通知 印数：报送省政府 传真")
    assert "合计：0 份" in faxed
    assert "未知" in await jiyao_ask("/take 甘府发 关于防火的通知 印数 全体")
    copies = await jiyao_ask("/copies 州级各部门和各县 +2")
    assert "合计：164 份" in copies
    assert "⌈2 × 158 ÷ 58⌉" in copies
    assert "0 份" in await jiyao_ask("/copies 报送省政府 传真")
    assert "未知" in await jiyao_ask("/copies 不存在的名单")
    ban = await deliver(ctx, "d008.eml")
    assert (await _answer(fake, WENSHU)(f"/done {ban.number}")).startswith("已办结")
    nongye = await _answer(fake, NONGYE)("/take 甘府发 标题")
    assert "没有此项权限" in nongye


async def test_impossible_numbers_and_years_get_the_usage_text(
    fake: FakeTelegram, env: tuple[Context, ChatBot]
) -> None:
    """收件序号 that cannot exist, years like 0000, over-long titles and huge counts are
    answered in Chinese, naming the problem, not with the error handler's apology."""
    ctx, _ = env
    await deliver(ctx, "d008.eml")
    staff = _answer(fake, WENSHU)
    for command in ("/doc 99999999999999999999", "/doc ²", "/done 99999999999999999999",
                    "/done ²", "/correct 99999999999999999999 阅件 理由"):
        text = await staff(command)
        assert text.startswith("未能完成：无法识别的收件序号"), (command, text)
    assert await staff("/counts 0000") == render.USAGE["counts"]
    assert await staff("/counts 9999-03") == render.USAGE["counts"]
    assert await staff("/errors 0000") == render.USAGE["errors"]
    registry = _answer(fake, JIYAO)
    assert (await registry("/take 甘府发 " + "长" * 301)).startswith("标题过长")
    assert (await registry("/copies 州级各部门和各县 +99999999999999999999")).startswith("数字过大")
    assert not [c for c in fake.sent(JIYAO) if "机器人出错" in (c.text or "")]


async def test_status_shows_the_intake_queue_to_registrars_only(
    fake: FakeTelegram, env: tuple[Context, ChatBot]
) -> None:
    """/status: what waits for the pipeline and what was shunted, as `jiyao queue` shows;
    a leader may not see it."""
    ctx, _ = env
    await deliver(ctx, "d008.eml")  # decided
    for name in ("d011.eml", "d012.eml"):  # accepted at the edge, not yet decided
        await receive.accept(ctx, (CORPUS / name).read_bytes(),
                             receive.Sender("a@sc.gov.cn", ("shouwen@gzz.gov.cn",)))
    status = await _answer(fake, WENSHU)("/status")
    assert "待处理：2 件（处理中 0 件）" in status
    assert "待人工处理：0 件" in status
    assert "最早等待：无" not in status
    assert (await _answer(fake, ZHOUZHANG)("/status")).startswith("您没有此项权限")
