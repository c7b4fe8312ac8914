"""The intake daemon: the SMTP edge served on the running event loop.

Not aiosmtpd's threaded `Controller` (its own loop, no port 0): `loop.create_server`
on the loop `jiyao serve` runs everything on. `stop()` stops accepting, lets every
transaction already in `receive` commit and answer, then closes the sessions.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref

from aiosmtpd.smtp import SMTP

from core.services.context import Context
from intake_daemon.smtp import IntakeHandler, IntakeSMTP, make_protocol

log = logging.getLogger("intake_daemon")

LISTEN_BACKLOG = 4096
#: seconds `stop()` waits for in-flight transactions before closing anyway
DRAIN_TIMEOUT = 60.0


class IntakeDaemon:
    """Component of `jiyao serve` / `jiyao intake`: receives mail into the registry."""

    name = "收文"

    def __init__(self, ctx: Context, *, host: str | None = None, port: int | None = None) -> None:
        self.ctx = ctx
        self.host = host if host is not None else ctx.settings.smtp.host
        self._port = port if port is not None else ctx.settings.smtp.port
        self.handler = IntakeHandler(ctx)
        self._server: asyncio.base_events.Server | None = None
        self._sessions: weakref.WeakSet[SMTP] = weakref.WeakSet()

    @property
    def port(self) -> int:
        """The port listened on (the real one once started with port 0)."""
        if self._server is not None and self._server.sockets:
            return int(self._server.sockets[0].getsockname()[1])
        return self._port

    async def start(self) -> None:
        # aiosmtpd logs every command at INFO; one line per item is ours to write
        logging.getLogger("mail.log").setLevel(logging.WARNING)
        loop = asyncio.get_running_loop()
        factory = make_protocol(self.handler, self.ctx.settings, loop)

        def session() -> SMTP:
            protocol = factory()
            self._sessions.add(protocol)
            return protocol

        # a burst of connections waits in the backlog for its 220 or 421 instead of
        # being dropped by the kernel and retried by the clients seconds later
        self._server = await loop.create_server(
            session, self.host, self._port, backlog=LISTEN_BACKLOG
        )
        smtp = self.ctx.settings.smtp
        if smtp.auth_users and (smtp.tls_cert is None or smtp.tls_key is None):
            log.warning("已配置 SMTP 认证用户但未配置 TLS：不提供 AUTH（密码不以明文传送）")
        log.info("收文服务监听 %s:%d（SMTP）", self.host, self.port)

    async def stop(self) -> None:
        if self._server is None:
            return
        self._server.close()
        self.handler.accepting = False
        for protocol in list(self._sessions):
            if isinstance(protocol, IntakeSMTP) and protocol.reading_data:
                protocol.shut_down()  # its message is not ours yet: 421, the sender retries
        pending = set(self.handler.inflight)
        if pending:
            log.info("等待 %d 件正在处理的收件完成…", len(pending))
            _done, late = await asyncio.wait(pending, timeout=DRAIN_TIMEOUT)
            if late:
                log.error("%d 件收件在 %.0f 秒内未完成，未答复的发件方将重试",
                          len(late), DRAIN_TIMEOUT)
        # let the sessions write their 250s before the connections close
        await asyncio.sleep(0.05)
        for protocol in list(self._sessions):
            if isinstance(protocol, IntakeSMTP):
                protocol.shut_down()
            elif protocol.transport is not None:
                protocol.transport.close()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._server.wait_closed(), timeout=5)
        self._server = None
        log.info("收文服务已停止")
