"""Receive one message at the SMTP edge: store it durably and record it as `received`.

DESIGN "Flow of an item": the edge does only what must happen before the sender may
forget the message. The idempotency check (Message-ID + content hash), the raw bytes to
the blob store (temp file, fsync, rename), one small `received` row committed through
the group commit; then the caller answers 250 (收到). Reading, the checks (签收),
classification and numbering come after, in the pipeline (`core.services.pipeline`).
A retry of a message already accepted is recognised and answers the same item, whether
it has been decided yet or not.

Header parsing here is bounded (the first MiB) and linear: a message of 250,000 folded
header lines costs tens of milliseconds, off the event loop when it is large.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
from dataclasses import dataclass, replace
from datetime import datetime, tzinfo
from typing import Any

from core import localtime
from core.clock import iso, parse_iso
from core.model import Channel, Outcome
from core.registers import local_year_month
from core.services.context import Context
from core.storage import items as repo
from core.storage import registers
from core.storage.blobs import digest_of
from core.storage.db import Reader, Row, UnitOfWork

log = logging.getLogger("jiyao.receive")

ACTOR = "intake"
REUSED_MESSAGE_ID = "reused_message_id"
#: header fields a relay adds on the way: not part of the message's identity
_TRACE_FIELDS = frozenset({
    b"received", b"return-path", b"delivered-to", b"x-original-to", b"x-received",
    b"authentication-results",
})
_HEADER_SCAN_LIMIT = 1 << 20
#: the header block is looked for in this much first (`header_block`)
_HEADER_FIRST = 1 << 12
#: messages up to this size are hashed on the event loop (a thread hop costs more) and
#: their bytes committed with their row (`raw_staged`: a blob file each would cost a
#: create, two fsyncs and a rename at the edge); larger ones go to the blob store at once
_INLINE_BYTES = 256 * 1024
_MESSAGE_ID_RE = re.compile(r"<([^<>\s]+)>")


@dataclass(frozen=True)
class Received:
    """What became of one delivery."""

    item_id: int
    outcome: str
    kind: str | None
    reason: str | None
    number: str | None
    message_id: str | None
    received: str
    duplicate: bool = False
    flags: tuple[str, ...] = ()


# ------------------------------------------------------------------ identity


def header_block(raw: bytes) -> bytes:
    """The header block (LF line ends) within the first MiB of the message."""
    # the first 4 KiB hold the header block of most messages: only they are folded then
    # (a CR that ends the piece stays a CR, so a blank line found in it is the first)
    for size in (min(_HEADER_SCAN_LIMIT, _HEADER_FIRST), _HEADER_SCAN_LIMIT):
        head = raw[:size].replace(b"\r\n", b"\n")
        end = head.find(b"\n\n")
        if end >= 0:
            return head[: end + 1]
        if len(raw) <= size:
            break
    return head


def header_fields(block: bytes) -> list[tuple[bytes, bytes]]:
    """(lower-case name, unfolded value) of each header field, in order.

    Linear: a field's continuation lines are collected and joined once (joining them
    one at a time copied the value again for every line).
    """
    fields: list[tuple[bytes, bytes]] = []
    name: bytes | None = None
    parts: list[bytes] = []
    for line in block.split(b"\n"):
        if line[:1] in (b" ", b"\t"):
            if name is not None:
                parts.append(line.strip())
            continue
        if name is not None:
            fields.append((name, b" ".join(parts)))
            name = None
        if b":" in line:
            key, _, value = line.partition(b":")
            name, parts = key.strip().lower(), [value.strip()]
    if name is not None:
        fields.append((name, b" ".join(parts)))
    return fields


def message_id_of(raw: bytes) -> str | None:
    """The Message-ID without its angle brackets, read the way `core.reading.mail` reads it."""
    for name, value in header_fields(header_block(raw)):
        if name == b"message-id":
            text = value.decode("utf-8", "replace")
            m = _MESSAGE_ID_RE.search(text)
            if m:
                return m.group(1)
            tokens = text.strip().strip("<>").split()
            return tokens[0].strip("<>") or None if tokens else None
    return None


def content_hash(raw: bytes) -> str:
    """sha256 of the message without the trace fields relays add, line ends folded to LF
    and trailing blank lines dropped.

    The same message relayed twice (a retry through Postfix) hashes the same; any change
    to its own headers or body does not. The body is hashed a slice at a time: a large
    message is never copied whole.
    """
    h = ContentHasher()
    for pos in range(0, len(raw), _HASH_SLICE):
        h.feed(raw[pos:pos + _HASH_SLICE])
    return h.hexdigest()


_HASH_SLICE = 1 << 20


class ContentHasher:
    """`content_hash` fed a piece at a time, as DATA arrives; the same digest for any
    pieces. The header block is looked for in the first 2 MiB (≥ the 1 MiB scan limit
    once CRLF is folded), kept until then; the body is hashed as it comes."""

    def __init__(self) -> None:
        self._start = bytearray()
        self._body: _BodyDigest | None = None
        self._cr = b""  # a CR that ended the last piece: the LF of its CRLF may follow

    def feed(self, chunk: bytes | bytearray | memoryview) -> None:
        if self._body is None:
            self._start += chunk
            if len(self._start) >= 2 * _HEADER_SCAN_LIMIT:
                self._begin(final=False)
            return
        self._feed_body(bytes(chunk))

    def hexdigest(self) -> str:
        if self._body is None:
            self._begin(final=True)
        assert self._body is not None
        if self._cr:
            self._body.feed(self._cr)
            self._cr = b""
        return self._body.hexdigest()

    def _feed_body(self, data: bytes) -> None:
        assert self._body is not None
        if self._cr:
            data, self._cr = self._cr + data, b""
        if data.endswith(b"\r"):
            data, self._cr = data[:-1], b"\r"
        self._body.feed(data.replace(b"\r\n", b"\n"))

    def _begin(self, *, final: bool) -> None:
        data, self._start = self._start, bytearray()
        if not final and data.endswith(b"\r"):
            del data[-1:]
            self._cr = b"\r"
        folded = bytes(data.replace(b"\r\n", b"\n"))
        del data
        end = folded.find(b"\n\n", 0, _HEADER_SCAN_LIMIT)
        split = end + 1 if end >= 0 else min(len(folded), _HEADER_SCAN_LIMIT)
        kept: list[bytes] = []
        skipping = False
        for line in folded[:split].split(b"\n"):
            if line[:1] in (b" ", b"\t"):
                if not skipping:
                    kept.append(line)
                continue
            name = line.partition(b":")[0].strip().lower()
            skipping = name in _TRACE_FIELDS
            if not skipping:
                kept.append(line)
        self._body = _BodyDigest(b"\n".join(kept))
        self._body.feed(folded[split:])


class _BodyDigest:
    """Hashes the body as it comes, holding back line feeds until text follows them:
    how many blank lines end the body depends on the client, not on the message."""

    def __init__(self, head: bytes) -> None:
        self.digest = hashlib.sha256(head)
        self._held = 0

    def hexdigest(self) -> str:
        return self.digest.hexdigest()

    def feed(self, chunk: bytes) -> None:
        text = chunk.rstrip(b"\n")
        if not text:
            self._held += len(chunk)
            return
        while self._held:
            n = min(self._held, _HASH_SLICE)
            self.digest.update(b"\n" * n)
            self._held -= n
        self.digest.update(text)
        self._held = len(chunk) - len(text)


def _identity(raw: bytes) -> tuple[str | None, str, str]:
    """(Message-ID, content hash, the blob's name: sha256 of the bytes as they came)."""
    return message_id_of(raw), content_hash(raw), digest_of(raw)


class Incoming:
    """A large message as DATA brings it (the edge's spool): its bytes go straight into
    the blob store, hashed on the way (the blob's sha256 and `content_hash`), so that
    accepting it links the file in instead of reading the message back into memory. The
    edge then holds a few MiB of it at most, whatever its size."""

    def __init__(self, ctx: Context) -> None:
        self._blob = ctx.blobs.writer()
        self._hash = ContentHasher()
        self._head = bytearray()  # the first MiB: where the Message-ID is read

    @property
    def size(self) -> int:
        return self._blob.size

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self._blob.write(data)
        self._hash.feed(data)
        room = _HEADER_SCAN_LIMIT - len(self._head)
        if room > 0:
            self._head += data[:room]

    def identity(self) -> tuple[str | None, str]:
        """(Message-ID, content hash) once everything is written."""
        return message_id_of(bytes(self._head)), self._hash.hexdigest()

    def keep(self) -> str:
        """Make it a blob, durably (blocking); its sha256."""
        return self._blob.keep()

    def discard(self) -> None:
        """Drop what was written (nothing once kept)."""
        self._blob.discard()


# ------------------------------------------------------------------ look-ups


async def _as_received(conn: Reader | UnitOfWork, item: Row) -> Received:
    return Received(
        item_id=item["id"], outcome=item["outcome"], kind=item["kind"], reason=item["reason"],
        number=await registers.active_number(conn, item["id"]), message_id=item["message_id"],
        received=item["received_at"], duplicate=True,
        flags=tuple(f for f in item["flags"].split(",") if f),
    )


# ------------------------------------------------------------------ the use case


@dataclass(frozen=True)
class Sender:
    """How the sender reached us, recorded at accept time for later sender checks."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    peer: str | None = None
    auth_user: str | None = None
    tls: bool = False
    #: the CN of a TLS client certificate `[smtp] tls_client_ca` signed
    tls_client: str | None = None


async def accept(ctx: Context, message: bytes | Incoming, sender: Sender) -> Received:
    """Store one delivered message durably and record it `received`; returns once the
    row is committed (the SMTP edge then answers 250). `message` is the bytes, or for a
    large one what the edge spooled into the blob store (dropped unless kept here)."""
    try:
        return await _accept(ctx, message, sender)
    finally:
        if isinstance(message, Incoming):
            message.discard()


async def _accept(ctx: Context, message: bytes | Incoming, sender: Sender) -> Received:
    staged: bytes | None = None
    if isinstance(message, bytes) and len(message) <= _INLINE_BYTES:
        message_id, digest, raw_blob = _identity(message)  # cheaper than a thread hop
        # committed with the row (`raw_staged`): one fsync of the WAL for the whole group
        # commit; the pipeline's `keep` step files it in the blob store under raw_blob
        staged = message
    else:
        if isinstance(message, Incoming):
            message_id, digest = await asyncio.to_thread(message.identity)
        else:
            message_id, digest, _name = await asyncio.to_thread(_identity, message)
        # before its blob is written: a retry of a large message leaves no second file
        async with ctx.db.reader() as r:
            same = await repo.find_same(r, message_id, digest)
            if same is not None:
                found = await _as_received(r, same)
                log_item(found, ctx.settings.tz)
                return found
        if isinstance(message, Incoming):
            raw_blob = await asyncio.to_thread(message.keep)
        else:
            raw_blob = await asyncio.to_thread(ctx.blobs.put, message)
    now = ctx.clock()
    year, month = local_year_month(now, ctx.settings.tz)
    async with ctx.db.unit_of_work() as uow:
        same, reused = await repo.same_delivery(uow, message_id, digest)
        if same is not None:
            found = await _as_received(uow, same)
            # an empty unit: it returns only once the first copy's commit is durable
            await uow.commit()
            log_item(found, ctx.settings.tz)
            return found
        flags = (REUSED_MESSAGE_ID,) if reused else ()
        item_id = await repo.insert_item(uow, repo.NewItem(
            received_at=now, year=year, month=month, channel=Channel.EMAIL.value,
            outcome=Outcome.RECEIVED.value, created_by=ACTOR, message_id=message_id,
            content_sha256=digest, raw_blob=raw_blob, flags=",".join(flags),
            mail_from=sender.mail_from, rcpt_tos=list(sender.rcpt_tos), peer=sender.peer,
            auth_user=sender.auth_user, tls=sender.tls, tls_client=sender.tls_client,
        ))
        if staged is not None:
            await repo.stage_raw(uow, item_id, staged)
        await uow.commit()
    got = Received(
        item_id=item_id, outcome=Outcome.RECEIVED.value, kind=None, reason=None, number=None,
        message_id=message_id, received=iso(now), flags=flags,
    )
    log_item(got, ctx.settings.tz)
    return got


async def raw_of(ctx: Context, item: Row) -> bytes:
    """An item's raw bytes: still staged by the edge, or from the blob store."""
    async with ctx.db.reader() as r:
        staged = await repo.staged_raw(r, item["id"])
    if staged is not None:
        return staged
    return await asyncio.to_thread(ctx.blobs.get, item["raw_blob"])


async def receive(
    ctx: Context,
    raw: bytes,
    *,
    mail_from: str,
    rcpt_tos: list[str],
    peer: str | None = None,
) -> Received:
    """Accept one message and decide it at once, as the pipeline would: what a message
    becomes end to end (tests, tools). The SMTP edge only accepts."""
    from core.services import pipeline  # the pipeline decides what this module accepts

    got = await accept(ctx, raw, Sender(mail_from, tuple(rcpt_tos), peer))
    if got.outcome != Outcome.RECEIVED.value:
        return got
    decided = await pipeline.decide_now(ctx, got.item_id)
    return replace(decided, duplicate=got.duplicate)


def log_item(r: Received, tz: tzinfo) -> None:
    """One line per item; its receipt time in the office's zone, as every log line."""
    log.info(
        "收件 %s message-id=%s 结果=%s 类别=%s 编号=%s 序号=%d%s",
        localtime.log_stamp(parse_iso(r.received), tz), r.message_id or "-", r.outcome,
        r.kind or "-", r.number or "-", r.item_id,
        "（重复投递，未重复登记）" if r.duplicate else "",
    )


# ------------------------------------------------------------------ listing


async def list_items(
    ctx: Context, *, outcome: str | None = None, since: datetime | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """What came in, oldest first: items with their active register number."""
    async with ctx.db.reader() as r:
        rows = await repo.listing(r, outcome=outcome, since=since, limit=limit)
    return [_listed(row) for row in rows]


def _listed(row: Row) -> dict[str, Any]:
    out = {k: row[k] for k in row.keys()}  # noqa: SIM118 - sqlite3.Row has no __iter__ of keys
    out["received"] = out.pop("received_at")
    out["flags"] = [f for f in (row["flags"] or "").split(",") if f]
    return out
