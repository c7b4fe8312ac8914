"""The SMTP edge on a loopback port, spoken to by a real client (aiosmtplib)."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiosmtplib
import pytest
import trustme

from core.config import Settings
from core.services.context import Context, open_context
from core.services.receive import raw_of
from intake_daemon.smtp import TEMPFAIL, IntakeHandler
from tests.conftest import FrozenClock
from tests.intake_helpers import (
    OFFICE,
    ServedIntake,
    corpus,
    first,
    wait_decided,
    with_message_id,
)

FAX_GATEWAY = "fax-gateway@gzz.gov.cn"


@pytest.fixture
async def daemon(ctx: Context) -> AsyncIterator[ServedIntake]:
    d = ServedIntake(ctx)
    await d.start()
    try:
        yield d
    finally:
        await d.stop()


def _client(port: int, **kw: Any) -> aiosmtplib.SMTP:
    return aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False, timeout=30, **kw)


async def _count(ctx: Context, table: str = "items") -> int:
    async with ctx.db.reader() as r:
        row = await r.fetchone(f"SELECT COUNT(*) AS n FROM {table}")
    assert row is not None
    return int(row["n"])


def _register_file() -> bytes:
    return corpus(first(lambda d: d["outcome"] == "register")["file"])


async def test_only_office_addresses_are_accepted(ctx: Context, daemon: ServedIntake) -> None:
    """RCPT for another address is 550 (no open relay); ours is accepted in any case."""
    client = _client(daemon.port)
    await client.connect()
    await client.ehlo()
    await client.mail("someone@example.org")
    with pytest.raises(aiosmtplib.SMTPRecipientRefused) as refused:
        await client.rcpt("leader@gzz.gov.cn")
    assert refused.value.code == 550
    assert refused.value.message.isascii()
    with pytest.raises(aiosmtplib.SMTPRecipientRefused):
        await client.rcpt("victim@example.com")
    code, _text = await client.rcpt(OFFICE.upper())
    assert code == 250
    await client.quit()
    assert await _count(ctx) == 0


async def test_data_answers_250_after_commit(ctx: Context, daemon: ServedIntake) -> None:
    """DATA is answered 250 naming the item, which is then in the database."""
    errors, text = await aiosmtplib.send(
        _register_file(), sender="a@example.org", recipients=[OFFICE], hostname="127.0.0.1",
        port=daemon.port, start_tls=False,
    )
    assert errors == {}
    assert text.startswith("2.0.0 Ok: item 1")
    assert await _count(ctx) == 1


async def test_oversize_is_552_and_nothing_stored(
    settings: Settings, clock: FrozenClock
) -> None:
    """A message over data_size_limit is refused with 552 after its data is read."""
    small = settings.model_copy(
        update={"smtp": settings.smtp.model_copy(update={"data_size_limit": 4096})}
    )
    ctx = await open_context(small, clock=clock)
    daemon = ServedIntake(ctx)
    await daemon.start()
    try:
        big = _register_file() + b"\r\n" + b"x" * 76 * 100 + b"\r\n"
        # a client that declares SIZE is refused at MAIL
        with pytest.raises(aiosmtplib.SMTPSenderRefused) as at_mail:
            await aiosmtplib.send(big, sender="a@example.org", recipients=[OFFICE],
                                  hostname="127.0.0.1", port=daemon.port, start_tls=False)
        assert at_mail.value.code == 552
        # one that does not is refused after the data
        client = _client(daemon.port)
        await client.connect()
        await client.ehlo()
        await client.mail("a@example.org")
        await client.rcpt(OFFICE)
        with pytest.raises(aiosmtplib.SMTPDataError) as at_data:
            await client.data(big)
        assert at_data.value.code == 552
        await client.quit()
        assert await _count(ctx) == 0
    finally:
        await daemon.stop()
        await ctx.db.close()


async def test_handle_exception_is_451_without_internals(ctx: Context) -> None:
    """An unexpected error in a session answers 451 and shows nothing of the error."""
    handler = IntakeHandler(ctx)
    status = await handler.handle_exception(RuntimeError("/srv/jiyao/secret path"))
    assert status == TEMPFAIL
    assert status.startswith("451")
    assert "secret" not in status


async def test_smtputf8_and_8bit_headers(ctx: Context, daemon: ServedIntake) -> None:
    """SMTPUTF8 is offered, and raw UTF-8 headers are stored as received."""
    raw = with_message_id(_register_file(), "utf8.1@example.org")
    raw = raw.replace(b"Subject:", "X-Note: 原样保存\nSubject:".encode(), 1)
    client = _client(daemon.port)
    await client.connect()
    await client.ehlo()
    assert client.supports_extension("smtputf8")
    errors, _text = await client.sendmail("发件人@example.org", [OFFICE], raw,
                                          mail_options=["SMTPUTF8"])
    assert errors == {}
    await client.quit()
    async with ctx.db.reader() as r:
        row = await r.fetchone("SELECT * FROM items")
    assert row is not None
    assert "原样保存".encode() in await raw_of(ctx, row)


# ------------------------------------------------------------------ STARTTLS and AUTH


@pytest.fixture
def tls_files(tmp_path: Path) -> tuple[trustme.CA, Path, Path]:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.cert_chain_pems[0].write_to_path(cert_path)
    key_path.write_bytes(cert.private_key_pem.bytes())
    return ca, cert_path, key_path


async def test_starttls_and_auth_for_the_fax_gateway(
    settings: Settings, clock: FrozenClock, tls_files: tuple[trustme.CA, Path, Path]
) -> None:
    """With TLS required, MAIL waits for STARTTLS; the fax gateway must AUTH; then it posts."""
    ca, cert, key = tls_files
    secure = settings.model_copy(update={"smtp": settings.smtp.model_copy(update={
        "tls_cert": cert, "tls_key": key, "require_tls": True,
        "auth_users": {"fax-gateway": _secret("s3cret")},
    })})
    ctx = await open_context(secure, clock=clock)
    daemon = ServedIntake(ctx)
    await daemon.start()
    trust = ssl.create_default_context()
    ca.configure_trust(trust)
    fax = corpus(first(lambda d: d["outcome"] == "review")["file"])
    try:
        client = _client(daemon.port, tls_context=trust)
        await client.connect()
        await client.ehlo()
        assert client.supports_extension("starttls")
        with pytest.raises(aiosmtplib.SMTPSenderRefused) as before_tls:
            await client.mail(FAX_GATEWAY)
        assert before_tls.value.code == 530
        await client.starttls()
        await client.ehlo()
        assert client.get_transport_info("sslcontext") is not None
        with pytest.raises(aiosmtplib.SMTPSenderRefused) as no_auth:
            await client.mail(FAX_GATEWAY)
        assert no_auth.value.code == 530
        with pytest.raises(aiosmtplib.SMTPAuthenticationError):
            await client.login("fax-gateway", "wrong")
        await client.login("fax-gateway", "s3cret")
        errors, _ = await client.sendmail(FAX_GATEWAY, [OFFICE], fax)
        assert errors == {}
        await client.quit()
        await wait_decided(ctx)
        async with ctx.db.reader() as r:
            row = await r.fetchone("SELECT channel, outcome FROM items")
        assert row is not None
        assert (row["channel"], row["outcome"]) == ("fax", "review")
    finally:
        await daemon.stop()
        await ctx.db.close()


def _secret(value: str) -> Any:
    from pydantic import SecretStr

    return SecretStr(value)


# ------------------------------------------------------------------ in-flight transactions


async def test_stop_finishes_in_flight_transactions(ctx: Context) -> None:
    """SIGTERM-style stop: a transaction waiting for the database still commits and gets 250."""
    daemon = ServedIntake(ctx)
    await daemon.start()
    raw = _register_file()
    async with ctx.db.unit_of_work():  # another writer holds the database
        send = asyncio.create_task(aiosmtplib.send(
            raw, sender="a@example.org", recipients=[OFFICE], hostname="127.0.0.1",
            port=daemon.port, start_tls=False,
        ))
        while not daemon.handler.inflight:
            await asyncio.sleep(0.01)
        stopping = asyncio.create_task(daemon.stop())
        await asyncio.sleep(0.1)
        assert not stopping.done()
    errors, text = await asyncio.wait_for(send, 10)
    await asyncio.wait_for(stopping, 10)
    assert errors == {}
    assert "item 1" in text
    assert await _count(ctx) == 1
    with pytest.raises(aiosmtplib.SMTPConnectError):
        await aiosmtplib.send(raw, sender="a@example.org", recipients=[OFFICE],
                              hostname="127.0.0.1", port=daemon.port, start_tls=False)


async def test_client_hanging_up_does_not_lose_the_commit(
    ctx: Context, daemon: ServedIntake
) -> None:
    """A client that drops the connection mid-transaction: the item still commits once."""
    raw = _register_file().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    async with ctx.db.unit_of_work():
        reader, writer = await asyncio.open_connection("127.0.0.1", daemon.port)
        await reader.readline()
        for line in (b"EHLO t", b"MAIL FROM:<a@example.org>", f"RCPT TO:<{OFFICE}>".encode(),
                     b"DATA"):
            writer.write(line + b"\r\n")
            await writer.drain()
            while True:
                reply = await reader.readline()
                if reply[3:4] != b"-":
                    break
        writer.write(raw.rstrip(b"\r\n") + b"\r\n.\r\n")
        await writer.drain()
        while not daemon.handler.inflight:
            await asyncio.sleep(0.01)
        writer.close()
        await asyncio.sleep(0.05)
    while daemon.handler.inflight:
        await asyncio.sleep(0.01)
    assert await _count(ctx) == 1
    _errors, text = await aiosmtplib.send(raw, sender="a@example.org", recipients=[OFFICE],
                                          hostname="127.0.0.1", port=daemon.port,
                                          start_tls=False)
    assert "item 1" in text
    assert await _count(ctx) == 1


# ------------------------------------------------------------------ the DATA reader


async def test_data_is_stored_byte_exact_with_dot_stuffing_undone(
    ctx: Context, daemon: ServedIntake
) -> None:
    """Lines starting with dots (stuffed by the client) are stored exactly as sent."""
    raw = (
        b"From: a@example.org\r\nTo: shouwen@gzz.gov.cn\r\nSubject: dots\r\n"
        b"Message-ID: <dots.1@example.org>\r\n\r\n"
        b".leading dot\r\n..two dots\r\n.\r\nnot the end\r\n" + b"x" * 900 + b"\r\n"
    )
    errors, _ = await aiosmtplib.send(raw, sender="a@example.org", recipients=[OFFICE],
                                      hostname="127.0.0.1", port=daemon.port, start_tls=False)
    assert errors == {}
    async with ctx.db.reader() as r:
        row = await r.fetchone("SELECT * FROM items")
    assert row is not None
    assert await raw_of(ctx, row) == raw


async def test_overlong_line_is_refused_and_the_session_goes_on(
    ctx: Context, daemon: ServedIntake
) -> None:
    """A line past the SMTP limit is 500 with nothing stored; the next message is taken."""
    long_line = b"Subject: long\r\n\r\n" + b"y" * 5000 + b"\r\n"
    client = _client(daemon.port)
    await client.connect()
    await client.ehlo()
    await client.mail("a@example.org")
    await client.rcpt(OFFICE)
    with pytest.raises(aiosmtplib.SMTPDataError) as err:
        await client.data(long_line)
    assert err.value.code == 500
    assert await _count(ctx) == 0
    errors, _ = await client.sendmail("a@example.org", [OFFICE], _register_file())
    assert errors == {}
    await client.quit()
    assert await _count(ctx) == 1
