"""Which format an attachment is: by its magic bytes (sniffed), else by what the sender
declares (extension first, then content type). A format is what readers register for."""

from __future__ import annotations

from typing import Literal

from core.reading.mail.message import Attachment

Format = Literal["pdf", "docx", "ofd", "zip", "tiff", "png", "jpeg", "gif", "bmp", "ole",
               "rtf", "text", "html", "unknown"]

EXTENSIONS: dict[str, Format] = {
    "pdf": "pdf", "docx": "docx", "ofd": "ofd", "zip": "zip", "tif": "tiff", "tiff": "tiff",
    "png": "png", "jpg": "jpeg", "jpeg": "jpeg", "gif": "gif", "bmp": "bmp", "doc": "ole",
    "wps": "ole", "xls": "ole", "et": "ole", "rtf": "rtf", "txt": "text", "json": "text",
    "xml": "text", "csv": "text", "htm": "html", "html": "html",
}
CONTENT_TYPES: dict[str, Format] = {
    "application/pdf": "pdf",
    "application/x-pdf": "pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/ofd": "ofd",
    "application/x-ofd": "ofd",
    "application/zip": "zip",
    "image/tiff": "tiff",
    "image/tif": "tiff",
    "image/png": "png",
    "image/jpeg": "jpeg",
    "image/jpg": "jpeg",
    "image/gif": "gif",
    "image/bmp": "bmp",
    "application/msword": "ole",
    "application/rtf": "rtf",
    "text/rtf": "rtf",
    "text/plain": "text",
    "application/json": "text",
    "text/html": "html",
}
#: formats that are documents: empty or broken, they are damaged (the sender resends)
DOCUMENT_FORMATS: frozenset[Format] = frozenset(
    {"pdf", "docx", "ofd", "tiff", "png", "jpeg", "gif"}
)
#: formats whose magic bytes must be there when the sender declares them
MAGIC_REQUIRED: frozenset[Format] = DOCUMENT_FORMATS | {"docx", "ofd", "zip", "ole", "rtf"}
#: how staff are told which unsupported format an attachment is
UNSUPPORTED_LABELS: dict[Format, str] = {
    "ole": "旧版 Office/WPS 文件（.doc/.wps/.xls）",
    "rtf": "RTF 文件",
}


def sniff(data: bytes) -> Format | None:
    """The format by magic bytes, or None when the bytes say nothing."""
    head = data[:8]
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "zip"
    if head.startswith((b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")):
        return "tiff"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return "ole"
    if head.startswith(b"{\\rtf"):
        return "rtf"
    if b"%PDF-" in data[:1024]:  # the PDF header may follow some junk (ISO 32000 §7.5.2)
        return "pdf"
    return None


def declared(att: Attachment) -> Format:
    """The format the sender claims, by extension first, then content type."""
    name = (att.filename or "").lower()
    ext = name.rsplit(".", 1)[-1] if "." in name else ""
    if ext in EXTENSIONS:
        return EXTENSIONS[ext]
    return CONTENT_TYPES.get(att.content_type.lower(), "unknown")
