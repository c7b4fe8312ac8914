"""The 政府信息公开工作年度报告: a year seeded through the services, `jiyao annual-report` run as
staff run it, the DOCX and xlsx opened and their table cells checked; the January reminder."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import openpyxl
import pytest
from docx import Document

from core import deadline_rules as rules
from core.annual_report import BLANK
from core.errors import InvalidInputError
from core.services import disclosure, dispatch, overdue, reminders, requests
from core.services.context import Context
from core.storage import reminders as reminders_repo
from tests.conftest import FrozenClock, run_cli

E = rules.RequestEventKind
R = rules.ReplyType


async def _request(ctx: Context, received: date, answer: tuple[date, R] | None = None, *,
                   reason: str | None = None, organ: str | None = None,
                   extend_on: date | None = None, kind: str | None = None) -> None:
    v = await requests.add_request(ctx, applicant="张三", content="某项政府信息",
                                   channel="当面", received=received, applicant_kind=kind)
    if extend_on:
        await requests.request_event(ctx, v.id, E.EXTEND, on=extend_on, workdays=20,
                                     reason="需要调取档案")
    if answer:
        await requests.request_event(ctx, v.id, E.ANSWER, on=answer[0], reply=answer[1],
                                     reason=reason, organ=organ)


async def _public(ctx: Context, written: date, column: str, drafter: str) -> str:
    t = await dispatch.take(ctx, code="甘府发", title="关于某事的通知", section="机要室",
                            written_on=written, drafting_section=drafter,
                            disclosure="主动公开", carrier="政府网站", column=column)
    return t.number


async def seed_2025(ctx: Context) -> None:
    """A year of records: what each cell of the report must then say is in the comments."""
    d = date
    await _request(ctx, d(2024, 6, 3), (d(2024, 6, 20), R.PROVIDED))  # closed in 2024: none
    await _request(ctx, d(2024, 12, 20), (d(2025, 1, 10), R.PROVIDED))  # 上年结转, (一)
    await _request(ctx, d(2025, 3, 2), (d(2025, 3, 10), R.ALREADY_PUBLIC))  # (一)
    await _request(ctx, d(2025, 4, 1), (d(2025, 4, 10), R.WITHHELD), reason="国家秘密")
    await _request(ctx, d(2025, 5, 6), (d(2025, 5, 20), R.WITHHELD), reason="个人隐私")
    await _request(ctx, d(2025, 6, 2), (d(2025, 6, 10), R.NOT_EXIST))  # (四)1
    await _request(ctx, d(2025, 6, 3), (d(2025, 6, 12), R.NOT_OURS),
                   organ="甘孜州自然资源局")  # (四)1
    await _request(ctx, d(2025, 7, 1), (d(2025, 7, 8), R.REPEAT))  # (五)2
    await _request(ctx, d(2025, 8, 1), (d(2025, 9, 15), R.PROVIDED),
                   extend_on=d(2025, 8, 20))  # extended, answered in time: (一)
    await _request(ctx, d(2025, 9, 1), (d(2025, 11, 3), R.SPECIAL_REGISTER))  # late, (六)3
    await _request(ctx, d(2025, 10, 9))  # open, due in November: overdue, 结转
    await _request(ctx, d(2025, 12, 22))  # open, due in January: 结转
    await _request(ctx, d(2026, 1, 5))  # next year's: none
    await _public(ctx, d(2025, 3, 2), "规范性文件", "综合科")
    await _public(ctx, d(2025, 5, 8), "规范性文件", "综合科")
    await _public(ctx, d(2025, 6, 9), "规章", "财经科")
    await _public(ctx, d(2025, 7, 1), "工作计划", "财经科")
    await _public(ctx, d(2024, 11, 1), "规范性文件", "综合科")  # last year's
    await dispatch.take(ctx, code="甘府函", title="关于某事的函", section="机要室",
                        written_on=d(2025, 4, 1), disclosure="依申请公开")
    await overdue.sync(ctx)


EXPECTED = {
    "一、本年新收政府信息公开申请数量": "10",
    "二、上年结转政府信息公开申请数量": "1",
    "（一）予以公开": "3",
    "（二）部分公开（区分处理的，只计这一情形，不计其他情形）": BLANK,
    "1.属于国家秘密": "1",
    "4.保护第三方合法权益": "1",
    "7.属于行政执法案卷": "0",
    "1.本机关不掌握相关政府信息": "2",
    "2.重复申请": "1",
    "3.其他": "1",
    "（七）总计": "9",
    "四、结转下年度继续办理": "2",
}


async def test_annual_report_tables_carry_the_seeded_counts(
    ctx: Context, clock: FrozenClock, tmp_path: Path
) -> None:
    clock.now = datetime(2026, 1, 6, 2, 0, tzinfo=UTC)
    await seed_2025(ctx)
    out = tmp_path / "报告"
    r = run_cli("annual-report", "2025", "--out", str(out), data_dir=tmp_path / "data")
    assert r.returncode == 0, r.stderr
    assert "《甘孜藏族自治州人民政府2025年政府信息公开工作年度报告》" in r.stdout
    assert "行政复议、行政诉讼" in r.stdout  # the blanks are listed at the end
    assert sorted(p.name for p in out.iterdir()) == [
        "政府信息公开工作年度报告-2025.docx", "政府信息公开工作年度报告-2025.xlsx"]
    assert all(p.stat().st_mode & 0o777 == 0o600 for p in out.iterdir())

    # DOCX: the big table, one row per format row, the 总计 column last
    doc = Document(str(out / "政府信息公开工作年度报告-2025.docx"))
    [big] = [t for t in doc.tables if "申请人情况" in t.cell(0, 3).text]
    rows = {row.cells[2].text: row.cells[-1].text for row in big.rows[3:]}
    for label, value in EXPECTED.items():
        assert rows[label] == value, label
    # applicant-kind columns are blanks: the registry does not record them
    assert big.rows[3].cells[3].text == BLANK
    # merged as the format draws it: the note spans three label columns and header rows
    assert big.cell(0, 0)._tc is big.cell(2, 2)._tc
    [public] = [t for t in doc.tables if t.cell(0, 0).text == "第二十条第（一）项"]
    assert [c.text for c in public.rows[2].cells] == ["规章", "1", BLANK, BLANK]
    assert [c.text for c in public.rows[3].cells] == ["行政规范性文件", "2", BLANK, BLANK]
    text = "\n".join(p.text for p in doc.paragraphs)
    assert "本年登记主动公开的发文 4 件" in text
    assert "经批准延长答复期限的 1 件" in text
    assert "超过法定期限答复的 1 件" in text
    assert "截至年底已超过答复期限尚未答复的 1 件" in text
    [sections] = [t for t in doc.tables if t.cell(0, 1).text == "提供"]
    provided = {row.cells[0].text: row.cells[1].text for row in sections.rows[1:]}
    assert provided["综合科"] == "2"
    assert provided["财经科"] == "2"
    assert provided["合计"] == "4"
    [review] = [t for t in doc.tables if t.cell(0, 0).text == "行政复议"]
    assert {c.text for c in review.rows[3].cells} == {BLANK}

    # xlsx: the same figures, one sheet per part, merged label cells
    wb = openpyxl.load_workbook(out / "政府信息公开工作年度报告-2025.xlsx")
    assert wb.sheetnames[:3] == ["一、总体情况", "二、主动公开政府信息情况",
                                 "三、收到和处理政府信息公开申请情况"]
    ws = wb["三、收到和处理政府信息公开申请情况"]
    got = {}
    for row in ws.iter_rows(min_row=7, values_only=True):
        labels = [v for v in row[:3] if v is not None]
        if labels:
            got[labels[-1]] = str(row[9])
    for label, value in EXPECTED.items():
        assert got[label] == value, label
    assert "A4:C6" in {str(m) for m in ws.merged_cells.ranges}
    assert ws.page_setup.orientation == "landscape"
    blanks = [c.value for c in wb["待填事项"]["A"]]
    assert any("行政复议" in str(v) for v in blanks)


async def test_annual_report_second_run_replaces_atomically(
    ctx: Context, clock: FrozenClock, tmp_path: Path
) -> None:
    clock.now = datetime(2026, 1, 6, 2, 0, tzinfo=UTC)
    await _request(ctx, date(2025, 3, 2), (date(2025, 3, 10), R.PROVIDED))
    out = tmp_path / "out"
    assert run_cli("annual-report", "2025", "--out", str(out),
                   data_dir=tmp_path / "data").returncode == 0
    await _request(ctx, date(2025, 4, 1), (date(2025, 4, 10), R.PROVIDED))
    assert run_cli("annual-report", "2025", "--out", str(out),
                   data_dir=tmp_path / "data").returncode == 0
    assert len(list(out.iterdir())) == 2  # no temporary file left behind
    doc = Document(str(out / "政府信息公开工作年度报告-2025.docx"))
    [big] = [t for t in doc.tables if "申请人情况" in t.cell(0, 3).text]
    assert big.rows[3].cells[-1].text == "2"


def test_annual_report_refuses_a_future_year_in_chinese(tmp_path: Path) -> None:
    r = run_cli("annual-report", "2099", "--out", str(tmp_path / "o"), data_dir=tmp_path / "d")
    assert r.returncode == 2
    assert "尚未开始" in r.stderr
    assert "Traceback" not in r.stderr


async def _planned(ctx: Context, subject: str) -> list[tuple[str, str]]:
    async with ctx.db.reader() as r:
        rows = await reminders_repo.reminders_of(r, subject)
    return [(row["due_at"][:16], row["target"]) for row in rows if row["cancelled_at"] is None]


async def test_january_reminder_to_prepare_the_report(ctx: Context, clock: FrozenClock) -> None:
    """The digest of 2 January 2026 plans last year's report: the first working day of
    January (Sunday 4 January, a make-up workday), 5 and 1 working days before Friday
    30 January (the 31st is a Saturday), and that day; once, however often it runs."""
    clock.now = datetime(2026, 1, 2, 1, 30, tzinfo=UTC)
    await reminders.enqueue_digest(ctx)
    await reminders.enqueue_digest(ctx)
    planned = await _planned(ctx, "annual-report:2025")
    assert sorted(planned) == [
        ("2026-01-04T01:00", "registry"), ("2026-01-23T01:00", "registry"),
        ("2026-01-29T01:00", "registry"), ("2026-01-30T01:00", "registry"),
    ]
    async with ctx.db.reader() as r:
        rows = await reminders_repo.reminders_of(r, "annual-report:2025")
    assert "jiyao annual-report 2025" in rows[0]["text"]
    assert "1 月 31 日前" in rows[0]["text"]


async def test_no_annual_reminder_outside_january(ctx: Context) -> None:
    await reminders.enqueue_digest(ctx)  # the fixture's clock: 2 March 2026
    assert await _planned(ctx, "annual-report:2025") == []
    assert await _planned(ctx, "annual-report:2026") == []


async def test_published_cycle_counts_in_the_section_table(
    ctx: Context, clock: FrozenClock, tmp_path: Path
) -> None:
    clock.now = datetime(2026, 1, 6, 2, 0, tzinfo=UTC)
    number = await _public(ctx, date(2025, 3, 2), "规范性文件", "综合科")
    await overdue.sync(ctx)
    await disclosure.review_secrecy(ctx, number=number, reviewer="王五", result="通过",
                                    on=date(2025, 3, 5))
    await disclosure.mark_published(ctx, number=number, url="https://example.gov.cn/1",
                                    on=date(2025, 3, 6))
    out = tmp_path / "o"
    assert run_cli("annual-report", "2025", "--out", str(out),
                   data_dir=tmp_path / "data").returncode == 0
    doc = Document(str(out / "政府信息公开工作年度报告-2025.docx"))
    [sections] = [t for t in doc.tables if t.cell(0, 1).text == "提供"]
    row = next(r for r in sections.rows if r.cells[0].text == "综合科")
    assert [c.text for c in row.cells] == ["综合科", "1", "1", "1", "0"]


async def test_applicant_columns_are_filled_where_every_category_is_known(
    ctx: Context, clock: FrozenClock, tmp_path: Path
) -> None:
    clock.now = datetime(2026, 1, 6, 2, 0, tzinfo=UTC)
    for day in (3, 4):
        await _request(ctx, date(2025, 3, day), (date(2025, 3, 10), R.PROVIDED), kind="自然人")
    await _request(ctx, date(2025, 4, 1), (date(2025, 4, 8), R.NOT_EXIST), kind="商业企业")
    await _request(ctx, date(2025, 12, 22))  # category not recorded, still open
    out = tmp_path / "o"
    r = run_cli("annual-report", "2025", "--out", str(out), data_dir=tmp_path / "data")
    assert r.returncode == 0, r.stderr
    assert "1 件申请未登记申请人类别" in r.stdout
    doc = Document(str(out / "政府信息公开工作年度报告-2025.docx"))
    [big] = [t for t in doc.tables if "申请人情况" in t.cell(0, 3).text]
    rows = {row.cells[2].text: [c.text for c in row.cells[3:]] for row in big.rows[3:]}
    assert rows["（一）予以公开"] == ["2", "0", "0", "0", "0", "0", "2"]
    assert rows["1.本机关不掌握相关政府信息"] == ["0", "1", "0", "0", "0", "0", "1"]
    assert rows["（七）总计"] == ["2", "1", "0", "0", "0", "0", "3"]
    # rows that count the request without a category: only the total is known
    assert rows["一、本年新收政府信息公开申请数量"] == [BLANK] * 6 + ["4"]
    assert rows["四、结转下年度继续办理"] == [BLANK] * 6 + ["1"]


async def test_unknown_applicant_kind_is_refused_in_chinese(ctx: Context) -> None:
    with pytest.raises(InvalidInputError, match="未知申请人类别"):
        await requests.add_request(ctx, applicant="张三", content="x", channel="当面",
                                   received=date(2026, 3, 2), applicant_kind="公司")
