"""Outgoing numbers as use cases (core/services/dispatch.py) on a real SQLite file."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import tempfile
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.config import Disclosure, Settings, Storage, load_settings
from core.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
)
from core.services import admin
from core.services import dispatch as svc
from core.services.context import Context, open_context
from tests.conftest import EXAMPLE, FrozenClock

PUBLIC = {"disclosure": "主动公开", "carrier": "政府网站", "column": "规范性文件"}


async def _take(ctx: Context, code: str = "甘府发", **kw: object) -> svc.Taken:
    section = kw.pop("section", None) or ("综合科" if code in ("政府会", "救灾要情") else "机要室")
    return await svc.take(ctx, code=code, title=str(kw.pop("title", "关于某事的通知")),
                          section=str(section), **kw)  # type: ignore[arg-type]


async def test_numbers_follow_one_yearly_sequence_per_code(ctx: Context) -> None:
    """Each code counts 1, 2, 3… on its own; the number is GB/T 9704 canonical."""
    a = await _take(ctx)
    b = await _take(ctx)
    c = await _take(ctx, "甘办函")
    assert (a.number, b.number, c.number) == ("甘府发〔2026〕1号", "甘府发〔2026〕2号",
                                              "甘办函〔2026〕1号")
    assert a.as_json() == {"id": a.id, "code": "甘府发", "year": 2026, "seq": 1,
                           "number": "甘府发〔2026〕1号", "copies": None}


async def test_year_is_that_of_the_written_date_else_local_now(
    ctx: Context, clock: FrozenClock
) -> None:
    """成文日期 decides the year; without it the office's local year (Asia/Shanghai) does."""
    old = await _take(ctx, written_on=date(2025, 12, 30), **PUBLIC)
    assert old.number == "甘府发〔2025〕1号"
    clock.now = datetime(2025, 12, 31, 16, 30, tzinfo=UTC)  # 2026-01-01 00:30 local
    new = await _take(ctx)
    assert new.number == "甘府发〔2026〕1号"
    clock.now = datetime(2025, 12, 31, 15, 59, tzinfo=UTC)  # 2025-12-31 23:59 local
    assert (await _take(ctx)).number == "甘府发〔2025〕2号"


async def test_issue_numbers_restart_every_year(ctx: Context) -> None:
    """政府会 counts 第1期 again each year; the stored number carries the year."""
    a = await _take(ctx, "政府会", written_on=date(2025, 6, 1))
    b = await _take(ctx, "政府会")
    c = await _take(ctx, "政府会")
    assert (a.number, b.number, c.number) == (
        "政府会 2025年第1期", "政府会 2026年第1期", "政府会 2026年第2期")
    assert c.short == "政府会 第2期"


async def test_a_section_cannot_take_another_owners_code(ctx: Context) -> None:
    """A section taking another owner's code is refused with the owner named."""
    with pytest.raises(PermissionDeniedError, match="甘府发 由机要室编号，综合科不能取此字号"):
        await _take(ctx, "甘府发", section="综合科")
    with pytest.raises(PermissionDeniedError, match="由综合科编号"):
        await _take(ctx, "政府会", section="机要室")
    with pytest.raises(PermissionDeniedError, match="由人事科编号"):
        await _take(ctx, "甘府人", section="政务公开科")
    assert await svc.dispatches(ctx) == []  # nothing was taken
    assert (await _take(ctx, "甘府人", section="人事科")).number == "甘府人〔2026〕1号"


async def test_unknown_code_lists_the_configured_ones(ctx: Context) -> None:
    """An unknown code is refused with every code and its owner listed."""
    with pytest.raises(InvalidInputError) as err:
        await _take(ctx, "甘府令")
    assert "未知发文代字" in str(err.value)
    assert "甘府发（机要室）" in str(err.value)
    assert "政府会（综合科）" in str(err.value)


async def test_empty_title_is_refused(ctx: Context) -> None:
    """A number is taken for a titled draft only."""
    with pytest.raises(InvalidInputError, match="标题不能为空"):
        await _take(ctx, title="  ")


async def test_taking_without_disclosure_leaves_it_pending(ctx: Context) -> None:
    """A take without attributes (the bot's /take) is 待定 and listed as missing them."""
    t = await _take(ctx)
    assert t.missing == ["公开属性", "成文日期"]
    [rec] = await svc.dispatches(ctx)
    assert rec["disclosure"] is None
    assert rec["missing"] == ["公开属性", "成文日期"]
    rec = await svc.amend(ctx, number="甘府发[2026]1号", written_on=date(2026, 3, 1), **PUBLIC)
    assert rec["missing"] == []
    assert rec["catalogue_column"] == "政策法规/规范性文件"
    assert rec["written_on"] == "2026-03-01"


async def test_active_disclosure_records_carrier_and_column(ctx: Context) -> None:
    """主动公开 stores the carrier and the column as 栏目/子栏目; 成文日期 starts the clock."""
    t = await _take(ctx, written_on=date(2026, 3, 1), disclosure="主动公开",
                    carrier="政府公报", column="业务工作/工作简报")
    assert t.missing == []
    rec = await svc.show(ctx, t.number)
    assert (rec["disclosure"], rec["carrier"], rec["catalogue_column"], rec["written_on"]) == (
        "主动公开", "政府公报", "业务工作/工作简报", "2026-03-01")


async def test_withheld_needs_a_configured_legal_reason(ctx: Context) -> None:
    """不予公开 needs a reason from the configured list and has no carrier."""
    with pytest.raises(InvalidInputError, match=r"不予公开须说明理由.*个人隐私"):
        await _take(ctx, disclosure="不予公开")
    with pytest.raises(InvalidInputError, match="未知不予公开理由"):
        await _take(ctx, disclosure="不予公开", reason="不想公开")
    with pytest.raises(InvalidInputError, match="不设公开载体"):
        await _take(ctx, disclosure="不予公开", reason="内部事务信息", carrier="政府网站")
    t = await _take(ctx, disclosure="不予公开", reason="过程性信息")
    rec = await svc.show(ctx, t.number)
    assert (rec["disclosure"], rec["withhold_reason"], rec["carrier"]) == (
        "不予公开", "过程性信息", None)
    assert rec["missing"] == []  # no 主动公开 clock to start


@pytest.mark.parametrize(
    ("attrs", "message"),
    [
        ({"disclosure": "公开"}, "未知公开属性 '公开'，可选：主动公开、依申请公开、不予公开"),
        ({"disclosure": "主动公开", "column": "法规"}, "主动公开须指定公开载体，可选：政府网站"),
        ({"disclosure": "主动公开", "carrier": "报纸", "column": "法规"}, "未知公开载体 '报纸'"),
        ({"disclosure": "主动公开", "carrier": "政府网站"}, "主动公开须指定公开栏目"),
        ({"disclosure": "主动公开", "carrier": "政府网站", "column": "通知公告"},
         "未知公开栏目 '通知公告'，可选：机构设置概况/机构职能"),
        ({"disclosure": "依申请公开", "column": "法规"}, "公开栏目只用于主动公开"),
        ({"disclosure": "主动公开", "carrier": "政府网站", "column": "法规",
          "reason": "个人隐私"}, "只有不予公开需要理由"),
        ({"carrier": "政府网站"}, "须同时指定公开属性"),
    ],
)
async def test_wrong_disclosure_values_list_the_valid_ones(
    ctx: Context, attrs: dict[str, str], message: str
) -> None:
    """Unknown or inconsistent attributes are refused in Chinese, naming valid values."""
    with pytest.raises(InvalidInputError, match=message):
        await _take(ctx, **attrs)
    assert await svc.dispatches(ctx) == []


def test_a_subcolumn_name_must_be_unique() -> None:
    """A bare 子栏目 name is accepted only when one 栏目 has it."""
    cfg = Disclosure(carriers=["政府网站"], withhold_reasons=["国家秘密"],
                     catalogue={"政策法规": ["法规", "解读"], "业务工作": ["解读"]})
    assert svc.resolve_column(cfg, "法规") == "政策法规/法规"
    assert svc.resolve_column(cfg, "业务工作／解读") == "业务工作/解读"
    with pytest.raises(InvalidInputError, match=r"不唯一.*政策法规/解读、业务工作/解读"):
        svc.resolve_column(cfg, "解读")


async def test_void_keeps_the_number_and_never_reissues_it(ctx: Context) -> None:
    """A voided number stays with its reason; the next take gets the next number."""
    await _take(ctx)
    await _take(ctx)
    v = await svc.void(ctx, number="甘府发（2026）第2号", reason="文件撤回")
    assert v.number == "甘府发〔2026〕2号"
    nxt = await _take(ctx)
    assert nxt.number == "甘府发〔2026〕3号"
    recs = {r["number"]: r for r in await svc.dispatches(ctx)}
    assert recs["甘府发〔2026〕2号"]["status"] == "void"
    assert recs["甘府发〔2026〕2号"]["void_reason"] == "文件撤回"
    assert recs["甘府发〔2026〕2号"]["missing"] == []
    with pytest.raises(ConflictError, match="已作废"):
        await svc.void(ctx, number="甘府发〔2026〕2号", reason="再撤")
    with pytest.raises(ConflictError, match="已作废"):
        await svc.amend(ctx, number="甘府发〔2026〕2号", **PUBLIC)


async def test_void_needs_a_reason_a_known_number_and_the_right_section(ctx: Context) -> None:
    """No reason, unknown numbers and other sections' numbers are refused; 机要室 may void."""
    await _take(ctx, "政府会")
    with pytest.raises(InvalidInputError, match="作废须说明理由"):
        await svc.void(ctx, number="政府会 第1期", reason=" ", section="综合科")
    with pytest.raises(NotFoundError, match="甘府发〔2026〕9号"):
        await svc.void(ctx, number="甘府发〔2026〕9号", reason="撤回")
    with pytest.raises(PermissionDeniedError, match="属综合科"):
        await svc.void(ctx, number="政府会 第1期", reason="撤回", section="政务公开科")
    with pytest.raises(InvalidInputError, match="编号形式应为 政府会 第3期"):
        await svc.void(ctx, number="政府会〔2026〕1号", reason="撤回", section="综合科")
    v = await svc.void(ctx, number="政府会第1期", reason="会议取消")  # 机要室 keeps the book
    assert v.number == "政府会 2026年第1期"


async def test_a_short_issue_number_means_its_latest_year(ctx: Context) -> None:
    """`政府会 第1期` (as printed) finds the latest year's issue; the full form any year's."""
    await _take(ctx, "政府会", written_on=date(2025, 12, 1))
    await _take(ctx, "政府会", written_on=date(2025, 12, 2))
    await _take(ctx, "政府会", written_on=date(2026, 1, 5))
    assert (await svc.show(ctx, "政府会 第1期"))["number"] == "政府会 2026年第1期"
    assert (await svc.show(ctx, "政府会第2期"))["number"] == "政府会 2025年第2期"
    assert (await svc.show(ctx, "政府会2025年第1期"))["number"] == "政府会 2025年第1期"


async def test_amend_keeps_the_date_in_the_numbers_year(ctx: Context) -> None:
    """成文日期 cannot move a number to another year, and amend needs something to change."""
    t = await _take(ctx)
    with pytest.raises(InvalidInputError, match="与文号年份 2026 不符"):
        await svc.amend(ctx, number=t.number, written_on=date(2027, 1, 5))
    with pytest.raises(InvalidInputError, match="没有要修改的内容"):
        await svc.amend(ctx, number=t.number)
    with pytest.raises(PermissionDeniedError):
        await svc.amend(ctx, number=t.number, section="综合科", written_on=date(2026, 3, 3))


async def test_take_void_and_amend_are_audited(ctx: Context) -> None:
    """Every change leaves an entry in the hash-chained audit log, which verifies."""
    t = await _take(ctx)
    await svc.amend(ctx, number=t.number, disclosure="依申请公开")
    await svc.void(ctx, number=t.number, reason="撤回", actor="张三")
    async with ctx.db.reader() as r:
        rows = await r.fetchall("SELECT actor, action, subject FROM audit ORDER BY id")
    assert [(x["actor"], x["action"], x["subject"]) for x in rows] == [
        ("机要室", "take", f"dispatch:{t.id}"),
        ("机要室", "amend", f"dispatch:{t.id}"),
        ("张三", "void", f"dispatch:{t.id}"),
    ]
    assert await admin.verify_audit(ctx) == []


async def test_numbers_cannot_be_deleted_or_renumbered(ctx: Context, settings: Settings) -> None:
    """The database itself refuses to delete, renumber or revive a number."""
    t = await _take(ctx)
    await svc.void(ctx, number=t.number, reason="撤回")
    db = settings.storage.data_dir / "jiyao.db"
    with sqlite3.connect(db) as conn:
        for sql in ("DELETE FROM dispatches", "UPDATE dispatches SET seq = 5",
                    "UPDATE dispatches SET status = 'active'"):
            with pytest.raises(sqlite3.IntegrityError):
                conn.execute(sql)


def test_the_bot_finds_the_acting_section_of_a_chat() -> None:
    """机要室 (dispatch role) acts for 机要室; a section's staff for its section; others none."""
    s = load_settings(EXAMPLE)
    assert svc.section_for_chat(s, 200002) == "机要室"
    assert svc.section_for_chat(s, 200003) == "综合科"
    assert svc.section_for_chat(s, 200001) is None
    assert svc.section_for_chat(s, 999) is None


def test_print_count_uses_the_configured_lists() -> None:
    """The service's print count reads [[distribution]] from the settings."""
    s = load_settings(EXAMPLE)
    assert svc.print_count(s, ["州级各部门和各县"], add_units=2).total == 164


# ------------------------------------------------- property: gap-free under concurrency
BASE = load_settings(EXAMPLE)
CODES = [("甘府发", "机要室"), ("甘办函", "机要室"), ("政府会", "综合科")]
DATES = [None, date(2025, 11, 3), date(2026, 2, 9)]

ops = st.lists(
    st.one_of(
        st.tuples(st.just("take"), st.sampled_from(CODES), st.sampled_from(DATES)),
        st.tuples(st.just("void"), st.integers(0, 40)),
    ),
    min_size=1, max_size=30,
)


async def _stream(ctx: Context, stream: list[tuple], taken: list[str]) -> None:  # type: ignore[type-arg]
    for op in stream:
        if op[0] == "take":
            (code, owner), written = op[1], op[2]
            t = await svc.take(ctx, code=code, title="t", section=owner, written_on=written)
            taken.append(t.number)
        elif taken:
            with contextlib.suppress(ConflictError):  # voiding twice is refused, by design
                await svc.void(ctx, number=taken[op[1] % len(taken)], reason="撤回")
        await asyncio.sleep(0)  # let the other streams interleave


async def _run(streams: list[list[tuple]]) -> None:  # type: ignore[type-arg]
    with tempfile.TemporaryDirectory() as tmp:
        s = BASE.model_copy(update={"storage": Storage(data_dir=Path(tmp))})
        ctx = await open_context(s, clock=FrozenClock(datetime(2026, 7, 1, tzinfo=UTC)))
        try:
            taken: list[str] = []
            await asyncio.gather(*(_stream(ctx, part, taken) for part in streams))
            n_takes = sum(1 for part in streams for op in part if op[0] == "take")
            async with ctx.db.reader() as r:
                rows = await r.fetchall("SELECT code, year, seq, number FROM dispatches")
                counters = {(x["code"], x["year"]): x["last"]
                            for x in await r.fetchall("SELECT * FROM dispatch_seq")}
            assert len(rows) == n_takes == len(set(taken))
            per: dict[tuple[str, int], list[int]] = {}
            for row in rows:
                per.setdefault((row["code"], row["year"]), []).append(row["seq"])
            for key, seqs in per.items():
                assert sorted(seqs) == list(range(1, len(seqs) + 1))
                assert counters[key] == len(seqs)
            assert await admin.check(ctx, full=True) == []  # sequences 1..n among the rest
        finally:
            await ctx.db.close()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(ops, min_size=1, max_size=4))
def test_concurrent_interleaved_take_and_void_keep_sequences_gap_free(
    streams: list[list[tuple]],  # type: ignore[type-arg]
) -> None:
    """Concurrent streams of takes and voids leave every (code, year) exactly 1..n."""
    asyncio.run(_run(streams))


async def test_take_keeps_the_print_count_with_the_number(ctx: Context, settings: Settings) -> None:
    """印数 kept with the number: the lists, units added/removed and fax, the calculation,
    and the 分发 (who got how many), in the take's transaction and its audit entry."""
    from core.copies import CopiesRequest

    req = CopiesRequest(["州级各部门和各县", "报送省政府"], add_units=3, remove_units=1, extra=2)
    t = await _take(ctx, copies=req)
    assert t.copies is not None
    assert t.copies.total == 158 + 15 + 6 + 2
    shown = await svc.show(ctx, t.number)
    assert shown["copies"]["total"] == 181
    assert shown["copies"]["lines"] == t.copies.lines
    assert any("58 个受文单位" in line for line in shown["copies"]["lines"])  # the assumption
    assert [(x["recipient"], x["units"], x["copies"]) for x in shown["copies"]["shares"]] == [
        ("州级各部门和各县", 58, 158), ("报送省政府", 1, 15), ("增加的受文单位", 2, 6),
        ("存档等", None, 2)]
    fax = await _take(ctx, copies=CopiesRequest(["州级各部门和各县"], fax=True))
    rec = await svc.show(ctx, fax.number)
    assert (rec["copies"]["total"], rec["copies"]["fax"]) == (0, True)
    assert rec["copies"]["shares"] == [
        {"recipient": "州级各部门和各县（传真）", "units": 58, "copies": 0}]
    plain = await _take(ctx)
    assert (await svc.show(ctx, plain.number))["copies"] is None
    rows = await svc.register_rows(ctx, year=2026)
    assert [r["copies"]["total"] if r["copies"] else None for r in rows] == [181, 0, None]

    async with ctx.db.reader() as r:
        detail = (await r.fetchone("SELECT detail FROM audit WHERE subject = ?",
                                   (f"dispatch:{t.id}",)))["detail"]
    assert '"copies": 181' in detail

    # a count that cannot be made takes no number
    with pytest.raises(InvalidInputError):
        await _take(ctx, copies=CopiesRequest(["全体"]))
    assert [r["seq"] for r in await svc.register_rows(ctx, year=2026)] == [1, 2, 3]
    with sqlite3.connect(settings.storage.data_dir / "jiyao.db") as conn, \
            pytest.raises(sqlite3.IntegrityError):
        conn.execute("UPDATE dispatch_copies SET total = 1")
