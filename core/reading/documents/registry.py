"""The reader registry: sniff an attachment's format, dispatch to the reader registered
for it, and keep the whole total and bounded.

`extract` never raises: a part that does not open is `damaged` with a finding saying
why (the intake checks turn that into a return, 退回, to the sender); a format nobody
reads is `unsupported`. A zip is opened once, safely (`package`), and the first reader
that claims the package (OFD, then DOCX) reads it.

A later reader (OCR for TIFF/PNG/JPEG and image-only PDF pages) joins with
`READERS.with_reader(reader)`: it comes first for its formats and may call the
reader it replaces (e.g. the image structure check) itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from core.reading.documents import docx, images, ofd, pdf, plain
from core.reading.documents.base import DEFAULT_LIMITS, Damaged, Extracted, Limits
from core.reading.documents.formats import (
    DOCUMENT_FORMATS,
    MAGIC_REQUIRED,
    UNSUPPORTED_LABELS,
    Format,
    declared,
    sniff,
)
from core.reading.documents.package import Package, is_markup, open_package
from core.reading.documents.reader import Reader, Source
from core.reading.findings import Finding
from core.reading.mail.message import Attachment


class Registry:
    """Readers by format, in order: the first registered for a format reads it."""

    def __init__(self, readers: Iterable[Reader]) -> None:
        self._readers = tuple(readers)
        self._by_format: dict[Format, Reader] = {}
        for reader in self._readers:
            for fmt in reader.formats:
                self._by_format.setdefault(fmt, reader)

    def __iter__(self) -> Iterator[Reader]:
        return iter(self._readers)

    def with_reader(self, reader: Reader) -> Registry:
        """This registry with `reader` first for its formats."""
        return Registry((reader, *self._readers))

    def reader_for(self, fmt: Format) -> Reader | None:
        """The reader for a format, or None when no reader handles it."""
        return self._by_format.get(fmt)

    def package_reader(self, package: Package) -> Reader | None:
        """The first reader that claims an opened zip package."""
        for reader in self._readers:
            if reader.claims is not None and reader.claims(package):
                return reader
        return None

    def extract(self, att: Attachment, limits: Limits = DEFAULT_LIMITS) -> Extracted:
        """Read one attachment. Never raises."""
        try:
            return self._extract(att, limits)
        except Damaged as exc:
            return Extracted("damaged", "", {}, [exc.finding])
        except RecursionError:
            finding = Finding("unreadable", "文件结构嵌套过深，无法读取")
            return Extracted("damaged", "", {}, [finding])
        except Exception as exc:  # last line of defence: a reader bug must not stop intake
            detail = f"无法读取：{type(exc).__name__}"
            return Extracted("damaged", "", {}, [Finding("unreadable", detail)])

    def _extract(self, att: Attachment, limits: Limits) -> Extracted:
        data = att.data
        claimed = declared(att)
        sniffed = sniff(data)
        if not data:
            if claimed in DOCUMENT_FORMATS:
                raise Damaged("empty", "附件为空")
            return Extracted("unsupported", "", {}, [Finding("empty", "附件为空")])
        if sniffed is None and claimed in MAGIC_REQUIRED:
            raise Damaged("bad_magic", f"附件声称是 {claimed.upper()}，但文件头不符")
        fmt: Format = sniffed or claimed
        if fmt == "zip":
            return self._extract_package(att, claimed, limits)
        reader = self.reader_for(fmt)
        if reader is None:
            what = UNSUPPORTED_LABELS.get(fmt, "")
            detail = f"不支持的格式：{what or att.content_type}"
            return Extracted("unsupported", "", {"format": fmt}, [Finding("unsupported", detail)])
        return reader.read(Source(att), limits)

    def _extract_package(self, att: Attachment, claimed: Format, limits: Limits) -> Extracted:
        """A zip container: OFD or DOCX by its entries (the declared format breaks a tie)."""
        package = open_package(att.data, limits, is_markup)
        reader = self.package_reader(package)
        if reader is not None:
            return reader.read(Source(att, package), limits)
        if claimed in {"ofd", "docx"}:
            raise Damaged("bad_zip", f"压缩包中缺少 {claimed.upper()} 的主文件")
        detail = "压缩包或非 Word 的 Office 文件（不是 OFD 或 DOCX）"
        return Extracted("unsupported", "", {"format": "zip"}, [Finding("unsupported", detail)])


#: the readers jiyao ships, in the order they are asked (OFD claims a package before DOCX)
READERS = Registry(
    (pdf.READER, ofd.READER, docx.READER, *images.READERS, plain.TEXT_READER, plain.HTML_READER)
)


def extract(att: Attachment, limits: Limits = DEFAULT_LIMITS) -> Extracted:
    """Read one attachment with the shipped readers. Never raises."""
    return READERS.extract(att, limits)
