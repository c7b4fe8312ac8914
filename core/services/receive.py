"""Receive one message: store it durably, decide it, and record it in one transaction.

Order matters (DESIGN "Flow of an item"): the raw bytes go to the blob store first
(temp file, fsync, rename), then the message is read and classified in a worker thread,
then ONE transaction writes the item, its attachments, its register number, the audit
entry and the outbox events. The SMTP edge answers 250 only after that commit; if
anything fails before it the caller answers 451 and the sender retries, and a retry
of a message already committed is recognised (same Message-ID and content hash) and
not registered twice.
"""

from __future__ import annotations

import asyncio
import gc
import hashlib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from email.utils import getaddresses
from typing import Any

from core.clock import iso
from core.config import Settings
from core.directory import Directory
from core.errors import StorageError
from core.model import Channel, Outcome
from core.reading.decide import Decision, decide_parsed
from core.reading.mail import ParsedMessage, decode_words, parse_message
from core.registers import local_year_month
from core.routing import URGENT_LEVELS, registry_staff
from core.services import notices, push
from core.services.context import Context
from core.services.registry import number_item
from core.storage import audit, outbox, registers
from core.storage import items as repo
from core.storage.db import Reader, Row, UnitOfWork
from core.visibility import Facts, Policy, Shown, Viewer, shown

log = logging.getLogger("jiyao.receive")

ACTOR = "intake"
REUSED_MESSAGE_ID = "reused_message_id"
#: seconds a worker thread waits for the envelope-number look-up on the event loop
_LOOKUP_TIMEOUT = 30.0
#: header fields a relay adds on the way: not part of the message's identity
_TRACE_FIELDS = frozenset({
    b"received", b"return-path", b"delivered-to", b"x-original-to", b"x-received",
    b"authentication-results",
})
_HEADER_SCAN_LIMIT = 1 << 20
#: messages up to this size are hashed on the event loop (a thread hop costs more)
_INLINE_BYTES = 256 * 1024
#: after a message this large, garbage is collected at once (its copies are large too)
_COLLECT_AFTER_BYTES = 4 * 1024 * 1024
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


def _header_block(raw: bytes) -> bytes:
    head = raw[:_HEADER_SCAN_LIMIT].replace(b"\r\n", b"\n")
    end = head.find(b"\n\n")
    return head if end < 0 else head[: end + 1]


def _header_fields(block: bytes) -> list[tuple[bytes, bytes]]:
    """(lower-case name, unfolded value) of each header field, in order."""
    fields: list[tuple[bytes, bytes]] = []
    for line in block.split(b"\n"):
        if line[:1] in (b" ", b"\t") and fields:
            name, value = fields[-1]
            fields[-1] = (name, value + b" " + line.strip())
        elif b":" in line:
            name, _, value = line.partition(b":")
            fields.append((name.strip().lower(), value.strip()))
    return fields


def message_id_of(raw: bytes) -> str | None:
    """The Message-ID without its angle brackets, read the way `core.reading.mail` reads it."""
    for name, value in _header_fields(_header_block(raw)):
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
    cut = _uncrlf_end(raw, min(len(raw), 2 * _HEADER_SCAN_LIMIT))  # ≥ the limit once folded
    data = raw[:cut].replace(b"\r\n", b"\n")
    end = data.find(b"\n\n", 0, _HEADER_SCAN_LIMIT)
    split = end + 1 if end >= 0 else min(len(data), _HEADER_SCAN_LIMIT)
    kept: list[bytes] = []
    skipping = False
    for line in data[:split].split(b"\n"):
        if line[:1] in (b" ", b"\t"):
            if not skipping:
                kept.append(line)
            continue
        name = line.partition(b":")[0].strip().lower()
        skipping = name in _TRACE_FIELDS
        if not skipping:
            kept.append(line)
    body = _BodyDigest(b"\n".join(kept))
    body.feed(data[split:])
    del data
    pos = cut
    while pos < len(raw):
        stop = _uncrlf_end(raw, min(len(raw), pos + _HASH_SLICE))
        body.feed(raw[pos:stop].replace(b"\r\n", b"\n"))
        pos = stop
    return body.hexdigest()


_HASH_SLICE = 1 << 20


def _uncrlf_end(raw: bytes, stop: int) -> int:
    """`stop` moved past any CR, so that no CRLF is split between two slices."""
    while stop < len(raw) and raw[stop - 1] == 0x0D:
        stop += 1
    return stop


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


def _identity(raw: bytes) -> tuple[str | None, str]:
    return message_id_of(raw), content_hash(raw)


# ------------------------------------------------------------------ look-ups


async def _as_received(conn: Reader | UnitOfWork, item: Row) -> Received:
    return Received(
        item_id=item["id"], outcome=item["outcome"], kind=item["kind"], reason=item["reason"],
        number=await registers.active_number(conn, item["id"]), message_id=item["message_id"],
        received=item["received_at"], duplicate=True,
        flags=tuple(f for f in item["flags"].split(",") if f),
    )


_DIRECTORIES: dict[int, tuple[Settings, Directory]] = {}


def directory_of(settings: Settings) -> Directory:
    """The directory built from `settings`, built once per settings object."""
    cached = _DIRECTORIES.get(id(settings))
    if cached is None or cached[0] is not settings:
        if len(_DIRECTORIES) > 8:
            _DIRECTORIES.clear()
        cached = (settings, Directory.from_settings(settings))
        _DIRECTORIES[id(settings)] = cached
    return cached[1]


# ------------------------------------------------------------------ the use case


async def receive(
    ctx: Context,
    raw: bytes,
    *,
    mail_from: str,
    rcpt_tos: list[str],
    peer: str | None = None,
) -> Received:
    """Store, decide and record one delivered message; returns once it is committed."""
    if len(raw) <= _INLINE_BYTES:
        message_id, digest = _identity(raw)  # cheaper than a hop to a worker thread
    else:
        message_id, digest = await asyncio.to_thread(_identity, raw)
    async with ctx.db.reader() as r:
        same = await repo.find_same(r, message_id, digest)
        if same is not None:
            found = await _as_received(r, same)
            _log_item(found)
            return found
    loop = asyncio.get_running_loop()
    directory = directory_of(ctx.settings)
    # envelope numbers found taken inside a transaction (perhaps by a unit of the same
    # group commit, which readers cannot see yet)
    taken: set[str] = set()

    def seen_envelope(envelope_no: str) -> bool:
        # called by the classifier in its worker thread: ask the loop's reader
        if envelope_no in taken:
            return True

        async def look() -> bool:
            async with ctx.db.reader() as r:
                return await repo.envelope_used(r, envelope_no)

        return asyncio.run_coroutine_threadsafe(look(), loop).result(_LOOKUP_TIMEOUT)

    # the worker takes the message out of the box: holding the last reference (the SMTP
    # edge gave up its own), it frees a large message before reading its documents
    box = [raw]
    del raw
    stored, decision = await asyncio.to_thread(
        _store_and_decide, ctx, box, directory, seen_envelope
    )
    # a second round only when another delivery took the same envelope number meanwhile:
    # deciding again then sees it as used
    for attempt in range(3):
        if attempt:
            decision = await asyncio.to_thread(
                _decide_and_store, ctx, stored, directory, seen_envelope
            )
        done = await _record(
            ctx, decision, raw_blob=stored.raw_blob, message_id=message_id, digest=digest,
            mail_from=mail_from, rcpt_tos=rcpt_tos, peer=peer, head=stored.head, taken=taken,
        )
        if done is not None:
            _log_item(done)
            return done
    raise StorageError("信封编号反复冲突，稍后重试")


@dataclass(frozen=True)
class _Stored:
    """A delivery once its raw bytes are durable: the blob, the header block, the parts."""

    raw_blob: str
    size: int
    head: bytes
    parsed: ParsedMessage


def _store_and_decide(
    ctx: Context, box: list[bytes], directory: Directory, seen: Callable[[str], bool]
) -> tuple[_Stored, Decision]:
    """Blob first (durable before anything is decided), then one parse (worker thread)."""
    raw = box.pop()
    raw_blob = ctx.blobs.put(raw)
    stored = _Stored(raw_blob, len(raw), _header_block(raw), parse_message(raw))
    del raw  # from here on the parts and the header block are all that is read
    decision = _decide_and_store(ctx, stored, directory, seen)
    if stored.size >= _COLLECT_AFTER_BYTES:
        # PDF readers leave reference cycles holding copies of the document's streams;
        # the cyclic collector would free them only many allocations later
        gc.collect()
    return stored, decision


def _decide_and_store(
    ctx: Context, stored: _Stored, directory: Directory, seen: Callable[[str], bool]
) -> Decision:
    """Classify, then store every attachment blob the decision lists (worker thread)."""
    parsed = stored.parsed
    decision = decide_parsed(parsed, directory, seen_envelope=seen, size=stored.size)
    if decision.attachments and decision.outcome is not Outcome.SEALED:
        wanted = {a.sha256 for a in decision.attachments}
        for att in parsed.attachments:
            if att.sha256 in wanted:
                ctx.blobs.put(att.data)
                wanted.discard(att.sha256)
        if wanted:
            # the decision lists a part this parse did not produce: keep the item, drop the rows
            decision = _without_attachments(decision, wanted)
    return decision


def _without_attachments(decision: Decision, missing: set[str]) -> Decision:
    return replace(
        decision, attachments=tuple(a for a in decision.attachments if a.sha256 not in missing)
    )


async def _record(
    ctx: Context,
    decision: Decision,
    *,
    raw_blob: str,
    message_id: str | None,
    digest: str,
    mail_from: str,
    rcpt_tos: list[str],
    peer: str | None,
    head: bytes,
    taken: set[str],
) -> Received | None:
    """The one transaction; None when the envelope number was taken meanwhile (decide again)."""
    now = ctx.clock()
    year, month = local_year_month(now, ctx.settings.tz)
    async with ctx.db.unit_of_work() as uow:
        same = await repo.find_same(uow, message_id, digest)
        if same is not None:
            found = await _as_received(uow, same)
            # an empty unit: it returns only once the first copy's commit is durable
            await uow.commit()
            return found
        if (
            decision.envelope_no
            and decision.outcome in (Outcome.REGISTER, Outcome.REVIEW)
            and await repo.envelope_used(uow, decision.envelope_no)
        ):
            taken.add(decision.envelope_no)
            return None
        reused = message_id is not None and await repo.message_id_used(uow, message_id)
        flags = [REUSED_MESSAGE_ID] if reused else []
        item_id = await repo.insert_item(
            uow, _new_item(
                decision, now=now, year=year, month=month, message_id=message_id,
                digest=digest, raw_blob=raw_blob, flags=flags,
            ),
        )
        if decision.outcome is not Outcome.SEALED:
            await repo.insert_attachments(uow, item_id, [
                repo.NewAttachment(a.filename, a.content_type, a.sha256, a.size, a.status)
                for a in decision.attachments
            ])
        number = None
        if decision.outcome is Outcome.REGISTER and decision.kind is not None:
            number = await number_item(
                ctx, uow, item_id=item_id, kind=decision.kind, year=year, at=now
            )
        await audit.append(
            uow, at=now, actor=ACTOR, action="receive", subject=f"item:{item_id}",
            detail={
                "outcome": decision.outcome.value,
                "kind": decision.kind.value if decision.kind else None,
                "reason": decision.reason.value if decision.reason else None,
                "number": number, "message_id": message_id, "channel": decision.channel.value,
                "raw_blob": raw_blob, "mail_from": mail_from, "rcpt_tos": rcpt_tos,
                "peer": peer, "rule": decision.rule, "flags": flags,
            },
        )
        await _enqueue_events(ctx, uow, decision, item_id=item_id, now=now, head=head)
        await uow.commit()
    return Received(
        item_id=item_id, outcome=decision.outcome.value,
        kind=decision.kind.value if decision.kind else None,
        reason=decision.reason.value if decision.reason else None,
        number=number, message_id=message_id, received=iso(now), flags=tuple(flags),
    )


def _new_item(
    d: Decision, *, now: datetime, year: int, month: int, message_id: str | None, digest: str,
    raw_blob: str, flags: list[str],
) -> repo.NewItem:
    return repo.NewItem(
        received_at=now, year=year, month=month, channel=d.channel.value,
        outcome=d.outcome.value, created_by=ACTOR,
        kind=d.kind.value if d.kind else None, reason=d.reason.value if d.reason else None,
        sender=d.sender, doc_number=d.doc_number, doc_type=d.doc_type, secrecy=d.secrecy,
        urgency=d.urgency, title=d.title, envelope_no=d.envelope_no,
        issue_no=str(d.issue_no) if d.issue_no is not None else None,
        rule=d.rule, evidence=d.evidence, message_id=message_id, content_sha256=digest,
        raw_blob=raw_blob, from_address=d.from_address or None, subject=d.subject or None,
        fax_remote_id=d.fax_remote_id,
        deadline=d.deadline.isoformat() if d.deadline else None,
        flags=",".join(flags),
        findings=[{"code": f.code, "detail": f.detail} for f in d.findings],
        # a sealed item's content is never parsed into search either
        text="" if d.outcome is Outcome.SEALED else d.text,
    )


# ------------------------------------------------------------------ outbox events


async def _enqueue_events(
    ctx: Context, uow: UnitOfWork, d: Decision, *, item_id: int, now: datetime, head: bytes
) -> None:
    settings = ctx.settings
    if d.outcome is Outcome.REGISTER:
        await push.route_item(ctx, uow, item_id=item_id, at=now)
        return
    mailed_to = None
    if d.outcome is Outcome.RETURN:
        mailed_to = return_address(d, settings)
        if mailed_to is not None:
            mail = notices.return_mail(
                office=settings.office.name, item_id=item_id,
                received=now.astimezone(settings.tz), reason=d.reason.value if d.reason else "",
                sender=d.sender, doc_number=d.doc_number, title=d.title, subject=d.subject,
                details=_details(d),
            )
            await outbox.enqueue(
                uow, channel=outbox.MAIL, event="return_notice", target=mailed_to,
                payload={"to": mailed_to, "subject": mail.subject, "body": mail.body,
                         "in_reply_to": d.message_id},
                at=now, item_id=item_id,
            )
    text = staff_text(d, settings, item_id=item_id, now=now, head=head, mailed_to=mailed_to)
    payload: dict[str, Any] = {
        "text": text, "buttons": [], "blob": None, "filename": None,
        "urgent": d.outcome is not Outcome.QUARANTINE and d.urgency in URGENT_LEVELS,
    }
    first = d.attachments[0] if d.attachments else None
    if (d.outcome is Outcome.REVIEW and first is not None
            and _seen(d, settings, file_size=first.size).file):
        # staff classify a review item by looking at it (a fax image has no text)
        payload["blob"], payload["filename"] = first.sha256, first.filename
    for chat_id in registry_staff(settings):
        await outbox.enqueue(
            uow, channel=outbox.CHAT, event="staff_notice", target=chat_id,
            payload=payload, at=now, item_id=item_id,
        )


def return_address(d: Decision, settings: Settings) -> str | None:
    """Where the return notice goes: the From address, unless it is a fax or our own."""
    if d.channel is Channel.FAX or not d.from_address or "@" not in d.from_address:
        return None
    address = d.from_address.strip().lower()
    ours = {a.lower() for a in (*settings.office.addresses, *settings.office.fax_gateway)}
    if address in ours:
        return None
    return d.from_address.strip()


def _details(d: Decision) -> list[str]:
    """What the checks found, for the sender and staff (evidence first, then findings)."""
    out: list[str] = []
    if d.evidence:
        out.append(d.evidence)
    out += [f.detail for f in d.findings if f.detail and f.detail not in out]
    return out[:5]


def staff_text(
    d: Decision, settings: Settings, *, item_id: int, now: datetime, head: bytes,
    mailed_to: str | None,
) -> str:
    """The chat notice registry staff get for an item held back from the leaders
    (`head`: the message, or its header block, which is all that is read)."""
    env = notices.Envelope(
        item_id=item_id, received=now.astimezone(settings.tz),
        sender=_envelope_sender(d, head), addressee=addressee_of(head, d),
        envelope_no=d.envelope_no, channel=d.channel.value,
    )
    reason = d.reason.value if d.reason else None
    if d.outcome is Outcome.SEALED:
        return notices.sealed_notice(env, reason=reason)
    if d.outcome is Outcome.QUARANTINE:
        return notices.quarantine_notice(env, reason=reason)
    may = _seen(d, settings)
    show_title = may.title
    doc_number = d.doc_number if may.doc_number else None
    details = [d.evidence] if d.evidence and may.quotes else []
    if d.outcome is Outcome.REVIEW:
        return notices.review_notice(
            env, reason=reason, sender=d.sender, doc_number=doc_number, title=d.title,
            show_title=show_title, details=details, secrecy=d.secrecy,
        )
    return notices.return_staff_notice(
        env, reason=reason, sender=d.sender, doc_number=doc_number, title=d.title,
        show_title=show_title, mailed_to=mailed_to, details=details, secrecy=d.secrecy,
    )


def _seen(d: Decision, settings: Settings, *, file_size: int | None = None) -> Shown:
    """What registry staff may be shown in chat of a decided item (core.visibility)."""
    facts = Facts(d.outcome.value, d.secrecy, file_size)
    return shown(facts, Viewer.STAFF, Policy.of(settings))


def _first_header(head: bytes, name: bytes) -> str:
    for key, value in _header_fields(_header_block(head)):
        if key == name:
            return decode_words(value.decode("utf-8", "surrogateescape")).strip()[:300]
    return ""


def _envelope_sender(d: Decision, head: bytes) -> str:
    shown = _first_header(head, b"from") or d.from_address or "（无发件人）"
    if d.sender and d.sender not in shown:
        return f"{d.sender}（{shown}）"
    return shown


_PERSONAL_RE = re.compile(r"([^\s,，;；:：]{1,20}?)\s*亲启")


def addressee_of(head: bytes, d: Decision) -> str:
    """Whom the envelope is for: `X亲启` in the subject, else the To header's names."""
    m = _PERSONAL_RE.search(d.subject or "")
    if m:
        return f"{m.group(1)}（亲启）"
    to = _first_header(head, b"to")
    names = [name or addr for name, addr in getaddresses([to]) if name or addr]
    return "、".join(names) or "（未注明）"


def _log_item(r: Received) -> None:
    log.info(
        "收件 %s message-id=%s 结果=%s 类别=%s 编号=%s 序号=%d%s",
        r.received, r.message_id or "-", r.outcome, r.kind or "-", r.number or "-", r.item_id,
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
