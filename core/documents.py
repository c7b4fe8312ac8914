"""Text of an attached document: PDF, DOCX, OFD, plain text, HTML; images recognised.

Pure and total: `extract` never raises and is bounded (pages, characters, zip
entries and decompressed bytes), so a crafted attachment costs bounded time.
A part that does not open is `damaged` with a finding saying why; the intake
checks turn that into a return (退回) to the sender.
"""

from __future__ import annotations

import contextlib
import io
import posixpath
import re
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal
from xml.etree import ElementTree as ET

from core.reading.findings import Finding
from core.reading.mail.message import Attachment
from core.reading.text import decode_text, html_to_text, normalize_text

if TYPE_CHECKING:  # pypdf loads lazily: ~0.3 s of import for CLI start-up
    from pypdf import PdfReader

Status = Literal["ok", "damaged", "image", "unsupported"]

_MIB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds on the work one attachment may cost."""

    max_pages: int = 200
    max_text_chars: int = 2_000_000
    max_zip_entries: int = 2000
    max_entry_bytes: int = 16 * _MIB
    max_total_bytes: int = 64 * _MIB
    # Deflate of real XML reaches ~30:1; a bomb of zeros ~1000:1.
    max_ratio: int = 200
    ratio_floor_bytes: int = 1 * _MIB  # small entries may compress as they like
    max_image_frames: int = 1000


DEFAULT_LIMITS = Limits()


@dataclass(frozen=True, slots=True)
class Extracted:
    """What an attachment says: status, text, metadata and the defects met."""

    status: Status
    text: str
    meta: dict[str, str] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)


class _Damaged(Exception):  # noqa: N818 - internal signal, not an error type
    """Raised inside a reader when the part does not open; carries the finding."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.finding = Finding(code, detail)


# ---------------------------------------------------------------- dispatch

Kind = Literal["pdf", "docx", "ofd", "zip", "tiff", "png", "jpeg", "gif", "bmp", "ole",
               "rtf", "text", "html", "unknown"]

_EXTENSIONS: dict[str, Kind] = {
    "pdf": "pdf", "docx": "docx", "ofd": "ofd", "zip": "zip", "tif": "tiff", "tiff": "tiff",
    "png": "png", "jpg": "jpeg", "jpeg": "jpeg", "gif": "gif", "bmp": "bmp", "doc": "ole",
    "wps": "ole", "xls": "ole", "et": "ole", "rtf": "rtf", "txt": "text", "json": "text",
    "xml": "text", "csv": "text", "htm": "html", "html": "html",
}
_CONTENT_TYPES: dict[str, Kind] = {
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
_DOCUMENT_KINDS = frozenset({"pdf", "docx", "ofd", "tiff", "png", "jpeg", "gif"})


def _sniff(data: bytes) -> Kind | None:
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


def _declared(att: Attachment) -> Kind:
    """The format the sender claims, by extension first, then content type."""
    name = (att.filename or "").lower()
    ext = name.rsplit(".", 1)[-1] if "." in name else ""
    if ext in _EXTENSIONS:
        return _EXTENSIONS[ext]
    return _CONTENT_TYPES.get(att.content_type.lower(), "unknown")


def extract(att: Attachment, limits: Limits = DEFAULT_LIMITS) -> Extracted:
    """Read one attachment. Never raises."""
    try:
        return _extract(att, limits)
    except _Damaged as exc:
        return Extracted("damaged", "", {}, [exc.finding])
    except RecursionError:
        return Extracted("damaged", "", {}, [Finding("unreadable", "文件结构嵌套过深，无法读取")])
    except Exception as exc:  # last line of defence: a reader bug must not stop intake
        detail = f"无法读取：{type(exc).__name__}"
        return Extracted("damaged", "", {}, [Finding("unreadable", detail)])


def _extract(att: Attachment, limits: Limits) -> Extracted:
    data = att.data
    declared = _declared(att)
    sniffed = _sniff(data)
    if not data:
        if declared in _DOCUMENT_KINDS:
            raise _Damaged("empty", "附件为空")
        return Extracted("unsupported", "", {}, [Finding("empty", "附件为空")])
    if sniffed is None and declared in _DOCUMENT_KINDS | {"docx", "ofd", "zip", "ole", "rtf"}:
        raise _Damaged("bad_magic", f"附件声称是 {declared.upper()}，但文件头不符")
    kind: Kind = sniffed or declared
    if kind == "zip":
        return _read_zip_document(att, limits)
    reader = _READERS.get(kind)
    if reader is None:
        what = {"ole": "旧版 Office/WPS 文件（.doc/.wps/.xls）", "rtf": "RTF 文件"}.get(kind, "")
        detail = f"不支持的格式：{what or att.content_type}"
        return Extracted("unsupported", "", {"format": kind}, [Finding("unsupported", detail)])
    return reader(data, att, limits)


# ---------------------------------------------------------------- text budget


class _Budget:
    """Collects text up to max_text_chars, noting when it cut."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.parts: list[str] = []
        self.size = 0
        self.cut = False

    def add(self, text: str) -> bool:
        """Append text; False once the budget is spent (callers stop reading)."""
        if self.cut:
            return False
        room = self.limit - self.size
        if len(text) > room:
            text = text[:room]
            self.cut = True
        self.parts.append(text)
        self.size += len(text)
        return not self.cut

    def text(self, sep: str = "\n") -> str:
        return normalize_text(sep.join(self.parts))

    def findings(self) -> list[Finding]:
        if self.cut:
            return [Finding("text_limit", f"文本超过 {self.limit} 字符，已截断")]
        return []


# ---------------------------------------------------------------- PDF

_PDF_INFO_KEYS = {"/Title": "Title", "/Author": "Author", "/Subject": "Subject",
                  "/Creator": "Creator", "/Producer": "Producer",
                  "/CreationDate": "CreationDate", "/ModDate": "ModDate"}


def _read_pdf(data: bytes, att: Attachment, limits: Limits) -> Extracted:
    findings: list[Finding] = []
    # pypdf (strict=False) repairs what it can; a missing %%EOF still means the
    # file was cut short in transit, which the sender must fix.
    damaged = b"%%EOF" not in _tail(data, 2048, strip=b"\x00\t\n\x0c\r ")
    if damaged:
        findings.append(Finding("truncated", "PDF 缺少文件结束标记，可能不完整"))
    try:
        reader, count = _open_pdf(data)
    except _Damaged as exc:
        return Extracted("damaged", "", {"format": "pdf"}, [*findings, exc.finding])
    meta = {"format": "pdf", "pages": str(count)}
    meta.update(_pdf_info(reader))
    if count > limits.max_pages:
        detail = f"PDF 共 {count} 页，只读取前 {limits.max_pages} 页"
        findings.append(Finding("page_limit", detail))
    budget = _Budget(limits.max_text_chars)
    for index in range(min(count, limits.max_pages)):
        try:
            text = reader.pages[index].extract_text()
        except Exception as exc:  # pypdf raises many kinds on a broken page
            detail = f"PDF 第 {index + 1} 页无法读取：{type(exc).__name__}"
            findings.append(Finding("page_unreadable", detail))
            damaged = True
            continue
        if not budget.add(_page_text(text or "")):
            break
    findings += budget.findings()
    text = budget.text("\n\n")
    if damaged:
        return Extracted("damaged", text, meta, findings)
    if not text.strip():
        findings.append(Finding("no_text_layer", "PDF 没有文字层（扫描件），需要识别"))
        return Extracted("image", "", meta, findings)
    return Extracted("ok", text, meta, findings)


_GAP_RE = re.compile(r"(?<=\S) (?=\S)")


def _unspace_lines(text: str) -> str:
    """Undo letter-spacing: a line drawn with wide character spacing (a 版头, a spaced
    title, glyph-by-glyph justification) comes out of the PDF as `四 川 省 人 民 政 府`;
    its single spaces are gaps between glyphs, not words. A line counts as spaced when
    most of its space-separated pieces are single characters."""
    lines = text.split("\n")
    for n, line in enumerate(lines):
        pieces = line.split(" ")
        single = sum(len(p) == 1 for p in pieces)
        if single >= 3 and single >= 0.6 * len(pieces):
            lines[n] = _GAP_RE.sub("", line)
    return "\n".join(lines)


#: a line that is only a page number: GB/T 9704 `— 1 —` (and `-1-`, `第1页 共3页`)
_PAGE_NUMBER_RE = re.compile(
    r"^\s*(?:[-—–－―─]\s*\d{1,4}\s*[-—–－―─]|第\s*\d{1,4}\s*页(?:\s*[,，/]?\s*共\s*\d{1,4}\s*页)?)\s*$"
)


def _page_text(text: str) -> str:
    """A page's text without its page-number line: page furniture that would otherwise
    land inside a 主送 or 抄送 list running over the page break."""
    lines = [ln for ln in _unspace_lines(text).split("\n") if not _PAGE_NUMBER_RE.match(ln)]
    return "\n".join(lines)


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
        raise _Damaged("pdf_unreadable", f"PDF 无法打开：{type(exc).__name__}") from exc
    if encrypted and not _pdf_decrypt(reader):
        raise _Damaged("encrypted", "PDF 已加密，无法读取")
    try:
        count = len(reader.pages)
    except Exception as exc:  # a broken page tree
        raise _Damaged("pdf_unreadable", f"PDF 页面树损坏：{type(exc).__name__}") from exc
    if count == 0:
        raise _Damaged("pdf_unreadable", "PDF 没有页面")
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


# ---------------------------------------------------------------- ZIP containers


@dataclass
class _ZipContents:
    names: list[str]
    kept: dict[str, bytes]


def _zip_entry_count(data: bytes) -> int | None:
    """Entry count from the end-of-central-directory record, read before zipfile
    builds its index (which costs time per entry)."""
    pos = data.rfind(b"PK\x05\x06", max(0, len(data) - 65_557))
    if pos < 0 or pos + 22 > len(data):
        return None
    (total,) = struct.unpack_from("<H", data, pos + 10)
    if total != 0xFFFF:
        return int(total)
    locator = pos - 20
    if locator >= 0 and data[locator : locator + 4] == b"PK\x06\x07":
        (offset,) = struct.unpack_from("<Q", data, locator + 8)
        if offset + 40 <= len(data) and data[offset : offset + 4] == b"PK\x06\x06":
            (total64,) = struct.unpack_from("<Q", data, offset + 32)
            return int(total64)
    return None


def _read_zip(data: bytes, limits: Limits, keep: Callable[[str], bool]) -> _ZipContents:
    """Open a zip, checking every entry decompresses within the limits (this is the
    integrity check too: a bad CRC means a damaged part). Keeps entries `keep` wants."""
    count = _zip_entry_count(data)
    if count is not None and count > limits.max_zip_entries:
        raise _Damaged("zip_bomb", f"压缩包有 {count} 个条目，超过上限 {limits.max_zip_entries}")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError,
            struct.error) as exc:
        raise _Damaged("bad_zip", f"压缩包无法打开：{type(exc).__name__}") from exc
    with archive:
        infos = archive.infolist()
        if len(infos) > limits.max_zip_entries:
            raise _Damaged("zip_bomb", f"压缩包条目超过上限 {limits.max_zip_entries}")
        total = 0
        kept: dict[str, bytes] = {}
        for info in infos:
            if info.is_dir():
                continue
            _check_declared(info, limits)
            total = _read_entry(archive, info, limits, total, kept if keep(info.filename) else None)
        return _ZipContents([i.filename for i in infos], kept)


def _check_declared(info: zipfile.ZipInfo, limits: Limits) -> None:
    if info.file_size > limits.max_entry_bytes:
        detail = f"条目 {info.filename[:100]} 解压后超过 {limits.max_entry_bytes} 字节"
        raise _Damaged("zip_bomb", detail)
    if (
        info.file_size > limits.ratio_floor_bytes
        and info.file_size > limits.max_ratio * max(info.compress_size, 1)
    ):
        raise _Damaged("zip_bomb", f"条目 {info.filename[:100]} 压缩比异常")


def _read_entry(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, limits: Limits, total: int,
    sink: dict[str, bytes] | None,
) -> int:
    """Stream one entry in chunks, enforcing real (not declared) sizes; returns the
    running total of decompressed bytes."""
    chunks: list[bytes] = []
    size = 0
    with _guard_zip(info):
        stream = archive.open(info)
    with stream:
        while True:
            with _guard_zip(info):
                chunk = stream.read(256 * 1024)
            if not chunk:
                break
            size += len(chunk)
            total += len(chunk)
            if size > limits.max_entry_bytes or total > limits.max_total_bytes:
                raise _Damaged("zip_bomb", "压缩包解压后超过大小上限")
            if sink is not None:
                chunks.append(chunk)
    if sink is not None:
        sink[info.filename] = b"".join(chunks)
    return total


@contextlib.contextmanager
def _guard_zip(info: zipfile.ZipInfo) -> Iterator[None]:
    """Turn zipfile's many failure types (bad CRC, bad deflate data, encryption…) into
    a damaged finding."""
    try:
        yield
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError,
            NotImplementedError, RuntimeError, struct.error) as exc:
        detail = f"压缩包条目 {info.filename[:100]} 损坏：{type(exc).__name__}"
        raise _Damaged("bad_zip", detail) from exc


def _read_zip_document(att: Attachment, limits: Limits) -> Extracted:
    """A zip container: OFD or DOCX by its entries (declared type breaks a tie)."""
    contents = _read_zip(att.data, limits, _is_markup)
    if any(n.lower() == "ofd.xml" for n in contents.names):
        return _read_ofd(contents, limits)
    main = _word_main_part(contents)
    if main is not None:
        return _read_docx(contents, main, limits)
    declared = _declared(att)
    if declared in {"ofd", "docx"}:
        raise _Damaged("bad_zip", f"压缩包中缺少 {declared.upper()} 的主文件")
    detail = "压缩包或非 Word 的 Office 文件（不是 OFD 或 DOCX）"
    return Extracted("unsupported", "", {"format": "zip"}, [Finding("unsupported", detail)])


def _is_markup(name: str) -> bool:
    return name.lower().endswith((".xml", ".rels"))


# ---------------------------------------------------------------- XML (safe)


def _parse_xml(data: bytes, name: str) -> ET.Element:
    """Parse an XML entry; a DTD is refused outright (no entity expansion, no external
    fetches: OFD and DOCX never need one)."""
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise _Damaged("xml_dtd", f"{name[:100]} 含 DTD 声明，拒绝解析")
    try:
        return ET.fromstring(data)  # noqa: S314 - DTDs are refused above
    except ET.ParseError as exc:
        raise _Damaged("bad_xml", f"{name[:100]} 不是有效的 XML") from exc


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _children(element: ET.Element, name: str) -> Iterator[ET.Element]:
    return (child for child in element if _local(child.tag) == name)


def _child(element: ET.Element, name: str) -> ET.Element | None:
    return next(_children(element, name), None)


def _entry(contents: _ZipContents, path: str) -> bytes | None:
    """An entry by path, forgiving case and a leading slash (producers vary)."""
    path = path.lstrip("/")
    if path in contents.kept:
        return contents.kept[path]
    lowered = path.lower()
    for key, value in contents.kept.items():
        if key.lower() == lowered:
            return value
    return None


def _resolve(base_file: str, ref: str) -> str:
    """An OFD ST_Loc: absolute from the package root, else relative to the referring file."""
    ref = ref.strip().replace("\\", "/")
    if ref.startswith("/"):
        return posixpath.normpath(ref.lstrip("/"))
    return posixpath.normpath(posixpath.join(posixpath.dirname(base_file), ref))


# ---------------------------------------------------------------- OFD

_DOCINFO_FIELDS = ("DocID", "Title", "Author", "Subject", "Abstract", "CreationDate",
                   "ModDate", "Creator", "CreatorVersion", "DocUsage")


def _read_ofd(contents: _ZipContents, limits: Limits) -> Extracted:
    root_name = next(n for n in contents.kept if n.lower() == "ofd.xml")
    root = _parse_xml(contents.kept[root_name], root_name)
    bodies = list(_children(root, "DocBody"))
    if not bodies:
        raise _Damaged("bad_ofd", "OFD.xml 中没有 DocBody")
    meta = {"format": "ofd"}
    meta.update(_ofd_docinfo(bodies[0]))
    budget = _Budget(limits.max_text_chars)
    findings: list[Finding] = []
    pages_read = 0
    for body in bodies:
        doc_root = _child(body, "DocRoot")
        if doc_root is None or not (doc_root.text or "").strip():
            raise _Damaged("bad_ofd", "OFD 缺少 DocRoot")
        doc_path = _resolve(root_name, doc_root.text or "")
        pages = _ofd_pages(contents, doc_path)
        for page_path in pages:
            if pages_read >= limits.max_pages:
                detail = f"OFD 页数超过 {limits.max_pages}，其余未读取"
                findings.append(Finding("page_limit", detail))
                break
            pages_read += 1
            if not budget.add(_ofd_page_text(contents, page_path)):
                break
    meta["pages"] = str(pages_read)
    findings += budget.findings()
    text = budget.text("\n\n")
    if not text.strip():
        findings.append(Finding("no_text_layer", "OFD 没有文字（扫描件），需要识别"))
        return Extracted("image", "", meta, findings)
    return Extracted("ok", text, meta, findings)


def _ofd_docinfo(body: ET.Element) -> dict[str, str]:
    info = _child(body, "DocInfo")
    meta: dict[str, str] = {}
    if info is None:
        return meta
    for element in info:
        name = _local(element.tag)
        if name in _DOCINFO_FIELDS and (element.text or "").strip():
            meta[name] = (element.text or "").strip()[:1000]
        elif name == "Keywords":
            words = [(k.text or "").strip() for k in element if (k.text or "").strip()]
            if words:
                meta["Keywords"] = "；".join(words)[:1000]
        elif name == "CustomDatas":
            for custom in _children(element, "CustomData"):
                key = (custom.get("Name") or "").strip()
                if key:
                    meta[f"CustomData.{key[:100]}"] = (custom.text or "").strip()[:1000]
    return meta


def _ofd_pages(contents: _ZipContents, doc_path: str) -> list[str]:
    data = _entry(contents, doc_path)
    if data is None:
        raise _Damaged("bad_ofd", f"OFD 缺少文档文件 {doc_path[:100]}")
    document = _parse_xml(data, doc_path)
    pages = _child(document, "Pages")
    if pages is None:
        raise _Damaged("bad_ofd", "OFD 文档没有 Pages")
    paths: list[str] = []
    for page in _children(pages, "Page"):
        loc = page.get("BaseLoc")
        if not loc:
            raise _Damaged("bad_ofd", "OFD 页面缺少 BaseLoc")
        paths.append(_resolve(doc_path, loc))
    return paths


def _ofd_page_text(contents: _ZipContents, page_path: str) -> str:
    """Text of one page in content order; a new line wherever the baseline moves, so
    one object per line and one object per character both read naturally. The pieces of
    one line are put in left-to-right order (a producer may write a line's objects in
    any order), and the page-number line is dropped as in a PDF."""
    data = _entry(contents, page_path)
    if data is None:
        raise _Damaged("bad_ofd", f"OFD 缺少页面文件 {page_path[:100]}")
    page = _parse_xml(data, page_path)
    lines: list[str] = []
    line: list[tuple[float, int, str]] = []  # (x, order, text) of the current line
    last_y: float | None = None
    for obj in page.iter():
        if _local(obj.tag) != "TextObject":
            continue
        left, top = _boundary_origin(obj.get("Boundary"))
        size = _number(obj.get("Size")) or 3.0
        for code in _children(obj, "TextCode"):
            text = code.text or ""
            if not text:
                continue
            y = top + (_number(code.get("Y")) or 0.0)
            if last_y is not None and abs(y - last_y) > size / 2:
                lines.append("".join(t for _, _, t in sorted(line)))
                line = []
            line.append((left + (_number(code.get("X")) or 0.0), len(line), text))
            last_y = y
    lines.append("".join(t for _, _, t in sorted(line)))
    return _page_text("\n".join(lines))


def _boundary_origin(boundary: str | None) -> tuple[float, float]:
    """The x and y of an OFD Boundary "x y w h"."""
    parts = (boundary or "").split()
    left = _number(parts[0]) if parts else None
    top = _number(parts[1]) if len(parts) >= 2 else None
    return left or 0.0, top or 0.0


def _number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        return None


# ---------------------------------------------------------------- DOCX

_OFFICE_DOCUMENT = "officeDocument"
_W_NS = b"http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_W = "{" + _W_NS.decode() + "}"
_MC_FALLBACK = "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback"


def _word_main_part(contents: _ZipContents) -> str | None:
    """The main part of a Word document: named by _rels/.rels (usually
    word/document.xml) and in the WordprocessingML namespace (not xlsx/pptx)."""
    main = _office_main_part(contents) or "word/document.xml"
    data = _entry(contents, main)
    if data is None or _W_NS not in data[:4096]:
        return None
    return main


def _office_main_part(contents: _ZipContents) -> str | None:
    rels = _entry(contents, "_rels/.rels")
    if rels is None:
        return None
    try:
        root = _parse_xml(rels, "_rels/.rels")
    except _Damaged:
        return None
    for rel in root:
        if (rel.get("Type") or "").endswith("/" + _OFFICE_DOCUMENT):
            return _resolve("", rel.get("Target") or "")
    return None


def _read_docx(contents: _ZipContents, part: str, limits: Limits) -> Extracted:
    """Paragraphs and tables in body order, read from the main part alone (the style
    parts, ≈0.8 MB in Word's default template, never matter to the text)."""
    root = _parse_xml(_entry(contents, part) or b"", part)
    body = root.find(f"{_W}body")
    if body is None:
        raise _Damaged("bad_docx", "DOCX 正文没有 body")
    budget = _Budget(limits.max_text_chars)
    for line in _docx_blocks(body, depth=0):
        if not budget.add(line):
            break
    meta = {"format": "docx"}
    meta.update(_docx_core_properties(contents))
    return Extracted("ok", budget.text(), meta, budget.findings())


def _docx_blocks(container: ET.Element, depth: int) -> Iterator[str]:
    """Lines of a body or table cell: each paragraph (text boxes first), each table row
    with its cells separated by tabs. Content controls (w:sdt), custom XML and tracked
    insertions around paragraphs, rows or cells are shown by Word, so they are read."""
    if depth > 8:  # tables nested deeper than any real document
        return
    for element in _unwrapped(container, 0):
        if element.tag == f"{_W}p":
            yield from _text_boxes(element)
            text = _paragraph_text(element)
            if text.strip():  # empty paragraphs are spacing, not text
                yield text
        elif element.tag == f"{_W}tbl":
            for row in _unwrapped(element, 0):
                if row.tag != f"{_W}tr":
                    continue
                cells: list[str] = []
                for cell in _unwrapped(row, 0):
                    if cell.tag != f"{_W}tc":
                        continue
                    text = "\n".join(_docx_blocks(cell, depth + 1)).strip()
                    if not cells or text != cells[-1]:  # merged cells repeat
                        cells.append(text)
                yield "\t".join(cells)


#: wrappers Word shows the content of: content controls, custom XML, smart tags, simple
#: fields (a MERGEFIELD an OA system filled in), hyperlinks, tracked insertions and moves
_TRANSPARENT = frozenset(
    f"{_W}{name}"
    for name in ("sdt", "sdtContent", "customXml", "smartTag", "fldSimple", "hyperlink", "ins",
                 "moveTo", "dir", "bdo")
)
_MAX_WRAPPING = 16  # wrappers inside wrappers, deeper than any real document


def _unwrapped(container: ET.Element, depth: int) -> Iterator[ET.Element]:
    """The children of `container`, with the children of transparent wrappers in their
    place (w:sdtPr and deleted content are not shown, so they are not children here)."""
    for element in container:
        if element.tag in _TRANSPARENT:
            if depth < _MAX_WRAPPING and not _showing_placeholder(element):
                yield from _unwrapped(element, depth + 1)
        else:
            yield element


def _showing_placeholder(element: ET.Element) -> bool:
    """A content control still showing its prompt (单击此处输入文字): not the document's text."""
    if element.tag != f"{_W}sdt":
        return False
    flag = element.find(f"{_W}sdtPr/{_W}showingPlcHdr")
    return flag is not None and flag.get(f"{_W}val", "true") not in {"false", "0", "off"}


# what a run's inner elements stand for in plain text (w:t carries its own text)
_RUN_CHARS = {f"{_W}tab": "\t", f"{_W}ptab": "\t", f"{_W}cr": "\n", f"{_W}noBreakHyphen": "-"}


def _paragraph_text(paragraph: ET.Element) -> str:
    """The text of a paragraph's runs, those inside hyperlinks, fields, content controls
    and tracked insertions included (deleted and moved-away text is not)."""
    return "".join(_run_text(e) for e in _unwrapped(paragraph, 0) if e.tag == f"{_W}r")


def _run_text(run: ET.Element) -> str:
    parts: list[str] = []
    for element in run:
        if element.tag == f"{_W}t":
            parts.append(element.text or "")
        elif element.tag == f"{_W}br":
            # a line break is a new line; page and column breaks are not text
            if element.get(f"{_W}type", "textWrapping") == "textWrapping":
                parts.append("\n")
        else:
            parts.append(_RUN_CHARS.get(element.tag, ""))
    return "".join(parts)


def _text_boxes(paragraph: ET.Element) -> Iterator[str]:
    """Paragraphs inside text boxes anchored in a paragraph (红头 mastheads often are),
    skipping the VML fallback copy Word writes beside the DrawingML one."""
    for box in _iter_primary(paragraph, f"{_W}txbxContent"):
        for p in box.iter(f"{_W}p"):
            yield _paragraph_text(p)


def _iter_primary(element: ET.Element, tag: str) -> Iterator[ET.Element]:
    """Descendants with `tag`, not looking inside markup-compatibility fallbacks."""
    for child in element:
        if child.tag == _MC_FALLBACK:
            continue
        if child.tag == tag:
            yield child
        yield from _iter_primary(child, tag)


def _docx_core_properties(contents: _ZipContents) -> dict[str, str]:
    data = _entry(contents, "docProps/core.xml")
    meta: dict[str, str] = {}
    if data is None:
        return meta
    with contextlib.suppress(_Damaged):  # properties are optional decoration
        root = _parse_xml(data, "docProps/core.xml")
        for element in root:
            name = _local(element.tag)
            if name in {"title", "creator", "subject", "created"} and (element.text or "").strip():
                meta[name.capitalize()] = (element.text or "").strip()[:1000]
    return meta


# ---------------------------------------------------------------- images


def _read_tiff(data: bytes, att: Attachment, limits: Limits) -> Extracted:
    """Walk the IFD chain: every page must have its strips inside the file."""
    if len(data) < 8:
        raise _Damaged("bad_image", "TIFF 文件头不完整")
    order = "<" if data[:2] == b"II" else ">"
    (magic,) = struct.unpack_from(order + "H", data, 2)
    if magic == 43:  # BigTIFF: recognised, not walked
        return Extracted("image", "", {"format": "tiff"}, [])
    (offset,) = struct.unpack_from(order + "I", data, 4)
    pages = 0
    seen: set[int] = set()
    meta = {"format": "tiff"}
    while offset:
        if offset in seen or pages >= limits.max_image_frames:
            raise _Damaged("bad_image", "TIFF 页链循环或页数过多")
        seen.add(offset)
        tags, offset = _tiff_ifd(data, order, offset)
        _check_tiff_page(data, tags, pages + 1)
        if pages == 0:
            meta.update({"width": str(tags.get(256, [0])[0]), "height": str(tags.get(257, [0])[0]),
                         "compression": str(tags.get(259, [1])[0])})
        pages += 1
    if pages == 0:
        raise _Damaged("bad_image", "TIFF 没有页面")
    meta["pages"] = str(pages)
    return Extracted("image", "", meta, [])


_TIFF_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8}
_TIFF_FORMATS = {1: "B", 3: "H", 4: "I", 6: "b", 8: "h", 9: "i"}
_TIFF_TAGS = frozenset({256, 257, 259, 273, 279, 324, 325})


def _tiff_ifd(data: bytes, order: str, offset: int) -> tuple[dict[int, list[int]], int]:
    if offset + 2 > len(data):
        raise _Damaged("bad_image", "TIFF 目录位置超出文件")
    (count,) = struct.unpack_from(order + "H", data, offset)
    end = offset + 2 + 12 * count
    if end + 4 > len(data):
        raise _Damaged("truncated", "TIFF 目录不完整，文件可能被截断")
    tags: dict[int, list[int]] = {}
    for i in range(count):
        tag, kind, n = struct.unpack_from(order + "HHI", data, offset + 2 + 12 * i)
        if tag not in _TIFF_TAGS or kind not in _TIFF_FORMATS:
            continue
        size = _TIFF_SIZES[kind] * n
        where = offset + 2 + 12 * i + 8
        if size > 4:
            (where,) = struct.unpack_from(order + "I", data, where)
        if n > 1_000_000 or where + size > len(data):
            raise _Damaged("truncated", "TIFF 标签数据超出文件，文件可能被截断")
        tags[tag] = list(struct.unpack_from(f"{order}{n}{_TIFF_FORMATS[kind]}", data, where))
    (next_offset,) = struct.unpack_from(order + "I", data, end)
    return tags, next_offset


def _check_tiff_page(data: bytes, tags: dict[int, list[int]], page: int) -> None:
    if not tags.get(256) or not tags.get(257):
        raise _Damaged("bad_image", f"TIFF 第 {page} 页缺少宽高")
    offsets = tags.get(273) or tags.get(324)
    counts = tags.get(279) or tags.get(325)
    if not offsets or not counts or len(offsets) != len(counts):
        raise _Damaged("bad_image", f"TIFF 第 {page} 页缺少图像数据")
    if any(o + c > len(data) for o, c in zip(offsets, counts, strict=True)):
        raise _Damaged("truncated", f"TIFF 第 {page} 页图像数据超出文件，文件可能被截断")


def _read_png(data: bytes, att: Attachment, limits: Limits) -> Extracted:
    """Chunks from IHDR to IEND, each inside the file with a matching CRC."""
    pos = 8
    meta = {"format": "png"}
    first = True
    while pos + 12 <= len(data):
        length, kind = struct.unpack_from(">I4s", data, pos)
        end = pos + 12 + length
        if end > len(data):
            break
        body = data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack_from(">I", data, pos + 8 + length)
        if zlib.crc32(kind + body) != crc:
            raise _Damaged("bad_image", f"PNG 数据块 {kind!r} 校验失败")
        if first:
            if kind != b"IHDR" or length < 8:
                raise _Damaged("bad_image", "PNG 缺少 IHDR")
            width, height = struct.unpack_from(">II", body)
            meta.update({"width": str(width), "height": str(height), "pages": "1"})
            first = False
        if kind == b"IEND":
            return Extracted("image", "", meta, [])
        pos = end
    raise _Damaged("truncated", "PNG 缺少结束块，文件可能被截断")


_JPEG_SOF = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD,
                       0xCE, 0xCF})


def _read_jpeg(data: bytes, att: Attachment, limits: Limits) -> Extracted:
    """Segments up to the scan, then an end-of-image marker after it."""
    pos = 2
    meta = {"format": "jpeg", "pages": "1"}
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            raise _Damaged("bad_image", "JPEG 段结构损坏")
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in {0x01} or 0xD0 <= marker <= 0xD7:
            pos += 2
            continue
        (length,) = struct.unpack_from(">H", data, pos + 2)
        if length < 2 or pos + 2 + length > len(data):
            break
        if marker in _JPEG_SOF and length >= 7:
            height, width = struct.unpack_from(">HH", data, pos + 5)
            meta.update({"width": str(width), "height": str(height)})
        if marker == 0xDA:  # start of scan: entropy-coded data runs to EOI
            if b"\xff\xd9" in data[pos + 2 + length :]:
                return Extracted("image", "", meta, [])
            break
        pos += 2 + length
    raise _Damaged("truncated", "JPEG 数据不完整，文件可能被截断")


def _read_gif(data: bytes, att: Attachment, limits: Limits) -> Extracted:
    if len(data) < 13 or not data.rstrip(b"\x00").endswith(b";"):
        raise _Damaged("truncated", "GIF 数据不完整，文件可能被截断")
    width, height = struct.unpack_from("<HH", data, 6)
    return Extracted("image", "", {"format": "gif", "width": str(width),
                                   "height": str(height)}, [])


def _read_bmp(data: bytes, att: Attachment, limits: Limits) -> Extracted:
    if not data.startswith(b"BM"):
        raise _Damaged("bad_magic", "BMP 文件头不符")
    return Extracted("image", "", {"format": "bmp"}, [])


# ---------------------------------------------------------------- text


def _read_text(data: bytes, att: Attachment, limits: Limits) -> Extracted:
    # JSON is UTF-8 by definition (RFC 8259); other text says or is guessed.
    charset = att.charset or ("utf-8" if att.content_type == "application/json" else None)
    text, findings = decode_text(data[: limits.max_text_chars * 4], charset)
    budget = _Budget(limits.max_text_chars)
    budget.add(text)
    return Extracted("ok", budget.text(), {"format": "text"}, findings + budget.findings())


def _read_html(data: bytes, att: Attachment, limits: Limits) -> Extracted:
    text, findings = decode_text(data[: limits.max_text_chars * 4], att.charset)
    budget = _Budget(limits.max_text_chars)
    budget.add(html_to_text(text))
    return Extracted("ok", budget.text(), {"format": "html"}, findings + budget.findings())


_Reader = Callable[[bytes, Attachment, Limits], Extracted]
_READERS: dict[str, _Reader] = {
    "pdf": _read_pdf,
    "tiff": _read_tiff,
    "png": _read_png,
    "jpeg": _read_jpeg,
    "gif": _read_gif,
    "bmp": _read_bmp,
    "text": _read_text,
    "html": _read_html,
}

