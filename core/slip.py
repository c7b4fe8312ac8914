"""The 公文处理单 (收文处理笺): the slip a registry prints and files with a received
document, as an A4 PDF with a bordered table (reportlab, the built-in CJK CID font
STSong-Light, so no font file is needed). Pure: the fields in, PDF bytes out. The same
font renders plain text as PDF (`text_pdf`: the archive's rendition of a text document)."""

from __future__ import annotations

import io
from dataclasses import dataclass

#: the slip's rows in print order: (label, field of Slip)
ROWS = (
    ("收文编号", "number"), ("收文日期", "received"), ("来文单位", "sender"),
    ("文号", "doc_number"), ("密级", "secrecy"), ("紧急程度", "urgency"), ("标题", "title"),
    ("拟办意见", "proposal"), ("领导批示", "instructions"), ("承办单位", "units"),
    ("办理期限", "due"), ("办理结果", "result"), ("答复", "reply"),
)


@dataclass(frozen=True)
class Slip:
    office: str
    number: str
    received: str
    sender: str
    doc_number: str
    secrecy: str
    urgency: str
    title: str
    proposal: str
    instructions: str
    units: str
    due: str
    result: str
    reply: str


FONT = "STSong-Light"


def _register_font() -> None:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))


def _markup(text: str) -> str:
    """Text as a reportlab paragraph: escaped, line breaks kept, never empty."""
    safe = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return safe.replace("\n", "<br/>") or "　"


def render(slip: Slip) -> bytes:
    """The slip as PDF bytes: a title line and one bordered row per field, text wrapped."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    _register_font()
    head = ParagraphStyle("head", fontName=FONT, fontSize=18, leading=26, alignment=1)
    cell = ParagraphStyle("cell", fontName=FONT, fontSize=11, leading=16, wordWrap="CJK")
    tall = {"proposal", "instructions", "result"}

    def para(text: str) -> Paragraph:
        return Paragraph(_markup(text), cell)

    data = [[para(label), para(getattr(slip, name))] for label, name in ROWS]
    heights = [30 * mm if name in tall else None for _, name in ROWS]
    table = Table(data, colWidths=[30 * mm, 140 * mm], rowHeights=heights)
    table.setStyle(TableStyle([
        ("GRID", (0, 0), (-1, -1), 0.8, colors.black),
        ("BOX", (0, 0), (-1, -1), 1.5, colors.black),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("BACKGROUND", (0, 0), (0, -1), colors.whitesmoke),
    ]))
    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=A4, title=f"公文处理单 {slip.number}",
                            leftMargin=20 * mm, rightMargin=20 * mm, topMargin=20 * mm,
                            bottomMargin=20 * mm)
    doc.build([Paragraph(f"{slip.office}<br/>公文处理单", head), Spacer(1, 6 * mm), table])
    return buf.getvalue()


def text_pdf(title: str, text: str, note: str = "") -> bytes:
    """Plain text as an A4 PDF: a title, an optional note line, then the text's paragraphs."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

    _register_font()
    head = ParagraphStyle("head", fontName=FONT, fontSize=16, leading=24, alignment=1)
    small = ParagraphStyle("note", fontName=FONT, fontSize=9, leading=13, wordWrap="CJK")
    body = ParagraphStyle("body", fontName=FONT, fontSize=12, leading=20, wordWrap="CJK")
    flow = [Paragraph(_markup(title), head), Spacer(1, 4 * mm)]
    if note:
        flow += [Paragraph(_markup(note), small), Spacer(1, 4 * mm)]
    flow += [Paragraph(_markup(block), body) for block in text.split("\n\n") if block.strip()]
    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=A4, title=title, leftMargin=25 * mm,
                            rightMargin=25 * mm, topMargin=25 * mm, bottomMargin=25 * mm)
    doc.build(flow)
    return buf.getvalue()
