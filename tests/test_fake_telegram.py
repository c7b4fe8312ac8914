"""The fake Bot API server (tests/fake_telegram.py) driven by the real python-telegram-bot 22."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, EndPointNotFound, Forbidden, NetworkError, RetryAfter
from telegram.ext import (
    AIORateLimiter,
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    ExtBot,
    MessageHandler,
    filters,
)

from tests.fake_telegram import FakeTelegram, Upload

# httpx logs every request URL, and the URL holds the bot token.
logging.getLogger("httpx").setLevel(logging.WARNING)

TOKEN = "123:ABC"
CHAT = 100001


@pytest.fixture
async def bot(fake: FakeTelegram) -> AsyncIterator[Bot]:
    async with Bot(TOKEN, base_url=fake.base_url) as b:
        yield b


async def _counts(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("已阅", callback_data="read:42")]])
    await update.effective_message.reply_text(
        f"<b>统计</b> {' '.join(context.args or [])}", parse_mode="HTML", reply_markup=keyboard
    )


async def _text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    assert message is not None
    replied = message.reply_to_message
    about = f"回复第{replied.message_id}条：{replied.text}" if replied else "收到"
    await message.reply_text(f"{about}｜{message.text}", do_quote=True)


async def _button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    await query.answer("已记录")
    await query.edit_message_text(f"已阅（{query.data}）")


def _application(fake: FakeTelegram, errors: list[Exception]) -> Application:  # type: ignore[type-arg]
    app = Application.builder().token(TOKEN).base_url(fake.base_url).build()
    app.add_handler(CommandHandler("counts", _counts))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, _text))
    app.add_handler(CallbackQueryHandler(_button))
    return app


async def _start(app: Application, errors: list[Exception]) -> None:  # type: ignore[type-arg]
    await app.initialize()
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0, timeout=1, error_callback=errors.append)
    await app.start()


async def _stop(app: Application) -> float:  # type: ignore[type-arg]
    started = time.monotonic()
    assert app.updater is not None
    await app.updater.stop()
    await app.stop()
    await app.shutdown()
    return time.monotonic() - started


async def test_real_application_handles_command_reply_and_button(fake: FakeTelegram) -> None:
    """PTB polls the fake, answers a command, a reply and a button press, and stops promptly."""
    errors: list[Exception] = []
    app = _application(fake, errors)
    await _start(app, errors)
    try:
        fake.inject_command(CHAT, "/counts 2026")
        call = await fake.wait_for("sendMessage")
        assert call.params["text"] == "<b>统计</b> 2026"
        pushed = call.result
        assert pushed["text"] == "统计 2026"  # HTML parsed as Telegram does
        assert pushed["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "read:42"

        reply = fake.inject_message(
            CHAT, "同意，请财政局办理", reply_to_message_id=pushed["message_id"]
        )
        answer = await fake.wait_for("sendMessage", lambda c: "同意" in (c.text or ""))
        assert answer.text == f"回复第{pushed['message_id']}条：统计 2026｜同意，请财政局办理"
        assert answer.result["reply_to_message"]["message_id"] == reply["message_id"]

        query_id = fake.inject_callback(CHAT, pushed["message_id"], "read:42")
        await fake.wait_for("answerCallbackQuery")
        await fake.wait_for("editMessageText")
        assert fake.callback_answered(query_id)
        assert fake.message(CHAT, pushed["message_id"])["text"] == "已阅（read:42）"
        assert "reply_markup" not in fake.message(CHAT, pushed["message_id"])
        assert len(fake.sent(CHAT)) == 2
        assert fake.sent(999) == []
    finally:
        elapsed = await _stop(app)
    assert elapsed < 3.0
    assert errors == []
    assert {"getMe", "deleteWebhook", "getUpdates"} <= {c.method for c in fake.calls}


async def test_polling_error_reaches_error_callback_and_polling_recovers(
    fake: FakeTelegram,
) -> None:
    """A 502 on getUpdates goes to error_callback; polling goes on and handles the next update."""
    errors: list[Exception] = []
    app = _application(fake, errors)
    fake.fail_next("getUpdates", 1, status=502)
    await _start(app, errors)
    try:
        fake.inject_command(CHAT, "/counts")
        await fake.wait_for("sendMessage", timeout=5)
    finally:
        await _stop(app)
    assert len(errors) == 1
    assert isinstance(errors[0], NetworkError)
    failed = [c for c in fake.calls if c.failed and c.status == 502]
    assert [c.method for c in failed] == ["getUpdates"]


async def test_send_message_and_document(fake: FakeTelegram, bot: Bot) -> None:
    """send_message and a multipart send_document come back as PTB Messages and are recorded."""
    message = await bot.send_message(CHAT, "收文 办2026-0001")
    assert message.text == "收文 办2026-0001"
    assert message.from_user is not None
    assert message.from_user.id == 123
    document = await bot.send_document(
        CHAT, document=b"%PDF-1.4 test", filename="请示.pdf", caption="附件"
    )
    assert document.document is not None
    assert document.document.file_name == "请示.pdf"
    assert document.caption == "附件"
    assert document.message_id == message.message_id + 1
    upload = fake.sent(CHAT)[1].params["document"]
    assert isinstance(upload, Upload)
    assert upload.data == b"%PDF-1.4 test"
    again = await bot.send_document(CHAT, document=document.document.file_id)
    assert again.document is not None
    assert again.document.file_size == len(b"%PDF-1.4 test")
    assert [c.method for c in fake.sent()] == ["sendMessage", "sendDocument", "sendDocument"]


async def test_retry_after_raised_once(fake: FakeTelegram, bot: Bot) -> None:
    """An injected 429 reaches PTB as RetryAfter; the failed call is recorded and sends nothing."""
    fake.fail_next("sendMessage", 1, status=429, retry_after=7)
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(CHAT, "一")
    assert "Retry in 7 seconds" in str(caught.value)
    assert fake.calls[-1].failed
    assert fake.calls[-1].status == 429
    assert fake.sent() == []
    assert fake.bot_messages() == []
    await bot.send_message(CHAT, "二")
    assert len(fake.sent()) == 1


async def test_rate_limiter_retries_after_429(fake: FakeTelegram) -> None:
    """With AIORateLimiter(max_retries=3) a 429 is waited out and the send succeeds."""
    limiter = AIORateLimiter(max_retries=3)
    async with ExtBot(TOKEN, base_url=fake.base_url, rate_limiter=limiter) as bot:
        fake.fail_next("sendMessage", 1, status=429, retry_after=1)
        message = await bot.send_message(CHAT, "重发")
    tries = fake.calls_of("sendMessage", include_failed=True)
    assert [c.ok for c in tries] == [False, True]
    assert tries[1].time - tries[0].time >= 1.0
    assert message.text == "重发"


async def test_refusals_match_telegram(fake: FakeTelegram, bot: Bot) -> None:
    """Blocked chats, bad HTML, long callback data, unchanged edits and 5xx raise PTB errors."""
    fake.block(555)
    with pytest.raises(Forbidden):
        await bot.send_message(555, "x")
    with pytest.raises(BadRequest, match="parse entities"):
        await bot.send_message(CHAT, "标题<关于>", parse_mode="HTML")
    too_long = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="x" * 65)]])
    with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
        await bot.send_message(CHAT, "x", reply_markup=too_long)
    sent = await bot.send_message(CHAT, "同一内容")
    with pytest.raises(BadRequest, match="not modified"):
        await bot.edit_message_text("同一内容", chat_id=CHAT, message_id=sent.message_id)
    with pytest.raises(BadRequest, match="not found"):
        await bot.edit_message_text("新", chat_id=CHAT, message_id=999)
    fake.fail_next("sendMessage", 1, status=500)
    with pytest.raises(NetworkError):
        await bot.send_message(CHAT, "x")
    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("noSuchMethod")
    assert len(fake.sent()) == 1


async def test_unknown_method_answers_404_json(fake: FakeTelegram) -> None:
    """An unknown method gets Telegram's 404 JSON body, and form bodies are decoded."""
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{fake.base_url}1:X/fooBar") as resp:
            assert resp.status == 404
            assert await resp.json() == {
                "ok": False,
                "error_code": 404,
                "description": "Not Found",
            }
        form = {"chat_id": "7", "text": "123", "reply_markup": '{"inline_keyboard": []}'}
        async with http.post(f"{fake.base_url}1:X/sendMessage", data=form) as resp:
            body = await resp.json()
    assert body["ok"] is True
    assert body["result"]["text"] == "123"
    assert fake.sent(7)[0].params == {
        "chat_id": 7,
        "text": "123",
        "reply_markup": {"inline_keyboard": []},
    }


async def test_get_updates_long_poll_and_offset(fake: FakeTelegram) -> None:
    """getUpdates waits up to timeout when empty, returns at once when queued, honours offset."""
    url = f"{fake.base_url}1:X/getUpdates"
    async with aiohttp.ClientSession() as http:
        started = time.monotonic()
        async with http.post(url, json={"timeout": 0.3}) as resp:
            assert (await resp.json())["result"] == []
        assert time.monotonic() - started >= 0.3

        waiting = asyncio.create_task(http.post(url, json={"timeout": 5}))
        await asyncio.sleep(0.05)
        started = time.monotonic()
        first = fake.inject_message(CHAT, "你好")
        async with await waiting as resp:
            updates = (await resp.json())["result"]
        assert time.monotonic() - started < 1.0
        assert [u["message"]["message_id"] for u in updates] == [first["message_id"]]

        fake.inject_message(CHAT, "第二条")
        async with http.post(url, json={"offset": updates[0]["update_id"] + 1}) as resp:
            rest = (await resp.json())["result"]
        assert [u["message"]["text"] for u in rest] == ["第二条"]


async def test_second_poller_conflicts(fake: FakeTelegram) -> None:
    """A second getUpdates while one waits ends the first with 409, as with two bot instances."""
    url = f"{fake.base_url}1:X/getUpdates"
    async with aiohttp.ClientSession() as http:
        first = asyncio.create_task(http.post(url, json={"timeout": 5}))
        await asyncio.sleep(0.05)
        async with http.post(url, json={"timeout": 0}) as resp:
            assert resp.status == 200
        async with await first as resp:
            assert resp.status == 409


async def test_lost_reply_still_delivers(fake: FakeTelegram, bot: Bot) -> None:
    """A send whose answer is lost raises NetworkError in PTB yet the chat has the message."""
    fake.lose_reply_next("sendMessage")
    with pytest.raises(NetworkError):
        await bot.send_message(CHAT, "在途")
    assert [m["text"] for m in fake.bot_messages(CHAT)] == ["在途"]
    assert fake.calls_of("sendMessage")[0].lost


async def test_rates_are_measured_and_can_be_enforced(fake: FakeTelegram, bot: Bot) -> None:
    """Per-chat and total send rates are measured; enforce_rate answers 429 past the limit."""
    for _ in range(3):
        await bot.send_message(CHAT, "a")
    await bot.send_message(CHAT + 1, "b")
    assert fake.max_in_window(1.0, CHAT) == 3
    assert fake.max_rate_per_chat(1.0) == 3.0
    assert fake.max_rate_total(2.0) == 2.0
    fake.enforce_rate(per_chat=3, window=1.0)
    with pytest.raises(RetryAfter):
        await bot.send_message(CHAT, "a")
    await bot.send_message(CHAT + 2, "c")
    assert len(fake.send_times()) == 5


async def test_error_rate_is_seeded(fake: FakeTelegram, bot: Bot) -> None:
    """A random error rate fails about that share of sends, reproducibly with a seed."""
    fake.set_error_rate(0.5, statuses=(500,), seed=3)
    outcomes = []
    for _ in range(20):
        try:
            await bot.send_message(CHAT, "x")
            outcomes.append(True)
        except NetworkError:
            outcomes.append(False)
    assert 3 < outcomes.count(False) < 17
    assert len(fake.sent()) == outcomes.count(True)
    assert [c.ok for c in fake.calls_of("sendMessage", include_failed=True)] == outcomes


async def test_commands_menu_and_lifecycle_methods(fake: FakeTelegram, bot: Bot) -> None:
    """setMyCommands/getMyCommands/deleteMyCommands, setChatMenuButton, close and logOut work."""
    await bot.set_my_commands([("counts", "各类收件数量"), ("find", "查找收件")])
    got = await bot.get_my_commands()
    assert [(c.command, c.description) for c in got] == [
        ("counts", "各类收件数量"),
        ("find", "查找收件"),
    ]
    with pytest.raises(BadRequest):
        await bot.set_my_commands([("Bad-Name", "x")])
    await bot.delete_my_commands()
    assert await bot.get_my_commands() == ()
    assert await bot.set_chat_menu_button(chat_id=CHAT)
    assert fake.menu_buttons[CHAT] == {"type": "default"}
    assert await bot.close()
    assert await bot.log_out()
