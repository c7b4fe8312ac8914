"""Read one incoming message and decide what intake does with it.

`decide(raw, directory)` = parse the MIME message → extract each attachment →
choose the main document → read its GB/T 9704 fields → find the sender → intake
checks → classification rules. Pure (no I/O, no clock, no logging) and total:
whatever goes wrong inside becomes a quarantined decision with a finding.

A sealed item (亲启, 绝密, 科室) is stopped on its envelope (headers and 签收单, DOMAIN
§2) before any document is opened; failing that, on the head of the main document's
first page (a 绝密 marked only there). Its decision holds envelope facts only, plus the
字号 and 密级 when the head showed 绝密: never its title, 文种, text, attachment names
or findings.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import date
from email.utils import getaddresses
from pathlib import PurePath

from core.directory import Directory, SenderMatch
from core.model import Channel, Kind, Outcome, Reason
from core.reading import doubts
from core.reading.checks import SEALING_CHECKS, AttachmentState, CheckHit, Item, run_checks
from core.reading.classify import Verdict, judge
from core.reading.documents import DEFAULT_LIMITS, Extracted, Limits, extract
from core.reading.doubts import Confidence
from core.reading.fields import (
    DocumentFields,
    Field,
    doc_number_from_subject,
    doc_type_of,
    extract_fields,
    head_fields,
    title_from_subject,
)
from core.reading.findings import Finding
from core.reading.mail import ParsedMessage, parse_message

SeenEnvelope = Callable[[str], bool]
#: parts read already, by sha256 (the pipeline's ocr step gives an image part its text)
Read = Mapping[str, Extracted]

#: the GB/T 9704 elements a decision keeps besides 字号, 文种, 密级, 紧急程度 and 标题:
#: 份号, 签发人, 主送, 抄送, 成文日期, 附件说明 (a sealed item keeps none of them)
ELEMENT_KEYS = ("copy_no", "signer", "addressees", "cc", "written_on", "attachment_note")
#: keys of `jiyao classify --json`, in order
JSON_KEYS = (
    "file",
    "outcome",
    "kind",
    "reason",
    "sender",
    "doc_number",
    "doc_type",
    "secrecy",
    "urgency",
    "title",
    *ELEMENT_KEYS,
    "envelope_no",
    "rule",
    "evidence",
)

_FAX_SUBJECT_RE = re.compile(r"(?i)fax\s+from\s+([+\d][\d\s\-]{4,})")
#: what is read to look for a 绝密 marking: the first page of each document
_HEAD_LIMITS = Limits(max_pages=1, max_text_chars=20_000)
#: evidence recorded when the first page sealed the item (its own words are not kept)
_HEAD_EVIDENCE = {
    Reason.TOP_SECRET: "首页版头标注绝密",
    Reason.PERSONAL: "首页主送标注亲启或封存领导",
    Reason.SECTION: "首页主送为本机关科室",
}


@dataclass(frozen=True)
class Decision:
    """What intake decided for one message, with the data it rests on."""

    outcome: Outcome
    kind: Kind | None
    reason: Reason | None
    sender: str | None
    doc_number: str | None
    doc_type: str | None
    secrecy: str | None
    urgency: str | None
    title: str | None
    #: the other GB/T 9704 elements: 份号, 签发人, 主送, 抄送, 成文日期, 附件说明
    copy_no: str | None
    signer: str | None
    addressees: str | None
    cc: str | None
    written_on: date | None
    attachment_note: str | None
    envelope_no: str | None
    rule: str | None
    evidence: str | None
    message_id: str | None
    from_address: str
    subject: str
    channel: Channel
    fax_remote_id: str | None
    issue_no: int | None
    deadline: date | None
    text: str
    findings: tuple[Finding, ...]
    fields: DocumentFields | None
    attachments: tuple[AttachmentState, ...]

    def as_json_row(self, file: str) -> dict[str, object]:
        """The row `jiyao classify --json` prints: enum values as strings, null where none."""
        return {
            "file": file,
            "outcome": self.outcome.value,
            "kind": self.kind.value if self.kind else None,
            "reason": self.reason.value if self.reason else None,
            "sender": self.sender,
            "doc_number": self.doc_number,
            "doc_type": self.doc_type,
            "secrecy": self.secrecy,
            "urgency": self.urgency,
            "title": self.title,
            "copy_no": self.copy_no,
            "signer": self.signer,
            "addressees": self.addressees,
            "cc": self.cc,
            "written_on": self.written_on.isoformat() if self.written_on else None,
            "attachment_note": self.attachment_note,
            "envelope_no": self.envelope_no,
            "rule": self.rule,
            "evidence": self.evidence,
        }


def decide(
    raw: bytes, directory: Directory, *, seen_envelope: SeenEnvelope = lambda _no: False
) -> Decision:
    """Decide one raw message; never raises (an internal failure quarantines the item)."""
    return decide_parsed(parse_message(raw), directory, seen_envelope=seen_envelope, size=len(raw))


def decide_parsed(
    parsed: ParsedMessage, directory: Directory, *,
    seen_envelope: SeenEnvelope = lambda _no: False, size: int = 0, read: Read | None = None,
) -> Decision:
    """`decide` on a message parsed already (intake keeps its parts for the blob store);
    `size` is the raw message's, for the finding when something inside fails; `read`:
    parts extracted already (by sha256; the others are extracted here)."""
    try:
        return _decide(parsed, directory, seen_envelope, read or {})
    except Exception as exc:  # total by contract: staff see the finding
        return _failed(size, exc)


def extract_parts(parsed: ParsedMessage) -> dict[str, Extracted]:
    """Every document part extracted, by sha256 (for `decide_parsed(read=...)`)."""
    return {att.sha256: extract(att) for att in parsed.documents}


def envelope_stops(parsed: ParsedMessage, directory: Directory, read: Read) -> bool:
    """Whether the envelope (subject, headers, addressee, a 版头 already readable) stops
    the item before its content is read: sealed (亲启, 绝密, 科室) or unparseable. Such
    an item's images are never read by OCR."""
    try:
        subject = parsed.subject or ""
        for message in (_envelope(parsed, directory), _read(parsed, directory, read=read)):
            head = _with_envelope(head_fields(message.main_text), subject, ())
            sender = _sender(parsed, directory, head, message.fax_remote_id)
            if run_checks(_item(message, sender, head), directory, lambda _no: False,
                          SEALING_CHECKS) is not None:
                return True
    except Exception:  # decide_parsed quarantines it: nothing of it is read either
        return True
    return False


# ------------------------------------------------------------------ steps


@dataclass(frozen=True)
class _Message:
    """The parsed message and what was extracted from its parts."""

    parsed: ParsedMessage
    attachments: tuple[AttachmentState, ...]
    main_text: str
    has_text: bool
    findings: tuple[Finding, ...]
    channel: Channel
    fax_remote_id: str | None
    to_names: tuple[str, ...]
    #: how sure OCR was of `main_text` (None: not read by OCR)
    confidence: Confidence | None = None


def _decide(
    parsed: ParsedMessage, directory: Directory, seen_envelope: SeenEnvelope, read: Read
) -> Decision:
    subject = parsed.subject or ""
    # 1. the envelope alone: a 亲启 (or 绝密 in the subject) is sealed before anything opens
    envelope = _envelope(parsed, directory)
    envelope_fields = _with_envelope(DocumentFields(), subject, ())
    envelope_sender = _envelope_sender(parsed, directory, envelope_fields, envelope)
    hit = run_checks(
        _item(envelope, envelope_sender, envelope_fields), directory, seen_envelope,
        SEALING_CHECKS,
    )
    if hit is not None and hit.outcome is Outcome.SEALED:
        return _sealed(envelope, envelope_sender, envelope_fields, hit, evidence=hit.evidence)

    # 2. the head of each document's first page: a 绝密 marked only there
    first_pages = _read(parsed, directory, _HEAD_LIMITS, read)
    head = _with_envelope(head_fields(first_pages.main_text), subject, ())
    sender = _sender(parsed, directory, head, first_pages.fax_remote_id)
    hit = run_checks(_item(first_pages, sender, head), directory, seen_envelope, SEALING_CHECKS)
    if hit is not None and hit.outcome is Outcome.SEALED:
        evidence = _HEAD_EVIDENCE.get(hit.reason) if hit.reason else None
        if hit.reason is Reason.TOP_SECRET:
            kept = replace(envelope_fields, doc_number=head.doc_number, secrecy=head.secrecy)
            return _sealed(envelope, sender, kept, hit, evidence=evidence or hit.rule)
        return _sealed(envelope, envelope_sender, envelope_fields, hit,
                       evidence=evidence or hit.rule)

    # 3. the whole message
    message = _read(parsed, directory, read=read)
    year = parsed.date.year if parsed.date is not None else None
    fields = _with_envelope(
        extract_fields(message.main_text, year_hint=year), subject, message.attachments
    )
    sender = _sender(parsed, directory, fields, message.fax_remote_id)
    verdict = judge(_item(message, sender, fields), directory, seen_envelope=seen_envelope)
    message, verdict = _doubted(message, sender, fields, verdict, directory)
    return _decision(message, sender, fields, verdict, text=message.main_text, keep_fields=True)


def _doubted(
    message: _Message, sender: SenderMatch, fields: DocumentFields, verdict: Verdict,
    directory: Directory,
) -> tuple[_Message, Verdict]:
    """Fields read from doubtful OCR text kept as a finding; a verdict whose deciding
    evidence rests on them sent to staff (core.reading.doubts)."""
    confidence = message.confidence
    if confidence is None:
        return message, verdict
    flagged = doubts.flagged_fields(confidence, sender, fields, directory)
    if flagged:
        message = replace(message, findings=(*message.findings, Finding(
            "ocr_doubtful", f"识别置信度低：{doubts.listing(flagged)}")))
    again = doubts.reconsider(
        confidence, outcome=verdict.outcome, evidence=verdict.evidence,
        kind_zh=verdict.kind.value if verdict.kind else None, flagged=flagged,
    )
    if again is None:
        return message, verdict
    return message, Verdict(again.outcome, None, again.reason, again.rule, again.evidence)


def _envelope(parsed: ParsedMessage, directory: Directory) -> _Message:
    """The message as its envelope shows it: headers and 签收单, no document opened."""
    headers = {k.lower(): v for k, v in parsed.headers.items()}
    fax = directory.is_fax_gateway(parsed.from_address or "")
    remote = headers.get("x-fax-remote-id")
    if fax and not remote:
        m = _FAX_SUBJECT_RE.search(parsed.subject or "")
        remote = m.group(1).strip() if m else None
    to_names = tuple(name for name, _ in getaddresses([headers.get("to", "")]) if name)
    return _Message(
        parsed=parsed,
        attachments=(),
        main_text="",
        has_text=False,
        findings=tuple(parsed.findings),
        channel=Channel.FAX if fax else Channel.EMAIL,
        fax_remote_id=remote.strip() if remote else None,
        to_names=to_names,
    )


def _read(
    parsed: ParsedMessage, directory: Directory, limits: Limits = DEFAULT_LIMITS,
    read: Read | None = None,
) -> _Message:
    """The envelope plus the text of every document part, read within `limits`."""
    envelope = _envelope(parsed, directory)
    findings: list[Finding] = list(envelope.findings)
    states: list[AttachmentState] = []
    texts: list[Extracted] = []
    for att in parsed.documents:
        got = (read or {}).get(att.sha256) or extract(att, limits)
        findings.extend(got.findings)
        states.append(
            AttachmentState(
                att.filename or "", att.content_type, att.sha256, len(att.data), got.status
            )
        )
        if got.status == "ok" and got.text.strip():
            texts.append(got)
    main = _main_text(texts, parsed.body_text or "", has_documents=bool(states))
    return replace(
        envelope, attachments=tuple(states), main_text=main.text,
        has_text=bool(main.text.strip()), findings=tuple(findings),
        confidence=main.confidence,
    )


def _main_text(texts: list[Extracted], body: str, *, has_documents: bool) -> Extracted:
    """The main document: the first attachment that reads as a 公文 (字号, 文种 or 期号),
    else the first with text; without readable attachments the body, when it is one
    (a cover note like 请查收附件 is not)."""
    for got in texts:
        if _is_document(got.text):
            return got
    if texts:
        return texts[0]
    if not has_documents or _is_document(body):
        return Extracted("ok", body)
    return Extracted("ok", "")


def _is_document(text: str) -> bool:
    head = head_fields(text)
    return any(f is not None for f in (head.doc_number, head.doc_type, head.issue_no))


def _with_envelope(
    fields: DocumentFields, subject: str, attachments: tuple[AttachmentState, ...]
) -> DocumentFields:
    """Fill what the document did not give from the subject, then the file name
    (a damaged attachment still has its 字号 and title on the envelope)."""
    number = fields.doc_number
    if number is None and fields.issue_no is None:
        found = doc_number_from_subject(subject)
        if found is not None:
            number = Field(found, subject)
    title, doc_type = fields.title, fields.doc_type
    if title is None:
        candidates = [subject] + [PurePath(a.filename).stem for a in attachments]
        for text in candidates:
            found_title = title_from_subject(text)
            if found_title is not None:
                title = Field(found_title, text)
                break
        if title is not None and doc_type is None and fields.issue_no is None:
            kind = doc_type_of(title.value)
            doc_type = Field(kind, title.value) if kind else None
    return replace(fields, doc_number=number, title=title, doc_type=doc_type)


def _sender(
    parsed: ParsedMessage, directory: Directory, fields: DocumentFields, fax_remote_id: str | None
) -> SenderMatch:
    return directory.resolve_sender(
        parsed.from_address or "",
        doc_number=fields.doc_number.value if fields.doc_number else None,
        organ_names=fields.organ_names,
        fax_remote_id=fax_remote_id,
        forwarded_from=[e.from_address for e in parsed.forwarded if e.from_address],
    )


def _envelope_sender(
    parsed: ParsedMessage, directory: Directory, fields: DocumentFields, envelope: _Message
) -> SenderMatch:
    """The sender as the envelope shows it: From, fax station, the subject's 字号 and the
    签收单's issuer; never a name read from inside (a forwarded message is inside)."""
    manifest = parsed.manifest
    issuer = manifest.get("from") if isinstance(manifest, Mapping) else None
    return directory.resolve_sender(
        parsed.from_address or "",
        doc_number=fields.doc_number.value if fields.doc_number else None,
        organ_names=(issuer,) if isinstance(issuer, str) and issuer.strip() else (),
        fax_remote_id=envelope.fax_remote_id,
    )


def _sealed(
    envelope: _Message, sender: SenderMatch, fields: DocumentFields, hit: CheckHit, *,
    evidence: str,
) -> Decision:
    """A sealed item's decision: the envelope's facts and the fields the caller kept
    (字号 and 密级 of a head marked 绝密); nothing from inside the documents."""
    kept = DocumentFields(doc_number=fields.doc_number, secrecy=fields.secrecy)
    if hit.reason is Reason.TOP_SECRET and kept.secrecy is None:
        kept = replace(kept, secrecy=Field("绝密", evidence))
    verdict = Verdict(hit.outcome, None, hit.reason, hit.rule, evidence)
    bare = replace(envelope, attachments=(), main_text="", has_text=False, findings=())
    return _decision(bare, sender, kept, verdict, text="", keep_fields=False)


def _item(message: _Message, sender: SenderMatch, fields: DocumentFields) -> Item:
    parsed = message.parsed
    return Item(
        parsed_ok=parsed.parsed_ok,
        subject=parsed.subject or "",
        headers=_ci_headers(parsed.headers),
        to_names=message.to_names,
        sender=sender,
        fields=fields,
        has_text=message.has_text,
        attachments=message.attachments,
        manifest=parsed.manifest,
        finding_codes=frozenset(f.code for f in message.findings),
        problem="；".join(f.detail for f in parsed.findings) if not parsed.parsed_ok else "",
    )


class _CIHeaders(dict[str, str]):
    """Header look-up that ignores case (X-Personal, x-personal)."""

    def get(self, key: str, default: str = "") -> str:  # type: ignore[override]
        return super().get(key.lower(), default)


def _ci_headers(headers: Mapping[str, str]) -> Mapping[str, str]:
    return _CIHeaders({k.lower(): str(v) for k, v in headers.items()})


def _decision(
    message: _Message,
    sender: SenderMatch,
    fields: DocumentFields,
    verdict: Verdict,
    *,
    text: str,
    keep_fields: bool,
) -> Decision:
    parsed = message.parsed
    manifest = parsed.manifest
    envelope = manifest.get("envelope_no") if isinstance(manifest, Mapping) else None
    periodical = fields.is_periodical

    def value(f: Field[str] | None) -> str | None:
        return f.value if f is not None else None

    def element(f: Field[str] | None) -> str | None:
        """An element only a decision that read the document keeps (never a sealed one's)."""
        return value(f) if keep_fields else None

    return Decision(
        outcome=verdict.outcome,
        kind=verdict.kind,
        reason=verdict.reason,
        sender=sender.organ.name if sender.organ else None,
        doc_number=None if periodical else value(fields.doc_number),
        doc_type=None if periodical else value(fields.doc_type),
        secrecy=value(fields.secrecy),
        urgency=value(fields.urgency),
        title=value(fields.title),
        copy_no=element(fields.copy_no),
        signer=element(fields.signer),
        addressees=element(fields.addressees),
        cc=element(fields.cc),
        written_on=fields.date.value if fields.date and keep_fields else None,
        attachment_note=element(fields.attachment_note),
        envelope_no=envelope.strip() if isinstance(envelope, str) and envelope.strip() else None,
        rule=verdict.rule,
        evidence=verdict.evidence,
        message_id=parsed.message_id,
        from_address=parsed.from_address or "",
        subject=parsed.subject or "",
        channel=message.channel,
        fax_remote_id=message.fax_remote_id,
        issue_no=fields.issue_no.value if fields.issue_no else None,
        deadline=fields.deadline.value if fields.deadline and keep_fields else None,
        text=text,
        findings=message.findings,
        fields=fields if keep_fields else None,
        attachments=message.attachments,
    )


def _failed(size: int, exc: Exception) -> Decision:
    """Quarantine with a finding: something inside intake failed on this message."""
    finding = Finding("internal_error", f"{type(exc).__name__}: {exc}")
    return Decision(
        outcome=Outcome.QUARANTINE,
        kind=None,
        reason=Reason.UNPARSEABLE,
        sender=None,
        doc_number=None,
        doc_type=None,
        secrecy=None,
        urgency=None,
        title=None,
        copy_no=None,
        signer=None,
        addressees=None,
        cc=None,
        written_on=None,
        attachment_note=None,
        envelope_no=None,
        rule="internal_error",
        evidence=f"处理时出错：{type(exc).__name__}（{size} 字节）",
        message_id=None,
        from_address="",
        subject="",
        channel=Channel.EMAIL,
        fax_remote_id=None,
        issue_no=None,
        deadline=None,
        text="",
        findings=(finding,),
        fields=None,
        attachments=(),
    )
