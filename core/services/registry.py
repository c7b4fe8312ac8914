"""Use cases of the incoming registers: register, classify, correct, convert, count, list."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from core.directory import Directory, directory_of
from core.errors import ConflictError, InvalidInputError, NotFoundError
from core.limits import MAX_ID, optional_text, required_text
from core.model import Channel, Kind, Outcome, Reason
from core.reading.fields import canonical_doc_number
from core.registers import check_year, local_year_month, parse_number
from core.services import push
from core.services.context import Context
from core.storage import audit, registers
from core.storage import items as repo
from core.storage.db import Reader, Row, UnitOfWork

PAPER_ACTOR = "staff"


@dataclass(frozen=True)
class Registered:
    id: int
    kind: str
    number: str | None
    year: int
    #: a 绝密 paper item is sealed: not numbered, not pushed, its title not kept
    sealed: bool = False
    #: what staff should look at again (an unknown sender, a 文号 not in the usual form)
    warnings: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        shown: dict[str, Any] = {"id": self.id, "kind": self.kind, "number": self.number,
                                 "year": self.year}
        if self.sealed:
            shown["sealed"] = True
        if self.warnings:
            shown["warnings"] = list(self.warnings)
        return shown


@dataclass(frozen=True)
class PaperFacts:
    """A paper item's 来文单位 and 文号 as they are registered, and what to warn about."""

    sender: str
    doc_number: str | None
    warnings: tuple[str, ...]


def paper_facts(directory: Directory, *, sender: str, doc_number: str | None) -> PaperFacts:
    """The typed 文号 in the 〔年〕 form a received one has (`川府发 [2024] 21号` →
    `川府发〔2024〕21号`), kept as typed (with a warning) when it is not one 字号; a
    warning naming the closest directory names when the directory lacks the sender.
    Neither stops the registration: the paper in hand is what it is."""
    sender = sender.strip()
    warnings: list[str] = []
    if directory.by_name(sender) is None:
        near = directory.closest_names(sender)
        warnings.append(
            f"来文单位“{sender}”不在通讯录中"
            + (f"，最接近的有：{'、'.join(near)}" if near else "，也没有相近的名称")
            + "；仍按所填登记。"
        )
    number = doc_number.strip() if doc_number else None
    if number:
        canonical = canonical_doc_number(number)
        if canonical is None:
            warnings.append(f"文号“{number}”不是“代字〔年份〕序号号”的形式"
                            "（如 川府发〔2024〕21号），仍按所填登记。")
        number = canonical or number
    return PaperFacts(sender, number or None, tuple(warnings))


def check_paper(ctx: Context, *, sender: str, doc_number: str | None) -> PaperFacts:
    """`paper_facts` against the office's directory (what /register shows before it asks
    for confirmation, and what `register_paper` registers)."""
    return paper_facts(directory_of(ctx.settings), sender=sender, doc_number=doc_number)


def _fmt(ctx: Context, kind: str) -> str:
    return ctx.settings.registers.format[kind]  # type: ignore[index]


def parse_kind(text: str) -> Kind:
    try:
        return Kind(text.strip())
    except ValueError:
        raise InvalidInputError(
            f"未知类别 {text!r}，应为：{'、'.join(k.value for k in Kind)}", field="kind"
        ) from None


async def number_item(
    ctx: Context, uow: UnitOfWork, *, item_id: int, kind: Kind, year: int, at: datetime,
    by: str,
) -> str | None:
    """Take the register number an item of `kind` gets (None for unnumbered kinds)."""
    if not kind.numbered:
        return None
    entry = await registers.take_number(
        uow, item_id=item_id, kind=kind.value, year=year, fmt=_fmt(ctx, kind.value), at=at,
        by=by,
    )
    return entry.number


#: the marks a paper item may carry (GB/T 9704 密级 and 紧急程度)
PAPER_SECRECY = ("秘密", "机密", "绝密")
PAPER_URGENCY = ("加急", "特急")
#: a paper item's stated receipt may run ahead of our clock by this much (a clerk's watch)
RECEIVED_SKEW = timedelta(minutes=5)
#: SQLite's integers are 64-bit: no 收件序号 is larger


def year_asked(ctx: Context, year: int | None) -> int:
    """The year asked for, checked, or the current local year."""
    if year is None:
        return local_year_month(ctx.clock(), ctx.settings.tz)[0]
    return check_year(year)


async def register_paper(
    ctx: Context,
    *,
    kind: Kind,
    sender: str,
    title: str,
    doc_number: str | None = None,
    received: datetime | None = None,
    actor: str = PAPER_ACTOR,
    secrecy: str | None = None,
    urgency: str | None = None,
    envelope_no: str | None = None,
    due: date | None = None,
) -> Registered:
    """Register a paper item (brought by hand or 机要交通) with the same numbering.

    Its marks follow the rules of a received item: a 秘密/机密 item is pushed envelope-only
    (core.visibility), a 特急 one is watched, a 绝密 one is sealed (not numbered, not pushed,
    its title not kept), and an envelope number already signed for is refused."""
    title = required_text(title, "标题", field="title")
    facts = check_paper(
        ctx, sender=required_text(sender, "来文单位", field="sender"),
        doc_number=optional_text(doc_number, "文号", field="doc_number"),
    )
    envelope_no = optional_text(envelope_no, "信封编号", field="envelope_no")
    if secrecy is not None and secrecy not in PAPER_SECRECY:
        raise InvalidInputError(f"密级应为：{'、'.join(PAPER_SECRECY)}", field="secrecy")
    if urgency is not None and urgency not in PAPER_URGENCY:
        raise InvalidInputError(f"紧急程度应为：{'、'.join(PAPER_URGENCY)}", field="urgency")
    sealed = secrecy == "绝密"
    now = ctx.clock()
    at = received or now
    if at.tzinfo is None:
        raise InvalidInputError("收文时间须带时区（例如 2026-03-01T09:00:00+08:00）")
    check_year(at.year, "收文时间的年份")  # before converting: year 1 or 9999 overflows
    if at > now + RECEIVED_SKEW:
        raise InvalidInputError(f"收文时间 {at.isoformat()} 晚于现在")
    year, month = local_year_month(at, ctx.settings.tz)
    check_year(year, "收文时间的年份")
    async with ctx.db.unit_of_work() as uow:
        if envelope_no and await repo.envelope_used(uow, envelope_no):
            raise ConflictError(f"信封编号 {envelope_no} 已签收过，不能重复登记")
        new = repo.NewItem(
            received_at=at, year=year, month=month, channel=Channel.PAPER.value,
            outcome=(Outcome.SEALED if sealed else Outcome.REGISTER).value,
            kind=None if sealed else kind.value,
            reason=Reason.TOP_SECRET.value if sealed else None, sender=facts.sender,
            title=None if sealed else title.strip(), doc_number=facts.doc_number,
            secrecy=secrecy, urgency=urgency, envelope_no=envelope_no,
            deadline=due.isoformat() if due and not sealed else None,
            created_by=actor, rule="paper", evidence="人工登记",
        )
        item_id = await repo.insert_item(uow, new)
        if sealed:
            await audit.append(
                uow, at=now, actor=actor, action="register", subject=f"item:{item_id}",
                detail={"outcome": Outcome.SEALED.value, "channel": "paper",
                        "secrecy": secrecy, "envelope_no": envelope_no},
            )
            await uow.commit()
            return Registered(item_id, kind.value, None, year, sealed=True,
                              warnings=facts.warnings)
        number = await number_item(ctx, uow, item_id=item_id, kind=kind, year=year, at=now,
                                   by=actor)
        await audit.append(
            uow, at=now, actor=actor, action="register", subject=f"item:{item_id}",
            detail={"kind": kind.value, "number": number, "channel": "paper", "title": title,
                    "secrecy": secrecy, "urgency": urgency, "envelope_no": envelope_no,
                    "due": due.isoformat() if due else None},
        )
        await push.route_item(ctx, uow, item_id=item_id, at=now,
                              written=push.routed_columns(new))
        await uow.commit()
    return Registered(item_id, kind.value, number, year, warnings=facts.warnings)


async def classify_review(ctx: Context, *, item_id: int, kind: Kind, actor: str) -> Registered:
    """Staff classify an item waiting in review: it is registered and numbered now."""
    now = ctx.clock()
    async with ctx.db.unit_of_work() as uow:
        item = await repo.get_item(uow, item_id)
        if item is None:
            raise NotFoundError("收件", str(item_id))
        if item["outcome"] != Outcome.REVIEW.value:
            raise ConflictError(f"收件 {item_id} 不在待分类队列中（当前：{item['outcome']}）")
        await repo.update_item_class(uow, item, kind=kind.value, outcome=Outcome.REGISTER.value)
        number = await number_item(ctx, uow, item_id=item_id, kind=kind, year=item["year"],
                                   at=now, by=actor)
        await audit.append(
            uow, at=now, actor=actor, action="classify", subject=f"item:{item_id}",
            detail={"kind": kind.value, "number": number},
        )
        await push.route_item(ctx, uow, item_id=item_id, at=now)
        await uow.commit()
    return Registered(item_id, kind.value, number, item["year"])


@dataclass(frozen=True)
class Corrected:
    item_id: int
    old_kind: str | None
    new_kind: str
    old_number: str | None
    new_number: str | None


async def resolve_ref(conn: Reader | UnitOfWork, ctx: Context, ref: str) -> Row:
    """An item by register number (办2026-0001) or by id (123 / #123)."""
    text = ref.strip().lstrip("#")
    if text.isdigit():  # isdigit also takes ² and other digits int() refuses
        if not text.isdecimal() or int(text) > MAX_ID:
            raise InvalidInputError(
                f"无法识别的收件序号 {ref!r}（例如 12，或登记号 办2026-0001）")
        item = await repo.get_item(conn, int(text))
        if item is None:
            raise NotFoundError("收件", ref)
        return item
    parsed = parse_number(text, {str(k): v for k, v in ctx.settings.registers.format.items()})
    if parsed is None:
        raise InvalidInputError(f"无法识别的编号 {ref!r}（例如 办2026-0001 或收件序号）")
    item_id = await registers.item_of_number(conn, parsed.kind.value, parsed.year, parsed.seq)
    if item_id is None:
        raise NotFoundError("编号", ref)
    item = await repo.get_item(conn, item_id)
    if item is None:  # pragma: no cover - foreign key guarantees it
        raise NotFoundError("收件", ref)
    return item


async def correct(ctx: Context, *, ref: str, kind: Kind, reason: str, actor: str) -> Corrected:
    """Reclassify: the wrong entry stays (void, reason, link) and counts toward 错情率."""
    if not reason.strip():
        raise InvalidInputError("更正须说明理由", field="reason")
    now = ctx.clock()
    async with ctx.db.unit_of_work() as uow:
        item = await resolve_ref(uow, ctx, ref)
        if item["outcome"] != Outcome.REGISTER.value:
            raise ConflictError(f"收件 {item['id']} 尚未登记（{item['outcome']}），不能更正类别")
        if item["kind"] == kind.value:
            raise ConflictError(f"收件 {item['id']} 已是{kind.value}")
        old = await registers.active_entry(uow, item["id"])
        new_number = None
        new_entry_id = None
        if kind.numbered:
            entry = await registers.take_number(
                uow, item_id=item["id"], kind=kind.value, year=item["year"],
                fmt=_fmt(ctx, kind.value), at=now, by=actor,
            )
            new_number, new_entry_id = entry.number, entry.id
        if old is not None:
            await registers.close_entry(
                uow, old["id"], status="void", note=f"更正为{kind.value}：{reason}",
                replaced_by=new_entry_id,
            )
        await repo.update_item_class(uow, item, kind=kind.value, outcome=Outcome.REGISTER.value)
        await registers.add_correction(
            uow, item_id=item["id"], year=item["year"], from_kind=item["kind"],
            to_kind=kind.value, reason=reason, old_entry=old["id"] if old else None,
            new_entry=new_entry_id, actor=actor, at=now,
        )
        await audit.append(
            uow, at=now, actor=actor, action="correct", subject=f"item:{item['id']}",
            detail={"from": item["kind"], "to": kind.value, "reason": reason,
                    "old": old["number"] if old else None, "new": new_number},
        )
        await uow.commit()
    return Corrected(item["id"], item["kind"], kind.value,
                     old["number"] if old else None, new_number)


async def convert_to_ban(
    ctx: Context, uow: UnitOfWork, *, item: Row, actor: str, at: datetime
) -> str | None:
    """A 阅件 with a leader's 批示 becomes a 办件: keep the 阅件 entry (转办件), take a 办件 number.

    Runs inside the caller's unit of work; returns the new 办件 number, or None when the
    item is not a 阅件 (already 办件, or another kind).
    """
    if item["kind"] != Kind.YUE.value or item["outcome"] != Outcome.REGISTER.value:
        return None
    old = await registers.active_entry(uow, item["id"])
    entry = await registers.take_number(
        uow, item_id=item["id"], kind=Kind.BAN.value, year=item["year"],
        fmt=_fmt(ctx, Kind.BAN.value), at=at, by=actor,
    )
    if old is not None:
        await registers.close_entry(
            uow, old["id"], status="converted", note="领导批示，转办件", replaced_by=entry.id
        )
    await repo.update_item_class(uow, item, kind=Kind.BAN.value, outcome=Outcome.REGISTER.value)
    await audit.append(
        uow, at=at, actor=actor, action="convert", subject=f"item:{item['id']}",
        detail={"from": old["number"] if old else None, "to": entry.number},
    )
    return entry.number


async def next_number(ctx: Context, kind: Kind, *, year: int | None = None) -> str:
    """The number the next registration of `kind` would take (takes nothing)."""
    if not kind.numbered:
        raise InvalidInputError(f"{kind.value}不编号，只有办件和阅件有登记号")
    y = year_asked(ctx, year)
    async with ctx.db.reader() as r:
        seq = await registers.peek_number(r, kind.value, y)
    return _fmt(ctx, kind.value).format(year=y, seq=seq)


@dataclass(frozen=True)
class Counts:
    year: int
    month: int | None
    by_kind: dict[str, int]
    by_outcome: dict[str, int]

    def as_json(self) -> dict[str, Any]:
        return {"year": self.year, "month": self.month, "counts": self.by_kind,
                "outcomes": self.by_outcome}


async def counts(ctx: Context, *, year: int | None = None, month: int | None = None) -> Counts:
    """Items per kind (registered) and per outcome, from the counters (constant time)."""
    y = year_asked(ctx, year)
    if month is not None and not 1 <= month <= 12:
        raise InvalidInputError(f"月份应为 1–12，收到 {month}")
    by_kind = {k.value: 0 for k in Kind}
    by_outcome = {o.value: 0 for o in Outcome}
    async with ctx.db.reader() as r:
        for row in await repo.counts(r, y, month):
            if row["outcome"] in by_outcome:
                by_outcome[row["outcome"]] += row["n"]
            if row["outcome"] == Outcome.REGISTER.value and row["kind"] in by_kind:
                by_kind[row["kind"]] += row["n"]
    return Counts(y, month, by_kind, by_outcome)


@dataclass(frozen=True)
class ErrorReport:
    year: int
    registrations: int
    corrections: list[dict[str, Any]]

    @property
    def rate(self) -> float:
        return len(self.corrections) / self.registrations if self.registrations else 0.0

    def as_json(self) -> dict[str, Any]:
        return {"year": self.year, "registrations": self.registrations,
                "corrections": self.corrections, "errors": len(self.corrections),
                "rate": round(self.rate, 6), "limit": 0.01, "within_limit": self.rate <= 0.01}


async def errors(ctx: Context, *, year: int | None = None) -> ErrorReport:
    """Corrections of the year against its registrations: the 错情率 (limit 1%)."""
    y = year_asked(ctx, year)
    async with ctx.db.reader() as r:
        total = await repo.registrations(r, y)
        rows = await registers.corrections(r, y)
    corrections = [
        {"item_id": r_["item_id"], "from": r_["from_kind"], "to": r_["to_kind"],
         "reason": r_["reason"], "old_number": r_["old_number"],
         "new_number": r_["new_number"], "actor": r_["actor"], "at": r_["at"]}
        for r_ in rows
    ]
    return ErrorReport(y, total, corrections)


async def show(ctx: Context, ref: str, *, text: bool = False) -> dict[str, Any]:
    """An item with its register entries and attachments, as a plain dict; with `text`,
    its document text too (as read: by OCR where its attachments say so)."""
    async with ctx.db.reader() as r:
        item = await resolve_ref(r, ctx, ref)
        entries = await registers.entries_of(r, item["id"])
        parts = await repo.attachments_of(r, item["id"])
        body = await repo.text_of(r, item["id"]) if text else None
    out = {k: item[k] for k in item.keys() if k not in {"findings"}}  # noqa: SIM118
    out["entries"] = [dict(e) for e in entries]
    out["attachments"] = [_part(ctx, p) for p in parts]
    if body is not None:
        out["text"] = body
    active = [e for e in entries if e["status"] == "active"]
    out["number"] = active[-1]["number"] if active else None
    return out


def _part(ctx: Context, row: Row) -> dict[str, Any]:
    """An attachment as `show` gives it: where its stored file is (to open a fax image
    beside the text OCR read) and what OCR read of it, page by page."""
    ocr = json.loads(row["ocr"])["pages"] if row["ocr"] else None
    return {
        "filename": row["filename"], "content_type": row["content_type"],
        "size": row["size"], "status": row["status"], "sha256": row["sha256"],
        "path": str(ctx.blobs.path_of(row["sha256"])), "ocr": ocr,
    }


async def register_rows(ctx: Context, *, year: int) -> list[dict[str, Any]]:
    """The 收文登记簿 of a year: one row per register entry, in number order."""
    async with ctx.db.reader() as r:
        return await registers.register_rows(r, year)
