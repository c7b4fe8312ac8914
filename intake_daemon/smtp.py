"""The SMTP edge: which recipients we accept, and DATA handed to `services.receive.accept`.

Replies are ASCII (SMTP clients and relays log them verbatim). 250 (收到) is sent only
after the message is stored and its `received` row committed; the pipeline decides it
afterwards. Any failure before the commit is 451 so the sender retries.
A transaction already running is shielded from the client hanging up: it finishes (and a
retry of the same message is then recognised as a duplicate), so nothing is half-done.
"""

from __future__ import annotations

import asyncio
import functools
import hmac
import logging
import re
import ssl
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, cast

from aiosmtpd.smtp import MISSING, SMTP, AuthResult, Envelope, LoginPassword, Session, syntax

from core.config import Settings
from core.errors import JiyaoError
from core.files import private_spool
from core.services import receive as receive_service
from core.services.context import Context

log = logging.getLogger("intake_daemon.smtp")

TEMPFAIL = "451 4.3.0 Temporary failure, please retry"
SHUTTING_DOWN = "421 4.3.2 Service shutting down, please retry later"
NOT_OURS = "550 5.7.1 Recipient address is not an address of this office"
AUTH_NEEDED = "530 5.7.0 Authentication required for the fax gateway"
TOO_MANY_CONNECTIONS = "421 4.7.0 Too many connections, please retry later"
TOO_MANY_RECIPIENTS = "452 4.5.3 Too many recipients"
TOO_MANY_AUTH_FAILURES = "421 4.7.0 Too many failed authentications"
#: seconds a session past the connection limits waits for a slot before its 421
ADMISSION_GRACE = 0.1


#: a large message spooled into the blob store as it came (`_Spool`)
Spooled = receive_service.Incoming


def _norm(address: str) -> str:
    return address.strip().strip("<>").lower()


class Admission:
    """The connection caps (`[smtp] max_connections`, `max_connections_per_peer`): a session
    past them is answered 421 and closed before its 220."""

    def __init__(self, *, total: int, per_peer: int) -> None:
        self.total = total
        self.per_peer = per_peer
        self._sessions = 0
        self._per_peer: dict[str, int] = {}
        self._refused = 0
        self._refused_logged = 0.0

    def admit(self, peer: str) -> bool:
        """Count a new session in, unless it passes the connection limits (then 421)."""
        if (self._sessions >= self.total
                or self._per_peer.get(peer, 0) >= self.per_peer):
            return False
        self._sessions += 1
        self._per_peer[peer] = self._per_peer.get(peer, 0) + 1
        return True

    def note_refused(self, peer: str) -> None:
        """Log refused connections at most every few seconds (an attack writes no flood)."""
        self._refused += 1
        now = time.monotonic()
        if now - self._refused_logged >= 10.0:
            log.warning("连接过多：已拒绝 %d 个连接（最近来自 %s）", self._refused, peer)
            self._refused, self._refused_logged = 0, now

    def leave(self, peer: str) -> None:
        self._sessions -= 1
        left = self._per_peer.get(peer, 1) - 1
        if left:
            self._per_peer[peer] = left
        else:
            self._per_peer.pop(peer, None)


class IntakeHandler:
    """aiosmtpd hooks: RCPT filtering, DATA → receive, exceptions → 451."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        settings = ctx.settings
        self._ours = {_norm(a) for a in settings.office.addresses}
        self._fax_gateways = {_norm(a) for a in settings.office.fax_gateway}
        # AUTH only with users to check and TLS to carry the password (never plain text)
        self._auth_on = bool(settings.smtp.auth_users) and tls_configured(settings)
        self._limits = settings.smtp
        self.admission = Admission(
            total=settings.smtp.max_connections, per_peer=settings.smtp.max_connections_per_peer
        )
        self.inflight: set[asyncio.Task[Any]] = set()
        self.accepting = True
        #: called after each accepted message (wakes an in-process pipeline worker)
        self.on_accepted: Callable[[], None] | None = None

    async def handle_EHLO(  # noqa: N802 - aiosmtpd hook name
        self, server: SMTP, session: Session, envelope: Envelope, hostname: str,
        responses: list[str],
    ) -> list[str]:
        session.host_name = hostname
        if self._auth_on:
            return responses
        return [r for r in responses if not r[4:].startswith("AUTH")]

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
        if len(envelope.rcpt_tos) >= self._limits.max_recipients:
            return TOO_MANY_RECIPIENTS
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 - aiosmtpd hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        message: bytes | Spooled = envelope.original_content or b""
        # the envelope is reused for the next transaction; don't keep a second reference
        envelope.original_content = None
        envelope.content = None
        if not self.accepting:
            if isinstance(message, Spooled):
                message.discard()
            return SHUTTING_DOWN
        peer = session.peer
        sender = receive_service.Sender(
            mail_from=envelope.mail_from or "", rcpt_tos=tuple(envelope.rcpt_tos),
            peer=f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else None,
            auth_user=_auth_user(session), tls=session.ssl is not None,
            tls_client=_client_cn(session),
        )
        task = asyncio.ensure_future(receive_service.accept(self.ctx, message, sender))
        del message  # accept drops its reference once the blob is written: the last one
        self.inflight.add(task)
        task.add_done_callback(self.inflight.discard)
        try:
            # bounded: a database locked by another process must not keep the sender
            # waiting for busy_timeout; the transaction goes on, and a retry of a message
            # it did record is then recognised as a duplicate
            result = await asyncio.wait_for(asyncio.shield(task), self._limits.lock_wait)
        except TimeoutError:
            log.warning("收件保存超过 %g 秒未完成（数据库忙），已答复 451（发件方将重试）",
                        self._limits.lock_wait)
            task.add_done_callback(_log_orphan)
            return TEMPFAIL
        except asyncio.CancelledError:
            # the client hung up; the shielded transaction still completes (or is logged)
            task.add_done_callback(_log_orphan)
            raise
        except Exception:
            log.exception("收件保存失败，已答复 451（发件方将重试）")
            return TEMPFAIL
        if self.on_accepted is not None:
            self.on_accepted()
        return f"250 2.0.0 Ok: item {result.item_id}"

    async def handle_exception(self, error: Exception) -> str:
        log.error("SMTP 会话异常：%s", type(error).__name__, exc_info=error)
        return TEMPFAIL


def _auth_user(session: Session) -> str | None:
    if not session.authenticated:
        return None
    login = getattr(session.auth_data, "login", None)
    return login.decode("utf-8", "replace") if isinstance(login, bytes) else None


def _client_cn(session: Session) -> str | None:
    """The CN of the client's certificate, verified against `[smtp] tls_client_ca`."""
    extra = session.ssl if isinstance(session.ssl, dict) else {}
    cert = extra.get("peercert") or {}
    for rdn in cert.get("subject", ()):
        for key, value in rdn:
            if key == "commonName":
                return str(value)
    return None


class IntakeSMTP(SMTP):
    """aiosmtpd's SMTP reading DATA a block at a time into one buffer, spooled to a file
    when large.

    aiosmtpd 1.4.6 reads DATA a line at a time and keeps each line as its own bytearray
    until the end, about five times the message in memory (a 38 MiB message took 190 MiB);
    a growing buffer and its final copy would still be twice. DATA past SPOOL_BYTES goes to
    an unnamed temporary file as it arrives and is read back in one piece: the message is
    in memory once. Everything else — replies, limits, states, hooks — is aiosmtpd's.

    This leans on aiosmtpd's private API (`_reader`, `_writer`, `_call_handler_hook`,
    `_set_post_data_state`, the checks before 354): pyproject.toml bounds aiosmtpd to the
    versions tests/test_aiosmtpd_private.py passes with.
    """

    def __init__(
        self, handler: Any, *args: Any, spool_dir: Path | None = None,
        incoming: Callable[[], Spooled] | None = None, admission: Admission | None = None,
        auth_attempts: int = 3, auth_fail_delay: float = 1.0, **kwargs: Any,
    ) -> None:
        super().__init__(handler, *args, **kwargs)
        self.admission = admission
        self.spool_dir = spool_dir
        #: where DATA past SPOOL_BYTES goes (`_Spool`)
        self.incoming = incoming
        self.auth_attempts = auth_attempts
        self.auth_fail_delay = auth_fail_delay
        self._auth_failures = 0
        self._admitted: str | None = None
        self._refused = False
        #: past the connection limits, waiting `ADMISSION_GRACE` to be let in: what
        #: the client sent meanwhile
        self._waiting: list[bytes] | None = None
        #: between 354 and the final dot: a stop answers 421 at once (the sender retries)
        self.reading_data = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # not the STARTTLS re-entry
        if self.admission is not None and self.transport is None and not self._refused:
            peer = transport.get_extra_info("peername")
            host = str(peer[0]) if isinstance(peer, tuple) else "?"
            if not self.admission.admit(host):
                # a client that ends a session and opens the next at once (smtp-source,
                # a relay at its own limit) may be here before its last one is counted
                # out: look again a moment later, then 421
                self._waiting = []
                asyncio.get_running_loop().call_later(
                    ADMISSION_GRACE, self._admit_late, transport, host)
                return
            self._admitted = host
        super().connection_made(transport)

    def _admit_late(self, transport: asyncio.BaseTransport, host: str) -> None:
        early, self._waiting = self._waiting, None
        if early is None or transport.is_closing():
            self._refused = True  # the client went away meanwhile
            return
        assert self.admission is not None
        if not self.admission.admit(host):
            self._refused = True
            self.admission.note_refused(host)
            # uvloop's transports write too, without subclassing asyncio's
            cast(asyncio.WriteTransport, transport).write(
                TOO_MANY_CONNECTIONS.encode("ascii") + b"\r\n")
            transport.close()
            return
        self._admitted = host
        super().connection_made(transport)
        for data in early:
            super().data_received(data)

    def connection_lost(self, error: Exception | None) -> None:
        if self._waiting is not None:
            self._waiting = None  # gone before it was admitted
            return
        if self._refused:
            return
        if self._admitted is not None and self.admission is not None:
            self.admission.leave(self._admitted)
            self._admitted = None
        super().connection_lost(error)

    def data_received(self, data: bytes) -> None:
        if self._waiting is not None:
            self._waiting.append(data)  # before its 220: kept for when it is admitted
        elif not self._refused:
            super().data_received(data)

    def eof_received(self) -> bool | None:
        if self._waiting is not None or self._refused:
            return None
        # aiosmtpd ends the session on EOF (it cancels the handler); the transport is
        # closed too: left half-open (its superclass's True) uvloop never reports the
        # connection lost, and a client that connects and hangs up at once (a probe,
        # a scanner) would hold its slot of `max_connections_per_peer` for good
        super().eof_received()
        return False

    def shut_down(self) -> None:
        """The daemon is stopping: 421 to this session (in DATA or between transactions;
        RFC 5321 3.8) and close it. A transaction the handler has is waited for first."""
        if self.transport is None or self.transport.is_closing():
            return
        cast(asyncio.WriteTransport, self.transport).write(
            SHUTTING_DOWN.encode("ascii") + b"\r\n")
        self.transport.close()

    def _getaddr(self, arg: str) -> tuple[str | None, str | None]:
        """aiosmtpd's address parsing of MAIL FROM and RCPT TO, with a fast path for the
        plain `<local@domain>` (dot-atoms, no comment after it) that nearly every sender
        writes: the same address and rest as aiosmtpd's, without building the
        `email._header_value_parser` tree and the typing.Protocol class aiosmtpd makes
        on every call (measured here: 71 µs against 0.7 µs per command). Anything else is
        aiosmtpd's."""
        m = _PLAIN_ADDRESS.fullmatch(arg)
        if m is None or m.group(2).startswith("("):
            return super()._getaddr(arg)
        address = m.group(1)
        if self.local_part_limit and len(address.rpartition("@")[0]) > self.local_part_limit:
            return None, None
        return address, m.group(2)

    @syntax("AUTH <mechanism>")
    async def smtp_AUTH(self, arg: str) -> None:  # noqa: N802 - aiosmtpd's command name
        """aiosmtpd's AUTH, with a delay after each failure and the session closed after
        `auth_attempts` of them (a password is not guessed 500 times in a session)."""
        await super().smtp_AUTH(arg)
        assert self.session is not None
        if self.session.authenticated or not arg:
            return
        self._auth_failures += 1
        await asyncio.sleep(self.auth_fail_delay)
        if self._auth_failures >= self.auth_attempts:
            log.warning("SMTP 认证失败 %d 次，断开 %s", self._auth_failures, self.session.peer)
            await self.push(TOO_MANY_AUTH_FAILURES)
            if self.transport is not None:
                self.transport.close()

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
        self.reading_data = True
        try:
            data = await self._read_data()
        finally:
            self.reading_data = False
        if isinstance(data, str):  # refused: the data was read to its end and dropped
            await self.push(data)
            self._end_transaction()
            return
        # a spooled message in place of the bytes: only IntakeHandler reads it
        self.envelope.content = self.envelope.original_content = data  # type: ignore[assignment]
        del data  # the handler takes the message from the envelope and owns it
        status = await self._call_handler_hook("DATA")
        self._end_transaction()
        await self.push("250 OK" if status is MISSING else status)

    def _end_transaction(self) -> None:
        self._set_post_data_state()  # type: ignore[no-untyped-call]  # unannotated upstream

    async def _read_data(self) -> bytes | Spooled | str:
        """The message with dot-stuffing undone, or the refusal to answer (500/552)."""
        buf = _Spool(self.spool_dir, self.incoming)
        try:
            return await self._read_lines(buf)
        finally:
            buf.discard()  # after a disconnect too: no spool file is left open

    async def _read_lines(self, buf: _Spool) -> bytes | Spooled | str:
        data = _DataLines(buf, line_limit=self.line_length_limit, size_limit=self.data_size_limit)
        # aiosmtpd's reader is limited to a command line (1001 bytes): past twice that it
        # pauses the transport, and each read resumes it — two epoll changes for every
        # piece of DATA the network brings. Block reads need no line limit: a larger one
        # until the final dot
        reader: Any = self._reader  # asyncio.StreamReader; _limit is not in its stubs
        line_limit, reader._limit = reader._limit, max(reader._limit, _DATA_READER_LIMIT)
        try:
            while self.transport is not None and not data.done:
                try:
                    # the reader holds less than this (it pauses the transport past twice
                    # its limit, and one receive is at most 256 KiB): each read drains it
                    chunk = await reader.read(_READ_BYTES)
                except asyncio.CancelledError:
                    log.info("连接在 DATA 中断开")
                    self._writer.close()
                    raise
                if not chunk:
                    raise asyncio.IncompleteReadError(b"", None)  # as readuntil() at EOF
                data.feed(chunk)
        finally:
            reader._limit = line_limit
        if data.leftover and not self._reader.at_eof():
            # commands sent before our reply (pipelined): back to aiosmtpd, in order
            self._reader.feed_data(data.leftover)
        if data.refusal:
            return data.refusal
        try:
            return buf.getvalue()
        except OSError:
            log.exception("DATA 临时文件读取失败")
            return TEMPFAIL


_READ_BYTES = 1 << 20
#: the limit of the session's StreamReader while DATA is read (IntakeSMTP._read_lines)
_DATA_READER_LIMIT = 1 << 17
_ATOM = r"[A-Za-z0-9_+-]+"
_LABEL = r"[A-Za-z0-9-]+"
#: `<local@domain>` of dot-atoms, and what follows it after blanks (IntakeSMTP._getaddr)
_PLAIN_ADDRESS = re.compile(
    rf"<({_ATOM}(?:\.{_ATOM})*@{_LABEL}(?:\.{_LABEL})*)>[ \t]*(.*)", re.DOTALL)
LINE_TOO_LONG = "500 Line too long (see RFC5321 4.5.3.1.6)"
TOO_MUCH_DATA = "552 Error: Too much mail data"


class _DataLines:
    """DATA as it arrives, a block at a time, read as aiosmtpd reads it line by line: lines
    end at CRLF, a lone `.` line ends the data, a leading dot is dropped (RFC 5321 4.5.2);
    a line longer than the line limit is refused with 500 and data past the size limit
    with 552, whichever comes first, once the data has ended.

    Reading line by line cost ~4 µs a line: 1.7 s for a 30 MiB message.
    """

    def __init__(self, spool: _Spool, *, line_limit: int, size_limit: int | None) -> None:
        self.spool = spool
        self.line_limit = line_limit
        self.size_limit = size_limit or 0
        self.size = 0
        self.refusal = ""
        self.done = False
        self.leftover = b""  # what came after the final dot
        self._partial = b""  # the start of a line whose CRLF has not come yet
        self._skipping = False  # inside a line refused as too long: its bytes are dropped

    def feed(self, chunk: bytes) -> None:
        data = self._partial + chunk
        start = 0
        if self._skipping:
            end = data.find(b"\r\n")
            if end < 0:
                self._skip_partial(data)
                return
            self._count(end + 2)
            self._skipping = False
            start = end + 2
        last = data.rfind(b"\r\n", start)
        if last >= 0:
            final = self._block(data[start : last + 2])
            if final >= 0:
                self.done = True
                self.leftover = data[start + final :]
                self._partial = b""
                return
            start = last + 2
        rest = data[start:]
        if len(rest) - int(rest.endswith(b"\r")) > self.line_limit:
            self._refuse(LINE_TOO_LONG)
            self._skipping = True
            self._skip_partial(rest)
        else:
            self._partial = rest

    def _skip_partial(self, rest: bytes) -> None:
        """Drop what came of a too long line, keeping a CR that may start its CRLF."""
        keep = rest[-1:] if rest.endswith(b"\r") else b""
        self._count(len(rest) - len(keep))
        self._partial = keep

    def _block(self, block: bytes) -> int:
        """Take whole lines; the offset just past the final `.` line, or -1."""
        if block.startswith(b".\r\n"):
            end = 0
        else:
            end = block.find(b"\r\n.\r\n")
            end = end + 2 if end >= 0 else -1
        body = block if end < 0 else block[:end]
        if body:
            self._lines(body)
        return -1 if end < 0 else end + 3

    def _lines(self, body: bytes) -> None:
        if self.refusal:  # refused already: only the end of the data matters
            self.size += len(body)
            return
        lines_fit = len(body) <= self.line_limit + 2 or max(
            map(len, body.split(b"\r\n"))
        ) <= self.line_limit
        if lines_fit and not (self.size_limit and self.size + len(body) > self.size_limit):
            self.size += len(body)
            self._write(body)
            return
        for line in _crlf_lines(body):  # a refusal in this block: line by line, as it comes
            if len(line) - 2 > self.line_limit:
                self._refuse(LINE_TOO_LONG)
            self._count(len(line))
            self._write(line)

    def _count(self, n: int) -> None:
        self.size += n
        if self.size_limit and self.size > self.size_limit:
            self._refuse(TOO_MUCH_DATA)

    def _refuse(self, reply: str) -> None:
        if not self.refusal:
            self.refusal = reply
            self.spool.discard()

    def _write(self, lines: bytes) -> None:
        """Whole lines, with the leading dot of each dropped."""
        if self.refusal:
            return
        unstuffed = lines.replace(b"\r\n.", b"\r\n")
        try:
            self.spool.write(memoryview(unstuffed)[1:] if lines[:1] == b"." else unstuffed)
        except (OSError, JiyaoError):  # the spool failed (disk full): read on, then 451
            log.exception("DATA 临时文件写入失败")
            self._refuse(TEMPFAIL)


def _crlf_lines(body: bytes) -> list[bytes]:
    """The CRLF-ended lines of `body` (which ends with CRLF)."""
    return [line + b"\r\n" for line in body.split(b"\r\n")[:-1]]


#: DATA held in memory up to this size; past it, it is spooled to a temporary file
SPOOL_BYTES = 1 << 20


class _Spool:
    """DATA as it arrives: a buffer, moved out of memory once it is large. With an
    `incoming` (the edge's: `receive.Incoming`) the rest goes straight into the blob
    store, hashed on the way, and that is what `getvalue()` hands over: the message is
    never in memory whole. Without one (aiosmtpd's tests), an unnamed temporary file
    read back as one bytes object and nothing besides."""

    def __init__(
        self, spool_dir: Path | None, incoming: Callable[[], Spooled] | None = None
    ) -> None:
        self._dir = spool_dir
        self._incoming = incoming
        self._buf = bytearray()
        self._file: IO[bytes] | None = None
        self._spooled: Spooled | None = None
        self._in_memory = False

    def write(self, data: bytes | memoryview) -> None:
        self._buf += data
        if len(self._buf) >= SPOOL_BYTES:
            self._spill()

    def discard(self) -> None:
        self._buf.clear()
        if self._file is not None:
            self._file.close()
            self._file = None
        if self._spooled is not None:
            self._spooled.discard()
            self._spooled = None

    def getvalue(self) -> bytes | Spooled:
        """The message; the spooled one is the caller's to keep or discard."""
        if self._file is None and self._spooled is None:
            data = bytes(self._buf)
            self._buf.clear()
            return data
        self._spill()
        if self._spooled is not None:
            spooled, self._spooled = self._spooled, None
            return spooled
        spool, self._file = self._file, None
        assert spool is not None
        with spool:
            spool.seek(0)
            return spool.read()  # one allocation of the file's size

    def _spill(self) -> None:
        if self._file is None and self._spooled is None:
            if self._in_memory:
                return
            try:  # closed in getvalue/discard
                if self._incoming is not None:
                    self._spooled = self._incoming()
                else:
                    self._file = private_spool(self._dir)
            except (OSError, JiyaoError) as exc:  # no spool, no loss: it stays in memory
                log.warning("无法创建临时文件，邮件留在内存中：%s", exc)
                self._in_memory = True
                return
        try:
            if self._spooled is not None:
                self._spooled.write(self._buf)
            else:
                assert self._file is not None
                self._file.write(self._buf)
        except (OSError, JiyaoError):
            self.discard()
            raise
        self._buf.clear()


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


def tls_configured(settings: Settings) -> bool:
    return settings.smtp.tls_cert is not None and settings.smtp.tls_key is not None


def tls_context(settings: Settings) -> ssl.SSLContext | None:
    """A server context from [smtp] tls_cert/tls_key, or None when not configured."""
    smtp = settings.smtp
    if smtp.tls_cert is None or smtp.tls_key is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(smtp.tls_cert, smtp.tls_key)
    if smtp.tls_client_ca is not None:  # a client may show a certificate this CA signed
        context.verify_mode = ssl.CERT_OPTIONAL
        context.load_verify_locations(smtp.tls_client_ca)
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
        # the session keeps who logged in (recorded with each item: sender verification),
        # never the password
        return AuthResult(success=ok, handled=False,
                          auth_data=LoginPassword(auth_data.login, b"") if ok else None)

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
            # a password only over TLS; without users (or TLS) no mechanism is offered
            auth_require_tls=True,
            auth_exclude_mechanism=None if auth is not None and tls is not None
            else ("LOGIN", "PLAIN"),
            loop=loop,
            spool_dir=settings.storage.data_dir,
            incoming=functools.partial(receive_service.Incoming, handler.ctx),
            admission=handler.admission,
            auth_attempts=smtp.auth_attempts,
            auth_fail_delay=smtp.auth_fail_delay,
        )

    return factory
