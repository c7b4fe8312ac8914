"""DOCX (WordprocessingML): paragraphs, tables and text boxes of the main part, in body order."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from xml.etree import ElementTree as ET

from core.reading.documents.base import Budget, Damaged, Extracted, Limits
from core.reading.documents.package import Package, entry, local, parse_xml, resolve
from core.reading.documents.reader import Reader, Source

_OFFICE_DOCUMENT = "officeDocument"
_W_NS = b"http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_W = "{" + _W_NS.decode() + "}"
_MC_FALLBACK = "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback"


def _word_main_part(contents: Package) -> str | None:
    """The main part of a Word document: named by _rels/.rels (usually
    word/document.xml) and in the WordprocessingML namespace (not xlsx/pptx)."""
    main = _office_main_part(contents) or "word/document.xml"
    data = entry(contents, main)
    if data is None or _W_NS not in data[:4096]:
        return None
    return main


def _office_main_part(contents: Package) -> str | None:
    rels = entry(contents, "_rels/.rels")
    if rels is None:
        return None
    try:
        root = parse_xml(rels, "_rels/.rels")
    except Damaged:
        return None
    for rel in root:
        if (rel.get("Type") or "").endswith("/" + _OFFICE_DOCUMENT):
            return resolve("", rel.get("Target") or "")
    return None


def claims_docx(package: Package) -> bool:
    """A DOCX package names a WordprocessingML main part."""
    return _word_main_part(package) is not None


def read_docx(source: Source, limits: Limits) -> Extracted:
    """Paragraphs and tables in body order, read from the main part alone (the style
    parts, ≈0.8 MB in Word's default template, never matter to the text)."""
    contents = source.opened()
    part = _word_main_part(contents)
    if part is None:  # claims_docx said there is one
        raise Damaged("bad_zip", "压缩包中缺少 DOCX 的主文件")
    root = parse_xml(entry(contents, part) or b"", part)
    body = root.find(f"{_W}body")
    if body is None:
        raise Damaged("bad_docx", "DOCX 正文没有 body")
    budget = Budget(limits.max_text_chars)
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


def _docx_core_properties(contents: Package) -> dict[str, str]:
    data = entry(contents, "docProps/core.xml")
    meta: dict[str, str] = {}
    if data is None:
        return meta
    with contextlib.suppress(Damaged):  # properties are optional decoration
        root = parse_xml(data, "docProps/core.xml")
        for element in root:
            name = local(element.tag)
            if name in {"title", "creator", "subject", "created"} and (element.text or "").strip():
                meta[name.capitalize()] = (element.text or "").strip()[:1000]
    return meta


READER = Reader("docx", ("docx",), read_docx, claims=claims_docx)
