"""The xlsx register written as a stream (issue 18 item 5): the print settings and cells
of a normal workbook, with the writer's memory flat in the number of rows."""

from __future__ import annotations

import gc
import io
import tracemalloc

import openpyxl

from core.books import Book, Column, Sheet, xlsx
from tests.printed import assert_printed_as_book

COLUMNS = (Column("编号", 12), Column("来文单位", 20), Column("标题", 40), Column("份数", 4),
           Column("备注", 20))


def book(rows: int) -> Book:
    cells = [[f"办2026-{k + 1:05d}", "康定市人民政府", f"关于第{k}项防汛工作的通知" * (1 + k % 3),
              str(1 + k % 4), "" if k % 2 else "作废"] for k in range(rows)]
    return Book("收文登记簿", [
        Sheet("办件", "甘孜州2026年收文登记簿（办件）", COLUMNS, cells),
        Sheet("阅件", "甘孜州2026年收文登记簿（阅件）", COLUMNS, []),
    ])


def test_streamed_workbook_keeps_the_print_layout() -> None:
    data = book(300)
    wb = openpyxl.load_workbook(io.BytesIO(xlsx.render(data)))
    assert wb.sheetnames == ["办件", "阅件"]
    assert wb.properties.title == "收文登记簿"
    for ws, sheet in zip(wb, data.sheets, strict=True):
        rows = list(ws.iter_rows(values_only=True))
        assert rows[0][0] == sheet.title
        assert [str(m) for m in ws.merged_cells.ranges] == ["A1:E1"]
        assert ws.row_dimensions[1].height == 30
        assert list(rows[1]) == [c.header for c in COLUMNS]
        assert_printed_as_book(ws)
        assert ws.print_options.horizontalCentered is True
        # every row as given ("" reads back as an empty cell), wrapped and boxed
        assert [[v or "" for v in r] for r in rows[2:]] == sheet.rows
        for row in ws.iter_rows(min_row=3):
            assert all(c.alignment.wrap_text and c.border.left.style == "thin" for c in row)
    ws = wb["办件"]
    widths = {c: ws.column_dimensions[c].width for c in "ABCDE"}
    # 编号 fits its 12 columns (办 counts two), 来文单位 its 14; 标题 (up to 3 × 26)
    # stops at its limit 40; 份数 and 备注 (4 wide) take the minimum 6; 2 of air each
    assert widths == {"A": 14, "B": 16, "C": 42, "D": 6, "E": 6}


def _peak(rows: int) -> int:
    data = book(rows)
    gc.collect()
    tracemalloc.start()
    try:
        xlsx.render(data)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_writer_memory_is_flat_in_the_rows() -> None:
    # the book's own rows are built before; the writer's peak may grow by the bytes of
    # the finished file only (a normal workbook grew ~5 KB a row, cell objects)
    small, large = _peak(400), _peak(2400)
    per_row = (large - small) / 2000
    assert per_row < 600, per_row
