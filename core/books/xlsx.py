"""A book of registers as an XLSX workbook printed as an office prints it: one sheet per
register, the title line (office, year, register) above a frozen header row, both
repeated on every printed page, landscape A4 fitted to the page width, columns as wide
as their contents (up to each column's limit, then wrapped), page numbers in the footer.

The workbook is written as a stream (openpyxl write-only): each row goes to the sheet's
file as it is appended and is not kept as cell objects, so the writer's memory does not
grow with the rows (issue 18: a normal workbook took ~5 KB a row). What a stream must
know before its first row (column widths, the frozen pane, fit to page) is settled
first, the widths from one pass over the sheet's rows."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import IO, Any

from core.books import Book, Sheet, display_width

#: Excel's widths are in characters of the default font; a little air on each side
_PAD = 2
_MIN_WIDTH = 6
TITLE_ROW, HEADER_ROW = 1, 2


def render(book: Book) -> bytes:
    """The workbook as bytes (the caller stores it 0600)."""
    buf = io.BytesIO()
    write(book, buf)
    return buf.getvalue()


def write(book: Book, out: IO[bytes]) -> None:
    """The workbook written to `out` (a file the caller opened 0600). Each sheet's rows are
    gone over twice, for the widths and then to write them: a streamed source (core.books
    Rows) is read twice rather than held."""
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    for sheet in book.sheets:
        _fill(wb.create_sheet(sheet.name), sheet)
    wb.properties.title = book.title
    wb.save(out)


def column_widths(sheet: Sheet) -> list[float]:
    """Each column as wide as its widest cell or header, within its limits."""
    widest = [display_width(c.header) for c in sheet.columns]
    for row in sheet.rows:
        for i, value in enumerate(row):
            widest[i] = max(widest[i], display_width(value))
    return [max(_MIN_WIDTH, min(c.max_width, w) + _PAD)
            for c, w in zip(sheet.columns, widest, strict=True)]


def print_setup(ws: Any) -> None:
    """How a register prints: title and header rows on every page, landscape A4 fitted to
    the width, centred, page numbers in the footer. `ws` is a normal or a write-only
    sheet (which lacks the paper-size constants)."""
    from openpyxl.worksheet.worksheet import Worksheet

    ws.print_title_rows = f"{TITLE_ROW}:{HEADER_ROW}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = Worksheet.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.page_margins.top = ws.page_margins.bottom = 0.6
    ws.oddFooter.center.text = "第 &P 页，共 &N 页"


def _fill(ws: Any, sheet: Sheet) -> None:
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet._write_only import WriteOnlyWorksheet

    assert isinstance(ws, WriteOnlyWorksheet)
    n = len(sheet.columns)
    # the sheet's head (properties, pane, columns) is written with its first row
    for i, width in enumerate(column_widths(sheet), start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.freeze_panes = f"A{HEADER_ROW + 1}"
    print_setup(ws)
    ws.merged_cells.add(f"A{TITLE_ROW}:{get_column_letter(n)}{TITLE_ROW}")
    ws.row_dimensions[TITLE_ROW].height = 30

    thin = Side(style="thin")
    box = Border(left=thin, right=thin, top=thin, bottom=thin)
    title = WriteOnlyCell(ws, sheet.title)
    title.font = Font(bold=True, size=16)
    title.alignment = Alignment(horizontal="center", vertical="center")
    ws.append([title])
    head = []
    for column in sheet.columns:
        cell = WriteOnlyCell(ws, column.header)
        cell.font = Font(bold=True)
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        cell.fill = PatternFill("solid", fgColor="EEEEEE")
        cell.border = box
        head.append(cell)
    ws.append(head)
    # one styled cell per column, given each row's value: a row is written as it is
    # appended, so the cells are free again for the next one
    cells = _styled(ws, n, Alignment(vertical="top", wrap_text=True), box)
    for row in sheet.rows:
        ws.append(_with_values(cells, row))


def _styled(ws: Any, n: int, alignment: Any, border: Any) -> list[Any]:
    from openpyxl.cell import WriteOnlyCell

    out = []
    for _ in range(n):
        cell = WriteOnlyCell(ws)
        cell.alignment = alignment
        cell.border = border
        out.append(cell)
    return out


def _with_values(cells: list[Any], row: Sequence[str]) -> list[Any]:
    for cell, value in zip(cells, row, strict=True):
        cell.value = value
    return cells
