"""The archive hand-over (归档) of a year's received items: one folder per 件 named by its
档号, holding the original as received, a PDF rendition where the original is not PDF/OFD,
the 公文处理单 and the metadata XML; a 归档文件目录 (xlsx, XML) and a checksum manifest over
the whole package (core.archive has the rules, core.storage.archive_dir the folder).

A sealed item (亲启, 绝密, 科室) is handed over sealed: its outside (core.visibility:
Viewer.ARCHIVE) and its untouched raw message, nothing read from inside.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from core import archive as rules
from core import renditions
from core.archive import Action, FileEntry, Numbered, Record
from core.books import Book, Column, Sheet
from core.books import xlsx as books_xlsx
from core.model import REASON_ZH, Outcome
from core.reading.mail import is_manifest_name, parse_message
from core.services.context import Context
from core.services.handling import slip_of
from core.slip import Slip
from core.slip import render as render_slip
from core.storage import audit
from core.storage import items as items_repo
from core.storage.archive_dir import PackageWriter
from core.storage.db import Reader, Row
from core.visibility import Facts, Policy, Viewer, shown

CATALOGUE = "归档文件目录"
MANIFEST = "校验清单.sha256"


@dataclass(frozen=True)
class Part:
    """A stored document part of an item."""

    idx: int
    filename: str | None
    content_type: str
    sha256: str


@dataclass(frozen=True)
class Planned:
    """One 件 to hand over: its metadata and where its files come from."""

    numbered: Numbered
    raw_blob: str | None
    parts: list[Part]
    slip: Slip | None
    file_allowed: bool  # false for a sealed item: nothing inside is read


@dataclass
class Written:
    root: Path
    count: int = 0
    files: int = 0
    manual: list[str] = field(default_factory=list)  # 档号: what staff must still do


def _local(ctx: Context, at: str) -> datetime:
    return datetime.fromisoformat(at).astimezone(ctx.settings.tz)


def _description(action: str, detail: dict[str, Any]) -> str:
    """The 行为描述 of a process step, from its audit detail (unsealed items only)."""
    if action == "instruct":
        return str(detail.get("text") or "")
    if action == "item.assigned":
        units = "；".join(f"{u.get('role')}：{u.get('unit')}" for u in detail.get("units", []))
        return f"{units}；期限 {detail.get('due')}" if detail.get("due") else units
    if action == "item.done":
        return str(detail.get("result") or "")
    if action == "item.proposed":
        return str(detail.get("text") or "")
    if action == "correct":
        numbers = f"（原编号 {detail.get('old')} 作废，新编号 {detail.get('new')}）"
        return f"{detail.get('from')}更正为{detail.get('to')}{numbers}：{detail.get('reason')}"
    if action == "convert":
        return f"{detail.get('from')} 转为 {detail.get('to')}"
    if action in ("number", "register", "classify"):
        return f"收文编号 {detail['number']}" if detail.get("number") else ""
    return ""


async def _actions(r: Reader, ctx: Context, item_id: int, sealed: bool) -> list[Action]:
    out = []
    for e in await audit.entries_of(r, f"item:{item_id}"):
        what = rules.PROCESS_ACTIONS.get(e["action"])
        if what is None:
            continue
        detail = {} if sealed else json.loads(e["detail"] or "{}")
        at = _local(ctx, e["at"]).isoformat(timespec="seconds")
        out.append(Action(what, at, e["actor"], _description(e["action"], detail)))
        if e["action"] == "receive" and detail.get("number"):
            # numbered in the receiving transaction: 签收 and 登记 are one entry
            out.append(Action("登记", at, e["actor"], f"收文编号 {detail['number']}"))
    return out


async def plan(ctx: Context, year: int) -> list[Planned]:
    """The year's 件 with their 档号, in catalogue order; refused (in Chinese) when
    [archive] cannot number every kind the year holds."""
    policy = Policy.of(ctx.settings)
    async with ctx.db.reader() as r:
        rows = await items_repo.archive_items(r, year)
        rules.check_config(ctx.settings.archive,
                           {rules.archive_kind(x["outcome"], x["kind"]) for x in rows})
        records: list[tuple[Record, Row, bool]] = []
        for row in rows:
            kind = rules.archive_kind(row["outcome"], row["kind"])
            retention = ctx.settings.archive.retention[kind]
            if retention == rules.NOT_ARCHIVED:
                continue
            seen = shown(Facts(row["outcome"], row["secrecy"]), Viewer.ARCHIVE, policy)
            sealed = row["outcome"] == Outcome.SEALED
            at = _local(ctx, row["received_at"])
            records.append((Record(
                item_id=row["id"], kind=kind, retention=retention,
                received_at=at.isoformat(timespec="seconds"), received_on=at.date().isoformat(),
                sealed=sealed, title=(row["title"] or "") if seen.title else "（封存件，未拆封）",
                doc_number=(row["doc_number"] or "") if seen.doc_number else "",
                sender=row["sender"] or "",
                doc_type="" if sealed else row["doc_type"] or "",
                urgency="" if sealed else row["urgency"] or "",
                secrecy=row["secrecy"] or "", register_number=row["number"] or "",
                note="" if row["sender"] else f"来件地址 {row['from_address'] or '不明'}",
                sealed_reason=REASON_ZH.get(row["reason"] or "", "") if sealed else "",
                written_on="" if sealed else row["written_on"] or "",
                actions=await _actions(r, ctx, row["id"], sealed),
            ), row, seen.file))
        numbered = rules.number_records(ctx.settings.archive, year, [x[0] for x in records])
        by_id = {rec.item_id: (row, allowed) for rec, row, allowed in records}
        out = []
        for n in numbered:
            row, allowed = by_id[n.record.item_id]
            parts = [] if not allowed else [
                Part(a["idx"], a["filename"], a["content_type"], a["sha256"])
                for a in await items_repo.attachments_of(r, row["id"])
                if not is_manifest_name(a["filename"])]
            slip = (await slip_of(r, ctx, row, row["number"], Viewer.ARCHIVE)
                    if allowed else None)
            out.append(Planned(n, row["raw_blob"], parts, slip, allowed))
    return out


def _files(ctx: Context, p: Planned, manual: list[str]) -> Iterator[tuple[str, bytes, FileEntry]]:
    """The files of one 件 (paths inside its folder), the metadata XML not included."""
    n = p.numbered
    title = n.record.title or n.code

    def entry(path: str, data: bytes, fmt: str, use: str, note: str = "",
              has_form: bool = False) -> tuple[str, bytes, FileEntry]:
        return path, data, FileEntry(path, len(data), hashlib.sha256(data).hexdigest(), fmt,
                                     use, note, has_form)

    raw = ctx.blobs.get(p.raw_blob) if p.raw_blob else None
    if raw is not None:
        note = ("收到时的原始报文，未改动" if p.file_allowed
                else "封存件：原始报文原样移交，未拆封")
        yield entry("原件/原始报文.eml", raw, "message/rfc822", "原始报文", note)
    else:
        manual.append(f"{n.code}：纸质件，原件须另行移交")
    if not p.file_allowed:
        return
    for part in p.parts:
        data = ctx.blobs.get(part.sha256)
        name = rules.safe_name(part.filename, f"附件{part.idx + 1}")
        r = renditions.render(title, part.filename, part.content_type, data)
        yield entry(f"原件/{part.idx + 1:02d}-{name}", data, r.fmt, "原件", r.note,
                    has_form=r.fmt in renditions.FIXED_LAYOUT or r.pdf is not None)
        if r.pdf is not None:
            stem = name.rsplit(".", 1)[0] if "." in name else name
            yield entry(f"版式/{part.idx + 1:02d}-{stem}.pdf", r.pdf, "pdf", "版式转换件", r.note)
        elif r.fmt not in renditions.FIXED_LAYOUT:
            manual.append(f"{n.code}：{name} {r.note}")
    if not p.parts and raw is not None:
        body = parse_message(raw).body_text
        if body.strip():
            r = renditions.body_rendition(title, body)
            assert r.pdf is not None
            yield entry("版式/正文.pdf", r.pdf, "pdf", "版式转换件", r.note)
    if p.slip is not None:
        yield entry("公文处理单.pdf", render_slip(p.slip), "pdf", "公文处理单")


def _add_pages(count: int | None, fe: FileEntry, data: bytes) -> int | None:
    """The running page count of a 件's 版式 form (originals in PDF or OFD, and
    renditions); None once a document has no countable form (nothing could be made of
    it, or its pages do not read)."""
    if count is None:
        return None
    if fe.use == "原件" and not fe.has_form:
        return None  # a format left for staff
    if fe.use == "版式转换件" or (fe.use == "原件" and fe.fmt in renditions.FIXED_LAYOUT):
        n = renditions.page_count(fe.fmt, data)
        return None if n is None else count + n
    return count


def _catalogue_xlsx(rows: list[list[str]], office: str, year: int) -> bytes:
    """The 归档文件目录 printed as the register books are: landscape A4 fitted to the width,
    the title and header repeated on every page."""
    columns = [Column(h, w) for h, w in
               zip(rules.CATALOGUE_COLUMNS, rules.CATALOGUE_WIDTHS, strict=True)]
    title = f"{office} {year} 年度{CATALOGUE}（文书，共 {len(rows)} 件）"
    return books_xlsx.render(Book(title, [Sheet(CATALOGUE, title, columns, rows)]))


def _write(ctx: Context, year: int, planned: list[Planned], final: Path,
           replace: bool) -> Written:
    archive = ctx.settings.archive
    office = ctx.settings.office.name
    numbered = [p.numbered for p in planned]
    result = Written(final)
    pages: dict[str, int | None] = {}
    with PackageWriter(final, replace=replace) as w:
        for p in planned:
            entries = []
            count: int | None = 0 if p.file_allowed else None
            for path, data, fe in _files(ctx, p, result.manual):
                w.add(f"{p.numbered.code}/{path}", data)
                entries.append(fe)
                count = _add_pages(count, fe, data)
            pages[p.numbered.code] = count or None
            meta = rules.metadata_xml(p.numbered, archive, office, year, entries, count or None)
            w.add(f"{p.numbered.code}/元数据.xml", meta)
            result.files += len(entries) + 1
            result.count += 1
        rows = rules.catalogue_rows(numbered, pages)
        w.add(f"{CATALOGUE}.xlsx", _catalogue_xlsx(rows, office, year))
        w.add(f"{CATALOGUE}.xml", rules.catalogue_xml(numbered, pages, office, year))
        w.add(MANIFEST, rules.manifest(w.digests.items()))
        result.files += 3
        w.commit()
    return result


async def export_year(ctx: Context, year: int, out: Path, *, replace: bool = False) -> Written:
    """Write the year's package as `out/归档-YEAR` (atomic; refused when there unless
    `replace`)."""
    planned = await plan(ctx, year)
    return await asyncio.to_thread(_write, ctx, year, planned, out / f"归档-{year}", replace)
