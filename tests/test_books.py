"""The printed 收文登记簿 of a seeded year: one sheet per register, title line, frozen
header, print titles, landscape A4 fitted to the width, and the cells a clerk fills."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from typing import Any

import openpyxl
import pytest

from core.books import xlsx
from core.model import Kind, Outcome
from core.services import books, circulation, followups, handling, instructions, push, registry
from core.services.context import Context
from core.storage import items as items_repo
from core.storage import outbox
from tests.conftest import FrozenClock
from tests.printed import assert_printed_as_book

SEALED_TITLE = "关于绝密事项的通知"


async def add(ctx: Context, *, kind: Kind | None, title: str, sender: str,
              outcome: Outcome = Outcome.REGISTER, **extra: Any) -> int:
    """An item as intake leaves it (numbered and routed when it is 办件 or 阅件)."""
    now = ctx.clock()
    async with ctx.db.unit_of_work() as uow:
        item_id = await items_repo.insert_item(uow, items_repo.NewItem(
            received_at=now, year=2026, month=now.month, channel="email",
            outcome=outcome.value, kind=kind.value if kind else None, sender=sender,
            title=title, created_by="intake", **extra,
        ))
        if kind is not None and kind.numbered and outcome is Outcome.REGISTER:
            await registry.number_item(ctx, uow, item_id=item_id, kind=kind, year=2026, at=now,
                                       by="intake")
        if outcome is Outcome.REGISTER:
            await push.route_item(ctx, uow, item_id=item_id, at=now)
        await uow.commit()
    return item_id


async def seed(ctx: Context, clock: FrozenClock) -> None:
    ban = await add(ctx, kind=Kind.BAN, title="关于修缮康定城区防洪堤的请示",
                    sender="康定市人民政府", doc_type="请示", doc_number="康府〔2026〕8号",
                    urgency="特急")
    async with ctx.db.reader() as r:
        chat = (await outbox.push_targets(r, ban, push.ROLE_LEADER))[0]
    leader = next(x.name for x in ctx.settings.leader if x.chat_id == chat)
    await handling.propose(ctx, ref="办2026-0001", text="拟请综合科会同甘孜军分区研究办理",
                           leader=leader, units=["综合科", "甘孜军分区"], due=date(2026, 3, 13))
    await instructions.accept_proposal(ctx, item_id=ban, chat_id=chat)
    await handling.assign(ctx, ref="办2026-0001")
    clock.now = datetime(2026, 3, 12, 8, 0, tzinfo=UTC)
    await followups.close_item(ctx, ref="办2026-0001", result="已拨付修缮资金")
    clock.now = datetime(2026, 3, 16, 2, 0, tzinfo=UTC)
    await add(ctx, kind=Kind.BAN, title="关于申请防汛物资的函", sender="甘孜州应急管理局")
    await registry.correct(ctx, ref="办2026-0002", kind=Kind.YUE, reason="无办理要求",
                           actor="staff:张文书")
    await add(ctx, kind=Kind.YUE, title="关于安全生产情况的通报", sender="国务院办公厅",
              secrecy="机密")
    await add(ctx, kind=Kind.CHAO, title="关于道路养护的通知", sender="甘孜州交通运输局")
    neikan = await add(ctx, kind=Kind.NEIKAN, title="内部参阅（第3期）",
                       sender="四川省人民政府办公厅", issue_no="第3期")
    await add(ctx, kind=Kind.JIANBAO, title="防汛工作简报", sender="泸定县人民政府",
              issue_no="第12期")
    await add(ctx, kind=None, title=SEALED_TITLE, sender="国务院办公厅",
              outcome=Outcome.SEALED, reason="top_secret", secrecy="绝密", envelope_no="J-0007",
              doc_number="国办发〔2026〕1号")
    read = await add(ctx, kind=Kind.NEIKAN, title="内部参阅（第4期）",
                     sender="四川省人民政府办公厅", issue_no="第4期")
    async with ctx.db.reader() as r:  # the 内刊 circulates from its first reader
        holders = [await outbox.push_targets(r, x, push.ROLE_LEADER) for x in (neikan, read)]
    assert all(holders)
    await circulation.mark_read(ctx, item_id=read, chat_id=holders[1][0])


def cells(ws: Any) -> list[tuple[Any, ...]]:
    return list(ws.iter_rows(values_only=True))


async def test_incoming_book_prints_as_an_office_prints_it(ctx: Context,
                                                           clock: FrozenClock) -> None:
    await seed(ctx, clock)
    book = await books.incoming(ctx, 2026)
    wb = openpyxl.load_workbook(io.BytesIO(xlsx.render(book)))
    assert wb.sheetnames == ["办件", "阅件", "抄件", "内刊", "简报", "封存件"]
    for ws in wb:
        rows = cells(ws)
        assert rows[0][0] == f"甘孜藏族自治州人民政府2026年收文登记簿（{ws.title}）"
        last = ws.cell(2, ws.max_column).column_letter
        assert [str(m) for m in ws.merged_cells.ranges] == [f"A1:{last}1"]
        assert_printed_as_book(ws)

    ban = cells(wb["办件"])
    assert list(ban[1]) == ["编号", "收文日期", "来文单位", "文号", "标题", "密级", "紧急程度",
                            "份数", "办理期限", "拟办/批示", "承办单位", "办结日期", "签收人",
                            "当前环节", "经办人", "备注"]
    first = dict(zip(ban[1], ban[2], strict=True))
    assert first["编号"] == "办2026-0001"
    assert first["收文日期"] == "2026-03-02"
    assert (first["来文单位"], first["文号"]) == ("康定市人民政府", "康府〔2026〕8号")
    assert (first["紧急程度"], first["份数"], first["办理期限"]) == ("特急", "1", "2026-03-13")
    assert first["拟办/批示"].startswith("拟办：拟请综合科会同甘孜军分区研究办理；")
    assert "批示：同意拟办意见" in first["拟办/批示"]
    assert first["承办单位"] == "综合科（主办）、甘孜军分区（协办）"
    assert first["办结日期"] == "2026-03-12"
    assert first["签收人"] == books.AUTO_SIGNER
    assert (first["当前环节"], first["经办人"]) == ("已办结", "文书处理室（待批复）")
    void = dict(zip(ban[1], ban[3], strict=True))
    assert void["编号"] == "办2026-0002"
    assert void["备注"] == "更正为阅件：无办理要求；见 阅2026-0001"
    assert void["当前环节"] is None  # a void entry is in no step

    yue = cells(wb["阅件"])
    assert [r[0] for r in yue[2:]] == ["阅2026-0001", "阅2026-0002"]
    assert yue[3][4] == "关于安全生产情况的通报"  # the desk sees a classified title
    assert yue[3][5] == "机密"

    assert [r[4] for r in cells(wb["抄件"])[2:]] == ["关于道路养护的通知"]
    assert cells(wb["简报"])[2][3] == "第12期"
    neikan, read = cells(wb["内刊"])[2:]
    assert neikan[3] == "第3期"
    assert neikan[10] == "传阅中"  # who holds the copy, since when (local time)
    assert neikan[11].endswith("（03-16 10:00起）")
    assert any(neikan[11].startswith(x.name) for x in ctx.settings.leader)
    assert (read[3], read[10], read[11]) == ("第4期", "已传阅", None)

    sealed = cells(wb["封存件"])
    assert len(sealed) == 3
    row = dict(zip(sealed[1], sealed[2], strict=True))
    assert (row["来文单位"], row["密级"], row["信封编号"], row["封存原因"]) == (
        "国务院办公厅", "绝密", "J-0007", "绝密件")
    everything = [str(v) for ws in wb for r in cells(ws) for v in r if v is not None]
    assert not any(SEALED_TITLE in v for v in everything)

    # columns as wide as their contents (a CJK character takes two)
    ws = wb["办件"]
    assert ws.column_dimensions["E"].width >= 2 * len("关于修缮康定城区防洪堤的请示")
    assert ws.column_dimensions["H"].width < 10  # 份数 stays narrow


def pdf_pages(data: bytes) -> list[str]:
    from pypdf import PdfReader

    return [p.extract_text().replace("\n", "").replace(" ", "")
            for p in PdfReader(io.BytesIO(data)).pages]


def test_pdf_repeats_title_and_header_on_every_landscape_page() -> None:
    """A long register runs over pages: each is landscape A4 with the title line and the
    header row at its top; every row is printed once; empty registers are left out."""
    from pypdf import PdfReader

    from core.books import Book, Column, Sheet, pdf

    columns = [Column("编号", 12), Column("标题", 40), Column("来文单位", 20)]
    rows = [[f"办2026-{i:04d}", f"关于第{i}项工作的请示", "康定市人民政府"] for i in range(1, 121)]
    book = Book("测试", [Sheet("办件", "某机关2026年收文登记簿（办件）", columns, rows),
                         Sheet("抄件", "某机关2026年收文登记簿（抄件）", columns, [])])
    data = pdf.render(book)
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) >= 3
    for page in reader.pages:
        assert (round(float(page.mediabox.width)), round(float(page.mediabox.height))) == (842, 595)
    texts = pdf_pages(data)
    for i, text in enumerate(texts, start=1):
        assert text.count("某机关2026年收文登记簿（办件）") == 1
        assert "编号标题来文单位" in text
        assert f"第{i}页" in text
    joined = "".join(texts)
    assert all(joined.count(f"办2026-{i:04d}") == 1 for i in range(1, 121))
    assert "（抄件）" not in joined


async def test_pdf_of_a_seeded_year(ctx: Context, clock: FrozenClock) -> None:
    """The 收文登记簿 PDF carries each register's fields; a sealed item only its envelope."""
    from core.books import pdf

    await seed(ctx, clock)
    texts = pdf_pages(pdf.render(await books.incoming(ctx, 2026)))
    joined = "".join(texts)
    for want in ("甘孜藏族自治州人民政府2026年收文登记簿（办件）", "办2026-0001", "2026-03-02",
                 "康定市人民政府", "康府〔2026〕8号", "关于修缮康定城区防洪堤的请示", "特急",
                 "2026-03-13", "综合科（主办）", "2026-03-12", "已办结", "自动签收",
                 "（阅件）", "阅2026-0002", "机密", "（抄件）", "关于道路养护的通知", "（内刊）",
                 "传阅中", "（简报）", "第12期", "（封存件）", "J-0007", "绝密件"):
        assert want in joined, want
    assert SEALED_TITLE not in joined


async def test_streamed_book_reads_pages_as_the_whole_book(ctx: Context, clock: FrozenClock,
                                                           monkeypatch: Any) -> None:
    """The register read a page at a time (pages of 2 here) has the rows of the whole
    year, in order, each time it is gone over, and its xlsx the same cells."""
    import asyncio

    from core.storage import books as books_repo

    await seed(ctx, clock)
    for k in range(4):
        await add(ctx, kind=Kind.BAN, title=f"关于第{k}项工作的请示", sender="泸定县人民政府")
        await add(ctx, kind=Kind.CHAO, title=f"关于第{k}项工作的通知", sender="丹巴县人民政府")
    whole = await books.incoming(ctx, 2026)
    monkeypatch.setattr(books_repo, "PAGE", 2)
    paged = await books.incoming(ctx, 2026)
    streamed = await books.incoming_streamed(ctx, 2026)
    assert [len(s.rows) for s in whole.sheets] == [6, 2, 5, 2, 1, 1]
    assert [s.rows for s in paged.sheets] == [s.rows for s in whole.sheets]
    assert [len(s.rows) for s in streamed.sheets] == [len(s.rows) for s in whole.sheets]

    def twice() -> list[list[Any]]:
        return [[list(s.rows), list(s.rows)] for s in streamed.sheets]

    passes = await asyncio.to_thread(twice)
    assert passes == [[s.rows, s.rows] for s in whole.sheets]
    with pytest.raises(RuntimeError):  # read on the loop it would wait for
        list(streamed.sheets[0].rows)
    buf = io.BytesIO()
    await asyncio.to_thread(xlsx.write, streamed, buf)
    assert [cells(ws) for ws in openpyxl.load_workbook(io.BytesIO(buf.getvalue()))] == \
        [cells(ws) for ws in openpyxl.load_workbook(io.BytesIO(xlsx.render(whole)))]
