"""The 政府信息公开 catalogue: record what a publication adds, build and check the site.

What may be shown is decided once, by `core.site.publishable`; the pages are planned by
`core.site.catalogue` and written by `core.storage.site_dir` (incremental, atomic swap).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from core import deadline_rules as rules
from core.config import Site as SiteConfig
from core.errors import ConfigError, ConflictError, InvalidInputError
from core.reading.documents import extract
from core.reading.mail import Attachment
from core.services import disclosure, stats
from core.services.context import Context
from core.services.dates import ACTOR, today_of
from core.services.dispatch import choose_option
from core.site import catalogue as cat
from core.site.publishable import Facts, refusal
from core.site.render import Renderer
from core.storage import audit, site_dir
from core.storage import site as repo
from core.storage.db import Row, UnitOfWork

_FORMATS = {"pdf": "application/pdf", "ofd": "application/ofd"}
MAX_FILE_BYTES = 64 * 1024 * 1024


def settings_of(ctx: Context) -> SiteConfig:
    cfg = ctx.settings.site
    if cfg is None:
        raise ConfigError("config.toml", "site",
                          "没有 [site] 一节（政府信息公开目录），见 config.example.toml")
    return cfg


# ------------------------------------------------------------------ publishing
def check_file(name: str, data: bytes) -> repo.PublishedFile:
    """The file as published: a PDF or OFD whose bytes match its name; its text layer kept."""
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if ext not in _FORMATS:
        raise InvalidInputError("公开的原文须为 PDF 或 OFD 文件", field="file")
    if not data:
        raise InvalidInputError("文件为空", field="file")
    if len(data) > MAX_FILE_BYTES:
        raise InvalidInputError(f"文件超过 {MAX_FILE_BYTES >> 20} MB", field="file")
    magic_ok = b"%PDF-" in data[:1024] if ext == "pdf" else data.startswith(b"PK\x03\x04")
    if not magic_ok:
        raise InvalidInputError(f"文件内容不是 {ext.upper()}", field="file")
    got = extract(Attachment.of(name, _FORMATS[ext], data))
    if got.status == "damaged":
        raise InvalidInputError(f"文件已损坏，无法读取：{name}", field="file")
    text = got.text.strip() if got.status == "ok" else ""
    return repo.PublishedFile(sha256="", name=Path(name).name, format=ext, size=len(data),
                              text=text or None)


async def publish(
    ctx: Context, *, number: str, url: str, on: date | None = None,
    file: tuple[str, bytes] | None = None, topic: str | None = None, actor: str = ACTOR,
) -> disclosure.DisclosureView:
    """`jiyao published`, with the 主题分类 and the file as published for the catalogue."""
    cfg = ctx.settings.site
    chosen = None
    if topic is not None:
        if cfg is None:
            raise InvalidInputError("未配置 [site]，不能指定主题分类", field="topic")
        chosen = choose_option(topic, cfg.topics, "主题分类", "topic")
    published = None
    if file is not None:
        checked = check_file(*file)
        digest = ctx.blobs.put(file[1])  # content-addressed: harmless if the publish fails
        published = repo.PublishedFile(digest, checked.name, checked.format, checked.size,
                                       checked.text)
    hook: Callable[[UnitOfWork, int, Row], Awaitable[None]] | None = None
    if chosen is not None or published is not None:
        async def hook(uow: UnitOfWork, task_id: int, d: Row) -> None:
            await repo.record_publication(uow, task_id, topic=chosen, file=published,
                                          at=ctx.clock(), by=actor)
    return await disclosure.mark_published(ctx, number=number, url=url, on=on, actor=actor,
                                           on_published=hook)


async def withdraw(ctx: Context, *, number: str, reason: str, actor: str = ACTOR) -> str:
    """撤回: take a published record off the catalogue (the next build removes its page)."""
    if not reason.strip():
        raise InvalidInputError("须说明撤回理由", field="reason")
    now = ctx.clock()
    async with ctx.db.unit_of_work() as uow:
        d = await disclosure.find_dispatch(ctx, uow, number)
        rows = await repo.candidates_by_id(uow, [int(d["id"])])
        if not rows or _facts(rows[0]).withdrawn_cycle == rows[0]["cycle"]:
            raise ConflictError(f"{d['number']} 不在公开目录中，无需撤回")
        await repo.add_withdrawal(uow, int(d["id"]), int(rows[0]["cycle"]),
                                  reason=reason.strip(), at=now, by=actor)
        await audit.append(uow, at=now, actor=actor, action="site.withdraw",
                           subject=f"dispatch:{d['id']}",
                           detail={"number": d["number"], "reason": reason.strip()})
        await uow.commit()
    return str(d["number"])


# ------------------------------------------------------------------ the model
def _facts(row: Row) -> Facts:
    return Facts(status=row["status"], disclosure=row["disclosure"], secrecy=row["secrecy"],
                 published_cycle=row["cycle"], review=row["review"],
                 withdrawn_cycle=row["withdrawn_cycle"])


def _publisher(cfg: SiteConfig, office: str, code: str) -> str:
    return cfg.publishers.get(code) or cfg.publisher or office


def _entry(cfg: SiteConfig, office: str, row: Row, seq: tuple[int, int]) -> cat.Entry:
    year, n = seq
    file = None
    if row["file_sha256"]:
        file = cat.FileRef(row["file_sha256"], row["file_name"], row["file_format"],
                           int(row["file_size"]))
    return cat.Entry(
        dispatch_id=int(row["id"]), task_id=int(row["task_id"]), index_year=year,
        index_seq=n, index_no=cfg.index_format.format(organ=cfg.organ_code, year=year, seq=n),
        title=row["title"], doc_number=row["number"],
        publisher=_publisher(cfg, office, row["code"]),
        written_on=date.fromisoformat(row["written_on"]) if row["written_on"] else None,
        published_on=date.fromisoformat(row["published_on"]),
        topic=row["topic"] or cfg.default_topic,
        column=row["catalogue_column"] or "其他",
        carrier=row["carrier"], url=row["url"], file=file,
    )


async def entries(ctx: Context) -> list[cat.Entry]:
    """Every publishable record, with a 索引号 given to those entering the catalogue now."""
    cfg = settings_of(ctx)
    async with ctx.db.reader() as r:
        rows = [row for row in await repo.candidates(r) if refusal(_facts(row)) is None]
    missing = [(int(row["id"]), int(row["published_on"][:4])) for row in rows
               if row["index_seq"] is None]
    seqs = {int(row["id"]): (int(row["index_year"]), int(row["index_seq"]))
            for row in rows if row["index_seq"] is not None}
    if missing:
        async with ctx.db.unit_of_work() as uow:
            await repo.assign_index_numbers(uow, missing, ctx.clock())
            seqs.update(await repo.index_numbers(uow, [i for i, _ in missing]))
            await uow.commit()
    office = ctx.settings.office.name
    return [_entry(cfg, office, row, seqs[int(row["id"])]) for row in rows]


def _periods(first: date, today: date, per: str) -> list[stats.Period]:
    out = []
    y, m = first.year, first.month
    if per == "quarter":
        m = (m - 1) // 3 * 3 + 1
    while (y, m) <= (today.year, today.month):
        if per == "month":
            out.append(stats.month_period(y, m))
            m += 1
        else:
            out.append(stats.quarter_period(y, (m - 1) // 3 + 1))
            m += 3
        if m > 12:
            y, m = y + 1, m - 12
    return out


async def stats_tables(ctx: Context, cfg: SiteConfig) -> list[cat.StatsTable]:
    today = today_of(ctx)
    async with ctx.db.reader() as r:
        first = await repo.first_disclosure_day(r)
    if first is None:
        return []
    tables = []
    periods = _periods(min(date.fromisoformat(first), today), today, cfg.stats_period)
    for p, rep in zip(periods, await stats.periods_stats(ctx, periods, today), strict=True):
        rows = [tuple(_cell(v) for v in row) for row in rep.rows()]
        tables.append(cat.StatsTable(
            key=p.key, label=p.label, first=p.first, last=p.last,
            as_of=today if p.last >= today else None, headers=tuple(rep.headers()),
            rows=tuple(rows[:-1]), total=rows[-1],
        ))
    return tables


def _cell(v: Any) -> Any:
    return f"{v:.0%}" if isinstance(v, float) else ("—" if v is None else v)


_REPORT_YEAR = re.compile(r"(20\d{2})")


def annual_reports(folder: Path) -> list[tuple[cat.Report, Path]]:
    """Annual reports (年度报告) put in the configured folder: PDF, OFD or HTML named with
    their year. The issue that drafts them writes there; the site links what it finds."""
    if not folder.is_dir():
        return []
    found: list[tuple[cat.Report, Path]] = []
    for p in sorted(folder.iterdir()):
        ext = p.suffix.lower().lstrip(".")
        m = _REPORT_YEAR.search(p.name)
        if not p.is_file() or ext not in ("pdf", "ofd", "html") or m is None:
            continue
        year = int(m.group(1))
        n = sum(1 for r, _ in found if r.year == year)
        rel = f"reports/{year}{'-' + str(n + 1) if n else ''}.{ext}"
        found.append((cat.Report(year, p.stem, rel, ext, p.stat().st_size), p))
    found.sort(key=lambda rp: rp[0].year, reverse=True)
    return found


def _guide(cfg: SiteConfig) -> cat.Guide:
    return cat.Guide(
        contact=cfg.contact,
        answer_days=rules.ANSWER_WORKDAYS, extension_days=rules.MAX_EXTENSION,
        supplement_days=rules.SUPPLEMENT_WORKDAYS, consult_days=rules.CONSULT_WORKDAYS,
        reply_types=tuple(rules.REPLY_TEXT.values()),
    )


# ------------------------------------------------------------------ build
@dataclass(frozen=True)
class BuildResult:
    root: Path
    items: int
    pages: int
    written: int
    kept: int
    removed: int

    def as_json(self) -> dict[str, Any]:
        return {"root": str(self.root), "items": self.items, "pages": self.pages,
                "written": self.written, "kept": self.kept, "removed": self.removed}


async def build(ctx: Context, out: Path, renderer: Renderer | None = None) -> BuildResult:
    """Write the catalogue to `out` (only what changed), swapped in atomically."""
    cfg = settings_of(ctx)
    renderer = renderer or Renderer()
    items = await entries(ctx)
    folder = cfg.annual_reports_dir or ctx.data_dir / "annual-reports"
    reports = annual_reports(folder)
    model = cat.SiteModel(
        office=ctx.settings.office.name, title=cfg.title, catalogue=ctx.settings.disclosure
        .catalogue, entries=items, guide=_guide(cfg), stats=await stats_tables(ctx, cfg),
        reports=[r for r, _ in reports], page_size=cfg.page_size,
    )
    shell, pages = cat.plan(model)
    base = renderer.fingerprint + cat.canonical(shell).hex()
    async with ctx.db.reader() as r:
        texts = await repo.file_texts(r, [p.text_of for p in pages if p.text_of is not None])

    def page_bytes(p: cat.Page) -> Callable[[], bytes]:
        return lambda: renderer.render(p, shell, texts.get(p.text_of) if p.text_of else None)

    def blob(digest: str) -> Callable[[], bytes]:
        return lambda: ctx.blobs.get(digest)

    def const(data: bytes) -> Callable[[], bytes]:
        return lambda: data

    outputs = [site_dir.Output(p.path, p.fingerprint(base), page_bytes(p), p.owner)
               for p in pages]
    outputs += [site_dir.Output(e.file.path, e.file.sha256, blob(e.file.sha256), e.dispatch_id)
                for e in items if e.file is not None]
    for name, data in renderer.static_files():
        outputs.append(site_dir.Output(name, cat.sha256(data), const(data)))
    index = cat.search_index_js(items)
    outputs.append(site_dir.Output(cat.SEARCH_INDEX, cat.sha256(index), const(index)))
    for report, src in reports:
        data = src.read_bytes()
        outputs.append(site_dir.Output(report.path, cat.sha256(data), const(data)))
    w = site_dir.write_site(out, outputs)
    return BuildResult(w.root, len(items), len(pages), w.written, w.kept, w.removed)


# ------------------------------------------------------------------ check
@dataclass(frozen=True)
class Problem:
    path: str
    kind: str  # "broken_link" | "not_public"
    detail: str

    def text(self) -> str:
        return f"{self.path}：{self.detail}"


async def check(ctx: Context, out: Path) -> list[Problem]:
    """Broken internal links, and pages or files of records that may no longer be public."""
    scan = site_dir.scan(out)
    problems = [Problem(page, "broken_link", f"链接失效：{href}") for page, href in scan.broken]
    ids = sorted(set(scan.owners.values()))
    why: dict[int, str] = {}
    async with ctx.db.reader() as r:
        rows = {int(row["id"]): row for row in await repo.candidates_by_id(r, ids)}
        for i in ids:
            if i in rows:
                reason = refusal(_facts(rows[i]))
            else:
                facts = await repo.dispatch_facts(r, i)
                reason = "记录不存在" if facts is None else refusal(Facts(
                    facts["status"], facts["disclosure"], facts["secrecy"], None, None, None))
            if reason:
                why[i] = reason
    problems += [Problem(path, "not_public", f"不应再公开（{why[owner]}），下次生成时删除")
                 for path, owner in sorted(scan.owners.items()) if owner in why]
    return problems
