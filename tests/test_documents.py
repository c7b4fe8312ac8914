"""core.reading.documents: attachment bytes → text, status and findings, total and bounded."""

from __future__ import annotations

import io
import json
import re
import struct
import time
import zipfile
from typing import Any

import pytest

from core.reading.documents import Extracted, Limits, extract
from core.reading.mail import Attachment, parse_message
from tests.conftest import CORPUS
from tests.data.reading.builders import (
    make_blank_pdf,
    make_docx,
    make_docx_package,
    make_jpeg,
    make_laid_out_pdf,
    make_ofd,
    make_pdf,
    make_png,
    make_tiff,
    make_zip,
    ofd_document,
    ofd_xml,
)

LABELS: dict[str, dict[str, Any]] = {
    row["file"]: row
    for row in (json.loads(line) for line in (CORPUS / "labels.jsonl").read_text().splitlines())
}
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _codes(got: Extracted) -> set[str]:
    return {f.code for f in got.findings}


def _att(data: bytes, filename: str | None = "a.bin", ctype: str = "application/octet-stream",
         charset: str | None = None) -> Attachment:
    return Attachment.of(filename, ctype, data, charset)


# ---------------------------------------------------------------- the corpus


@pytest.mark.parametrize("name", sorted(LABELS), ids=str)
def test_corpus_document_reads(name: str) -> None:
    """Each corpus item reads: damaged ones show damage; others carry 字号 and title."""
    label = LABELS[name]
    parsed = parse_message((CORPUS / name).read_bytes())
    assert parsed.parsed_ok
    results = [(att, extract(att)) for att in parsed.documents]
    if label.get("reason") == "damaged":
        # Damage is a part that does not open, or one the manifest's sha256 does not match.
        shas = {att.sha256 for att, _ in results}
        broken = [got for _, got in results if got.status == "damaged"]
        mismatch = parsed.manifest is not None and parsed.manifest.get("sha256") not in shas
        assert broken or mismatch
        return
    text = _flat(parsed.body_text + "".join(got.text for _, got in results))
    if label["title"]:
        assert _flat(label["title"]) in text
    if label["doc_number"]:
        year, seq = re.search(r"〔(\d{4})〕(\d+)号", label["doc_number"]).groups()  # type: ignore[union-attr]
        assert year in text
        assert f"{seq}号" in text
    for att, got in results:
        assert got.status in {"ok", "image"}, (att.filename, got.findings)


@pytest.mark.parametrize(
    "name",
    [n for n, row in sorted(LABELS.items()) if row.get("reason") != "damaged"],
    ids=str,
)
def test_corpus_pdfs_give_real_chinese(name: str) -> None:
    """Every readable corpus PDF yields its 发文字号 and 标题 verbatim as Chinese text."""
    label = LABELS[name]
    parsed = parse_message((CORPUS / name).read_bytes())
    for att in parsed.documents:
        got = extract(att)
        if got.meta.get("format") != "pdf":
            continue
        assert got.status == "ok"
        flat = _flat(got.text)
        assert _flat(label["title"]) in flat
        if label["doc_number"]:
            assert label["doc_number"] in flat


# ---------------------------------------------------------------- PDF

LINES = [
    "四川省人民政府办公厅文件",
    "川办发〔2024〕43号",
    "四川省人民政府办公厅关于做好森林防火工作的通知",
]


def test_pdf_text_in_order() -> None:
    """A reportlab PDF with a CID Chinese font extracts line by line."""
    got = extract(_att(make_pdf(LINES), "a.pdf", "application/pdf"))
    assert got.status == "ok"
    assert got.text.splitlines() == LINES
    assert got.meta["pages"] == "1"


def test_pdf_recognised_by_magic_despite_label() -> None:
    """PDF bytes under a generic type and a wrong name are still read as PDF."""
    got = extract(_att(make_pdf(LINES), "scan.bin", "application/octet-stream"))
    assert got.status == "ok"
    assert got.meta["format"] == "pdf"


def test_truncated_pdf_is_damaged() -> None:
    """A PDF cut in half does not open: damaged with a finding."""
    pdf = make_pdf(LINES)
    got = extract(_att(pdf[: len(pdf) // 2], "a.pdf", "application/pdf"))
    assert got.status == "damaged"
    assert got.findings


def test_pdf_missing_its_end_is_damaged_even_if_repairable() -> None:
    """A PDF without %%EOF is damaged (cut in transit) though pypdf could repair it."""
    pdf = make_pdf(LINES)
    got = extract(_att(pdf[: pdf.rindex(b"%%EOF")], "a.pdf", "application/pdf"))
    assert got.status == "damaged"
    assert "truncated" in _codes(got)


def test_pdf_with_trailing_padding_is_intact() -> None:
    """NUL or newline padding after %%EOF (some scanners add it) is not truncation."""
    got = extract(_att(make_pdf(LINES) + b"\x00" * 5000 + b"\r\n", "a.pdf", "application/pdf"))
    assert got.status == "ok"


def test_scanned_pdf_is_an_image() -> None:
    """A PDF without a text layer is reported as an image needing OCR."""
    got = extract(_att(make_blank_pdf(), "scan.pdf", "application/pdf"))
    assert got.status == "image"
    assert "no_text_layer" in _codes(got)


@pytest.mark.parametrize("algorithm", ["RC4-128", "AES-128", "AES-256"])
def test_pdf_with_only_an_owner_password_is_read(algorithm: str) -> None:
    """A PDF locked against editing (empty user password) is read, whatever its cipher."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(make_pdf(["川府函〔2024〕88号"]))))
    writer.encrypt(user_password="", owner_password="owner", algorithm=algorithm)
    out = io.BytesIO()
    writer.write(out)
    got = extract(_att(out.getvalue(), "a.pdf", "application/pdf"))
    assert got.status == "ok", got.findings
    assert "川府函〔2024〕88号" in got.text


def test_pdf_with_a_user_password_is_damaged() -> None:
    """A PDF that needs a password to open is reported as encrypted, not guessed at."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(make_pdf(["正文"]))))
    writer.encrypt(user_password="secret", owner_password="owner", algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    got = extract(_att(out.getvalue(), "a.pdf", "application/pdf"))
    assert got.status == "damaged"
    assert [f.code for f in got.findings] == ["encrypted"]


def test_pdf_page_limit() -> None:
    """Only max_pages pages are read, with a finding."""
    got = extract(_att(make_pdf(["第一行"], pages=4), "a.pdf", "application/pdf"),
                  Limits(max_pages=2))
    assert "page_limit" in _codes(got)
    assert "第2页" in got.text
    assert "第3页" not in got.text


def test_text_limit() -> None:
    """Text beyond max_text_chars is cut, with a finding."""
    got = extract(_att(make_pdf(LINES), "a.pdf", "application/pdf"), Limits(max_text_chars=10))
    assert len(got.text) <= 10
    assert "text_limit" in _codes(got)


def test_declared_pdf_with_foreign_bytes_is_damaged() -> None:
    """A part named .pdf whose bytes are not a PDF is damaged (bad magic)."""
    got = extract(_att(b"this is not a pdf at all", "a.pdf", "application/pdf"))
    assert got.status == "damaged"
    assert "bad_magic" in _codes(got)


# ---------------------------------------------------------------- DOCX


def test_docx_paragraphs_and_tables_in_order() -> None:
    """DOCX text comes out paragraph by paragraph, tables row by row, in body order."""
    table = [["单位", "意见"], ["财政厅", "同意"]]
    data = make_docx(["川府函〔2024〕88号", "关于征求意见的函"], table, ["抄送：省应急管理厅。"])
    got = extract(_att(data, "函.docx", DOCX_TYPE))
    assert got.status == "ok"
    assert got.text.splitlines() == [
        "川府函〔2024〕88号",
        "关于征求意见的函",
        "单位\t意见",
        "财政厅\t同意",
        "抄送：省应急管理厅。",
    ]


TEXTBOX_DOCUMENT = (
    '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" '
    'xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" '
    'xmlns:wps="http://schemas.microsoft.com/office/word/2010/wordprocessingShape" '
    'xmlns:v="urn:schemas-microsoft-com:vml"><w:body>'
    "<w:p><w:r><mc:AlternateContent><mc:Choice Requires=\"wps\"><wps:txbx><w:txbxContent>"
    "<w:p><w:r><w:t>甘孜州财政局文件</w:t></w:r></w:p></w:txbxContent></wps:txbx></mc:Choice>"
    "<mc:Fallback><v:textbox><w:txbxContent><w:p><w:r><w:t>甘孜州财政局文件</w:t></w:r></w:p>"
    "</w:txbxContent></v:textbox></mc:Fallback></mc:AlternateContent></w:r></w:p>"
    "<w:p><w:r><w:t>甘财〔2024〕57号</w:t></w:r></w:p></w:body></w:document>"
)


def _replace_entry(data: bytes, name: str, content: bytes) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(data))
    entries = {i.filename: source.read(i) for i in source.infolist()}
    entries[name] = content
    return make_zip(entries)


def test_docx_text_box_read_once() -> None:
    """A masthead in a text box is read once, not again from Word's VML fallback."""
    data = _replace_entry(make_docx(["x"]), "word/document.xml", TEXTBOX_DOCUMENT.encode())
    got = extract(_att(data, "a.docx", DOCX_TYPE))
    assert got.text.splitlines() == ["甘孜州财政局文件", "甘财〔2024〕57号"]


def _r(text: str) -> str:
    return f"<w:r><w:t>{text}</w:t></w:r>"


def test_docx_reads_what_word_shows() -> None:
    """Text in content controls, simple fields, smart tags, custom XML and tracked insertions
    (around runs, paragraphs, rows and cells) is read; deleted and moved-away text is not."""
    body = (
        '<w:sdt><w:sdtPr><w:alias w:val="机关"/></w:sdtPr><w:sdtContent>'
        f'<w:p>{_r("甘孜州财政局文件")}</w:p></w:sdtContent></w:sdt>'
        '<w:p><w:fldSimple w:instr=" MERGEFIELD 文号 ">'
        f'{_r("甘财〔2024〕57号")}</w:fldSimple></w:p>'
        f"<w:p><w:sdt><w:sdtPr/><w:sdtContent>{_r('关于报送')}</w:sdtContent></w:sdt>"
        f'<w:smartTag w:uri="u" w:element="e">{_r("预算")}</w:smartTag>'
        f'<w:ins w:id="1" w:author="a">{_r("执行情况")}</w:ins>'
        f'<w:del w:id="2" w:author="a"><w:r><w:delText>删去</w:delText></w:r></w:del>'
        f'<w:moveFrom w:id="3" w:author="a">{_r("移走")}</w:moveFrom>'
        f'<w:customXml w:element="x">{_r("的函")}</w:customXml></w:p>'
        f"<w:tbl><w:sdt><w:sdtContent><w:tr><w:tc><w:p>{_r('州人民政府：')}</w:p></w:tc>"
        f"</w:tr></w:sdtContent></w:sdt></w:tbl>"
    )
    got = extract(_att(make_docx_package(body), "a.docx", DOCX_TYPE))
    assert got.status == "ok"
    assert got.text.splitlines() == [
        "甘孜州财政局文件", "甘财〔2024〕57号", "关于报送预算执行情况的函", "州人民政府：",
    ]


def test_docx_content_control_showing_its_prompt_is_not_text() -> None:
    """A content control still showing its placeholder prompt is skipped; once filled in
    (the flag off), its text is read."""
    body = (
        f"<w:p>{_r('关于报送预算执行情况的函')}</w:p>"
        '<w:sdt><w:sdtPr><w:showingPlcHdr/></w:sdtPr><w:sdtContent>'
        f"<w:p>{_r('单击或点击此处输入文字。')}</w:p></w:sdtContent></w:sdt>"
        '<w:sdt><w:sdtPr><w:showingPlcHdr w:val="false"/></w:sdtPr><w:sdtContent>'
        f"<w:p>{_r('州人民政府：')}</w:p></w:sdtContent></w:sdt>"
    )
    got = extract(_att(make_docx_package(body), "a.docx", DOCX_TYPE))
    assert got.text.splitlines() == ["关于报送预算执行情况的函", "州人民政府："]


def test_docx_with_corrupt_entry_is_damaged() -> None:
    """A DOCX whose compressed styles fail their CRC does not open: damaged."""
    data = bytearray(make_docx(["正文"]))
    archive = zipfile.ZipFile(io.BytesIO(bytes(data)))
    info = archive.getinfo("word/styles.xml")
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    middle = start + info.compress_size // 2
    data[middle : middle + 8] = bytes(b ^ 0x55 for b in data[middle : middle + 8])
    got = extract(_att(bytes(data), "a.docx", DOCX_TYPE))
    assert got.status == "damaged"
    assert "bad_zip" in _codes(got)


def test_truncated_docx_is_damaged() -> None:
    """A DOCX cut short (no central directory) is damaged."""
    data = make_docx(["正文"])
    got = extract(_att(data[: len(data) // 2], "a.docx", DOCX_TYPE))
    assert got.status == "damaged"


# ---------------------------------------------------------------- OFD


def test_ofd_meta_and_text() -> None:
    """OFD DocInfo (with CustomDatas) goes to meta; page TextCode text in page order."""
    data = make_ofd([["川财农〔2024〕112号", "关于下达资金的通知"], ["第二页正文"]],
                    title="关于下达资金的通知", custom={"发文字号": "川财农〔2024〕112号"})
    got = extract(_att(data, "a.ofd", "application/ofd"))
    assert got.status == "ok"
    assert got.text.split() == ["川财农〔2024〕112号", "关于下达资金的通知", "第二页正文"]
    assert got.meta["Title"] == "关于下达资金的通知"
    assert got.meta["DocID"] == "d1"
    assert got.meta["Author"] == "办公室"
    assert got.meta["CreationDate"] == "2024-05-20"
    assert got.meta["CustomData.发文字号"] == "川财农〔2024〕112号"
    assert got.meta["pages"] == "2"


def test_ofd_one_object_per_character_and_absolute_locations() -> None:
    """Per-character text objects join into lines; absolute BaseLoc paths resolve."""
    data = make_ofd([["甘交〔2024〕29号", "关于检查的通知"]], per_char=True, absolute_locs=True)
    got = extract(_att(data, "a.ofd", "application/ofd"))
    assert got.text.splitlines() == ["甘交〔2024〕29号", "关于检查的通知"]


def test_ofd_line_written_right_to_left() -> None:
    """The objects of a line written from its end still read left to right."""
    data = make_ofd([["甘交〔2024〕29号", "关于检查的通知"]], per_char=True, right_to_left=True)
    got = extract(_att(data, "a.ofd", "application/ofd"))
    assert got.text.splitlines() == ["甘交〔2024〕29号", "关于检查的通知"]


def test_page_number_lines_are_dropped() -> None:
    """`— N —` page numbers are page furniture: a sentence over the page break reads whole."""
    pages = [["各市（州）人民政府：", "请于2024年"], ["7月15日前报送。"]]
    ofd = extract(_att(make_ofd(pages, page_numbers=True), "a.ofd", "application/ofd"))
    pdf = extract(_att(make_laid_out_pdf(pages, page_numbers=True), "a.pdf", "application/pdf"))
    for got in (ofd, pdf):
        assert _flat(got.text) == "各市（州）人民政府：请于2024年7月15日前报送。"


def test_pdf_letter_spaced_line_reads_unspaced() -> None:
    """A line drawn glyph by glyph with wide gaps reads without the gaps; a line of
    words keeps its spaces."""
    pdf = make_laid_out_pdf([["四川省人民政府文件", "Fax from 0836 2832"]],
                            spaced=("四川省人民政府文件",))
    got = extract(_att(pdf, "a.pdf", "application/pdf"))
    assert got.text.splitlines() == ["四川省人民政府文件", "Fax from 0836 2832"]


def test_ofd_missing_page_is_damaged() -> None:
    """An OFD whose page file is missing is damaged."""
    data = make_zip({
        "OFD.xml": ofd_xml("t").encode(),
        "Doc_0/Document.xml": ofd_document(["Pages/Page_0/Content.xml"]).encode(),
    })
    got = extract(_att(data, "a.ofd", "application/ofd"))
    assert got.status == "damaged"
    assert "bad_ofd" in _codes(got)


def test_ofd_with_dtd_is_refused() -> None:
    """An OFD XML with a DTD (entity expansion) is refused without being parsed."""
    laughs = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
        '<ofd:OFD xmlns:ofd="http://www.ofdspec.org/2016">&lol2;</ofd:OFD>'
    )
    got = extract(_att(make_zip({"OFD.xml": laughs.encode()}), "a.ofd", "application/ofd"))
    assert got.status == "damaged"
    assert "xml_dtd" in _codes(got)


def _bomb(size_mib: int) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("OFD.xml", ofd_xml("炸弹"))
        with z.open("Doc_0/Pages/Page_0/Content.xml", "w") as entry:
            chunk = b" " * (1 << 20)
            for _ in range(size_mib):
                entry.write(chunk)
    return out.getvalue()


def test_ofd_zip_bomb_is_damaged_quickly() -> None:
    """A 100 MB highly compressible entry is refused before it is inflated."""
    bomb = _bomb(100)
    start = time.perf_counter()
    got = extract(_att(bomb, "a.ofd", "application/ofd"))
    assert time.perf_counter() - start < 1.0
    assert got.status == "damaged"
    assert "zip_bomb" in _codes(got)


def test_zip_entry_lying_about_its_size_is_damaged() -> None:
    """An entry whose declared size is small but inflates to more is cut and fails its CRC."""
    data = bytearray(_bomb(20))
    archive = zipfile.ZipFile(io.BytesIO(bytes(data)))
    info = archive.getinfo("Doc_0/Pages/Page_0/Content.xml")
    # uncompressed size: local header offset 22, central directory entry offset 24
    struct.pack_into("<I", data, info.header_offset + 22, 1000)
    central = bytes(data).rindex(b"PK\x01\x02")
    struct.pack_into("<I", data, central + 24, 1000)
    start = time.perf_counter()
    got = extract(_att(bytes(data), "a.ofd", "application/ofd"))
    assert time.perf_counter() - start < 1.0
    assert got.status == "damaged"


def test_zip_total_size_is_bounded_while_reading() -> None:
    """Entries under the per-entry bound but over the total bound stop the read."""
    entries = {"OFD.xml": ofd_xml("t").encode()}
    entries |= {f"Res/{i}.xml": bytes(range(256)) * 1024 for i in range(8)}
    got = extract(_att(make_zip(entries), "a.ofd", "application/ofd"),
                  Limits(max_total_bytes=1 << 20))
    assert got.status == "damaged"
    assert "zip_bomb" in _codes(got)


def test_zip_entry_count_is_bounded() -> None:
    """A container with more entries than allowed is refused from its directory record."""
    entries = {f"e{i}.xml": b"<a/>" for i in range(30)}
    got = extract(_att(make_zip(entries), "a.ofd", "application/ofd"), Limits(max_zip_entries=10))
    assert got.status == "damaged"
    assert "zip_bomb" in _codes(got)


def test_spreadsheet_is_unsupported_not_damaged() -> None:
    """An XLSX (Office, but not Word) is unsupported rather than misread as DOCX."""
    import openpyxl

    book = openpyxl.Workbook()
    book.active["A1"] = "表格"
    out = io.BytesIO()
    book.save(out)
    got = extract(_att(out.getvalue(), "a.xlsx", "application/octet-stream"))
    assert got.status == "unsupported"


def test_plain_zip_is_unsupported() -> None:
    """A zip that is neither OFD nor DOCX is unsupported, not damaged."""
    got = extract(_att(make_zip({"a.txt": b"hello"}), "files.zip", "application/zip"))
    assert got.status == "unsupported"


# ---------------------------------------------------------------- images


def test_tiff_fax_is_an_image_with_pages() -> None:
    """A multi-page TIFF is an image; its pages are counted."""
    got = extract(_att(make_tiff(pages=3), "fax.tif", "image/tiff"))
    assert got.status == "image"
    assert got.text == ""
    assert got.meta["pages"] == "3"


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d[: len(d) // 2],
        lambda d: d[:8],
        lambda d: b"II*\x00\xff\xff\xff\x00" + d[8:],
    ],
    ids=["half", "header-only", "bad-ifd-offset"],
)
def test_broken_tiff_is_damaged(mutate: Any) -> None:
    """A truncated TIFF or one whose header points outside the file is damaged."""
    got = extract(_att(mutate(make_tiff(width=64, height=64, pages=2)), "fax.tif", "image/tiff"))
    assert got.status == "damaged"


@pytest.mark.parametrize(("make", "name"), [(make_png, "a.png"), (make_jpeg, "a.jpg")])
def test_png_and_jpeg(make: Any, name: str) -> None:
    """PNG and JPEG are images; cut short they are damaged."""
    data = make()
    assert extract(_att(data, name)).status == "image"
    assert extract(_att(data[:-20], name)).status == "damaged"


# ---------------------------------------------------------------- other kinds


def test_text_attachment_uses_its_charset() -> None:
    """A text/plain attachment is decoded by its charset (GB2312 label → GB18030)."""
    got = extract(_att("朱镕基同志".encode("gbk"), "a.txt", "text/plain", charset="gb2312"))
    assert got.status == "ok"
    assert got.text == "朱镕基同志"


def test_html_attachment_becomes_text() -> None:
    """A text/html attachment is converted to text."""
    got = extract(_att("<p>第一段</p><p>第二段</p>".encode(), "a.html", "text/html", "utf-8"))
    assert got.text.splitlines() == ["第一段", "", "第二段"]


def test_legacy_office_is_unsupported() -> None:
    """An OLE2 file (.doc/.wps) is recognised as unsupported."""
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504
    got = extract(_att(ole, "a.doc", "application/msword"))
    assert got.status == "unsupported"


def test_empty_document_is_damaged() -> None:
    """An empty part named as a PDF is damaged; an empty unknown part is unsupported."""
    assert extract(_att(b"", "a.pdf", "application/pdf")).status == "damaged"
    assert extract(_att(b"", "a.bin")).status == "unsupported"
