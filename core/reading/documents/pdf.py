"""PDF: the text layer of each page, through pypdf (loaded lazily)."""

from __future__ import annotations

import contextlib
import io
from typing import TYPE_CHECKING

from core.reading.documents.base import Budget, Damaged, Extracted, Limits
from core.reading.documents.pages import page_text
from core.reading.documents.reader import Reader, Source
from core.reading.findings import Finding

if TYPE_CHECKING:  # pypdf loads lazily: ~0.3 s of import for CLI start-up
    from pypdf import PdfReader

_PDF_INFO_KEYS = {"/Title": "Title", "/Author": "Author", "/Subject": "Subject",
                  "/Creator": "Creator", "/Producer": "Producer",
                  "/CreationDate": "CreationDate", "/ModDate": "ModDate"}


def read_pdf(source: Source, limits: Limits) -> Extracted:
    data = source.data
    findings: list[Finding] = []
    # pypdf (strict=False) repairs what it can; a missing %%EOF still means the
    # file was cut short in transit, which the sender must fix.
    damaged = b"%%EOF" not in _tail(data, 2048, strip=b"\x00\t\n\x0c\r ")
    if damaged:
        findings.append(Finding("truncated", "PDF 缺少文件结束标记，可能不完整"))
    try:
        reader, count = _open_pdf(data)
    except Damaged as exc:
        return Extracted("damaged", "", {"format": "pdf"}, [*findings, exc.finding])
    meta = {"format": "pdf", "pages": str(count)}
    meta.update(_pdf_info(reader))
    if count > limits.max_pages:
        detail = f"PDF 共 {count} 页，只读取前 {limits.max_pages} 页"
        findings.append(Finding("page_limit", detail))
    budget = Budget(limits.max_text_chars)
    for index in range(min(count, limits.max_pages)):
        try:
            text = reader.pages[index].extract_text()
        except Exception as exc:  # pypdf raises many kinds on a broken page
            detail = f"PDF 第 {index + 1} 页无法读取：{type(exc).__name__}"
            findings.append(Finding("page_unreadable", detail))
            damaged = True
            continue
        if not budget.add(page_text(text or "")):
            break
    findings += budget.findings()
    text = budget.text("\n\n")
    if damaged:
        return Extracted("damaged", text, meta, findings)
    if not text.strip():
        findings.append(Finding("no_text_layer", "PDF 没有文字层（扫描件），需要识别"))
        return Extracted("image", "", meta, findings)
    return Extracted("ok", text, meta, findings)


def _tail(data: bytes, size: int, *, strip: bytes) -> bytes:
    """`data.rstrip(strip)[-size:]` without copying the whole of a large file."""
    end = len(data)
    while end > 0:
        chunk = data[max(0, end - 4096) : end]
        kept = chunk.rstrip(strip)
        end -= len(chunk) - len(kept)
        if kept:
            break
    return data[max(0, end - size) : end]


class _PdfStream(io.BytesIO):
    """A BytesIO without getbuffer(): pypdf sizes a stream through it when it can,
    which makes BytesIO copy the whole document (+22 MB for a 22 MB scan); without it
    pypdf seeks to the end, and reads the same bytes."""

    getbuffer = property()  # no getter: hasattr(stream, "getbuffer") is False


def _open_pdf(data: bytes) -> tuple[PdfReader, int]:
    from pypdf import PdfReader

    try:
        reader = PdfReader(_PdfStream(data), strict=False)
        encrypted = reader.is_encrypted
    except Exception as exc:  # PdfReadError, and whatever else a broken xref provokes
        raise Damaged("pdf_unreadable", f"PDF 无法打开：{type(exc).__name__}") from exc
    if encrypted and not _pdf_decrypt(reader):
        raise Damaged("encrypted", "PDF 已加密，无法读取")
    try:
        count = len(reader.pages)
    except Exception as exc:  # a broken page tree
        raise Damaged("pdf_unreadable", f"PDF 页面树损坏：{type(exc).__name__}") from exc
    if count == 0:
        raise Damaged("pdf_unreadable", "PDF 没有页面")
    return reader, count


def _pdf_decrypt(reader: PdfReader) -> bool:
    """Open a PDF that only has an owner password (empty user password)."""
    try:
        return bool(reader.decrypt(""))
    except Exception:  # missing crypto backend or bad encryption dictionary
        return False


def _pdf_info(reader: PdfReader) -> dict[str, str]:
    meta: dict[str, str] = {}
    with contextlib.suppress(Exception):  # a broken Info dictionary is not a broken document
        info = reader.metadata
        if info:
            for key, name in _PDF_INFO_KEYS.items():
                value = info.get(key)
                if value:
                    meta[name] = str(value)[:1000]
    return meta


READER = Reader("pdf", ("pdf",), read_pdf)
