"""Sender verification (发件人验证): does mail that claims a directory organ or relay
come from it? Configured per entry (`verify` in [[org]] / [[relay]], core.config):

    dkim   a valid DKIM signature (dkimpy) whose d= is one of the entry's domains
    auth   the SMTP session authenticated as one of its `auth_users` (AUTH is offered only
           after STARTTLS, so the password crossed encrypted)
    peer   the connection came from one of its `peers` (IP addresses or networks)

The SMTP edge records what it knows (peer, AUTH login, TLS); the pipeline's check step
asks here, and an item that fails is quarantined with reason 发件人未验证. Pure but for
the DNS look-up DKIM needs, which is passed in (`DnsFn`, dkimpy's `dnsfunc`)."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass

import dkim

from core.config import Org, Relay, Settings
from core.directory import Directory
from core.model import Channel

#: dkimpy's DNS look-up: the TXT record of a name (bytes, with the trailing dot), or None
DnsFn = Callable[..., bytes | None]


@dataclass(frozen=True)
class Transport:
    """What the SMTP edge knew of the session an item came in."""

    peer: str | None  # "host:port"
    auth_user: str | None
    tls: bool
    #: the CN of a verified TLS client certificate
    tls_client: str | None = None


@dataclass(frozen=True)
class Claim:
    """The directory entry an item claims, with its verification rule."""

    what: str  # 来文机关 | 中转单位
    entry: Org | Relay

    @property
    def name(self) -> str:
        return self.entry.name


def claim_of(
    settings: Settings, directory: Directory, *, sender: str | None, from_address: str,
    channel: Channel,
) -> Claim | None:
    """The entry an item claims that wants verifying, else None. Mail through a relay
    claims the relay (it vouches for the organs it forwards); a fax claims the gateway,
    which the edge checks itself (`[smtp] auth_users`)."""
    if channel is not Channel.EMAIL:
        return None
    relay = directory.relay_name(from_address)
    if relay is not None:
        entry: Org | Relay | None = next((r for r in settings.relay if r.name == relay), None)
        what = "中转单位"
    else:
        entry = next((o for o in settings.org if o.name == sender), None) if sender else None
        what = "来文机关"
    if entry is None or entry.verify == "none":
        return None
    return Claim(what, entry)


def problem(claim: Claim, transport: Transport, raw: bytes, dns: DnsFn | None = None) -> str | None:
    """Why the item does not prove its claim (Chinese, for staff), or None when it does."""
    entry = claim.entry
    who = f"{claim.what}{claim.name}要求"
    if entry.verify == "auth":
        known = {transport.auth_user, transport.tls_client} if transport.tls else set()
        if known & set(entry.auth_users):
            return None
        got = "、".join(x for x in (
            f"以 {transport.auth_user} 登录" if transport.auth_user else "未登录",
            f"客户端证书 {transport.tls_client}" if transport.tls_client else "") if x)
        return f"{who}经 TLS 以指定账号登录（SMTP AUTH）或出示客户端证书发送，本次会话{got}"
    if entry.verify == "peer":
        host = _host(transport.peer)
        if host is not None and any(host in ipaddress.ip_network(p, strict=False)
                                    for p in entry.peers):
            return None
        return f"{who}从指定地址发送，本次来自 {transport.peer or '未知地址'}"
    signed = dkim_domains(raw, dns)
    wanted = entry.dkim_domains()
    if any(_aligned(d, w) for d in signed for w in wanted):
        return None
    seen = "、".join(sorted(signed)) if signed else "无有效签名"
    return f"{who}有 {'、'.join(wanted)} 的 DKIM 签名，本次：{seen}"


def dkim_domains(raw: bytes, dns: DnsFn | None = None) -> set[str]:
    """The d= domains of the DKIM signatures in `raw` that verify."""
    try:
        checker = dkim.DKIM(raw)
    except (dkim.DKIMException, ValueError):
        return set()
    count = sum(1 for name, _ in checker.headers if name.lower() == b"dkim-signature")
    domains: set[str] = set()
    for idx in range(count):
        try:
            ok = checker.verify(idx=idx, dnsfunc=dns or dkim.dnsplug.get_txt)
        except (dkim.DKIMException, ValueError, UnicodeError):
            ok = False
        if ok and checker.domain:
            domains.add(checker.domain.decode("ascii", "replace").lower())
    return domains


def _aligned(signed: str, domain: str) -> bool:
    """Relaxed alignment: the same domain, or one a subdomain of the other."""
    return signed == domain or domain.endswith("." + signed) or signed.endswith("." + domain)


def _host(peer: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    if not peer:
        return None
    host = peer.rpartition(":")[0] if peer.count(":") == 1 or peer.startswith("[") else peer
    host = host.strip("[]")
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        try:  # an IPv6 peer written "addr:port" without brackets
            return ipaddress.ip_address(peer.rpartition(":")[0])
        except ValueError:
            return None
