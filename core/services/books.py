"""The printed registers (登记簿) of a year, as core.books books: the 收文登记簿 (办件 and 阅件
numbered, 抄件/内刊/简报 as their own lists, 封存件 envelope only) and the 发文登记簿 (one
sheet per 发文代字, with 印数 and 分送). What each cell may show of an item is
core.visibility's decision for the registry's desk."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncGenerator, Callable, Iterator, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from core.books import Book, Column, Sheet, clip
from core.config import Settings
from core.copies import shares_line
from core.model import REASON_ZH, Kind
from core.services import dispatch, handling
from core.services.context import Context
from core.services.notify import registry_name
from core.storage import books as repo
from core.storage.db import Row
from core.visibility import Facts, Policy, Viewer, shown

#: 拟办/批示 in short: each opinion, and the whole cell, cut to these display widths
OPINION_WIDTH, OPINIONS_WIDTH = 36, 72
AUTO_SIGNER = "自动签收"

NUMBERED = (
    Column("编号", 12), Column("收文日期", 10), Column("来文单位", 20), Column("文号", 18),
    Column("标题", 40), Column("密级", 6), Column("紧急程度", 8), Column("份数", 4),
    Column("办理期限", 10), Column("拟办/批示", 30), Column("承办单位", 20),
    Column("办结日期", 10), Column("签收人", 10), Column("当前环节", 8), Column("经办人", 16),
    Column("备注", 20),
)
UNNUMBERED = (
    Column("序号", 4), Column("收文日期", 10), Column("来文单位", 20), Column("文号/期号", 18),
    Column("标题", 40), Column("密级", 6), Column("紧急程度", 8), Column("份数", 4),
    Column("批示", 30), Column("签收人", 10), Column("当前环节", 8), Column("经办人", 24),
)
SEALED = (
    Column("序号", 4), Column("收件序号", 8), Column("收文日期", 10), Column("来文单位", 20),
    Column("文号", 18), Column("标题", 16), Column("密级", 6), Column("信封编号", 12),
    Column("封存原因", 10), Column("签收人", 10),
)
UNNUMBERED_KINDS = (Kind.CHAO, Kind.NEIKAN, Kind.JIANBAO)
SEALED_SHEET = "封存件"


def _local_date(text: str | None, tz: ZoneInfo) -> str:
    return datetime.fromisoformat(text).astimezone(tz).date().isoformat() if text else ""


def _local_minute(text: str, tz: ZoneInfo) -> str:
    return datetime.fromisoformat(text).astimezone(tz).strftime("%m-%d %H:%M")


def signer(settings: Settings, created_by: str) -> str:
    """Who signed for an item (签收人): intake signs electronic mail itself; a person
    is named as the audit log names them (staff:名, leader:名)."""
    if created_by == "intake":
        return AUTO_SIGNER
    if created_by in ("", "staff"):  # before operators were recorded (--operator)
        return registry_name(settings)
    _, sep, name = created_by.partition(":")
    return name if sep else created_by


class _Rows:
    """Row builders over one year's data; every cell that shows an item asks `_seen`."""

    def __init__(self, settings: Settings, data: repo.YearBook) -> None:
        self.settings = settings
        self.tz = settings.tz
        self.data = data
        self.policy = Policy.of(settings)

    def _seen(self, row: Row) -> tuple[str, str, bool]:
        """(title, 文号, may quote) as the desk may show them."""
        seen = shown(Facts(row["outcome"], row["secrecy"]), Viewer.DESK, self.policy)
        title = (row["title"] or "") if seen.title else "（封存，不记标题）"
        return title, (row["doc_number"] or "") if seen.doc_number else "", seen.quotes

    def _copies(self, row: Row) -> str:
        return str(max(1, row["documents"]))  # a registered item is at least one document

    def _instructions(self, item_id: int) -> list[str]:
        return [f"{x['leader']}批示：{clip(x['text'], OPINION_WIDTH)}"
                for x in self.data.instructions.get(item_id, [])]

    def _circulation(self, item_id: int) -> tuple[str, str]:
        turns = self.data.circulation.get(item_id, [])
        if not turns:
            return "", ""
        current = next((t for t in turns if t["status"] == "current"), None)
        if current is None:
            return ("已传阅", "") if all(t["status"] in ("read", "passed") for t in turns) \
                else ("待传阅", "")
        since = f"（{_local_minute(current['sent_at'], self.tz)}起）" if current["sent_at"] else ""
        return "传阅中", f"{current['leader']}{since}"

    def numbered(self, row: Row) -> list[str]:
        item_id = row["item_id"]
        title, doc_number, quotes = self._seen(row)
        opinions: list[str] = []
        step = holder = units = done = ""
        assigned = self.data.assignments.get(item_id, [])
        flow = self.data.handling.get(item_id)
        live = row["status"] == "active"
        if live and row["kind"] == Kind.BAN.value and row["item_kind"] == Kind.BAN.value:
            view = handling.view_of(self.settings, item_id, row["number"], flow, assigned,
                                    instructed=bool(self.data.instructions.get(item_id)))
            step, holder = view.step, view.holder_text()
            units = "、".join(f"{a.unit}（{a.role}）" for a in view.assignments)
            done = _local_date(view.done_at, self.tz)
            if view.proposal is not None:
                opinions.append(f"拟办：{clip(view.proposal.text, OPINION_WIDTH)}")
        elif live:
            step, holder = self._circulation(item_id)
        opinions += self._instructions(item_id)
        due = (assigned[0]["due_on"] if assigned else None) or self.data.due.get(item_id) \
            or row["deadline"] or ""
        note = {"void": "作废", "converted": "转办件"}.get(row["status"], "")
        if note:
            note = "；".join(x for x in (row["note"] or note,
                                         f"见 {row['replaced_by_number']}"
                                         if row["replaced_by_number"] else "") if x)
        return [
            row["number"], _local_date(row["received_at"], self.tz), row["sender"] or "",
            doc_number, title, row["secrecy"] or "", row["urgency"] or "", self._copies(row),
            due, clip("；".join(opinions), OPINIONS_WIDTH) if quotes else "", units, done,
            signer(self.settings, row["created_by"]), step, holder, note,
        ]

    def unnumbered(self, seq: int, row: Row) -> list[str]:
        title, doc_number, quotes = self._seen(row)
        step, holder = self._circulation(row["item_id"])
        ref = "；".join(x for x in (doc_number, row["issue_no"] or "") if x)
        opinions = clip("；".join(self._instructions(row["item_id"])), OPINIONS_WIDTH)
        return [
            str(seq), _local_date(row["received_at"], self.tz), row["sender"] or "", ref,
            title, row["secrecy"] or "", row["urgency"] or "", self._copies(row),
            opinions if quotes else "", signer(self.settings, row["created_by"]), step, holder,
        ]

    def sealed(self, seq: int, row: Row) -> list[str]:
        title, doc_number, _ = self._seen(row)
        return [
            str(seq), str(row["item_id"]), _local_date(row["received_at"], self.tz),
            row["sender"] or "", doc_number, title, row["secrecy"] or "",
            row["envelope_no"] or "", REASON_ZH.get(row["reason"] or "", row["reason"] or ""),
            signer(self.settings, row["created_by"]),
        ]


def incoming_title(settings: Settings, year: int, register: str) -> str:
    return f"{settings.office.name}{year}年收文登记簿（{register}）"


#: a register's rows a page at a time (each page built from one read of the database)
Pages = Callable[[], AsyncGenerator[list[list[str]], None]]


class Streamed:
    """A register's rows read from the database a page at a time, afresh each time they
    are iterated: a writer passes over them twice (widths, then rows) holding one page.
    Iterated from a thread other than the event loop's (the pages are read on `loop`);
    its length is the count of its last full pass (before one, the count of the year)."""

    def __init__(self, pages: Pages, count: int, loop: asyncio.AbstractEventLoop) -> None:
        self._pages = pages
        self._count = count
        self._loop = loop

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[list[str]]:
        try:
            on_loop = asyncio.get_running_loop() is self._loop
        except RuntimeError:
            on_loop = False
        if on_loop:  # it would wait for the loop it blocks
            raise RuntimeError("a streamed register is read off the event loop")
        pages = self._pages()

        async def step() -> list[list[str]] | None:
            return await anext(pages, None)

        n = 0
        try:
            while (page := asyncio.run_coroutine_threadsafe(step(), self._loop).result()):
                n += len(page)
                yield from page
            self._count = n
        finally:
            asyncio.run_coroutine_threadsafe(pages.aclose(), self._loop).result()


async def _numbered(ctx: Context, year: int, kind: Kind) -> AsyncGenerator[list[list[str]], None]:
    after = 0
    while True:
        async with ctx.db.reader() as r:
            page = await repo.entries_page(r, year, kind.value, after, repo.PAGE)
            if not page:
                return
            rows = _Rows(ctx.settings, await repo.flow_of(r, page))
        after = page[-1]["seq"]
        yield [rows.numbered(e) for e in page]


async def _listed(ctx: Context, year: int, outcome: str, kind: Kind | None
                  ) -> AsyncGenerator[list[list[str]], None]:
    after: tuple[str, int] | None = None
    seq = 0
    while True:
        async with ctx.db.reader() as r:
            page = await repo.items_page(r, year, outcome, kind.value if kind else None,
                                        after, repo.PAGE)
            if not page:
                return
            rows = _Rows(ctx.settings, await repo.flow_of(r, page))
        after = (page[-1]["received_at"], page[-1]["item_id"])
        build = rows.sealed if kind is None else rows.unnumbered
        yield [build(i, x) for i, x in enumerate(page, start=seq + 1)]
        seq += len(page)


async def _incoming_sheets(ctx: Context, year: int) -> list[tuple[str, Sequence[Column], Pages]]:
    """The year's 收文登记簿 sheets (name, columns, pages): 办件, 阅件 (in number order, void
    and converted entries kept), 抄件, 内刊, 简报 (in receipt order) and 封存件 (the
    envelope only)."""
    out: list[tuple[str, Sequence[Column], Pages]] = [
        (kind.value, NUMBERED, functools.partial(_numbered, ctx, year, kind))
        for kind in (Kind.BAN, Kind.YUE)
    ]
    out += [(kind.value, UNNUMBERED, functools.partial(_listed, ctx, year, "register", kind))
            for kind in UNNUMBERED_KINDS]
    out.append((SEALED_SHEET, SEALED, functools.partial(_listed, ctx, year, "sealed", None)))
    return out


async def incoming(ctx: Context, year: int) -> Book:
    """The year's 收文登记簿 with its rows read whole (the pdf lays a table out whole)."""
    s = ctx.settings
    sheets = []
    for name, columns, pages in await _incoming_sheets(ctx, year):
        rows = [row async for page in pages() for row in page]
        sheets.append(Sheet(name, incoming_title(s, year, name), columns, rows))
    return Book(f"{s.office.name}{year}年收文登记簿", sheets)


async def incoming_streamed(ctx: Context, year: int) -> Book:
    """The year's 收文登记簿 with each sheet's rows `Streamed` from the database: to be
    written (core.books.xlsx) off the event loop while `ctx` is open."""
    s = ctx.settings
    loop = asyncio.get_running_loop()
    async with ctx.db.reader() as r:
        counts = await repo.year_counts(r, year)
    sheets = [Sheet(name, incoming_title(s, year, name), columns,
                    Streamed(pages, counts.get("sealed" if name == SEALED_SHEET else name, 0),
                             loop))
              for name, columns, pages in await _incoming_sheets(ctx, year)]
    return Book(f"{s.office.name}{year}年收文登记簿", sheets)


# ------------------------------------------------------------------- 发文登记簿
DISPATCH = (
    Column("发文字号", 18), Column("成文日期", 10), Column("标题", 40), Column("密级", 6),
    Column("拟稿科室", 10), Column("印数", 10), Column("分送", 36), Column("公开属性", 10),
    Column("公开载体", 10), Column("取号时间", 16), Column("取号人", 10), Column("状态", 16),
)


def dispatch_title(settings: Settings, year: int, code: str) -> str:
    return f"{settings.office.name}{year}年发文登记簿（{code}）"


def _dispatch_row(rec: dict[str, Any]) -> list[str]:
    count = rec["copies"]
    if count is None:
        copies = shares = ""
    else:
        copies = f"{count['total']}（传真）" if count["fax"] else str(count["total"])
        shares = shares_line(((x["recipient"], x["copies"]) for x in count["shares"]),
                             fax=count["fax"])
    if rec["status"] == "void":
        state = f"作废：{rec['void_reason']}"
    else:
        state = f"待补{'、'.join(rec['missing'])}" if rec["missing"] else "有效"
    disclosure = rec["disclosure"] or dispatch.PENDING
    if rec["withhold_reason"]:
        disclosure += f"（{rec['withhold_reason']}）"
    return [
        rec["short"], rec["written_on"] or "", rec["title"], rec["secrecy"] or "",
        rec["section"] or "", copies, shares, disclosure, rec["carrier"] or "",
        rec["taken_at_local"], rec["taken_by"], state,
    ]


async def outgoing(ctx: Context, year: int) -> Book:
    """The year's 发文登记簿: one sheet per 发文代字 (in the configured order), every number
    taken, voided ones included, with the 印数 and 分送 kept with it."""
    s = ctx.settings
    rows = await dispatch.register_rows(ctx, year=year)
    sheets = [
        Sheet(c.code, dispatch_title(s, year, c.code), DISPATCH,
              [_dispatch_row(r) for r in rows if r["code"] == c.code])
        for c in s.dispatch_code
    ]
    return Book(f"{s.office.name}{year}年发文登记簿", sheets)
