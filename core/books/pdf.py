"""A book of registers as a PDF printed as an office prints it: landscape A4, each
register from a new page as a bordered table, its title line and header row repeated on
every page, columns sized by their contents to fill the page width, text wrapped, page
numbers at the foot. reportlab with the built-in CJK CID font STSong-Light (as the
公文处理单, core.slip): no font file needed to write it. Empty registers are not printed
(a book with none prints its first, empty)."""

from __future__ import annotations

import io
from typing import Any

from core.books import Book, Sheet, display_width
from core.slip import FONT

#: points of a display column at the body size (a CJK character takes two)
_BODY, _HEAD, _TITLE = 8, 8.5, 14
_MARGIN_MM = 10


def render(book: Book) -> bytes:
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.units import mm
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import PageBreak, SimpleDocTemplate

    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    page = landscape(A4)
    width = page[0] - 2 * _MARGIN_MM * mm
    printed = [s for s in book.sheets if s.rows] or book.sheets[:1]
    story: list[Any] = []
    for i, sheet in enumerate(printed):
        if i:
            story.append(PageBreak())
        story.append(_table(sheet, width))

    def foot(canvas: Any, doc: Any) -> None:
        canvas.saveState()
        canvas.setFont(FONT, 8)
        canvas.drawCentredString(page[0] / 2, 5 * mm, f"第 {doc.page} 页")
        canvas.restoreState()

    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=page, title=book.title, leftMargin=_MARGIN_MM * mm,
                            rightMargin=_MARGIN_MM * mm, topMargin=_MARGIN_MM * mm,
                            bottomMargin=_MARGIN_MM * mm)
    doc.build(story, onFirstPage=foot, onLaterPages=foot)
    return buf.getvalue()


#: columns this narrow (编号, 文号, dates, 密级…) keep their contents on one line when they can
_SHORT = 18


def column_widths(sheet: Sheet, width: float) -> list[float]:
    """Column widths in points filling `width`: short columns as wide as their contents,
    every other at least as wide as its header, the rest of the width shared by what
    their contents want beyond that (the widest cell, up to the column's limit)."""
    unit = _BODY / 2  # a display column at the body size
    pad = 5.0
    heads, wants = [], []
    for i, column in enumerate(sheet.columns):
        widest = max((display_width(r[i]) for r in sheet.rows), default=0)
        head = display_width(column.header) * (_HEAD / 2) + pad
        want = max(head, min(column.max_width, widest) * unit + pad)
        heads.append(want if column.max_width <= _SHORT else head)
        wants.append(want)
    extra = [w - h for w, h in zip(wants, heads, strict=True)]
    room = width - sum(heads)
    if room <= 0:  # the minimums alone overflow: shrink all alike (they wrap)
        return [width * h / sum(heads) for h in heads]
    if sum(extra) <= room:  # everything fits: the spare width goes by what they want
        return [width * w / sum(wants) for w in wants]
    return [h + room * e / sum(extra) for h, e in zip(heads, extra, strict=True)]


def _table(sheet: Sheet, width: float) -> Any:
    from reportlab.lib import colors
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.platypus import Paragraph, Table, TableStyle

    title = ParagraphStyle("title", fontName=FONT, fontSize=_TITLE, leading=_TITLE * 1.6,
                           alignment=1)
    head = ParagraphStyle("head", fontName=FONT, fontSize=_HEAD, leading=_HEAD * 1.35,
                          alignment=1, wordWrap="CJK")
    cell = ParagraphStyle("cell", fontName=FONT, fontSize=_BODY, leading=_BODY * 1.35,
                          wordWrap="CJK")

    def para(text: str, style: ParagraphStyle) -> Paragraph:
        safe = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        return Paragraph(safe, style)

    n = len(sheet.columns)
    data: list[list[Any]] = [[para(sheet.title, title)] + [""] * (n - 1),
                             [para(c.header, head) for c in sheet.columns]]
    data += [[para(v, cell) for v in row] for row in sheet.rows]
    table = Table(data, colWidths=column_widths(sheet, width), repeatRows=2)
    table.setStyle(TableStyle([
        ("SPAN", (0, 0), (-1, 0)),
        ("GRID", (0, 1), (-1, -1), 0.5, colors.black),
        ("BOX", (0, 1), (-1, -1), 1.2, colors.black),
        ("BACKGROUND", (0, 1), (-1, 1), colors.Color(0.92, 0.92, 0.92)),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("BOTTOMPADDING", (0, 0), (-1, 0), 6),
        ("LEFTPADDING", (0, 1), (-1, -1), 2),
        ("RIGHTPADDING", (0, 1), (-1, -1), 2),
    ]))
    return table
