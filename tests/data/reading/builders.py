"""Small, real documents and messages built in memory for the reading tests.

PDFs are made the way the corpus makes them (reportlab, STSong-Light CID font,
UniGB-UCS2-H), DOCX with python-docx, OFD with zipfile per GB/T 33190.
"""

from __future__ import annotations

import io
import zipfile
from email.message import EmailMessage

OFD_NS = "http://www.ofdspec.org/2016"


def make_pdf(lines: list[str], pages: int = 1) -> bytes:
    """A text PDF with Chinese lines on each page."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    out = io.BytesIO()
    c = canvas.Canvas(out)
    for page in range(pages):
        c.setFont("STSong-Light", 14)
        y = 780
        for line in lines:
            c.drawString(60, y, line if pages == 1 else f"{line}（第{page + 1}页）")
            y -= 24
        c.showPage()
    c.save()
    return out.getvalue()


def make_laid_out_pdf(pages: list[list[str]], *, spaced: tuple[str, ...] = (),
                      page_numbers: bool = False) -> bytes:
    """A PDF laid out as printed 公文 are: each page's lines top-down; lines listed in
    `spaced` drawn glyph by glyph at twice their advance (a letter-spaced 版头 or title),
    and a GB/T 9704 page number (`— 1 —`) at the foot of every page."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    out = io.BytesIO()
    c = canvas.Canvas(out)
    for number, lines in enumerate(pages, 1):
        y = 780
        for line in lines:
            if line in spaced:
                for k, char in enumerate(line):
                    text = c.beginText(60 + 28 * k, y)
                    text.setFont("STSong-Light", 14)
                    text.textOut(char)
                    c.drawText(text)
            else:
                c.setFont("STSong-Light", 14)
                c.drawString(60, y, line)
            y -= 24
        if page_numbers:
            c.setFont("STSong-Light", 14)
            c.drawCentredString(300, 50, f"— {number} —")
        c.showPage()
    c.save()
    return out.getvalue()


def make_blank_pdf() -> bytes:
    """A PDF whose page has no text layer (like a scan)."""
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    c = canvas.Canvas(out)
    c.rect(100, 100, 200, 200, fill=1)
    c.showPage()
    c.save()
    return out.getvalue()


def make_docx(paragraphs: list[str], table: list[list[str]] | None = None,
              after_table: list[str] | None = None) -> bytes:
    """A DOCX with paragraphs, an optional table, then more paragraphs."""
    import docx

    document = docx.Document()
    for text in paragraphs:
        document.add_paragraph(text)
    if table:
        t = document.add_table(rows=len(table), cols=len(table[0]))
        for r, row in enumerate(table):
            for c, text in enumerate(row):
                t.cell(r, c).text = text
    for text in after_table or []:
        document.add_paragraph(text)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def make_docx_package(body_xml: str) -> bytes:
    """A minimal DOCX whose w:body is `body_xml` (w: prefix bound), for structures
    python-docx does not write: content controls, fields, tracked changes."""
    types = (
        '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
        'package/2006/content-types"><Default Extension="rels" ContentType="application/'
        'vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" '
        'ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType='
        '"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>'
        "</Types>"
    )
    rels = (
        '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
        'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://'
        'schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
        'Target="word/document.xml"/></Relationships>'
    )
    document = (
        f'<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="{W_NS}"><w:body>'
        f"{body_xml}<w:sectPr/></w:body></w:document>"
    )
    return make_zip({"[Content_Types].xml": types.encode(), "_rels/.rels": rels.encode(),
                     "word/document.xml": document.encode("utf-8")})


def ofd_xml(title: str, doc_id: str = "d1", custom: dict[str, str] | None = None,
            doc_root: str = "Doc_0/Document.xml") -> str:
    customs = "".join(
        f'<ofd:CustomData Name="{k}">{v}</ofd:CustomData>' for k, v in (custom or {}).items()
    )
    custom_block = f"<ofd:CustomDatas>{customs}</ofd:CustomDatas>" if customs else ""
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><ofd:OFD xmlns:ofd="{OFD_NS}" Version="1.0" '
        f'DocType="OFD"><ofd:DocBody><ofd:DocInfo><ofd:DocID>{doc_id}</ofd:DocID>'
        f"<ofd:Title>{title}</ofd:Title><ofd:Author>办公室</ofd:Author>"
        f"<ofd:CreationDate>2024-05-20</ofd:CreationDate>{custom_block}</ofd:DocInfo>"
        f"<ofd:DocRoot>{doc_root}</ofd:DocRoot></ofd:DocBody></ofd:OFD>"
    )


def ofd_document(page_locs: list[str]) -> str:
    pages = "".join(f'<ofd:Page ID="{i + 1}" BaseLoc="{loc}"/>' for i, loc in enumerate(page_locs))
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><ofd:Document xmlns:ofd="{OFD_NS}">'
        f"<ofd:CommonData><ofd:MaxUnitID>99</ofd:MaxUnitID></ofd:CommonData>"
        f"<ofd:Pages>{pages}</ofd:Pages></ofd:Document>"
    )


def ofd_page(lines: list[str], per_char: bool = False, right_to_left: bool = False,
             page_number: int | None = None) -> str:
    """A page with one TextObject per line, or (per_char) one per character, written
    left to right or (right_to_left) from the end of each line; a `— N —` at the foot."""
    objects = []
    oid = 10
    for n, line in enumerate(lines):
        y = 20 + 7 * n
        pieces = list(enumerate(list(line) if per_char else [line]))
        for k, piece in reversed(pieces) if right_to_left else pieces:
            objects.append(
                f'<ofd:TextObject ID="{oid}" Boundary="{20 + 4 * k} {y} 170 7" Font="2" '
                f'Size="4.2"><ofd:TextCode X="0" Y="5">{piece}</ofd:TextCode></ofd:TextObject>'
            )
            oid += 1
    if page_number is not None:
        objects.append(
            f'<ofd:TextObject ID="{oid}" Boundary="95 280 20 7" Font="2" Size="4.2">'
            f'<ofd:TextCode X="0" Y="5">— {page_number} —</ofd:TextCode></ofd:TextObject>'
        )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><ofd:Page xmlns:ofd="{OFD_NS}"><ofd:Content>'
        f'<ofd:Layer ID="3">{"".join(objects)}</ofd:Layer></ofd:Content></ofd:Page>'
    )


def make_ofd(pages: list[list[str]], title: str = "标题", custom: dict[str, str] | None = None,
             per_char: bool = False, absolute_locs: bool = False, right_to_left: bool = False,
             page_numbers: bool = False) -> bytes:
    """An OFD package with the given page lines."""
    locs = [f"Pages/Page_{i}/Content.xml" for i in range(len(pages))]
    if absolute_locs:
        locs = [f"/Doc_0/{loc}" for loc in locs]
    entries = {
        "OFD.xml": ofd_xml(title, custom=custom),
        "Doc_0/Document.xml": ofd_document(locs),
    }
    for i, lines in enumerate(pages):
        entries[f"Doc_0/Pages/Page_{i}/Content.xml"] = ofd_page(
            lines, per_char=per_char, right_to_left=right_to_left,
            page_number=i + 1 if page_numbers else None,
        )
    return make_zip({k: v.encode("utf-8") for k, v in entries.items()})


def make_zip(entries: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in entries.items():
            z.writestr(name, data)
    return out.getvalue()


def make_tiff(width: int = 16, height: int = 8, pages: int = 1) -> bytes:
    """A bilevel TIFF (one or more pages) as a fax gateway sends."""
    from PIL import Image

    frames = [Image.new("1", (width, height), color=1) for _ in range(pages)]
    out = io.BytesIO()
    frames[0].save(out, format="TIFF", compression="group4", save_all=True,
                   append_images=frames[1:])
    return out.getvalue()


def make_png() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (10, 6), color=(200, 0, 0)).save(out, format="PNG")
    return out.getvalue()


def make_jpeg() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (10, 6), color=(200, 0, 0)).save(out, format="JPEG")
    return out.getvalue()


def envelope(subject: str = "测试", sender: str = "四川省人民政府办公厅 <wenshu@sc.gov.cn>",
             to: str = "甘孜州人民政府 <shouwen@gzz.gov.cn>") -> EmailMessage:
    """A message with the usual headers and no body yet."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = "Mon, 18 Mar 2024 10:00:00 +0800"
    msg["Message-ID"] = "<t1@sc.gov.cn>"
    return msg


def raw_message(head: str, body: bytes, content_type: str,
                cte: str = "8bit") -> bytes:
    """A single-part message whose body bytes are given exactly (for charset tests)."""
    header = (
        "From: sender@sc.gov.cn\r\nTo: shouwen@gzz.gov.cn\r\nSubject: t\r\n"
        "Date: Mon, 18 Mar 2024 10:00:00 +0800\r\nMessage-ID: <x@sc.gov.cn>\r\n"
        f"MIME-Version: 1.0\r\nContent-Type: {content_type}\r\n"
        f"Content-Transfer-Encoding: {cte}\r\n{head}\r\n"
    )
    return header.encode("ascii") + body
