"""PDF renditions of received documents for the archive hand-over (GB/T 18894: a 版式
文件 beside an original that is not PDF/OFD). Pure: bytes in, a Rendition out.

- PDF and OFD are already 版式文件: nothing to make.
- Images (fax TIFF pages, scans): each page into one PDF page, pixels untouched.
- DOCX, plain text, HTML and a mail body: the text the registry reads from them, laid out
  in the CJK font of core.slip. Their own layout is not kept, and the rendition says so:
  converting DOCX faithfully needs an office suite the registry does not run.
- Anything else (.doc/.wps, RTF, unknown): no rendition, and the reason.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass

from PIL import Image, ImageSequence

from core.reading.documents import extract
from core.reading.documents.formats import declared, sniff
from core.reading.mail import Attachment
from core.slip import text_pdf

#: formats that are 版式文件 themselves
FIXED_LAYOUT = frozenset({"pdf", "ofd"})
IMAGES = frozenset({"tiff", "png", "jpeg", "gif", "bmp"})
TEXTUAL = frozenset({"docx", "text", "html"})
#: pages of an image rendered at most (a fax of more is cut, and says so)
MAX_PAGES = 500


@dataclass(frozen=True)
class Rendition:
    fmt: str  # the original's format as read from its bytes
    pdf: bytes | None  # None: no rendition (fixed layout already, or impossible)
    note: str  # what was done, in Chinese, for the metadata


def format_of(filename: str | None, content_type: str, data: bytes) -> str:
    """The format by the bytes first; a zip is told apart by its main entry."""
    fmt = sniff(data) or declared(Attachment.of(filename, content_type, b""))
    if fmt == "zip":
        try:
            names = set(zipfile.ZipFile(io.BytesIO(data)).namelist())
        except zipfile.BadZipFile:
            return "zip"
        if "OFD.xml" in names:
            return "ofd"
        if "word/document.xml" in names:
            return "docx"
    return str(fmt)


def _image_pdf(data: bytes) -> tuple[bytes, int, bool]:
    with Image.open(io.BytesIO(data)) as img:
        pages: list[Image.Image] = []
        for frame in ImageSequence.Iterator(img):
            if len(pages) == MAX_PAGES:
                return _save(pages), len(pages), True
            pages.append(frame.convert("RGB"))
        return _save(pages), len(pages), False


def _save(pages: list[Image.Image]) -> bytes:
    buf = io.BytesIO()
    first, *rest = pages
    first.save(buf, "PDF", save_all=True, append_images=rest, resolution=200.0)
    return buf.getvalue()


def render(title: str, filename: str | None, content_type: str, data: bytes) -> Rendition:
    """The rendition of one received document."""
    fmt = format_of(filename, content_type, data)
    if fmt in FIXED_LAYOUT:
        return Rendition(fmt, None, "原件为版式文件，无需转换")
    if fmt in IMAGES:
        try:
            pdf, pages, cut = _image_pdf(data)
        # UnidentifiedImageError is an OSError; a decompression bomb is refused too
        except (OSError, ValueError, Image.DecompressionBombError) as exc:
            return Rendition(fmt, None, f"图像无法读取，未生成版式文件（{type(exc).__name__}），"
                                        "须人工处理")
        more = f"；超过 {MAX_PAGES} 页的部分未转换，须人工处理" if cut else ""
        return Rendition(fmt, pdf, f"由图像原样逐页转为 PDF（{pages} 页），像素未改动{more}")
    if fmt in TEXTUAL:
        got = extract(Attachment.of(filename, content_type, data))
        if got.status != "ok" or not got.text.strip():
            return Rendition(fmt, None, "未能读出文字，未生成版式文件，须人工转换")
        note = (f"由{fmt.upper() if fmt == 'docx' else '文本'}原件读出的文字排版生成，"
                "不保留原件版式、图片和表格格式；内容以原件为准")
        return Rendition(fmt, text_pdf(title, got.text, note), note)
    return Rendition(fmt, None, f"不支持转换的格式（{fmt}），未生成版式文件，须人工转换")


def pdf_pages(data: bytes) -> int | None:
    """The number of pages of a PDF, or None when it cannot be read."""
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        return len(PdfReader(io.BytesIO(data)).pages)
    except (PyPdfError, OSError, ValueError, KeyError):
        return None


def ofd_pages(data: bytes) -> int | None:
    """The number of pages of an OFD (its Document.xml's Pages), or None when it cannot be
    read whole (damaged, or past the reader's page limit)."""
    got = extract(Attachment.of(None, "application/ofd", data))
    if got.status not in ("ok", "image") or any(f.code == "page_limit" for f in got.findings):
        return None
    pages = got.meta.get("pages", "")
    return int(pages) if pages.isdigit() else None


def page_count(fmt: str, data: bytes) -> int | None:
    """Pages of a 版式文件 (PDF or OFD), None when they cannot be counted."""
    if fmt == "pdf":
        return pdf_pages(data)
    if fmt == "ofd":
        return ofd_pages(data)
    return None


def body_rendition(title: str, body: str) -> Rendition:
    """The rendition of a message whose document is its body text."""
    note = "由邮件正文文字排版生成；原始报文见原件"
    return Rendition("text", text_pdf(title, body, note), note)

