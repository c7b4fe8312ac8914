"""The parts of aiosmtpd that intake_daemon/smtp.py relies on beyond its documented API.

IntakeSMTP replaces aiosmtpd's DATA command (SMTP.smtp_DATA) to read DATA a block at a
time, and so calls private methods and reads private attributes of aiosmtpd's SMTP.
pyproject.toml pins aiosmtpd to the range these pass with; a new aiosmtpd that renames,
re-signs or changes any of them fails here, before intake breaks in production.
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
from collections.abc import AsyncIterator
from importlib import metadata
from typing import Any

import pytest
from aiosmtpd.smtp import MISSING, SMTP, AuthResult, Envelope, Session

from intake_daemon.smtp import _PLAIN_ADDRESS, IntakeSMTP
from tests.test_lock import PYPROJECT, declared

#: method → (coroutine?, its parameters as `inspect` shows them) as smtp.py calls it
METHODS = {
    "_set_post_data_state": (False, "(self)"),
    "_call_handler_hook": (True, "(self, command: str, *args) -> Any"),
    "check_helo_needed": (True, "(self, helo: str = 'HELO') -> bool"),
    "check_auth_needed": (True, "(self, caller_method: str) -> bool"),
    "push": (True, "(self, status: ~AnyStr)"),
    "smtp_DATA": (True, "(self, arg: str) -> None"),
    "handle_exception": (True, "(self, error: Exception) -> str"),
}

#: the keywords smtp.make_protocol gives SMTP()
INIT_KEYWORDS = {
    "data_size_limit", "enable_SMTPUTF8", "hostname", "ident", "tls_context",
    "require_starttls", "timeout", "authenticator", "auth_require_tls", "loop",
}

#: sha256 of aiosmtpd's own SMTP.smtp_DATA source, which IntakeSMTP.smtp_DATA replaces: its
#: checks before 354 (HELO, AUTH, RCPT, argument), its limits and replies are copied there.
#: When aiosmtpd changes it, compare the new upstream DATA with ours, then update this.
UPSTREAM_DATA_SHA256 = "3a33f30d3fd6d02f39c7d78a08288bffea9170525b62e2161568041ae7e018df"


def test_aiosmtpd_is_pinned_to_the_tested_range() -> None:
    """pyproject.toml bounds aiosmtpd above as well as below, and this is inside."""
    (req,) = [r for r in declared(PYPROJECT.read_text()) if r.name == "aiosmtpd"]
    assert any(s.operator == "<" for s in req.specifier), req
    assert req.specifier.contains(metadata.version("aiosmtpd"))


@pytest.mark.parametrize("name", sorted(METHODS))
def test_private_methods_keep_their_signatures(name: str) -> None:
    is_coroutine, signature = METHODS[name]
    method = getattr(SMTP, name)
    assert inspect.iscoroutinefunction(method) is is_coroutine
    assert str(inspect.signature(method)) == signature


def test_the_constructor_takes_what_make_protocol_gives() -> None:
    params = inspect.signature(SMTP.__init__).parameters
    assert set(params) >= INIT_KEYWORDS
    assert all(params[k].kind is inspect.Parameter.KEYWORD_ONLY for k in INIT_KEYWORDS)
    assert SMTP.line_length_limit == 1001  # class attribute IntakeSMTP's DATA limits lines to


def test_upstream_data_is_the_one_intake_smtp_replaces() -> None:
    source = inspect.getsource(SMTP.smtp_DATA)
    assert hashlib.sha256(source.encode()).hexdigest() == UPSTREAM_DATA_SHA256, (
        "aiosmtpd's smtp_DATA changed: compare it with IntakeSMTP.smtp_DATA, then update"
    )
    # aiosmtpd dispatches DATA to the subclass's method and lists it in HELP
    assert IntakeSMTP.smtp_DATA is not SMTP.smtp_DATA
    assert IntakeSMTP.smtp_DATA.__smtp_syntax__ == "DATA"  # type: ignore[attr-defined]


ADDRESSES = [
    "<mta@relay.example>", "<mta@relay.example> SIZE=20480 BODY=8BITMIME",
    "<a.b+c_d-e@x-y.z>  X=1", "<A@B>", "<a@x>SIZE=1", "<a@x> ", "<a@x>\tSIZE=1 ",
    "<>", "", "<a..b@x>", "<.a@x>", "<a.@x>", "<a@x.>", "<a@.x>", "<a@x..y>",
    "<a@[1.2.3.4]>", "< a@x>", "<a@x >", '<"q r"@x>', "<@r:a@x>", "<a@x> (c) SIZE=1",
    "<a@x>(c)", "a@x", "a@x SIZE=1", "<a@x", "a@x>", "<a b@x>", "<a@x@y>", "<用户@例子.中国>",
    "<" + "l" * 70 + "@x>", "<a@x> <b@y>", "<a@x>\r\n", "<a@x>é",
]


@pytest.mark.parametrize("local_part_limit", [0, 64])
def test_the_address_fast_path_parses_as_aiosmtpd_does(local_part_limit: int) -> None:
    """IntakeSMTP._getaddr (MAIL FROM, RCPT TO) gives what aiosmtpd's own gives, for the
    plain addresses it takes the fast path on and for every other form."""
    ours = IntakeSMTP(Recorder())
    theirs = SMTP(Recorder())
    ours.local_part_limit = theirs.local_part_limit = local_part_limit
    for arg in ADDRESSES:
        assert ours._getaddr(arg) == theirs._getaddr(arg), arg
    fast = [a for a in ADDRESSES if _PLAIN_ADDRESS.fullmatch(a)]
    assert "<mta@relay.example> SIZE=20480 BODY=8BITMIME" in fast  # the fast path is tried
    assert len(fast) >= 7
    assert str(inspect.signature(SMTP._getaddr)) == (
        "(self, arg: str) -> Tuple[Optional[str], Optional[str]]")


# ------------------------------------------------------------------ behaviour
class Recorder:
    """A handler that keeps what aiosmtpd's hooks were called with."""

    def __init__(self, *, data: bool = True) -> None:
        self.calls: list[tuple[Any, Session, Envelope, bytes | None]] = []
        if not data:
            self.handle_DATA = None  # type: ignore[assignment]

    async def handle_DATA(  # noqa: N802 - aiosmtpd hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        self.calls.append((server, session, envelope, envelope.original_content))
        return "250 2.0.0 Ok: recorded"


class Server:
    def __init__(self, handler: Any, **kw: Any) -> None:
        self.handler = handler
        self.kw = kw
        self.protocols: list[IntakeSMTP] = []

    async def __aenter__(self) -> Server:
        loop = asyncio.get_running_loop()

        def factory() -> IntakeSMTP:
            p = IntakeSMTP(self.handler, hostname="probe", loop=loop, **self.kw)
            self.protocols.append(p)
            return p

        self.server = await loop.create_server(factory, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.server.close()
        await self.server.wait_closed()


@pytest.fixture
async def session() -> AsyncIterator[tuple[Server, asyncio.StreamReader, asyncio.StreamWriter]]:
    async with Server(Recorder(), data_size_limit=1000) as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        assert (await reader.readline()).startswith(b"220 ")
        try:
            yield server, reader, writer
        finally:
            writer.close()


async def _say(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, line: bytes) -> bytes:
    writer.write(line)
    await writer.drain()
    return await _reply(reader)


async def _reply(reader: asyncio.StreamReader) -> bytes:
    """One SMTP reply, its continuation lines included."""
    text = b""
    while True:
        line = await asyncio.wait_for(reader.readline(), 10)
        text += line
        if line[3:4] != b"-":
            return text


async def test_helo_check_answers_503_before_helo(
    session: tuple[Server, asyncio.StreamReader, asyncio.StreamWriter],
) -> None:
    _, reader, writer = session
    assert await _say(reader, writer, b"DATA\r\n") == b"503 Error: send HELO first\r\n"


async def test_data_reaches_the_hook_and_the_next_transaction_starts_clean(
    session: tuple[Server, asyncio.StreamReader, asyncio.StreamWriter],
) -> None:
    """_call_handler_hook calls handle_DATA(server, session, envelope) with the envelope
    filled and answers its status; _set_post_data_state then gives a fresh envelope;
    bytes fed back into _reader after the final dot are read as the next command."""
    server, reader, writer = session
    assert (await _say(reader, writer, b"EHLO client\r\n")).startswith(b"250-probe")
    assert await _say(reader, writer, b"MAIL FROM:<a@example.org>\r\n") == b"250 OK\r\n"
    assert await _say(reader, writer, b"RCPT TO:<b@example.org>\r\n") == b"250 OK\r\n"
    assert (await _say(reader, writer, b"DATA\r\n")).startswith(b"354 ")
    # the end of the data and the next command in one write (pipelining)
    replies = await _say(reader, writer, b"Subject: x\r\n\r\n..dot\r\n.\r\nNOOP\r\n")
    assert replies == b"250 2.0.0 Ok: recorded\r\n"
    assert await _reply(reader) == b"250 OK\r\n"  # the NOOP, read back from _reader

    protocol = server.protocols[0]
    (hook_server, hook_session, envelope, content), = server.handler.calls
    assert hook_server is protocol
    assert hook_session is protocol.session
    assert content == b"Subject: x\r\n\r\n.dot\r\n"
    assert envelope.mail_from == "a@example.org"
    assert envelope.rcpt_tos == ["b@example.org"]
    assert protocol.envelope is not envelope  # the post-DATA state: a new envelope
    assert protocol.envelope is not None
    assert protocol.envelope.rcpt_tos == []
    assert isinstance(protocol._reader, asyncio.StreamReader)
    # IntakeSMTP._read_lines raises the reader's line limit during DATA, and restores it
    assert protocol._reader._limit == SMTP.line_length_limit  # type: ignore[attr-defined]
    assert isinstance(protocol._writer, asyncio.StreamWriter)
    assert protocol.transport is not None
    assert protocol.data_size_limit == 1000

    assert await _say(reader, writer, b"QUIT\r\n") == b"221 Bye\r\n"
    for _ in range(100):  # connection_lost clears transport: IntakeSMTP's read loop ends
        if protocol.transport is None:
            break
        await asyncio.sleep(0.02)
    assert protocol.transport is None


async def test_a_refused_data_resets_the_envelope(
    session: tuple[Server, asyncio.StreamReader, asyncio.StreamWriter],
) -> None:
    server, reader, writer = session
    await _say(reader, writer, b"HELO client\r\n")
    await _say(reader, writer, b"MAIL FROM:<a@example.org>\r\n")
    await _say(reader, writer, b"RCPT TO:<b@example.org>\r\n")
    await _say(reader, writer, b"DATA\r\n")
    too_much = b"x" * 998 + b"\r\n"
    assert await _say(reader, writer, too_much * 2 + b".\r\n") == (
        b"552 Error: Too much mail data\r\n"
    )
    assert server.protocols[0].envelope is not None
    assert server.protocols[0].envelope.rcpt_tos == []
    assert await _say(reader, writer, b"DATA\r\n") == b"503 Error: need RCPT command\r\n"


async def test_a_handler_without_a_data_hook_gets_missing() -> None:
    """_call_handler_hook answers MISSING for a hook the handler lacks: DATA says 250 OK."""
    async with Server(Recorder(data=False)) as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        await _reply(reader)
        for line in (b"HELO c\r\n", b"MAIL FROM:<a@x.org>\r\n", b"RCPT TO:<b@x.org>\r\n",
                     b"DATA\r\n"):
            await _say(reader, writer, line)
        assert await _say(reader, writer, b"hello\r\n.\r\n") == b"250 OK\r\n"
        assert await server.protocols[0]._call_handler_hook("DATA") is MISSING
        writer.close()


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
async def test_auth_check_answers_530_without_authentication() -> None:
    def never(*_: Any) -> AuthResult:
        return AuthResult(success=False)

    async with Server(Recorder(), auth_required=True, auth_require_tls=False,
                      authenticator=never) as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        await _reply(reader)
        await _say(reader, writer, b"EHLO c\r\n")
        assert await _say(reader, writer, b"DATA\r\n") == (
            b"530 5.7.0 Authentication required\r\n"
        )
        writer.close()
