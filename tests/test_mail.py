"""core.reading.mail: MIME bytes → ParsedMessage, total and bounded."""

from __future__ import annotations

import base64
import json
import time
import urllib.parse
from datetime import UTC, datetime, timedelta, timezone
from email.message import EmailMessage
from pathlib import Path

import pytest

from core.reading.mail import (
    Attachment,
    ParsedMessage,
    decode_base64,
    decode_words,
    parse_message,
)
from core.reading.mail.bounds import MAX_PARTS
from core.reading.text import html_to_text
from tests.conftest import CORPUS
from tests.data.reading.builders import envelope, make_pdf, raw_message

CORPUS_FILES = sorted(CORPUS.glob("*.eml"))
CST = timezone(timedelta(hours=8))


def _codes(parsed: ParsedMessage) -> set[str]:
    return {f.code for f in parsed.findings}


def _multipart(*parts: bytes, boundary: bytes = b"B0UND") -> bytes:
    head = (
        b"From: a@sc.gov.cn\r\nTo: shouwen@gzz.gov.cn\r\nSubject: t\r\n"
        b"Date: Mon, 18 Mar 2024 10:00:00 +0800\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: multipart/mixed; boundary=" + boundary + b"\r\n\r\n"
    )
    body = b"".join(b"--" + boundary + b"\r\n" + p + b"\r\n" for p in parts)
    return head + body + b"--" + boundary + b"--\r\n"


# ---------------------------------------------------------------- the corpus


def test_corpus_is_present() -> None:
    """The dev corpus the reading tests lean on is where conftest says."""
    assert len(CORPUS_FILES) >= 30


@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda p: p.name)
def test_corpus_message_parses(path: Path) -> None:
    """Every corpus message parses with its envelope read and nothing unreadable."""
    parsed = parse_message(path.read_bytes())
    assert parsed.parsed_ok
    assert "unparseable" not in _codes(parsed)
    assert parsed.message_id
    assert "<" not in parsed.message_id
    assert ">" not in parsed.message_id
    assert parsed.from_address
    assert parsed.from_address == parsed.from_address.lower()
    assert parsed.to_addresses
    assert parsed.subject
    assert parsed.date is not None
    assert parsed.date.tzinfo is not None
    assert parsed.body_text or parsed.attachments
    for att in parsed.attachments:
        assert att.data
        assert len(att.sha256) == 64


# ---------------------------------------------------------------- charsets


def test_gbk_body_declared_gb2312_keeps_gbk_only_character() -> None:
    """A body labelled gb2312 but holding a GBK-only character (镕) decodes whole."""
    raw = raw_message("", "朱镕基同志讲话。".encode("gbk"), 'text/plain; charset="gb2312"')
    parsed = parse_message(raw)
    assert parsed.body_text == "朱镕基同志讲话。"
    assert "charset_guess" not in _codes(parsed)


def test_undeclared_gb18030_body_is_detected_with_finding() -> None:
    """A body with no charset label in GB18030 decodes, and the guess is recorded."""
    text = "国务院办公厅关于进一步做好防汛抗旱工作的通知，请各地认真贯彻落实。"
    parsed = parse_message(raw_message("", text.encode("gb18030"), "text/plain"))
    assert parsed.body_text == text
    assert "charset_guess" in _codes(parsed)


def test_wrong_utf8_label_on_gbk_body_is_corrected() -> None:
    """A GBK body labelled utf-8 is decoded as GB18030 with a finding."""
    text = "川办发〔2024〕43号"
    parsed = parse_message(raw_message("", text.encode("gbk"), "text/plain; charset=utf-8"))
    assert parsed.body_text == text
    assert "charset_guess" in _codes(parsed)


def test_latin1_label_on_gbk_body_is_corrected_but_real_latin1_is_kept() -> None:
    """A Western label on Chinese bytes is overruled; on Western text it is trusted."""
    label = "text/plain; charset=iso-8859-1"
    chinese = parse_message(raw_message("", "关于做好森林防火工作的通知".encode("gbk"), label))
    assert chinese.body_text == "关于做好森林防火工作的通知"
    western = parse_message(raw_message("", "Grüße aus Köln".encode("latin-1"), label))
    assert western.body_text == "Grüße aus Köln"
    assert "charset_guess" not in _codes(western)


def test_unknown_charset_label_falls_back_to_detection() -> None:
    """A charset label Python does not know is treated as missing, with a finding."""
    raw = raw_message("", "请查收附件。".encode(), "text/plain; charset=x-unknown-cs")
    parsed = parse_message(raw)
    assert parsed.body_text == "请查收附件。"
    assert "charset_guess" in _codes(parsed)


def test_quoted_printable_gbk_body() -> None:
    """A quoted-printable GBK body (as some mailers send) decodes."""
    body = b"=C7=EB=B2=E9=CA=D5=B8=BD=BC=FE=A1=A3"
    raw = raw_message("", body, 'text/plain; charset="gbk"', cte="quoted-printable")
    assert parse_message(raw).body_text == "请查收附件。"


# ---------------------------------------------------------------- headers


def test_encoded_words_joined_across_a_split_character() -> None:
    """Adjacent encoded words are joined as bytes, so a split UTF-8 character survives."""
    data = "国务院办公厅".encode()
    one, two = base64.b64encode(data[:4]).decode(), base64.b64encode(data[4:]).decode()
    assert decode_words(f"=?utf-8?b?{one}?=\r\n =?UTF-8?B?{two}?= 文件") == "国务院办公厅 文件"


def test_gb2312_encoded_word_with_gbk_only_character() -> None:
    """An encoded word labelled gb2312 holding 镕 decodes through GB18030."""
    word = base64.b64encode("朱镕基".encode("gbk")).decode()
    assert decode_words(f"=?gb2312?B?{word}?=") == "朱镕基"


def test_q_encoded_word() -> None:
    """Q-encoding: =XX bytes and underscore as space."""
    assert decode_words("=?utf-8?q?=E5=9B=BD_=E5=8A=A1?=") == "国 务"


def test_envelope_headers_decoded() -> None:
    """From name, addresses, subject, date and Message-ID come out decoded and normalised."""
    msg = envelope(subject="川办发〔2024〕43号 关于做好工作的通知")
    msg["Cc"] = "办公室 <BanGong@GZZ.gov.cn>, other@example.com"
    msg["X-Fax-Remote-ID"] = "08363322004"
    msg["X-Personal"] = "亲启"
    msg.set_content("正文")
    parsed = parse_message(msg.as_bytes())
    assert parsed.from_name == "四川省人民政府办公厅"
    assert parsed.from_address == "wenshu@sc.gov.cn"
    assert parsed.to_addresses == ["shouwen@gzz.gov.cn"]
    assert parsed.cc_addresses == ["bangong@gzz.gov.cn", "other@example.com"]
    assert parsed.subject == "川办发〔2024〕43号 关于做好工作的通知"
    assert parsed.date == datetime(2024, 3, 18, 10, 0, tzinfo=CST)
    assert parsed.message_id == "t1@sc.gov.cn"
    assert parsed.headers["X-Fax-Remote-ID"] == "08363322004"
    assert parsed.headers["X-Personal"] == "亲启"
    assert parsed.headers["To"] == "甘孜州人民政府 <shouwen@gzz.gov.cn>"


def test_raw_8bit_gbk_subject_is_decoded_with_finding() -> None:
    """An unencoded GBK subject (8-bit bytes in the header) decodes and is flagged."""
    raw = (
        b"From: a@sc.gov.cn\r\nSubject: " + "川办发〔2024〕43号 通知".encode("gbk")
        + b"\r\nDate: Mon, 18 Mar 2024 10:00:00 +0800\r\n\r\nbody\r\n"
    )
    parsed = parse_message(raw)
    assert parsed.subject == "川办发〔2024〕43号 通知"
    assert "charset_guess" in _codes(parsed)


def test_message_id_missing_closing_bracket() -> None:
    """A Message-ID without its closing bracket is still read."""
    raw = b"From: a@b.cn\r\nMessage-ID: <123.abc@sc.gov.cn\r\nSubject: x\r\n\r\nhi"
    assert parse_message(raw).message_id == "123.abc@sc.gov.cn"


def test_date_without_zone_is_utc_with_finding() -> None:
    """A -0000 date is read as UTC (RFC 5322) and flagged; nonsense gives None."""
    raw = b"From: a@b.cn\r\nDate: Mon, 18 Mar 2024 10:00:00 -0000\r\n\r\nhi"
    parsed = parse_message(raw)
    assert parsed.date == datetime(2024, 3, 18, 10, 0, tzinfo=UTC)
    assert "date_no_zone" in _codes(parsed)
    bad = parse_message(b"From: a@b.cn\r\nDate: the day after tomorrow\r\n\r\nhi")
    assert bad.date is None
    assert "bad_date" in _codes(bad)


# ---------------------------------------------------------------- bodies and parts


def test_html_only_body_becomes_text() -> None:
    """An HTML body loses script/style, keeps line breaks at blocks, joins CJK lines."""
    html = (
        "<html><head><title>标题栏</title><style>p{color:red}</style>"
        "<script>var x = '不应出现';</script></head><body>"
        "<p>四川省人民政府办公厅<br>川办发〔2024〕43号</p>"
        "<div>关于做好\n森林防火工作的通知&nbsp;&amp;</div>"
        "<table><tr><td>甲</td><td>乙</td></tr></table></body></html>"
    )
    msg = envelope()
    msg.set_content(html, subtype="html")
    parsed = parse_message(msg.as_bytes())
    lines = parsed.body_text.splitlines()
    assert "四川省人民政府办公厅" in lines
    assert "川办发〔2024〕43号" in lines
    assert "关于做好森林防火工作的通知 &" in lines
    assert "甲\t乙" in lines
    assert "不应出现" not in parsed.body_text
    assert "标题栏" not in parsed.body_text
    assert parsed.attachments == []


def test_html_charset_from_meta_tag() -> None:
    """An HTML part without a charset parameter is decoded by its <meta charset>."""
    html = '<html><head><meta charset="gbk"></head><body><p>朱镕基</p></body></html>'
    parsed = parse_message(raw_message("", html.encode("gbk"), "text/html"))
    assert parsed.body_text == "朱镕基"


def test_html_to_text_preformatted() -> None:
    """<pre> keeps its spacing."""
    assert html_to_text("<pre>a   b\n c</pre>") == "a   b\nc"


def test_alternative_keeps_only_the_richer_body() -> None:
    """multipart/alternative contributes one body, the fuller one, not both."""
    msg = envelope()
    msg.set_content("见附件")
    msg.add_alternative("<p>四川省人民政府办公厅关于做好工作的通知</p>", subtype="html")
    parsed = parse_message(msg.as_bytes())
    assert parsed.body_text == "四川省人民政府办公厅关于做好工作的通知"


def _forward(inner: EmailMessage, depth: int = 1) -> EmailMessage:
    current = inner
    for level in range(depth):
        outer = envelope(subject=f"转发{level}", sender="办公室 <bgs@gzz.gov.cn>")
        outer.set_content(f"转发说明{level}")
        outer.add_attachment(current)
        current = outer
    return current


def test_forwarded_message_with_document_inside() -> None:
    """A message/rfc822 forward yields the inner document, body and envelope."""
    inner = envelope(subject="川办发〔2024〕43号 关于做好工作的通知")
    inner.set_content("请查收附件。")
    pdf = make_pdf(["川办发〔2024〕43号"])
    inner.add_attachment(pdf, maintype="application", subtype="pdf", filename="通知.pdf")
    parsed = parse_message(_forward(inner).as_bytes())
    assert [a.filename for a in parsed.attachments] == ["通知.pdf"]
    assert parsed.attachments[0].data == pdf
    assert "请查收附件。" in parsed.body_text
    assert "转发说明0" in parsed.body_text
    assert [f.subject for f in parsed.forwarded] == ["川办发〔2024〕43号 关于做好工作的通知"]
    assert parsed.forwarded[0].from_address == "wenshu@sc.gov.cn"


def test_forward_nesting_is_bounded() -> None:
    """Forwards nested deeper than the bound stop with a finding, not a crash."""
    inner = envelope(subject="最里层")
    inner.set_content("最里层正文")
    parsed = parse_message(_forward(inner, depth=8).as_bytes())
    assert parsed.parsed_ok
    assert "too_deep" in _codes(parsed)
    assert "最里层正文" not in parsed.body_text


def test_base64_encoded_forward_is_decoded() -> None:
    """A message/rfc822 part sent base64-encoded (non-standard) is still read."""
    inner = envelope(subject="内层")
    inner.add_attachment(b"%PDF-1.4 x", maintype="application", subtype="pdf", filename="a.pdf")
    part = (
        b"Content-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + base64.encodebytes(inner.as_bytes())
    )
    parsed = parse_message(_multipart(part))
    assert [a.filename for a in parsed.attachments] == ["a.pdf"]
    assert parsed.forwarded[0].subject == "内层"


@pytest.mark.parametrize(
    ("disposition", "expected"),
    [
        (
            "attachment;\r\n filename*0*=utf-8''%E5%9B%BD%E5%8A%A1;\r\n filename*1*=%E9%99%A2.pdf",
            "国务院.pdf",
        ),
        (
            "attachment; filename*=gb2312''"
            + urllib.parse.quote("朱镕基.pdf".encode("gbk")),
            "朱镕基.pdf",
        ),
        (
            'attachment; filename="=?gb2312?B?'
            + base64.b64encode("朱镕基.pdf".encode("gbk")).decode() + '?="',
            "朱镕基.pdf",
        ),
        ('attachment; filename="C:\\\\Users\\\\x\\\\notice.pdf"', "notice.pdf"),
    ],
    ids=["rfc2231-continuation", "rfc2231-gb2312", "rfc2047-in-quotes", "windows-path"],
)
def test_attachment_filenames(disposition: str, expected: str) -> None:
    """Filenames in RFC 2231 (with continuations), RFC 2047 and with paths are decoded."""
    part = (
        b"Content-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n"
        b"Content-Disposition: " + disposition.encode("ascii") + b"\r\n\r\nJVBERi0xLjQ=\r\n"
    )
    parsed = parse_message(_multipart(part))
    assert [a.filename for a in parsed.attachments] == [expected]
    assert parsed.attachments[0].data == b"%PDF-1.4"


def test_raw_8bit_gbk_filename() -> None:
    """An unencoded GBK filename is decoded by guessing, with a finding."""
    part = (
        b"Content-Type: application/pdf\r\nContent-Disposition: attachment; filename=\""
        + "朱镕基.pdf".encode("gbk") + b"\"\r\n\r\nxx"
    )
    parsed = parse_message(_multipart(part))
    assert [a.filename for a in parsed.attachments] == ["朱镕基.pdf"]
    assert "charset_guess" in _codes(parsed)


def test_name_parameter_of_content_type_is_a_fallback_filename() -> None:
    """Without a Content-Disposition filename, Content-Type's name= names the part."""
    part = b'Content-Type: application/ofd; name="a.ofd"\r\n\r\nxx'
    assert parse_message(_multipart(part)).attachments[0].filename == "a.ofd"


def test_broken_base64_keeps_what_decodes() -> None:
    """Junk characters and a cut-off end are findings; the decodable bytes are kept."""
    good = base64.b64encode(b"%PDF-1.4 hello world body").decode()
    broken = good[:8] + "!!**" + good[8:-3]
    part = (
        b"Content-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n"
        b"Content-Disposition: attachment; filename=a.pdf\r\n\r\n" + broken.encode()
    )
    parsed = parse_message(_multipart(part))
    assert "bad_base64" in _codes(parsed)
    assert parsed.attachments[0].data.startswith(b"%PDF-1.4 hello world")


def test_decode_base64_variants() -> None:
    """Lenient base64: padding inside (concatenation), missing padding, one stray char."""
    assert decode_base64("QQ==QUI=") == (b"AAB", None)
    data, problem = decode_base64("QUJD\nRA")
    assert data == b"ABCD"
    assert problem is not None
    data, problem = decode_base64("QUJDR")
    assert data == b"ABC"
    assert problem is not None


def test_manifest_is_parsed_and_kept_as_attachment() -> None:
    """A 签收单.json part becomes the manifest and stays among the attachments."""
    manifest = {"envelope_no": "川交2024-003101", "from": "四川省交通运输厅", "sha256": "0" * 64}
    msg = envelope()
    msg.set_content("请查收附件。")
    msg.add_attachment(b"%PDF-1.4", maintype="application", subtype="pdf", filename="a.pdf")
    msg.add_attachment(json.dumps(manifest, ensure_ascii=False).encode(),
                       maintype="application", subtype="json", filename="签收单.json")
    parsed = parse_message(msg.as_bytes())
    assert parsed.manifest == manifest
    assert [a.filename for a in parsed.attachments] == ["a.pdf", "签收单.json"]
    assert [a.filename for a in parsed.documents] == ["a.pdf"]


def test_invalid_manifest_is_a_finding() -> None:
    """A 签收单.json that is not JSON gives manifest None and a finding, part kept."""
    msg = envelope()
    msg.add_attachment(b"{not json", maintype="application", subtype="json",
                       filename="签收单.json")
    parsed = parse_message(msg.as_bytes())
    assert parsed.manifest is None
    assert "manifest_invalid" in _codes(parsed)
    assert parsed.attachments[0].data == b"{not json"


def test_attachment_of_computes_sha256() -> None:
    """Attachment.of fills in the sha256 of the data."""
    att = Attachment.of("a.txt", "text/plain", b"abc")
    assert att.sha256 == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


# ---------------------------------------------------------------- defects and bounds


@pytest.mark.parametrize(
    "raw",
    [b"", b"\x00\xff\x13garbage\x89PNG", b"just some words without any header\r\n", b"\r\n\r\n"],
    ids=["empty", "binary", "prose", "blank"],
)
def test_garbage_is_not_parsed(raw: bytes) -> None:
    """Input with no mail headers gives parsed_ok False and an unparseable finding."""
    parsed = parse_message(raw)
    assert not parsed.parsed_ok
    assert "unparseable" in _codes(parsed)


def test_truncated_multipart_is_flagged() -> None:
    """A message cut before its closing boundary records a truncation."""
    raw = _multipart(b"Content-Type: text/plain\r\n\r\n\xe8\xaf\xb7\xe6\x9f\xa5\xe6\x94\xb6")
    cut = raw[: raw.rindex(b"--B0UND--")]
    parsed = parse_message(cut)
    assert parsed.parsed_ok
    assert "truncated" in _codes(parsed)
    assert parsed.body_text == "请查收"


def test_too_many_parts_is_bounded() -> None:
    """A message with thousands of parts stops at MAX_PARTS with a finding, quickly."""
    parts = [b"Content-Type: application/octet-stream\r\n\r\nx%d" % i for i in range(3000)]
    start = time.perf_counter()
    parsed = parse_message(_multipart(*parts))
    assert time.perf_counter() - start < 2.0
    assert "too_many_parts" in _codes(parsed)
    assert len(parsed.attachments) < MAX_PARTS


def test_huge_subject_is_cut_and_flagged() -> None:
    """A 1 MB encoded-word subject is cut to the header bound, quickly."""
    subject = b"=?utf-8?b?5Zu9?= " * 60_000
    raw = b"From: a@b.cn\r\nSubject: " + subject + b"\r\n\r\nhi"
    start = time.perf_counter()
    parsed = parse_message(raw)
    assert time.perf_counter() - start < 2.0
    assert "header_too_long" in _codes(parsed)
    assert parsed.subject is not None
    assert parsed.subject.startswith("国")


def test_huge_content_type_is_cut_and_flagged() -> None:
    """A Content-Type with a megabyte of parameters is cut before email parses it."""
    params = b"; a=b" * 200_000
    raw = (
        b"From: a@b.cn\r\nSubject: s\r\nContent-Type: text/plain; charset=utf-8" + params
        + b"\r\n\r\nhello"
    )
    start = time.perf_counter()
    parsed = parse_message(raw)
    assert time.perf_counter() - start < 2.0
    assert "header_too_long" in _codes(parsed)
    assert parsed.body_text == "hello"


def test_header_flood_is_cut_and_body_still_read() -> None:
    """300 000 header lines are cut to the bound; the body is still read, quickly."""
    flood = b"X-A: b\r\n" * 300_000
    raw = b"From: a@b.cn\r\nSubject: s\r\n" + flood + "\r\n正文".encode()
    start = time.perf_counter()
    parsed = parse_message(raw)
    assert time.perf_counter() - start < 1.0
    assert "header_too_long" in _codes(parsed)
    assert parsed.body_text == "正文"


def test_header_flood_inside_parts_skips_the_body() -> None:
    """Hundreds of thousands of header lines inside parts stop body parsing, quickly."""
    raw = _multipart(b"X-A: b\r\n" * 300_000 + b"\r\nhi")
    start = time.perf_counter()
    parsed = parse_message(raw)
    assert time.perf_counter() - start < 1.5
    assert "header_too_long" in _codes(parsed)
    assert parsed.parsed_ok
    assert parsed.body_text == ""


def _nested(levels: int) -> bytes:
    return b"From: a@b.cn\r\nSubject: s\r\n" + b"".join(
        b"Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n" % (i, i)
        for i in range(levels)
    )


def test_deep_multipart_nesting_is_bounded() -> None:
    """Nesting beyond the walk's depth bound stops with a finding."""
    parsed = parse_message(_nested(60))
    assert parsed.parsed_ok
    assert "too_deep" in _codes(parsed)


def test_thousands_of_nested_containers_are_refused_quickly() -> None:
    """Thousands of nested multiparts (quadratic in email's parser) are not parsed at all."""
    start = time.perf_counter()
    parsed = parse_message(_nested(3000))
    assert time.perf_counter() - start < 0.5
    assert parsed.parsed_ok
    assert "too_many_parts" in _codes(parsed)


def test_parse_is_pure_and_repeatable() -> None:
    """The same bytes give the same result (no clock, no state)."""
    msg = envelope()
    msg.set_content("正文")
    raw = msg.as_bytes()
    assert parse_message(raw) == parse_message(raw)
