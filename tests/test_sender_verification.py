"""Sender verification over real SMTP (issue 16 item 4): an item claiming an organ or relay
that requires DKIM, an authenticated session or a peer address, and failing it, is
quarantined with reason 发件人未验证; passing it, it is decided as usual."""

from __future__ import annotations

import base64
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiosmtplib
import dkim
import pytest
import trustme
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import SecretStr, ValidationError

from core.config import Org, Settings, load_settings
from core.services.context import Context, open_context
from tests.conftest import EXAMPLE, ROOT, FrozenClock
from tests.intake_helpers import OFFICE, ServedIntake, wait_decided

ORGAN = "康定市人民政府"  # bgs@kangding.gov.cn in examples/请示.eml
RELAY = "四川省电子公文交换中心"  # exchange@sc.gov.cn
MESSAGE = (ROOT / "examples" / "请示.eml").read_bytes().replace(b"\r\n", b"\n") \
    .replace(b"\n", b"\r\n")
SELECTOR = b"jiyao"


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM,
                             serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.NoEncryption())


def _txt(key: rsa.RSAPrivateKey) -> bytes:
    der = key.public_key().public_bytes(serialization.Encoding.DER,
                                        serialization.PublicFormat.SubjectPublicKeyInfo)
    return b"v=DKIM1; k=rsa; p=" + base64.b64encode(der)


def _signed(raw: bytes, key: rsa.RSAPrivateKey, domain: bytes) -> bytes:
    signature = dkim.sign(raw, SELECTOR, domain, _pem(key),
                          include_headers=[b"from", b"to", b"subject", b"date", b"message-id"])
    return bytes(signature) + raw


def _dns(records: dict[bytes, bytes]) -> Any:
    """A DNS look-up answering from `records` (no network)."""
    def lookup(name: bytes, timeout: int = 5) -> bytes | None:
        return records.get(name.rstrip(b"."))
    return lookup


def _with(settings: Settings, **verify: Any) -> Settings:
    """The example office with `ORGAN` (org=…) or `RELAY` (relay=…) verifying."""
    org, relay = verify.get("org", {}), verify.get("relay", {})
    update: dict[str, Any] = {
        "org": [o.model_copy(update=org) if o.name == ORGAN else o for o in settings.org],
        "relay": [r.model_copy(update=relay) if r.name == RELAY else r for r in settings.relay],
    }
    if "smtp" in verify:
        update["smtp"] = settings.smtp.model_copy(update=verify["smtp"])
    return settings.model_copy(update=update)


async def _serve(settings: Settings, clock: FrozenClock, dns: Any = None
                 ) -> AsyncIterator[tuple[Context, ServedIntake]]:
    ctx = await open_context(settings, clock=clock)
    ctx.dkim_dns = dns
    daemon = ServedIntake(ctx)
    await daemon.start()
    try:
        yield ctx, daemon
    finally:
        await daemon.stop()
        await ctx.db.close()


async def _send(port: int, raw: bytes, *, mail_from: str = "bgs@kangding.gov.cn",
                login: tuple[str, str] | None = None, tls: ssl.SSLContext | None = None) -> None:
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False,
                             tls_context=tls, timeout=30)
    await client.connect()
    await client.ehlo()
    if tls is not None:
        await client.starttls()
        await client.ehlo()
    if login is not None:
        await client.login(*login)
    await client.sendmail(mail_from, [OFFICE], raw)
    await client.quit()


async def _outcomes(ctx: Context) -> list[tuple[str, str | None, str | None]]:
    await wait_decided(ctx)
    async with ctx.db.reader() as r:
        rows = await r.fetchall("SELECT outcome, reason, evidence FROM items ORDER BY id")
    return [(row["outcome"], row["reason"], row["evidence"]) for row in rows]


def test_example_office_leaves_verification_off() -> None:
    example = load_settings(EXAMPLE)
    assert {o.verify for o in example.org} == {"none"}
    assert {r.verify for r in example.relay} == {"none"}


def test_a_rule_without_its_data_is_a_config_error() -> None:
    with pytest.raises(ValidationError, match="peers"):
        Org(name="x", level="county", branch="government", verify="peer")
    with pytest.raises(ValidationError, match="auth_users"):
        Org(name="x", level="county", branch="government", verify="auth")
    with pytest.raises(ValidationError, match="IP"):
        Org(name="x", level="county", branch="government", verify="peer", peers=["nowhere"])


async def test_dkim(settings: Settings, clock: FrozenClock, key: rsa.RSAPrivateKey) -> None:
    """Signed by the organ's domain: registered. Unsigned, signed by another domain, or
    changed after signing: quarantined, 发件人未验证."""
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    dns = _dns({SELECTOR + b"._domainkey.kangding.gov.cn": _txt(key),
                SELECTOR + b"._domainkey.evil.example": _txt(other)})
    good = _signed(MESSAGE, key, b"kangding.gov.cn")
    tampered = good.replace(b"Message-ID: <", b"Message-ID: <x")
    foreign = _signed(MESSAGE.replace(b"example-qingshi", b"foreign"), other, b"evil.example")
    unsigned = MESSAGE.replace(b"example-qingshi", b"unsigned")
    async for ctx, daemon in _serve(_with(settings, org={"verify": "dkim"}), clock, dns):
        for raw in (good, tampered, foreign, unsigned):
            await _send(daemon.port, raw)
        got = await _outcomes(ctx)
    assert got[0][0] == "register"
    for outcome, reason, evidence in got[1:]:
        assert (outcome, reason) == ("quarantine", "sender_unverified")
        assert evidence is not None
        assert "DKIM" in evidence
    assert "evil.example" in str(got[2][2])


async def test_peer(settings: Settings, clock: FrozenClock) -> None:
    """From an allowed address: registered; from elsewhere: quarantined."""
    near = _with(settings, org={"verify": "peer", "peers": ["127.0.0.0/8"]})
    async for ctx, daemon in _serve(near, clock):
        await _send(daemon.port, MESSAGE)
        assert [o[:2] for o in await _outcomes(ctx)] == [("register", None)]
    far = _with(settings, org={"verify": "peer", "peers": ["10.1.2.3"]})
    (settings.storage.data_dir / "jiyao.db").unlink()
    async for ctx, daemon in _serve(far, clock):
        await _send(daemon.port, MESSAGE)
        [(outcome, reason, evidence)] = await _outcomes(ctx)
    assert (outcome, reason) == ("quarantine", "sender_unverified")
    assert "127.0.0.1" in str(evidence)


@pytest.fixture
def tls(tmp_path: Path) -> tuple[ssl.SSLContext, Path, Path]:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.cert_chain_pems[0].write_to_path(cert_path)
    key_path.write_bytes(cert.private_key_pem.bytes())
    trust = ssl.create_default_context()
    ca.configure_trust(trust)
    return trust, cert_path, key_path


async def test_auth_for_the_relay(
    settings: Settings, clock: FrozenClock, tls: tuple[ssl.SSLContext, Path, Path]
) -> None:
    """Mail from the relay's address must come in a session logged in (over STARTTLS) as
    one of its users: logged in, registered; another user, or none, quarantined."""
    trust, cert, key = tls
    secure = _with(settings, relay={"verify": "auth", "auth_users": ["exchange"]},
                   smtp={"tls_cert": cert, "tls_key": key,
                         "auth_users": {"exchange": SecretStr("s3cret"),
                                        "someone": SecretStr("other")}})
    relayed = MESSAGE.replace(b"bgs@kangding.gov.cn", b"exchange@sc.gov.cn", 1)
    async for ctx, daemon in _serve(secure, clock):
        await _send(daemon.port, relayed, mail_from="exchange@sc.gov.cn",
                    login=("exchange", "s3cret"), tls=trust)
        await _send(daemon.port, relayed.replace(b"example-qingshi", b"other"),
                    mail_from="exchange@sc.gov.cn", login=("someone", "other"), tls=trust)
        await _send(daemon.port, relayed.replace(b"example-qingshi", b"anon"),
                    mail_from="exchange@sc.gov.cn", tls=trust)
        got = await _outcomes(ctx)
    assert got[0][1] != "sender_unverified", got[0]
    assert [o[:2] for o in got[1:]] == [("quarantine", "sender_unverified")] * 2
    assert "someone" in str(got[1][2])
    assert "未登录" in str(got[2][2])


async def test_auth_by_client_certificate(settings: Settings, clock: FrozenClock,
                                          tmp_path: Path) -> None:
    """A TLS client certificate signed by `[smtp] tls_client_ca` with the relay's user as
    its CN proves the relay without a password; one with another CN does not."""
    ca = trustme.CA()
    server = ca.issue_cert("127.0.0.1")
    cert_path, key_path, ca_path = tmp_path / "c.pem", tmp_path / "k.pem", tmp_path / "ca.pem"
    server.cert_chain_pems[0].write_to_path(cert_path)
    key_path.write_bytes(server.private_key_pem.bytes())
    ca.cert_pem.write_to_path(ca_path)

    def client(cn: str) -> ssl.SSLContext:
        context = ssl.create_default_context()
        ca.configure_trust(context)
        ca.issue_cert(f"{cn}@sc.gov.cn", common_name=cn).configure_cert(context)
        return context

    secure = _with(settings, relay={"verify": "auth", "auth_users": ["exchange"]},
                   smtp={"tls_cert": cert_path, "tls_key": key_path, "tls_client_ca": ca_path})
    relayed = MESSAGE.replace(b"bgs@kangding.gov.cn", b"exchange@sc.gov.cn", 1)
    async for ctx, daemon in _serve(secure, clock):
        await _send(daemon.port, relayed, mail_from="exchange@sc.gov.cn",
                    tls=client("exchange"))
        await _send(daemon.port, relayed.replace(b"example-qingshi", b"other"),
                    mail_from="exchange@sc.gov.cn", tls=client("intruder"))
        got = await _outcomes(ctx)
    assert got[0][1] != "sender_unverified", got[0]
    assert got[1][:2] == ("quarantine", "sender_unverified")
    assert "intruder" in str(got[1][2])
