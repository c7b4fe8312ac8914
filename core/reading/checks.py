"""Intake checks (签收, 拆封): DOMAIN §2. An ordered table of small named checks; each
returns None or a `CheckHit` (outcome + reason), and the first hit stops the item before
classification (core.reading.classify). SEALING_CHECKS need only the envelope and the
版头: a sealed item is stopped by them, unread.

Pure: no I/O, no clock.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import NamedTuple

from core.directory import Directory, SenderMatch, fold_name
from core.model import Outcome, Reason
from core.reading.fields import DocumentFields, normalize_doc_number

SeenEnvelope = Callable[[str], bool]


# ------------------------------------------------------------------ types


class AttachmentState(NamedTuple):
    """One part of the message as intake saw it."""

    filename: str
    content_type: str
    sha256: str
    size: int
    status: str  # ok | damaged | image | unsupported


@dataclass(frozen=True)
class Item:
    """What the checks and rules look at, gathered by `core.reading.decide`."""

    parsed_ok: bool
    subject: str
    headers: Mapping[str, str]
    to_names: tuple[str, ...]
    sender: SenderMatch
    fields: DocumentFields
    has_text: bool
    attachments: tuple[AttachmentState, ...] = ()
    manifest: Mapping[str, object] | None = None
    finding_codes: frozenset[str] = frozenset()  # codes of what parsing and extraction met
    problem: str = ""  # why the message could not be parsed


@dataclass(frozen=True)
class CheckHit:
    """An intake check that stopped the item."""

    rule: str
    outcome: Outcome
    reason: Reason | None
    evidence: str


Check = Callable[[Item, Directory, SeenEnvelope], CheckHit | None]


# ------------------------------------------------------------------ checks

_PERSONAL = "亲启"
_JUEMI = "绝密"  # 绝密 (top secret) marking


def check_unparseable(item: Item, _d: Directory, _s: SeenEnvelope) -> CheckHit | None:
    if item.parsed_ok:
        return None
    return CheckHit(
        "unparseable", Outcome.QUARANTINE, Reason.UNPARSEABLE, item.problem or "邮件无法解析"
    )


def check_personal(item: Item, directory: Directory, _s: SeenEnvelope) -> CheckHit | None:
    """亲启件 (X-Personal, subject, addressee) and mail to a leader who keeps theirs sealed."""
    header = item.headers.get("X-Personal", "")
    if _PERSONAL in header:
        return CheckHit("personal", Outcome.SEALED, Reason.PERSONAL, f"X-Personal: {header}")
    addressees = item.fields.addressees.value if item.fields.addressees else ""
    for label, text in (
        ("主题", item.subject),
        ("收件人", " ".join(item.to_names)),
        ("主送", addressees),
    ):
        if _PERSONAL in text:
            return CheckHit("personal", Outcome.SEALED, Reason.PERSONAL, f"{label}：{text}")
    for name, title, keep_sealed in directory.leaders:
        if not keep_sealed:
            continue
        for label, text in (
            ("主题", item.subject),
            ("收件人", " ".join(item.to_names)),
            ("主送", addressees),
        ):
            if _names_leader(text, name):
                return CheckHit(
                    "leader_sealed",
                    Outcome.SEALED,
                    Reason.PERSONAL,
                    f"{label}：{text}（{title}要求封存）",
                )
    return None


def _names_leader(text: str, name: str) -> bool:
    """The leader's name in the text, not as part of a longer title (州长 in 副州长)."""
    return any(not text[: m.start()].endswith("副") for m in re.finditer(re.escape(name), text))


def check_top_secret(item: Item, _d: Directory, _s: SeenEnvelope) -> CheckHit | None:
    if _JUEMI in item.subject:
        return CheckHit("top_secret", Outcome.SEALED, Reason.TOP_SECRET, f"主题：{item.subject}")
    secrecy = item.fields.secrecy
    if secrecy is not None and secrecy.value == _JUEMI:
        return CheckHit("top_secret", Outcome.SEALED, Reason.TOP_SECRET, secrecy.source_text)
    return None


def check_section(item: Item, directory: Directory, _s: SeenEnvelope) -> CheckHit | None:
    """Mail addressed to one of our 科室 goes there unopened."""
    for label, text in (
        ("收件人", "，".join(item.to_names)),
        ("主送", item.fields.addressees.value if item.fields.addressees else ""),
    ):
        section = directory.section_named(text)
        if section is not None:
            return CheckHit("section", Outcome.SEALED, Reason.SECTION, f"{label}：{text}")
    section = _section_in_subject(item.subject, directory)
    if section is not None:
        return CheckHit("section", Outcome.SEALED, Reason.SECTION, f"主题：{item.subject}")
    return None


def _section_in_subject(subject: str, directory: Directory) -> str | None:
    s = fold_name(subject)
    for section in directory.sections:
        name = fold_name(section)
        if s == name or re.search(rf"(?:^|[致送交转])(?:{re.escape(name)})(?:收|亲收|启|$)", s):
            return section
    return None


def check_fax_station(item: Item, directory: Directory, _s: SeenEnvelope) -> CheckHit | None:
    """A fax's station id (TSI/CSID) and the issuer its document names (字号 prefix, else
    版头 or 署名) must agree on the sender: the same organ or its own office. A station
    the directory does not know, with a document naming a known organ, is for staff to
    confirm too (an unknown station naming no known organ is quarantined as unknown)."""
    station = item.sender
    if not station.fax:
        return None
    f = item.fields
    named = directory.issuer(f.doc_number.value if f.doc_number else None, f.organ_names)
    if named is None:
        return None
    issuer, said = named
    if station.organ is None:
        return CheckHit(
            "fax_station", Outcome.REVIEW, Reason.FAX_MISMATCH,
            f"{station.evidence}，该号码不在机关名录中；{said}属{issuer.name}，请核对来文单位",
        )
    if directory.same_family(issuer, station.organ):
        return None
    return CheckHit(
        "fax_station", Outcome.REVIEW, Reason.FAX_MISMATCH,
        f"{station.evidence}，属{station.organ.name}；而{said}属{issuer.name}，请核对来文单位",
    )


def check_unknown_sender(item: Item, _d: Directory, _s: SeenEnvelope) -> CheckHit | None:
    if item.sender.organ is not None:
        return None
    return CheckHit(
        "unknown_sender", Outcome.QUARANTINE, Reason.UNKNOWN_SENDER, item.sender.evidence
    )


def check_manifest(item: Item, directory: Directory, seen: SeenEnvelope) -> CheckHit | None:
    """签收单: from is the sending organ, to is us, envelope number unused, documents match."""
    manifest = item.manifest
    if manifest is None:
        if "manifest_invalid" in item.finding_codes:
            return CheckHit("manifest", Outcome.RETURN, Reason.MANIFEST_MISMATCH, "签收单无法识读")
        return None

    def hit(evidence: str) -> CheckHit:
        return CheckHit("manifest", Outcome.RETURN, Reason.MANIFEST_MISMATCH, f"签收单：{evidence}")

    envelope = manifest.get("envelope_no")
    sender = manifest.get("from")
    to = manifest.get("to")
    if not isinstance(envelope, str) or not envelope.strip():
        return hit("缺少信封编号")
    if not isinstance(sender, str) or not _same_organ(sender, item.sender, directory):
        return hit(f"发文单位“{sender}”与来文单位“{_organ_name(item.sender)}”不符")
    if not isinstance(to, str) or not (directory.is_us(to) or directory.addressed_to_us(to)):
        return hit(f"受文单位“{to}”不是本机关")
    if seen(envelope.strip()):
        return hit(f"信封编号 {envelope} 已签收过")
    listed = _listed_numbers(manifest.get("documents"))
    number = item.fields.doc_number.value if item.fields.doc_number else None
    if listed and number is not None and number not in listed:
        return hit(f"所列文件 {'、'.join(sorted(listed))} 与来文 {number} 不符")
    return None


def _organ_name(sender: SenderMatch) -> str:
    return sender.organ.name if sender.organ else "未知"


def _same_organ(name: str, sender: SenderMatch, directory: Directory) -> bool:
    named = directory.by_name(name)
    for organ in (sender.organ, sender.channel_organ):
        if organ is None:
            continue
        if fold_name(name) == fold_name(organ.name) or named == organ:
            return True
    return sender.relayed and directory.relay_name_matches(name)


def _listed_numbers(documents: object) -> set[str]:
    numbers: set[str] = set()
    if isinstance(documents, list):
        for doc in documents:
            raw = doc.get("doc_number") if isinstance(doc, dict) else doc
            if isinstance(raw, str):
                n = normalize_doc_number(raw)
                if n is not None:
                    numbers.add(n)
    return numbers


def check_damaged(item: Item, _d: Directory, _s: SeenEnvelope) -> CheckHit | None:
    """Every document part opens, and matches the manifest's sha256 when one is given."""
    for att in item.attachments:
        if att.status == "damaged":
            return CheckHit(
                "damaged", Outcome.RETURN, Reason.DAMAGED, f"附件 {att.filename} 无法打开"
            )
    expected = _manifest_hashes(item.manifest)
    if expected:
        have = {a.sha256.lower() for a in item.attachments if a.status != "unsupported"}
        missing = expected - have
        if missing:
            return CheckHit(
                "damaged",
                Outcome.RETURN,
                Reason.DAMAGED,
                f"附件与签收单 sha256 不符（签收单 {sorted(missing)[0][:16]}…）",
            )
    return None


def _manifest_hashes(manifest: Mapping[str, object] | None) -> set[str]:
    if manifest is None:
        return set()
    hashes: set[str] = set()
    top = manifest.get("sha256")
    if isinstance(top, str) and top.strip():
        hashes.add(top.strip().lower())
    docs = manifest.get("documents")
    if isinstance(docs, list):
        for doc in docs:
            if (
                isinstance(doc, dict)
                and isinstance(doc.get("sha256"), str)
                and doc["sha256"].strip()
            ):
                hashes.add(doc["sha256"].strip().lower())
    return hashes


def check_misdirected(item: Item, directory: Directory, _s: SeenEnvelope) -> CheckHit | None:
    """Returned when the lines name others and nothing that covers us.

    Relayed items are received under their distribution scope: only a specific
    other organ of our level (another 州/市 government) makes them misdirected.
    """
    main = item.fields.addressees.value if item.fields.addressees else None
    cc = item.fields.cc.value if item.fields.cc else None
    if main is None and cc is None:
        return None
    if directory.addressed_to_us(main) or directory.addressed_to_us(cc):
        return None
    peer = directory.names_other_peer(main)
    if peer is not None:
        return CheckHit(
            "misdirected", Outcome.RETURN, Reason.MISDIRECTED, f"主送：{main}（非本机关）"
        )
    if item.sender.relayed:
        return None
    if directory.names_only_specific_others(main) and (
        cc is None or directory.names_only_specific_others(cc)
    ):
        return CheckHit(
            "misdirected", Outcome.RETURN, Reason.MISDIRECTED, f"主送：{main}（非本机关）"
        )
    return None


def check_unreadable(item: Item, _d: Directory, _s: SeenEnvelope) -> CheckHit | None:
    """No text layer (a fax image, an unsupported format): staff read and classify it."""
    if item.has_text:
        return None
    images = [a.filename for a in item.attachments if a.status == "image"]
    evidence = f"附件 {images[0]} 为图像，无文字层" if images else "未找到可识读的公文正文"
    return CheckHit("unreadable", Outcome.REVIEW, Reason.UNREADABLE, evidence)


#: what OCR met that leaves the text it gave incomplete (core.ocr.read): staff read the
#: page image beside the text rather than act on part of a document
_OCR_PARTIAL = ("ocr_illegible", "ocr_time_limit")


def check_illegible(item: Item, _d: Directory, _s: SeenEnvelope) -> CheckHit | None:
    """A page OCR could read only in part (blurred, faint) or did not reach in time."""
    if item.finding_codes.isdisjoint(_OCR_PARTIAL):
        return None
    return CheckHit("illegible", Outcome.REVIEW, Reason.UNREADABLE,
                    "文字识别未能读全（字迹模糊、过淡或超时），请对照原件图像核对")


#: checks that need only the envelope and the 版头: a sealed item is stopped here, unread
SEALING_CHECKS: tuple[Check, ...] = (
    check_unparseable,
    check_personal,
    check_top_secret,
    check_section,
)

CHECKS: tuple[Check, ...] = (
    *SEALING_CHECKS,
    check_illegible,
    check_fax_station,
    check_unknown_sender,
    check_manifest,
    check_damaged,
    check_misdirected,
    check_unreadable,
)



def run_checks(
    item: Item,
    directory: Directory,
    seen_envelope: SeenEnvelope,
    checks: tuple[Check, ...] = CHECKS,
) -> CheckHit | None:
    """The first intake check that stops the item, or None when it is accepted."""
    for check in checks:
        hit = check(item, directory, seen_envelope)
        if hit is not None:
            return hit
    return None
