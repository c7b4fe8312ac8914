"""The annual disclosure report (core.annual_report) as xlsx (openpyxl) and DOCX
(python-docx), with the format's merged header and label cells. Pure: bytes out."""

from __future__ import annotations

import io
from collections.abc import Iterator

from core.annual_report import BLANK, AnnualReport, Cell, Table

#: a merged block of a table grid: first row, first column, last row, last column
Span = tuple[int, int, int, int]


def _grid(table: Table) -> list[list[Cell]]:
    head: list[list[Cell]] = [list(r) for r in table.header]
    return head + [list(r) for r in table.rows]


def merges(table: Table) -> Iterator[Span]:
    """The merged blocks of a table: equal neighbouring text in header rows, and in the
    label columns of body rows (never in value cells: two zeros are two figures)."""
    grid = _grid(table)
    n_head = len(table.header)
    width = len(grid[0])

    def mergeable(r: int, c: int) -> bool:
        return r < n_head or c < table.label_cols

    seen: set[tuple[int, int]] = set()
    for r, row in enumerate(grid):
        for c, text in enumerate(row):
            if (r, c) in seen or not mergeable(r, c) or text == "":
                continue
            c2 = c
            while (c2 + 1 < width and mergeable(r, c2 + 1) and (r, c2 + 1) not in seen
                   and row[c2 + 1] == text):
                c2 += 1
            r2 = r
            while (r2 + 1 < len(grid) and (r2 + 1 < n_head) == (r < n_head)
                   and all(mergeable(r2 + 1, k) and (r2 + 1, k) not in seen
                           and grid[r2 + 1][k] == text for k in range(c, c2 + 1))):
                r2 += 1
            seen.update((i, k) for i in range(r, r2 + 1) for k in range(c, c2 + 1))
            if (r2, c2) != (r, c):
                yield (r, c, r2, c2)


def to_xlsx(report: AnnualReport) -> bytes:
    """One sheet per part (tables and text in order), and a sheet of the blanks to fill."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, Side

    thin = Side(style="thin")
    box = Border(left=thin, right=thin, top=thin, bottom=thin)
    wrap = Alignment(wrap_text=True, vertical="center", horizontal="center")
    wb = Workbook()
    first = wb.active
    assert first is not None
    wb.remove(first)
    for part in report.parts:
        ws = wb.create_sheet(part.heading[:31])
        ws.append([report.title])
        ws["A1"].font = Font(bold=True, size=14)
        ws.append([part.heading])
        ws["A2"].font = Font(bold=True)
        row = 3
        widest = max((len(_grid(b)[0]) for b in part.blocks if isinstance(b, Table)), default=1)
        for block in part.blocks:
            row += 1
            if isinstance(block, str):
                ws.cell(row=row, column=1, value=block).alignment = Alignment(wrap_text=True)
                ws.merge_cells(start_row=row, start_column=1, end_row=row,
                               end_column=max(widest, 8))
                ws.row_dimensions[row].height = 15 * (1 + len(block) // 60)
                continue
            if block.caption:
                ws.cell(row=row, column=1, value=block.caption).font = Font(bold=True)
                row += 1
            grid = _grid(block)
            for i, cells in enumerate(grid):
                for j, value in enumerate(cells):
                    cell = ws.cell(row=row + i, column=j + 1, value=value)
                    cell.border = box
                    cell.alignment = wrap
                    if i < len(block.header):
                        cell.font = Font(bold=True)
            for r1, c1, r2, c2 in merges(block):
                ws.merge_cells(start_row=row + r1, start_column=c1 + 1, end_row=row + r2,
                               end_column=c2 + 1)
            row += len(grid)
        for col in range(1, widest + 1):
            ws.column_dimensions[ws.cell(row=1, column=col).column_letter].width = 16
        ws.page_setup.orientation = "landscape"
        ws.page_setup.paperSize = ws.PAPERSIZE_A4
        ws.page_setup.fitToWidth = 1
        ws.page_setup.fitToHeight = 0
        ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws = wb.create_sheet("待填事项")
    ws.append([f"以下各项登记簿无从统计，已在报告中标为“{BLANK}”，请人工核实填写："])
    for i, text in enumerate(report.blanks, start=1):
        ws.append([f"{i}. {text}"])
    ws.column_dimensions["A"].width = 120
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def to_docx(report: AnnualReport) -> bytes:
    """The report as a Word document: title, the six parts, tables with merged cells."""
    from docx import Document
    from docx.enum.section import WD_ORIENT
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml.ns import qn
    from docx.shared import Pt

    doc = Document()
    style = doc.styles["Normal"]
    style.font.name = "宋体"
    style.element.rPr.rFonts.set(qn("w:eastAsia"), "宋体")
    style.font.size = Pt(10.5)
    section = doc.sections[0]
    section.orientation = WD_ORIENT.LANDSCAPE
    section.page_width, section.page_height = section.page_height, section.page_width
    title = doc.add_paragraph(report.title)
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    title.runs[0].bold = True
    title.runs[0].font.size = Pt(18)
    for part in report.parts:
        doc.add_heading(part.heading, level=2)
        for block in part.blocks:
            if isinstance(block, str):
                doc.add_paragraph(block)
                continue
            if block.caption:
                doc.add_paragraph(block.caption)
            grid = _grid(block)
            table = doc.add_table(rows=len(grid), cols=len(grid[0]))
            table.style = "Table Grid"
            spans = list(merges(block))
            covered = {(i, k) for r1, c1, r2, c2 in spans for i in range(r1, r2 + 1)
                       for k in range(c1, c2 + 1) if (i, k) != (r1, c1)}
            for i, cells in enumerate(grid):
                for j, value in enumerate(cells):
                    if (i, j) not in covered:
                        table.cell(i, j).text = str(value)
            for r1, c1, r2, c2 in spans:
                table.cell(r1, c1).merge(table.cell(r2, c2))
    doc.add_heading("附：待填事项", level=2)
    doc.add_paragraph(f"以下各项登记簿无从统计，已在报告中标为“{BLANK}”，请人工核实填写：")
    for i, text in enumerate(report.blanks, start=1):
        doc.add_paragraph(f"{i}. {text}")
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()
