"""The SMTP edge's caps against the attack figures that found them (issues 12, 16):
1,500 connections, 1,000 RCPTs in one transaction, 500 wrong passwords in one session.
AUTH is offered only with users configured, and only after STARTTLS."""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiosmtplib
import pytest
import trustme
from pydantic import SecretStr

from core.config import Settings
from core.services.context import open_context
from tests.conftest import FrozenClock
from tests.intake_helpers import OFFICE, ServedIntake


def _smtp(settings: Settings, **update: Any) -> Settings:
    return settings.model_copy(update={"smtp": settings.smtp.model_copy(update=update)})


@pytest.fixture
def tls_files(tmp_path: Path) -> tuple[trustme.CA, Path, Path]:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.cert_chain_pems[0].write_to_path(cert_path)
    key_path.write_bytes(cert.private_key_pem.bytes())
    return ca, cert_path, key_path


async def _served(settings: Settings, clock: FrozenClock) -> AsyncIterator[ServedIntake]:
    ctx = await open_context(settings, clock=clock)
    daemon = ServedIntake(ctx)
    await daemon.start()
    try:
        yield daemon
    finally:
        await daemon.stop()
        await ctx.db.close()


async def _greeting(port: int) -> tuple[bytes, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    line = await asyncio.wait_for(reader.readline(), 30)
    return line[:3], writer


async def test_connections_past_the_caps_get_421(
    settings: Settings, clock: FrozenClock
) -> None:
    """1,500 connections at once: only max_connections are served, the rest get 421; once
    they close, new ones are served again."""
    capped = _smtp(settings, max_connections=100, max_connections_per_peer=2000)
    async for daemon in _served(capped, clock):
        opened = await asyncio.gather(*(_greeting(daemon.port) for _ in range(1500)))
        codes = Counter(code for code, _ in opened)
        assert codes == {b"220": 100, b"421": 1400}
        for _, writer in opened:
            writer.close()
        await asyncio.sleep(0.3)
        code, writer = await _greeting(daemon.port)
        assert code == b"220"
        writer.close()


async def test_one_peer_is_capped_before_the_total(
    settings: Settings, clock: FrozenClock
) -> None:
    """One address may not take every session: its connections past the per-peer cap 421."""
    capped = _smtp(settings, max_connections=200, max_connections_per_peer=20)
    async for daemon in _served(capped, clock):
        opened = [await _greeting(daemon.port) for _ in range(25)]
        assert Counter(code for code, _ in opened) == {b"220": 20, b"421": 5}
        for _, writer in opened:
            writer.close()


async def test_a_session_ended_just_before_is_not_counted_against_the_next(
    settings: Settings, clock: FrozenClock
) -> None:
    """A client at the per-peer cap that ends one session and opens the next at once
    (smtp-source, a relay at its own limit) is served, not refused, when the ended one
    is counted out within the grace."""
    capped = _smtp(settings, max_connections=200, max_connections_per_peer=3)
    async for daemon in _served(capped, clock):
        opened = [await _greeting(daemon.port) for _ in range(3)]
        assert [code for code, _ in opened] == [b"220"] * 3
        late = asyncio.create_task(_greeting(daemon.port))
        await asyncio.sleep(0.02)  # the fourth is waiting for a slot
        opened[0][1].close()
        code, writer = await late
        assert code == b"220"
        code_past, writer_past = await _greeting(daemon.port)  # nobody leaves this time
        assert code_past == b"421"
        for w in (writer, writer_past, *(w for _, w in opened[1:])):
            w.close()


def _probe(port: int, times: int) -> None:
    for _ in range(times):
        socket.create_connection(("127.0.0.1", port), timeout=5).close()


async def _probes_leave(settings: Settings, clock: FrozenClock) -> list[int]:
    """Connect and hang up at once, 30 times: how many sessions stay counted, after
    each round of 10 (a port probe, a load balancer's health check)."""
    capped = _smtp(settings, max_connections=200, max_connections_per_peer=5)
    counted = []
    async for daemon in _served(capped, clock):
        for _ in range(3):
            await asyncio.to_thread(_probe, daemon.port, 10)
            await asyncio.sleep(0.3)
            counted.append(daemon.handler.admission._sessions)
        code, writer = await _greeting(daemon.port)
        assert code == b"220"
        writer.close()
    return counted


async def test_connections_that_hang_up_at_once_give_their_slot_back(
    settings: Settings, clock: FrozenClock
) -> None:
    assert await _probes_leave(settings, clock) == [0, 0, 0]


def test_connections_that_hang_up_at_once_give_their_slot_back_on_uvloop(
    settings: Settings, clock: FrozenClock
) -> None:
    """On uvloop (`[smtp] uvloop`) too: a half-closed session used to stay counted."""
    uvloop = pytest.importorskip("uvloop")
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        assert runner.run(_probes_leave(settings, clock)) == [0, 0, 0]


async def test_recipients_past_the_cap_get_452(settings: Settings, clock: FrozenClock) -> None:
    """1,000 RCPTs in one transaction: the first max_recipients are taken, the rest 452."""
    async for daemon in _served(_smtp(settings, max_recipients=50), clock):
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=daemon.port, start_tls=False,
                                 timeout=30)
        await client.connect()
        await client.ehlo()
        await client.mail("a@example.org")
        codes: Counter[int] = Counter()
        for _ in range(1000):
            try:
                reply = await client.rcpt(OFFICE)
                codes[reply.code] += 1
            except aiosmtplib.SMTPRecipientRefused as exc:
                codes[exc.code] += 1
        assert codes == {250: 50, 452: 950}
        await client.quit()


async def test_auth_is_not_offered_without_users_or_without_tls(
    settings: Settings, clock: FrozenClock, tls_files: tuple[trustme.CA, Path, Path]
) -> None:
    """No users: no AUTH, even after STARTTLS. Users but no TLS: no AUTH (a password is
    never sent in plain text)."""
    ca, cert, key = tls_files
    trust = ssl.create_default_context()
    ca.configure_trust(trust)
    async for daemon in _served(_smtp(settings, tls_cert=cert, tls_key=key), clock):
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=daemon.port, start_tls=False,
                                 tls_context=trust, timeout=30)
        await client.connect()
        await client.ehlo()
        await client.starttls()
        await client.ehlo()
        assert not client.supports_extension("auth")
        await client.quit()
    users = {"fax-gateway": SecretStr("s3cret")}
    async for daemon in _served(_smtp(settings, auth_users=users), clock):
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=daemon.port, start_tls=False,
                                 timeout=30)
        await client.connect()
        await client.ehlo()
        assert not client.supports_extension("auth")
        with pytest.raises(aiosmtplib.SMTPException):
            await client.login("fax-gateway", "s3cret")
        await client.quit()


async def test_wrong_passwords_are_slowed_then_disconnected(
    settings: Settings, clock: FrozenClock, tls_files: tuple[trustme.CA, Path, Path]
) -> None:
    """500 wrong passwords: each failure waits, and the session is closed after
    auth_attempts of them; a new session with the right password still works."""
    ca, cert, key = tls_files
    trust = ssl.create_default_context()
    ca.configure_trust(trust)
    secure = _smtp(settings, tls_cert=cert, tls_key=key, auth_attempts=3, auth_fail_delay=0.2,
                   auth_users={"fax-gateway": SecretStr("s3cret")})
    async for daemon in _served(secure, clock):
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=daemon.port, start_tls=False,
                                 tls_context=trust, timeout=30)
        await client.connect()
        await client.ehlo()
        await client.starttls()
        await client.ehlo()
        assert client.supports_extension("auth")
        started = time.monotonic()
        tried, closed = 0, False
        for _ in range(500):
            try:
                await client.login("fax-gateway", f"guess{tried}")
            except aiosmtplib.SMTPAuthenticationError:
                tried += 1
            except aiosmtplib.SMTPServerDisconnected:
                closed = True
                break
            try:
                await client.noop()
            except aiosmtplib.SMTPServerDisconnected:
                closed = True
                break
        assert closed
        assert tried <= 3
        assert time.monotonic() - started >= 0.2 * 2  # slowed before the disconnect
        good = aiosmtplib.SMTP(hostname="127.0.0.1", port=daemon.port, start_tls=False,
                               tls_context=trust, timeout=30)
        await good.connect()
        await good.ehlo()
        await good.starttls()
        await good.ehlo()
        await good.login("fax-gateway", "s3cret")
        await good.quit()


def test_uvloop_is_used_only_when_asked_and_never_with_starttls(
    settings: Settings, tls_files: tuple[trustme.CA, Path, Path]
) -> None:
    from jiyao.serve import loop_factory

    uvloop = pytest.importorskip("uvloop")
    assert loop_factory(settings) is None
    assert loop_factory(_smtp(settings, uvloop=True)) is uvloop.new_event_loop
    _ca, cert, key = tls_files
    assert loop_factory(_smtp(settings, uvloop=True, tls_cert=cert, tls_key=key)) is None
