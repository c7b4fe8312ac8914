"""OFD (GB/T 33190): the text objects of each page, in reading order."""

from __future__ import annotations

from xml.etree import ElementTree as ET

from core.reading.documents.base import Budget, Damaged, Extracted, Limits
from core.reading.documents.package import (
    Package,
    child,
    children,
    entry,
    local,
    parse_xml,
    resolve,
)
from core.reading.documents.pages import page_text
from core.reading.documents.reader import Reader, Source
from core.reading.findings import Finding

_DOCINFO_FIELDS = ("DocID", "Title", "Author", "Subject", "Abstract", "CreationDate",
                   "ModDate", "Creator", "CreatorVersion", "DocUsage")


def claims_ofd(package: Package) -> bool:
    """An OFD package has OFD.xml at its root."""
    return any(n.lower() == "ofd.xml" for n in package.names)


def read_ofd(source: Source, limits: Limits) -> Extracted:
    contents = source.opened()
    root_name = next(n for n in contents.kept if n.lower() == "ofd.xml")
    root = parse_xml(contents.kept[root_name], root_name)
    bodies = list(children(root, "DocBody"))
    if not bodies:
        raise Damaged("bad_ofd", "OFD.xml 中没有 DocBody")
    meta = {"format": "ofd"}
    meta.update(_ofd_docinfo(bodies[0]))
    budget = Budget(limits.max_text_chars)
    findings: list[Finding] = []
    pages_read = 0
    for body in bodies:
        doc_root = child(body, "DocRoot")
        if doc_root is None or not (doc_root.text or "").strip():
            raise Damaged("bad_ofd", "OFD 缺少 DocRoot")
        doc_path = resolve(root_name, doc_root.text or "")
        pages = _ofd_pages(contents, doc_path)
        for page_path in pages:
            if pages_read >= limits.max_pages:
                detail = f"OFD 页数超过 {limits.max_pages}，其余未读取"
                findings.append(Finding("page_limit", detail))
                break
            pages_read += 1
            if not budget.add(_ofdpage_text(contents, page_path)):
                break
    meta["pages"] = str(pages_read)
    findings += budget.findings()
    text = budget.text("\n\n")
    if not text.strip():
        findings.append(Finding("no_text_layer", "OFD 没有文字（扫描件），需要识别"))
        return Extracted("image", "", meta, findings)
    return Extracted("ok", text, meta, findings)


def _ofd_docinfo(body: ET.Element) -> dict[str, str]:
    info = child(body, "DocInfo")
    meta: dict[str, str] = {}
    if info is None:
        return meta
    for element in info:
        name = local(element.tag)
        if name in _DOCINFO_FIELDS and (element.text or "").strip():
            meta[name] = (element.text or "").strip()[:1000]
        elif name == "Keywords":
            words = [(k.text or "").strip() for k in element if (k.text or "").strip()]
            if words:
                meta["Keywords"] = "；".join(words)[:1000]
        elif name == "CustomDatas":
            for custom in children(element, "CustomData"):
                key = (custom.get("Name") or "").strip()
                if key:
                    meta[f"CustomData.{key[:100]}"] = (custom.text or "").strip()[:1000]
    return meta


def _ofd_pages(contents: Package, doc_path: str) -> list[str]:
    data = entry(contents, doc_path)
    if data is None:
        raise Damaged("bad_ofd", f"OFD 缺少文档文件 {doc_path[:100]}")
    document = parse_xml(data, doc_path)
    pages = child(document, "Pages")
    if pages is None:
        raise Damaged("bad_ofd", "OFD 文档没有 Pages")
    paths: list[str] = []
    for page in children(pages, "Page"):
        loc = page.get("BaseLoc")
        if not loc:
            raise Damaged("bad_ofd", "OFD 页面缺少 BaseLoc")
        paths.append(resolve(doc_path, loc))
    return paths


def _ofdpage_text(contents: Package, page_path: str) -> str:
    """Text of one page in content order; a new line wherever the baseline moves, so
    one object per line and one object per character both read naturally. The pieces of
    one line are put in left-to-right order (a producer may write a line's objects in
    any order), and the page-number line is dropped as in a PDF."""
    data = entry(contents, page_path)
    if data is None:
        raise Damaged("bad_ofd", f"OFD 缺少页面文件 {page_path[:100]}")
    page = parse_xml(data, page_path)
    lines: list[str] = []
    line: list[tuple[float, int, str]] = []  # (x, order, text) of the current line
    last_y: float | None = None
    for obj in page.iter():
        if local(obj.tag) != "TextObject":
            continue
        left, top = _boundary_origin(obj.get("Boundary"))
        size = _number(obj.get("Size")) or 3.0
        for code in children(obj, "TextCode"):
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
    return page_text("\n".join(lines))


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


READER = Reader("ofd", ("ofd",), read_ofd, claims=claims_ofd)
