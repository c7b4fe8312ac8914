"""Decide one received item: read it, check and classify it, and record the decision.

The steps are run by `core.services.pipeline` (which says in what order and with what
time limits); this module holds what they do. `record` is the one transaction of an
item's decision: the item row filled in, its attachments, its register number, the
audit entry and the outbox events (route, staff notice, return mail) commit together,
and only while the worker still holds the item's claim.
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import re
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from email.utils import getaddresses
from typing import Any

from core import verification
from core.chat.address import addresses_of
from core.clock import parse_iso
from core.config import Settings
from core.directory import Directory, directory_of
from core.errors import JiyaoError, OcrUnavailableError, StorageError
from core.model import Channel, Kind, Outcome, Reason
from core.ocr import OcrText, check_text_layer, read_image_file, read_pdf
from core.reading.decide import Decision, decide_parsed, envelope_stops, extract_parts
from core.reading.documents import Extracted
from core.reading.findings import Finding
from core.reading.mail import Attachment, ParsedMessage, decode_words, parse_message
from core.routing import URGENT_LEVELS, registry_staff
from core.services import notices, push, reply_mail
from core.services.context import Context
from core.services.receive import (
    ACTOR,
    Received,
    header_block,
    header_fields,
)
from core.services.registry import number_item
from core.storage import audit, outbox, queue
from core.storage import items as repo
from core.storage.db import Row, UnitOfWork
from core.visibility import Facts, Policy, Shown, Viewer, shown

log = logging.getLogger("jiyao.decide")

#: seconds a worker thread waits for the envelope-number look-up on the event loop
_LOOKUP_TIMEOUT = 30.0
#: after a message this large, garbage is collected at once (its copies are large too)
_COLLECT_AFTER_BYTES = 4 * 1024 * 1024


class ClaimLostError(JiyaoError):
    """The worker's lease ran out and another took the item: this decision is dropped."""


@dataclass
class Work:
    """One item on its way through the steps."""

    item: Row
    worker: str
    #: the raw bytes `keep` took from `raw_staged`, for `read` (else read from the blob)
    raw: bytes | None = None
    head: bytes = b""
    size: int = 0
    parsed: ParsedMessage | None = None
    #: each document part extracted (by sha256), image parts with the text OCR read
    read: dict[str, Extracted] | None = None
    decision: Decision | None = None
    # envelope numbers found taken inside a transaction (perhaps by a unit of the same
    # group commit, which readers cannot see yet)
    taken: set[str] = field(default_factory=set)
    result: Received | None = None

    @property
    def item_id(self) -> int:
        return int(self.item["id"])


# ------------------------------------------------------------------ the steps


async def keep(ctx: Context, work: Work) -> None:
    """The raw bytes the edge committed with the row (`raw_staged`) filed in the blob
    store under `raw_blob` (fsync, rename), then the staged copy dropped. A worker
    killed in between files them again (the blob store is idempotent)."""
    async with ctx.db.reader() as r:
        raw = await repo.staged_raw(r, work.item_id)
    if raw is None:
        return  # filed already, or a large message the edge wrote to the blob store
    digest = await asyncio.to_thread(ctx.blobs.put, raw)
    if digest != work.item["raw_blob"]:
        raise StorageError(f"暂存的原件与其哈希不符（收件序号 {work.item_id}）")
    async with ctx.db.unit_of_work() as uow:
        await repo.drop_staged(uow, work.item_id)
        await uow.commit()
    work.raw = raw


async def read(ctx: Context, work: Work) -> None:
    """MIME and documents: the raw bytes from the blob store, parsed (a worker thread)."""
    raw, work.raw = work.raw, None
    work.parsed, work.head, work.size = await asyncio.to_thread(
        _read, ctx, work.item["raw_blob"], raw
    )


def collect_after(size: int) -> None:
    """After a large item: PDF readers leave reference cycles holding copies of the
    document's streams, which the cyclic collector would free only much later."""
    if size >= _COLLECT_AFTER_BYTES:
        gc.collect()


def _read(
    ctx: Context, raw_blob: str, raw: bytes | None = None
) -> tuple[ParsedMessage, bytes, int]:
    if raw is None:
        raw = ctx.blobs.get(raw_blob)
    return parse_message(raw), header_block(raw), len(raw)


async def ocr(ctx: Context, work: Work) -> None:
    """Text of image parts — a fax, a scan, a PDF page without a usable text layer — by
    OCR (core.ocr, in a worker thread; the models load once per process). Nothing of an
    item the envelope seals (亲启, 绝密, 科室) is read."""
    assert work.parsed is not None
    work.read = await asyncio.to_thread(_ocr, ctx.settings, work.parsed)


#: image formats OCR reads (core.ocr.pages decodes them); PDFs are read page by page
OCR_IMAGE_FORMATS = frozenset({"tiff", "png", "jpeg"})


def _wants_ocr(got: Extracted) -> bool:
    fmt = got.meta.get("format")
    if got.status == "image":
        return fmt in OCR_IMAGE_FORMATS or fmt == "pdf"
    # a PDF whose text layer is garbage (a font without a Unicode map, mojibake)
    return fmt == "pdf" and got.status == "ok" and not check_text_layer(got.text).usable


def _ocr(settings: Settings, parsed: ParsedMessage) -> dict[str, Extracted]:
    read = extract_parts(parsed)
    wanted = [a for a in parsed.documents if _wants_ocr(read[a.sha256])]
    if not wanted or not settings.ocr.enabled:
        return read
    if envelope_stops(parsed, directory_of(settings), read):
        return read
    for att in wanted:
        read[att.sha256] = _recognised(att, read[att.sha256], settings)
    return read


def _recognised(att: Attachment, got: Extracted, settings: Settings) -> Extracted:
    """The part as OCR read it: its text with status ok, or as it was with the findings
    saying why OCR gave nothing."""
    name = att.filename or "（无文件名）"
    try:
        if got.meta.get("format") == "pdf":
            text = read_pdf(att.data, settings.ocr)
        else:
            text = read_image_file(att.data, settings.ocr)
    except OcrUnavailableError as exc:  # the installation's fault: staff read the image
        log.exception("附件 %s 未能识别", name)
        return replace(got, findings=[*got.findings, Finding("ocr_unavailable", str(exc))])
    findings = [*got.findings, *text.findings]
    if not text.text.strip():
        return replace(got, findings=findings)
    meta = {**got.meta, "ocr_pages": str(text.ocr_pages)}
    findings.append(Finding("ocr", _ocr_note(name, text)))
    return Extracted("ok", text.text, meta, findings, text.reading_confidence())


def _ocr_pages(work: Work, sha256: str) -> list[dict[str, Any]] | None:
    """What OCR read of a part, page by page, for the attachment row (None: no OCR)."""
    got = (work.read or {}).get(sha256)
    if got is None or got.confidence is None or not got.confidence.spans:
        return None
    return got.confidence.pages()


def _ocr_note(name: str, text: OcrText) -> str:
    confidence = text.confidence
    sure = f"，平均置信度 {confidence:.0%}" if confidence is not None else ""
    return f"附件 {name} 的文字由文字识别读出（{text.ocr_pages} 页{sure}）"


async def check_and_classify(ctx: Context, work: Work) -> None:
    """签收 checks and classification (core.reading): what the item is and where it goes."""
    assert work.parsed is not None
    loop = asyncio.get_running_loop()
    parsed, taken = work.parsed, work.taken

    def seen_envelope(envelope_no: str) -> bool:
        # called by the classifier in its worker thread: ask the loop's reader
        if envelope_no in taken:
            return True

        async def look() -> bool:
            async with ctx.db.reader() as r:
                return await repo.envelope_used(r, envelope_no)

        return asyncio.run_coroutine_threadsafe(look(), loop).result(_LOOKUP_TIMEOUT)

    directory = directory_of(ctx.settings)
    decision = await asyncio.to_thread(
        decide_parsed, parsed, directory, seen_envelope=seen_envelope, size=work.size,
        read=work.read,
    )
    work.decision = await _verified(ctx, work, decision, directory)


async def _verified(ctx: Context, work: Work, d: Decision, directory: Directory) -> Decision:
    """An item claiming an organ or relay that requires verification and failing it is
    quarantined (发件人未验证); the edge recorded the session's peer, AUTH login and TLS."""
    claim = verification.claim_of(ctx.settings, directory, sender=d.sender,
                                  from_address=d.from_address, channel=d.channel)
    if claim is None:
        return d
    item = work.item
    transport = verification.Transport(item["peer"], item["auth_user"], bool(item["tls"]),
                                       item["tls_client"])
    raw = await asyncio.to_thread(ctx.blobs.get, item["raw_blob"]) \
        if claim.entry.verify == "dkim" else b""
    why = await asyncio.to_thread(verification.problem, claim, transport, raw, ctx.dkim_dns)
    if why is None:
        return d
    return replace(d, outcome=Outcome.QUARANTINE, kind=None, reason=Reason.SENDER_UNVERIFIED,
                   rule="sender_unverified", evidence=why, deadline=None)


async def store_parts(ctx: Context, work: Work) -> None:
    """Every attachment the decision lists, stored as a blob (a sealed item's none)."""
    assert work.parsed is not None
    assert work.decision is not None
    work.decision = await asyncio.to_thread(_store_parts, ctx, work.parsed, work.decision)


def _store_parts(ctx: Context, parsed: ParsedMessage, decision: Decision) -> Decision:
    if not decision.attachments or decision.outcome is Outcome.SEALED:
        return decision
    wanted = {a.sha256 for a in decision.attachments}
    for att in parsed.attachments:
        if att.sha256 in wanted:
            ctx.blobs.put(att.data)
            wanted.discard(att.sha256)
    if wanted:
        # the decision lists a part this parse did not produce: keep the item, drop the rows
        decision = replace(
            decision, attachments=tuple(a for a in decision.attachments if a.sha256 not in wanted)
        )
    return decision


async def record(ctx: Context, work: Work) -> None:
    """Number (when it registers), route / notify / return: one transaction.

    A second round only when another item took the same envelope number meanwhile:
    deciding again then sees it as used.
    """
    for _attempt in range(3):
        assert work.decision is not None
        done = await _record(ctx, work, work.decision)
        if done is not None:
            work.result = done
            return
        await check_and_classify(ctx, work)
        await store_parts(ctx, work)
    raise RuntimeError("信封编号反复冲突")


async def _record(ctx: Context, work: Work, decision: Decision) -> Received | None:
    """The one transaction; None when the envelope number was taken meanwhile."""
    now = ctx.clock()
    async with ctx.db.unit_of_work() as uow:
        item = await queue.holds(uow, work.item_id, work.worker)
        if item is None:
            raise ClaimLostError(work.item_id)
        if (
            decision.envelope_no
            and decision.outcome in (Outcome.REGISTER, Outcome.REVIEW)
            and await repo.envelope_used(uow, decision.envelope_no)
        ):
            work.taken.add(decision.envelope_no)
            return None
        # a 承办单位's reply to its 交办 notice is that item's 办结, not a new document
        reply = (await reply_mail.match(uow, ctx, work.parsed, decision)
                 if work.parsed is not None else None)
        if reply is not None:
            decision = reply_mail.decided(decision, reply)
        await queue.record_decision(
            uow, item, _decided_values(decision),
            # a sealed item's content is never parsed into search either
            text="" if decision.outcome is Outcome.SEALED else decision.text, at=now,
        )
        item_id = work.item_id
        if decision.outcome is not Outcome.SEALED:
            await repo.insert_attachments(uow, item_id, [
                repo.NewAttachment(a.filename, a.content_type, a.sha256, a.size, a.status,
                                   _ocr_pages(work, a.sha256))
                for a in decision.attachments
            ])
        pending = _numbered(decision)
        if pending:
            await queue.mark_number_pending(uow, item_id)
        given = await number_ready(ctx, uow, now=now, audited_by_caller=item_id)
        number = given.get(item_id)
        flags = [f for f in item["flags"].split(",") if f]
        await audit.append(
            uow, at=now, actor=ACTOR, action="receive", subject=f"item:{item_id}",
            detail={
                "outcome": decision.outcome.value,
                "kind": decision.kind.value if decision.kind else None,
                "reason": decision.reason.value if decision.reason else None,
                "number": number, "message_id": item["message_id"],
                "channel": decision.channel.value, "raw_blob": item["raw_blob"],
                "mail_from": item["mail_from"], "rcpt_tos": _json_list(item["rcpt_tos"]),
                "peer": item["peer"], "rule": decision.rule, "flags": flags,
            },
        )
        await route_numbered(ctx, uow, given, now=now)
        if reply is not None and reply.closes:
            await reply_mail.close(ctx, uow, reply, reply_item=item_id, now=now)
        received = parse_iso(item["received_at"])
        await _enqueue_events(
            ctx, uow, decision, item_id=item_id, now=now, received=received, head=work.head,
            routed=pending,
        )
        await uow.commit()
    return Received(
        item_id=item_id, outcome=decision.outcome.value,
        kind=decision.kind.value if decision.kind else None,
        reason=decision.reason.value if decision.reason else None,
        number=number, message_id=item["message_id"], received=item["received_at"],
        flags=tuple(flags),
    )


def _numbered(d: Decision) -> bool:
    return d.outcome is Outcome.REGISTER and d.kind is not None and d.kind.numbered


async def number_in_receipt_order(
    ctx: Context, uow: UnitOfWork, *, now: datetime
) -> dict[int, str]:
    """Number, in receipt order, every decided 办件/阅件 that may be numbered now, and route
    each. Returns {item id: number}."""
    given = await number_ready(ctx, uow, now=now)
    await route_numbered(ctx, uow, given, now=now)
    return given


async def route_numbered(
    ctx: Context, uow: UnitOfWork, given: dict[int, str], *, now: datetime
) -> None:
    """Route the items just numbered: pushes go out when an item has its number."""
    for item_id in given:
        await push.route_item(ctx, uow, item_id=item_id, at=now)


async def number_ready(
    ctx: Context, uow: UnitOfWork, *, now: datetime, audited_by_caller: int | None = None
) -> dict[int, str]:
    """Number, in receipt order, every decided 办件/阅件 that may be numbered now (the
    caller routes them: `route_numbered`). Returns {item id: number}.

    Register order follows receipt (按收文时间的先后顺序编流水序号): an item waits while an
    item received before it is still undecided, but at most `[pipeline]
    number_hold_seconds` from that item's receipt; past it the later items go on and the
    slow one is numbered when it is decided.
    """
    pending = await queue.number_pending(uow)
    if not pending:
        return {}
    hold = timedelta(seconds=ctx.settings.pipeline.number_hold_seconds)
    blocker = await queue.first_held_by(uow, received_after=now - hold)
    given: dict[int, str] = {}
    for item in pending:
        item_id = int(item["id"])
        if blocker is not None and item_id > blocker:
            break
        number = await number_item(
            ctx, uow, item_id=item_id, kind=Kind(item["kind"]), year=item["year"], at=now,
            by=ACTOR,
        )
        await queue.clear_number_pending(uow, item_id)
        if number is None:  # pragma: no cover - pending only for numbered kinds
            continue
        given[item_id] = number
        if item_id != audited_by_caller:
            await audit.append(
                uow, at=now, actor=ACTOR, action="number", subject=f"item:{item_id}",
                detail={"number": number, "received": item["received_at"]},
            )
    return given


def _json_list(text: str | None) -> list[str]:
    return list(json.loads(text)) if text else []


def _decided_values(d: Decision) -> dict[str, Any]:
    return {
        "channel": d.channel.value, "outcome": d.outcome.value,
        "kind": d.kind.value if d.kind else None, "reason": d.reason.value if d.reason else None,
        "sender": d.sender, "doc_number": d.doc_number, "doc_type": d.doc_type,
        "secrecy": d.secrecy, "urgency": d.urgency, "title": d.title,
        "envelope_no": d.envelope_no,
        "issue_no": str(d.issue_no) if d.issue_no is not None else None,
        "rule": d.rule, "evidence": d.evidence, "from_address": d.from_address or None,
        "subject": d.subject or None, "fax_remote_id": d.fax_remote_id,
        "deadline": d.deadline.isoformat() if d.deadline else None,
        "copy_no": d.copy_no, "signer": d.signer, "addressees": d.addressees, "cc": d.cc,
        "written_on": d.written_on.isoformat() if d.written_on else None,
        "attachment_note": d.attachment_note,
        "findings": [{"code": f.code, "detail": f.detail} for f in d.findings],
    }


# ------------------------------------------------------------------ outbox events


async def _enqueue_events(
    ctx: Context, uow: UnitOfWork, d: Decision, *, item_id: int, now: datetime,
    received: datetime, head: bytes, routed: bool,
) -> None:
    """`routed`: the item is routed when it is numbered (number_in_receipt_order)."""
    settings = ctx.settings
    if d.outcome is Outcome.REPLY:
        return  # the 办结 it recorded told the registry
    if d.outcome is Outcome.REGISTER:
        if not routed:
            await push.route_item(ctx, uow, item_id=item_id, at=now)
        return
    mailed_to = None
    if d.outcome is Outcome.RETURN:
        mailed_to = return_address(d, settings)
        if mailed_to is not None:
            mail = notices.return_mail(
                office=settings.office.name, item_id=item_id,
                received=received.astimezone(settings.tz),
                reason=d.reason.value if d.reason else "",
                sender=d.sender, doc_number=d.doc_number, title=d.title, subject=d.subject,
                details=_details(d),
            )
            await outbox.enqueue(
                uow, channel=outbox.MAIL, event="return_notice", target=mailed_to,
                payload={"to": mailed_to, "subject": mail.subject, "body": mail.body,
                         "in_reply_to": d.message_id},
                at=now, item_id=item_id,
            )
    text = staff_text(
        d, settings, item_id=item_id, received=received, head=head, mailed_to=mailed_to
    )
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
        for to in addresses_of(settings, chat_id):
            await outbox.enqueue(
                uow, channel=outbox.CHAT, event="staff_notice", target=to.target,
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
    d: Decision, settings: Settings, *, item_id: int, received: datetime, head: bytes,
    mailed_to: str | None,
) -> str:
    """The chat notice registry staff get for an item held back from the leaders
    (`head`: the message, or its header block, which is all that is read)."""
    env = notices.Envelope(
        item_id=item_id, received=received.astimezone(settings.tz),
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
    for key, value in header_fields(header_block(head)):
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
