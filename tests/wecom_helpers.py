"""The example office with WeCom switched on: some people carry a `wecom_user`."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from bot.wecom.app import WeComBot
from core.clock import Clock, system_clock
from core.config import Settings, Storage, load_settings
from core.services.context import Context, open_context
from tests.conftest import EXAMPLE, with_ocr
from tests.fake_wecom import FakeWeCom

#: chat_id → WeCom userid of the example office's people reached on WeCom in tests
WECOM_USERS: dict[int, str] = {
    100001: "zhouzhang",  # 州长
    100002: "changwu",    # 常务副州长
    100005: "yingji",     # 分管应急副州长
    200001: "wenshu",     # 文书处理室
    200010: "zhiban",     # 值班
}


def with_wecom(settings: Settings, users: Mapping[int, str] = WECOM_USERS, *,
               base_url: str | None = None, corp_id: str = "ww0123456789abcdef",
               agent_id: int = 1000002, token: str = "callbacktoken",
               secret: str | None = None, aes_key: str | None = None,
               callback_port: int = 0) -> Settings:
    """`settings` with `[wecom] enabled` and the given people's userids."""

    def reach(people: list) -> list:  # type: ignore[type-arg]
        return [p.model_copy(update={"wecom_user": users.get(p.chat_id, p.wecom_user)})
                for p in people]

    wecom = settings.wecom.model_copy(update={
        "enabled": True, "corp_id": corp_id, "agent_id": agent_id,
        "token": SecretStr(token), "callback_port": callback_port,
        **({"base_url": base_url} if base_url else {}),
        **({"secret": SecretStr(secret)} if secret else {}),
        **({"encoding_aes_key": SecretStr(aes_key)} if aes_key else {}),
    })
    return settings.model_copy(update={
        "wecom": wecom, "leader": reach(settings.leader), "staff": reach(settings.staff),
        "duty": reach(settings.duty),
    })


def wecom_office(data_dir: Path, fake: FakeWeCom) -> Settings:
    """The example office on `data_dir` without a Telegram bot, its WeCom app talking to
    `fake` and listening for callbacks on a free loopback port."""
    base = with_ocr(load_settings(EXAMPLE), enabled=False)
    base = base.model_copy(update={"storage": Storage(data_dir=data_dir)})
    return with_wecom(base, base_url=fake.base_url, corp_id=fake.corp_id,
                      agent_id=fake.agent_id, token=fake.token, secret=fake.secret,
                      aes_key=fake.encoding_aes_key)


@contextlib.asynccontextmanager
async def running_wecom(
    settings: Settings, clock: Clock = system_clock, **kw: Any
) -> AsyncIterator[tuple[Context, WeComBot]]:
    """The real WeCom adapter on this loop, against the fake; stopped and closed after."""
    ctx = await open_context(settings, clock=clock)
    app = WeComBot(ctx, poll=0.05, per_user_interval=kw.pop("per_user_interval", 0.05),
                   **kw)
    try:
        await app.start()
        yield ctx, app
    finally:
        await app.stop()
        await ctx.db.close()


def callback_url(app: WeComBot) -> str:
    assert app.server is not None
    return app.server.url


async def wecom_pending(ctx: Context) -> int:
    async with ctx.db.reader() as r:
        row = await r.fetchone(
            "SELECT COUNT(*) AS n FROM outbox WHERE channel = 'chat' AND done_at IS NULL"
            " AND target LIKE 'wecom:%'")
    return int(row["n"]) if row else 0


async def wecom_settled(ctx: Context, timeout: float = 15.0) -> None:
    """Until every WeCom event in the outbox is done (sent, or given up)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while await wecom_pending(ctx):
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"{await wecom_pending(ctx)} WeCom events still pending")
        await asyncio.sleep(0.05)


async def wait_for(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError("condition not reached")
        await asyncio.sleep(0.02)
