"""A book of registers as an XLSX workbook printed as an office prints it: one sheet per
register, the title line (office, year, register) above a frozen header row, both
repeated on every printed page, landscape A4 fitted to the page width, columns as wide
as their contents (up to each column's limit, then wrapped), page numbers in the footer."""

from __future__ import annotations

import io

from core.books import Book, Sheet, display_width

#: Excel's widths are in characters of the default font; a little air on each side
_PAD = 2
_MIN_WIDTH = 6
TITLE_ROW, HEADER_ROW = 1, 2


def render(book: Book) -> bytes:
    """The workbook as bytes (the caller stores it 0600)."""
    from openpyxl import Workbook

    wb = Workbook()
    first = wb.active
    assert first is not None
    wb.remove(first)
    for sheet in book.sheets:
        _fill(wb.create_sheet(sheet.name), sheet)
    wb.properties.title = book.title
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _fill(ws: object, sheet: Sheet) -> None:
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.worksheet import Worksheet

    assert isinstance(ws, Worksheet)
    n = len(sheet.columns)
    thin = Side(style="thin")
    box = Border(left=thin, right=thin, top=thin, bottom=thin)
    ws.append([sheet.title])
    ws.merge_cells(start_row=TITLE_ROW, start_column=1, end_row=TITLE_ROW, end_column=n)
    title = ws.cell(TITLE_ROW, 1)
    title.font = Font(bold=True, size=16)
    title.alignment = Alignment(horizontal="center", vertical="center")
    ws.row_dimensions[TITLE_ROW].height = 30
    ws.append([c.header for c in sheet.columns])
    for cell in ws[HEADER_ROW]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        cell.fill = PatternFill("solid", fgColor="EEEEEE")
        cell.border = box
    wrap = Alignment(vertical="top", wrap_text=True)
    for row in sheet.rows:
        ws.append(row)
        for cell in ws[ws.max_row]:
            cell.alignment = wrap
            cell.border = box
    for i, column in enumerate(sheet.columns, start=1):
        widest = max((display_width(r[i - 1]) for r in sheet.rows), default=0)
        widest = max(widest, display_width(column.header))
        width = max(_MIN_WIDTH, min(column.max_width, widest) + _PAD)
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.freeze_panes = ws.cell(HEADER_ROW + 1, 1).coordinate
    ws.print_title_rows = f"{TITLE_ROW}:{HEADER_ROW}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.page_margins.top = ws.page_margins.bottom = 0.6
    ws.oddFooter.center.text = "第 &P 页，共 &N 页"
