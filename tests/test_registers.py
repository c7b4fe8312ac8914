"""Registers: yearly numbering, corrections, conversions, counts and the 错情率."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from core.config import Settings, Storage
from core.errors import ConflictError, InvalidInputError, NotFoundError
from core.model import Kind
from core.services import push, registry
from core.services.context import Context, open_context
from core.storage import chat as chat_repo
from tests.conftest import FrozenClock

CST = timezone(timedelta(hours=8))


async def _reg(ctx: Context, kind: Kind, at: datetime | None = None) -> registry.Registered:
    return await registry.register_paper(
        ctx, kind=kind, sender="康定市人民政府", title="关于测试的请示", received=at
    )


async def test_numbers_start_at_0001_per_kind(ctx: Context) -> None:
    """办件 and 阅件 have their own registers; 抄件 is not numbered."""
    a = await _reg(ctx, Kind.BAN)
    b = await _reg(ctx, Kind.YUE)
    c = await _reg(ctx, Kind.BAN)
    d = await _reg(ctx, Kind.CHAO)
    assert (a.number, b.number, c.number, d.number) == (
        "办2026-0001", "阅2026-0001", "办2026-0002", None,
    )


async def test_year_boundary_is_local(ctx: Context) -> None:
    """23:59:59 local on 31 Dec is the old year; local midnight starts the new year at 0001."""
    late = await _reg(ctx, Kind.BAN, datetime(2024, 12, 31, 23, 59, 59, tzinfo=CST))
    first = await _reg(ctx, Kind.BAN, datetime(2024, 12, 31, 16, 0, 0, tzinfo=UTC))
    assert late.number == "办2024-0001"
    assert late.year == 2024
    assert first.number == "办2025-0001"
    assert first.year == 2025


async def test_widens_past_9999(ctx: Context, caplog: pytest.LogCaptureFixture) -> None:
    """The 10,000th number widens to five digits with a warning, never a refusal."""
    async with ctx.db.unit_of_work() as uow:
        await uow.execute("INSERT INTO register_seq (kind, year, last) VALUES ('办件', 2026, 9999)")
        await uow.commit()
    r = await _reg(ctx, Kind.BAN)
    assert r.number == "办2026-10000"
    assert "widened" in caplog.text


async def test_correction_voids_and_links(ctx: Context) -> None:
    """A correction keeps the wrong entry void with its reason and a link to the new one."""
    a = await _reg(ctx, Kind.BAN)
    fixed = await registry.correct(ctx, ref=a.number or "", kind=Kind.YUE, reason="应为阅件",
                                   actor="文书处理室")
    assert fixed.new_number == "阅2026-0001"
    shown = await registry.show(ctx, "办2026-0001")
    entries = {e["number"]: e for e in shown["entries"]}
    assert entries["办2026-0001"]["status"] == "void"
    assert "应为阅件" in entries["办2026-0001"]["note"]
    assert entries["办2026-0001"]["replaced_by"] == entries["阅2026-0001"]["id"]
    assert shown["number"] == "阅2026-0001"
    nxt = await _reg(ctx, Kind.BAN)
    assert nxt.number == "办2026-0002"  # the voided number is never reused


async def test_errors_rate(ctx: Context) -> None:
    """Corrections count toward the year's 错情率 over its registrations."""
    for _ in range(3):
        await _reg(ctx, Kind.BAN)
    await _reg(ctx, Kind.CHAO)
    await registry.correct(ctx, ref="办2026-0002", kind=Kind.CHAO, reason="下级抄送", actor="x")
    rep = await registry.errors(ctx, year=2026)
    assert rep.registrations == 4
    assert len(rep.corrections) == 1
    assert rep.rate == pytest.approx(0.25)
    assert rep.corrections[0]["old_number"] == "办2026-0002"
    assert rep.corrections[0]["new_number"] is None


async def test_conversion_keeps_yue_entry(ctx: Context) -> None:
    """A 阅件 converted by 批示 keeps its entry marked 转办件 and takes the next 办件 number."""
    await _reg(ctx, Kind.BAN)
    y = await _reg(ctx, Kind.YUE)
    async with ctx.db.unit_of_work() as uow:
        item = await uow.fetchone("SELECT * FROM items WHERE id = ?", (y.id,))
        assert item is not None
        number = await registry.convert_to_ban(ctx, uow, item=item, actor="州长", at=ctx.clock())
        await uow.commit()
    assert number == "办2026-0002"
    shown = await registry.show(ctx, str(y.id))
    statuses = {e["number"]: e["status"] for e in shown["entries"]}
    assert statuses == {"阅2026-0001": "converted", "办2026-0002": "active"}
    c = await registry.counts(ctx, year=2026)
    assert c.by_kind["办件"] == 2
    assert c.by_kind["阅件"] == 0
    assert (await registry.errors(ctx, year=2026)).corrections == []


async def test_counts_by_month(ctx: Context) -> None:
    """Counts filter by year and month of the local receipt date."""
    await _reg(ctx, Kind.BAN, datetime(2026, 1, 31, 23, 0, tzinfo=CST))
    await _reg(ctx, Kind.BAN, datetime(2026, 2, 1, 1, 0, tzinfo=CST))
    await _reg(ctx, Kind.JIANBAO, datetime(2026, 2, 3, 1, 0, tzinfo=CST))
    jan = await registry.counts(ctx, year=2026, month=1)
    feb = await registry.counts(ctx, year=2026, month=2)
    assert jan.by_kind["办件"] == 1
    assert feb.by_kind == {"办件": 1, "阅件": 0, "抄件": 0, "内刊": 0, "简报": 1}
    with pytest.raises(InvalidInputError):
        await registry.counts(ctx, year=2026, month=13)


async def test_next_number_takes_nothing(ctx: Context) -> None:
    """Peeking at the next number does not consume it."""
    assert await registry.next_number(ctx, Kind.YUE) == "阅2026-0001"
    assert await registry.next_number(ctx, Kind.YUE) == "阅2026-0001"
    assert (await _reg(ctx, Kind.YUE)).number == "阅2026-0001"
    with pytest.raises(InvalidInputError):
        await registry.next_number(ctx, Kind.CHAO)


async def test_bad_refs(ctx: Context) -> None:
    """Unknown numbers and nonsense references are clear errors."""
    with pytest.raises(NotFoundError):
        await registry.show(ctx, "办2026-0099")
    with pytest.raises(InvalidInputError):
        await registry.show(ctx, "abc")
    a = await _reg(ctx, Kind.BAN)
    with pytest.raises(ConflictError):
        await registry.correct(ctx, ref=a.number or "", kind=Kind.BAN, reason="x", actor="x")
    with pytest.raises(InvalidInputError):
        await registry.correct(ctx, ref=a.number or "", kind=Kind.YUE, reason=" ", actor="x")


async def test_naive_time_refused(ctx: Context) -> None:
    """A receipt time without a timezone is refused, not guessed."""
    with pytest.raises(InvalidInputError):
        await _reg(ctx, Kind.BAN, datetime(2026, 1, 1, 9, 0))  # noqa: DTZ001


@pytest.mark.parametrize("ref", ["²", "#99999999999999999999"])
async def test_impossible_item_ids_are_refused(ctx: Context, ref: str) -> None:
    """A 收件序号 no row can have (a superscript digit, past 64 bits) is bad input."""
    with pytest.raises(InvalidInputError):
        await registry.show(ctx, ref)


async def test_receipt_times_no_register_can_hold_are_refused(ctx: Context) -> None:
    """Year 1 (even where converting it would overflow), year 2999 and a time ahead of the
    clock are refused before anything is numbered."""
    far_east = timezone(timedelta(hours=14))
    for at in (datetime(1, 1, 1, tzinfo=far_east), datetime(2999, 3, 1, tzinfo=UTC),
               ctx.clock() + timedelta(hours=1)):
        with pytest.raises(InvalidInputError):
            await _reg(ctx, Kind.BAN, at)
    assert (await registry.counts(ctx)).by_kind["办件"] == 0
    with pytest.raises(InvalidInputError):
        await registry.counts(ctx, year=0)


async def test_paper_item_is_queued_for_push(ctx: Context) -> None:
    """A registered paper item is routed (its pushes queued) in its registering transaction."""
    a = await _reg(ctx, Kind.BAN)
    async with ctx.db.reader() as r:
        rows = await r.fetchall("SELECT event, item_id FROM outbox WHERE channel = 'chat'")
    assert rows
    assert {(row["event"], row["item_id"]) for row in rows} == {("push", a.id)}


#: paper items of every kind and mark routing tells apart (分工 by sender and by title,
#: the default pair, 内刊 传阅, a 简报, 抄件, 秘密 and 特急, a subscriber's keyword)
_ROUTED_PAPERS: list[dict[str, Any]] = [
    {"kind": Kind.BAN, "sender": "甘孜州财政局", "title": "关于拨付资金的请示"},
    {"kind": Kind.BAN, "sender": "康定市人民政府", "title": "关于测试的请示", "urgency": "特急"},
    {"kind": Kind.YUE, "sender": "康定市人民政府", "title": "乡村振兴工作简况"},
    {"kind": Kind.NEIKAN, "sender": "中共甘孜州委", "title": "内部参考第3期"},
    {"kind": Kind.JIANBAO, "sender": "甘孜州教育和体育局", "title": "教育工作简报"},
    {"kind": Kind.CHAO, "sender": "甘孜州应急管理局", "title": "防汛值班安排"},
    {"kind": Kind.BAN, "sender": "  甘孜州卫生健康委员会 ", "title": " 关于卫生资金的请示 ",
     "secrecy": "秘密", "urgency": "加急"},
]


async def _routed_registry(
    settings: Settings, clock: FrozenClock, data: Path
) -> dict[str, list[tuple[Any, ...]]]:
    """Register `_ROUTED_PAPERS` in a fresh registry; what routing wrote, table by table."""
    ctx = await open_context(
        settings.model_copy(update={"storage": Storage(data_dir=data)}), clock=clock)
    try:
        async with ctx.db.unit_of_work() as uow:
            await chat_repo.add_subscription(uow, 555001, "资金", clock())
            await uow.commit()
        for paper in _ROUTED_PAPERS:
            await registry.register_paper(ctx, **paper)
        async with ctx.db.reader() as r:
            return {
                table: [tuple(row) for row in await r.fetchall(sql)]
                for table, sql in {
                    "outbox": "SELECT channel, event, item_id, target, payload, created_at,"
                              " due_at FROM outbox ORDER BY id",
                    "circulation": "SELECT * FROM circulation ORDER BY item_id, position",
                    "urgent_watch": "SELECT * FROM urgent_watch ORDER BY item_id",
                    "audit": "SELECT at, actor, action, subject, detail, state, hash FROM audit"
                             " ORDER BY id",
                }.items()
            }
    finally:
        await ctx.db.close()


async def test_routing_a_paper_item_from_what_was_written_is_routing_it_read_back(
    settings: Settings, clock: FrozenClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """register_paper routes the item from the columns it wrote instead of reading the row
    back: the pushes, 传阅, 特急 watch and audit entries are those of the read-back."""
    written = await _routed_registry(settings, clock, tmp_path / "written")
    monkeypatch.setattr(push, "routed_columns", lambda _item: None)  # route_item reads back
    read_back = await _routed_registry(settings, clock, tmp_path / "read")
    assert written == read_back
    assert len(written["outbox"]) > len(_ROUTED_PAPERS)
    assert written["circulation"]
    assert written["urgent_watch"]
    assert any(row[3] == "555001" for row in written["outbox"])  # the subscriber
