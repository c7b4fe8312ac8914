"""Helpers for the bot tests: settings pointed at the fake Bot API, the bot in-process or
as a `jiyao bot` subprocess, and items created the way intake creates them.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from bot.telegram.app import ChatBot
from core.clock import Clock, system_clock
from core.config import Settings, Storage, load_settings
from core.services.context import Context, open_context
from core.services.receive import Received, receive
from tests.conftest import CORPUS, EXAMPLE, ROOT, with_ocr
from tests.fake_telegram import Call, FakeTelegram

TOKEN = "123:ABC"
OFFICE = "shouwen@gzz.gov.cn"

# chat ids of the example office (config.example.toml)
ZHOUZHANG = 100001  # 州长
CHANGWU = 100002  # 常务副州长
NONGYE = 100003
JIAOWEI = 100004
YINGJI = 100005  # 分管应急副州长
MISHUZHANG = 100006  # 秘书长 (also on the duty list)
WENSHU = 200001  # 文书处理室 (registrar)
JIYAO = 200002  # 机要室 (registrar, dispatch; the admin chat)
ZONGHE = 200003  # 综合科 (section)
DUTY_ROOM = 200010  # 州政府总值班室
LEADERS = (ZHOUZHANG, CHANGWU, NONGYE, JIAOWEI, YINGJI, MISHUZHANG)
REGISTRARS = (WENSHU, JIYAO)
STRANGER = 999999


def bot_settings(data_dir: Path, fake: FakeTelegram, **bot: Any) -> Settings:
    """The example office on `data_dir`, its bot talking to `fake`."""
    base = with_ocr(load_settings(EXAMPLE), enabled=False)
    updates = {"token": SecretStr(TOKEN), "base_url": fake.base_url, "poll_timeout": 1.0, **bot}
    return base.model_copy(update={
        "storage": Storage(data_dir=data_dir),
        "bot": base.bot.model_copy(update=updates),
    })


@contextlib.asynccontextmanager
async def running_bot(
    settings: Settings, clock: Clock = system_clock
) -> AsyncIterator[tuple[Context, ChatBot]]:
    """The real ChatBot on this loop (polling the fake), stopped and closed afterwards."""
    ctx = await open_context(settings, clock=clock)
    bot = ChatBot(ctx, poll=0.05)
    try:
        await bot.start()
        yield ctx, bot
    finally:
        await bot.stop()
        await ctx.db.close()


def corpus(name: str) -> bytes:
    return (CORPUS / name).read_bytes()


def with_message_id(raw: bytes, message_id: str) -> bytes:
    """The same message under another Message-ID (a distinct delivery)."""
    lines = raw.replace(b"\r\n", b"\n").split(b"\n")
    out = [x for x in lines if not x.lower().startswith(b"message-id:")]
    return f"Message-ID: <{message_id}>\n".encode() + b"\n".join(out)


async def deliver(ctx: Context, name: str, message_id: str | None = None) -> Received:
    """A corpus message received as the SMTP edge would (services.receive)."""
    raw = corpus(name)
    if message_id is not None:
        raw = with_message_id(raw, message_id)
    return await receive(ctx, raw, mail_from="sender@example.gov.cn", rcpt_tos=[OFFICE])


def pushes(fake: FakeTelegram, chat_id: int | None = None) -> list[Call]:
    """Messages the bot sent that are pushes of an item (they carry 收件序号)."""
    return [c for c in fake.sent(chat_id) if "收件序号" in (c.text or "")]


def pushed_items(fake: FakeTelegram, chat_id: int) -> list[int]:
    """Item ids pushed to a chat, in order (every item a batch lists)."""
    from bot.telegram.render import item_refs_in

    return [i for c in pushes(fake, chat_id) for i in item_refs_in(c.text)]


def subprocess_env(data_dir: Path, fake: FakeTelegram, **extra: str) -> dict[str, str]:
    env = {**os.environ, "JIYAO_STORAGE__DATA_DIR": str(data_dir),
           "JIYAO_BOT__TOKEN": TOKEN, "JIYAO_BOT__BASE_URL": fake.base_url,
           "JIYAO_BOT__POLL_TIMEOUT": "1", "PYTHONUNBUFFERED": "1", **extra}
    env.pop("JIYAO_CONFIG", None)
    return env


async def start_bot_process(data_dir: Path, fake: FakeTelegram,
                            log: Path) -> asyncio.subprocess.Process:
    """`jiyao bot` in a subprocess, its log appended to `log`."""
    handle = log.open("ab")
    try:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "jiyao.cli", "bot", "--config", str(EXAMPLE),
            cwd=ROOT, env=subprocess_env(data_dir, fake), stdout=handle, stderr=handle,
        )
    finally:
        handle.close()


async def pending_chat_events(ctx: Context) -> int:
    async with ctx.db.reader() as r:
        row = await r.fetchone(
            "SELECT COUNT(*) AS n FROM outbox WHERE channel = 'chat' AND done_at IS NULL"
        )
    return int(row["n"]) if row else 0


async def settled(ctx: Context, timeout: float = 15.0) -> None:
    """Wait until every chat event in the outbox is done (sent, or given up)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while await pending_chat_events(ctx):
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"{await pending_chat_events(ctx)} chat events still pending")
        await asyncio.sleep(0.05)


def push_of(fake: FakeTelegram, chat_id: int, item_id: int) -> Call:
    """The (first) push of an item to a chat (alone or in a batch)."""
    from bot.telegram.render import item_refs_in

    for call in pushes(fake, chat_id):
        if item_id in item_refs_in(call.text):
            return call
    raise AssertionError(f"item {item_id} was not pushed to {chat_id}")


def button_data(call: Call) -> list[str]:
    """The callback data of the buttons under a sent message."""
    markup = call.params.get("reply_markup") or {}
    return [b["callback_data"] for row in markup.get("inline_keyboard", []) for b in row]


class ShiftedClock:
    """The real time moved forward by `shift`: lets a test jump ahead while the bot runs."""

    def __init__(self) -> None:
        self.shift = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.shift
