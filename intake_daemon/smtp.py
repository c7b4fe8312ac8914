"""The SMTP edge: which recipients we accept, and DATA handed to `services.receive`.

Replies are ASCII (SMTP clients and relays log them verbatim). 250 is sent only after the
item's transaction committed; any failure before that is 451 so the sender retries.
A transaction already running is shielded from the client hanging up: it finishes (and a
retry of the same message is then recognised as a duplicate), so nothing is half-done.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import ssl
from collections.abc import Callable
from typing import Any

from aiosmtpd.smtp import MISSING, SMTP, AuthResult, Envelope, LoginPassword, Session, syntax

from core.config import Settings
from core.services import receive as receive_service
from core.services.context import Context

log = logging.getLogger("intake_daemon.smtp")

TEMPFAIL = "451 4.3.0 Temporary failure, please retry"
SHUTTING_DOWN = "421 4.3.2 Service shutting down, please retry later"
NOT_OURS = "550 5.7.1 Recipient address is not an address of this office"
AUTH_NEEDED = "530 5.7.0 Authentication required for the fax gateway"


def _norm(address: str) -> str:
    return address.strip().strip("<>").lower()


class IntakeHandler:
    """aiosmtpd hooks: RCPT filtering, DATA → receive, exceptions → 451."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        settings = ctx.settings
        self._ours = {_norm(a) for a in settings.office.addresses}
        self._fax_gateways = {_norm(a) for a in settings.office.fax_gateway}
        self._auth_on = bool(settings.smtp.auth_users)
        self.inflight: set[asyncio.Task[Any]] = set()
        self.accepting = True

    async def handle_MAIL(  # noqa: N802 - aiosmtpd hook name
        self, server: SMTP, session: Session, envelope: Envelope, address: str,
        mail_options: list[str],
    ) -> str:
        if not self.accepting:
            return SHUTTING_DOWN
        # with AUTH configured, only an authenticated session may speak for the fax gateway
        if self._auth_on and _norm(address) in self._fax_gateways and not session.authenticated:
            return AUTH_NEEDED
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(  # noqa: N802 - aiosmtpd hook name
        self, server: SMTP, session: Session, envelope: Envelope, address: str,
        rcpt_options: list[str],
    ) -> str:
        if _norm(address) not in self._ours:
            return NOT_OURS  # not an open relay
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 - aiosmtpd hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        if not self.accepting:
            return SHUTTING_DOWN
        raw = envelope.original_content or b""
        # the envelope is reused for the next transaction; don't keep a second reference
        envelope.original_content = None
        envelope.content = None
        peer = session.peer
        task = asyncio.ensure_future(
            receive_service.receive(
                self.ctx, raw, mail_from=envelope.mail_from or "",
                rcpt_tos=list(envelope.rcpt_tos),
                peer=f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else None,
            )
        )
        self.inflight.add(task)
        task.add_done_callback(self.inflight.discard)
        try:
            result = await asyncio.shield(task)
        except asyncio.CancelledError:
            # the client hung up; the shielded transaction still completes (or is logged)
            task.add_done_callback(_log_orphan)
            raise
        except Exception:
            log.exception("收件处理失败，已答复 451（发件方将重试）")
            return TEMPFAIL
        return f"250 2.0.0 Ok: item {result.item_id}"

    async def handle_exception(self, error: Exception) -> str:
        log.error("SMTP 会话异常：%s", type(error).__name__, exc_info=error)
        return TEMPFAIL


class IntakeSMTP(SMTP):
    """aiosmtpd's SMTP reading DATA into one buffer.

    aiosmtpd 1.4.6 keeps each line of DATA as its own bytearray until the end, about five
    times the message in memory (a 38 MiB message took 190 MiB); one growing buffer holds
    it in about twice. Everything else — replies, limits, states, hooks — is aiosmtpd's.
    """

    @syntax("DATA")
    async def smtp_DATA(self, arg: str) -> None:  # noqa: N802 - aiosmtpd's command name
        if await self.check_helo_needed() or await self.check_auth_needed("DATA"):
            return
        assert self.envelope is not None
        if not self.envelope.rcpt_tos:
            await self.push("503 Error: need RCPT command")
            return
        if arg:
            await self.push("501 Syntax: DATA")
            return
        await self.push("354 End data with <CR><LF>.<CR><LF>")
        data = await self._read_data()
        if isinstance(data, str):  # refused: the data was read to its end and dropped
            await self.push(data)
            self._end_transaction()
            return
        self.envelope.content = self.envelope.original_content = data
        status = await self._call_handler_hook("DATA")
        self._end_transaction()
        await self.push("250 OK" if status is MISSING else status)

    def _end_transaction(self) -> None:
        self._set_post_data_state()  # type: ignore[no-untyped-call]  # unannotated upstream

    async def _read_data(self) -> bytes | str:
        """The message with dot-stuffing undone, or the refusal to answer (500/552)."""
        buf = bytearray()
        limit = self.data_size_limit
        size = 0
        refusal = ""
        in_line = False  # inside a line longer than the stream limit
        while self.transport is not None:
            try:
                line = await self._reader.readuntil(b"\r\n")
            except asyncio.CancelledError:
                log.info("连接在 DATA 中断开")
                self._writer.close()
                raise
            except asyncio.LimitOverrunError as exc:
                line = await self._reader.read(exc.consumed)
                refusal = refusal or "500 Line too long (see RFC5321 4.5.3.1.6)"
            if not in_line and line == b".\r\n":
                break
            size += len(line)
            if limit and size > limit and not refusal:
                refusal = "552 Error: Too much mail data"
            if refusal:
                buf.clear()
            elif not in_line and line.startswith(b"."):
                buf += memoryview(line)[1:]
            else:
                buf += line
            in_line = not line.endswith(b"\r\n")
        if refusal:
            return refusal
        content = bytes(buf)
        buf.clear()
        return content


def _log_orphan(task: asyncio.Task[Any]) -> None:
    """Outcome of a transaction whose client hung up before the reply."""
    if task.cancelled():
        return
    error = task.exception()
    if error is not None:
        log.warning("收件处理失败（发件方已断开，将重试）：%s", type(error).__name__,
                    exc_info=error)
    else:
        log.info("发件方在答复前断开；收件已保存（序号 %s），重发时按重复投递处理",
                 task.result().item_id)


def tls_context(settings: Settings) -> ssl.SSLContext | None:
    """A server context from [smtp] tls_cert/tls_key, or None when not configured."""
    smtp = settings.smtp
    if smtp.tls_cert is None or smtp.tls_key is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(smtp.tls_cert, smtp.tls_key)
    return context


def authenticator(settings: Settings) -> Callable[..., AuthResult] | None:
    """Check AUTH LOGIN/PLAIN against [smtp.auth_users]; None when no users are configured."""
    users = {
        name.encode("utf-8"): secret.get_secret_value().encode("utf-8")
        for name, secret in settings.smtp.auth_users.items()
    }
    if not users:
        return None

    def check(
        server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        expected = users.get(auth_data.login)
        ok = expected is not None and hmac.compare_digest(expected, auth_data.password)
        if not ok:
            log.warning("SMTP 认证失败：用户 %r", auth_data.login.decode("utf-8", "replace"))
        return AuthResult(success=ok, handled=False)

    return check


def make_protocol(
    handler: IntakeHandler, settings: Settings, loop: asyncio.AbstractEventLoop
) -> Callable[[], SMTP]:
    """A protocol factory for `loop.create_server` configured from [smtp]."""
    smtp = settings.smtp
    tls = tls_context(settings)
    auth = authenticator(settings)

    def factory() -> SMTP:
        return IntakeSMTP(
            handler,
            data_size_limit=smtp.data_size_limit,
            enable_SMTPUTF8=True,
            hostname=smtp.hostname,
            ident="jiyao intake",
            tls_context=tls,
            require_starttls=tls is not None and smtp.require_tls,
            timeout=smtp.timeout,
            authenticator=auth,
            # AUTH only over TLS when TLS is available; else plain (loopback gateway)
            auth_require_tls=tls is not None,
            loop=loop,
        )

    return factory
