"""Statistics of 主动公开 per section (提供和录用情况): numbers, message, PNG and XLSX."""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime

import openpyxl
import pytest
from PIL import Image

from core.errors import InvalidInputError
from core.services import disclosure, dispatch, reminders, stats
from core.services.context import Context
from tests.conftest import FrozenClock

PUBLIC = {"disclosure": "主动公开", "carrier": "政府网站", "column": "规范性文件"}


async def take_public(ctx: Context, drafter: str, title: str) -> str:
    taken = await dispatch.take(ctx, code="甘府发", title=title, section="机要室",
                                written_on=date(2026, 3, 2), drafting_section=drafter, **PUBLIC)
    return taken.number


async def publish(ctx: Context, clock: FrozenClock, number: str, day: date) -> None:
    clock.now = datetime(day.year, day.month, day.day, 2, 0, tzinfo=UTC)
    await disclosure.review_secrecy(ctx, number=number, reviewer="李审", result="通过")
    await disclosure.mark_published(ctx, number=number, url=f"https://www.gzz.gov.cn/{number}")


@pytest.fixture
async def march(ctx: Context, clock: FrozenClock) -> Context:
    """综合科: one on time, one late (4/2), one never published; 政务公开科: one on time."""
    a = await take_public(ctx, "综合科", "关于甲的通知")
    b = await take_public(ctx, "综合科", "关于乙的通知")
    await take_public(ctx, "综合科", "关于丙的通知")
    d = await take_public(ctx, "政务公开科", "关于丁的通知")
    await publish(ctx, clock, a, date(2026, 3, 20))
    await publish(ctx, clock, d, date(2026, 3, 25))
    await publish(ctx, clock, b, date(2026, 4, 2))
    clock.now = datetime(2026, 4, 10, 2, 0, tzinfo=UTC)
    return ctx


def test_periods() -> None:
    """Months, quarters and years parse to their first and last days."""
    q = stats.parse_period("2026-Q3")
    assert (q.first, q.last, q.label) == (date(2026, 7, 1), date(2026, 9, 30), "2026年第三季度")
    m = stats.parse_period("2026-02")
    assert (m.first, m.last, m.label) == (date(2026, 2, 1), date(2026, 2, 28), "2026年2月")
    y = stats.parse_period("2026")
    assert (y.first, y.last) == (date(2026, 1, 1), date(2026, 12, 31))
    assert stats.previous_quarter(date(2026, 1, 5)).key == "2025-Q4"
    assert stats.previous_month(date(2026, 1, 5)).key == "2025-12"
    for bad in ("2026-13", "2026-Q5", "26-1", "上季度"):
        with pytest.raises(InvalidInputError):
            stats.parse_period(bad)


async def test_numbers_per_section(march: Context) -> None:
    """March: 综合科 provided 3, published 1 on time, 2 超限; 政务公开科 1/1/1/0."""
    report = await stats.section_stats(march, stats.parse_period("2026-03"))
    by = {s.section: s for s in report.sections}
    z = by["综合科"]
    assert (z.provided, z.published, z.on_time, z.overdue) == (3, 1, 1, 2)
    g = by["政务公开科"]
    assert (g.provided, g.published, g.on_time, g.overdue) == (1, 1, 1, 0)
    assert (by["人事科"].provided, by["人事科"].overdue) == (0, 0)
    t = report.total
    assert (t.provided, t.published, t.on_time, t.overdue) == (4, 2, 2, 2)
    april = await stats.section_stats(march, stats.parse_period("2026-04"))
    z4 = next(s for s in april.sections if s.section == "综合科")
    assert (z4.provided, z4.published, z4.on_time, z4.overdue) == (0, 1, 0, 0)
    year = await stats.section_stats(march, stats.parse_period("2026"))
    zy = next(s for s in year.sections if s.section == "综合科")
    assert (zy.provided, zy.published, zy.on_time, zy.overdue) == (3, 2, 1, 2)


async def test_message_png_and_xlsx_render(march: Context) -> None:
    """The message names each section; the PNG opens with Pillow; the XLSX holds the numbers."""
    report = await stats.section_stats(march, stats.parse_period("2026-Q1"))
    text = report.text()
    assert text.startswith("【政务公开信息提供和录用情况】2026年第一季度")
    assert "综合科：提供 3 件，公开 1 件（按时 1 件，按时率 100%），超限 2 件" in text
    assert "合计：提供 4 件，公开 2 件（按时 2 件，按时率 100%），超限 2 件" in text

    image = Image.open(io.BytesIO(stats.render_png(report)))
    image.load()
    assert image.format == "PNG"
    assert image.size[0] >= 600
    assert image.size[1] >= 400

    ws = openpyxl.load_workbook(io.BytesIO(stats.render_xlsx(report))).active
    assert ws is not None
    rows = list(ws.iter_rows(values_only=True))
    assert "2026年第一季度" in str(rows[0][0])
    assert rows[1] == ("科室", "提供", "公开（录用）", "按时公开", "按时率", "超限")
    table = {r[0]: r[1:] for r in rows[2:]}
    assert table["综合科"] == (3, 1, 1, 1, 2)
    assert table["政务公开科"] == (1, 1, 1, 1, 0)
    assert table["人事科"] == (0, 0, 0, None, 0)
    assert table["合计"] == (4, 2, 2, 1, 2)


async def test_enqueue_stats_sends_files_to_registry_once(march: Context) -> None:
    """Publishing a period's statistics queues text, chart and table to registrars, once."""
    period = stats.parse_period("2026-03")
    assert await reminders.enqueue_stats(march, period) is True
    assert await reminders.enqueue_stats(march, period) is False
    async with march.db.reader() as r:
        rows = await r.fetchall("SELECT event, target, payload FROM outbox ORDER BY id")
    events = [(row["event"], row["target"], json.loads(row["payload"])) for row in rows]
    files = [e for e in events if e[0] in ("stats.png", "stats.xlsx")]
    assert {(e[0], e[1]) for e in files} == {
        ("stats.png", "200001"), ("stats.png", "200002"),
        ("stats.xlsx", "200001"), ("stats.xlsx", "200002"),
    }
    for _, _, payload in files:
        data = march.blobs.get(payload["blob"])
        assert data[:4] in (b"\x89PNG", b"PK\x03\x04")
        assert str(payload["filename"]).startswith("政务公开统计-2026-03")
    texts = [e for e in events if e[0] == "reminder.stats"]
    assert len(texts) == 2
    assert "2026年3月" in texts[0][2]["text"]
