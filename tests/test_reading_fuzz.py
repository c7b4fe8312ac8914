"""Fuzz the reading layer: hostile or broken input never raises and finishes quickly."""

from __future__ import annotations

import base64
import re
import time
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.reading.documents import extract
from core.reading.mail import Attachment, ParsedMessage, decode_words, parse_message
from core.reading.text import html_to_text
from tests.conftest import CORPUS
from tests.data.reading.builders import (
    make_docx,
    make_jpeg,
    make_ofd,
    make_pdf,
    make_png,
    make_tiff,
)

BUDGET_S = 2.0
FUZZ = settings(
    max_examples=60,
    deadline=timedelta(seconds=BUDGET_S),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)
CORPUS_RAW = [p.read_bytes() for p in sorted(CORPUS.glob("*.eml"))]
DOC_TYPES = [
    ("a.pdf", "application/pdf"),
    ("a.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ("a.ofd", "application/ofd"),
    ("fax.tif", "image/tiff"),
    ("a.png", "image/png"),
    ("a.jpg", "image/jpeg"),
    ("a.txt", "text/plain"),
    ("a.html", "text/html"),
    (None, "application/octet-stream"),
]


def _documents() -> list[bytes]:
    docs = [
        make_pdf(["川办发〔2024〕43号", "关于做好工作的通知"], pages=2),
        make_docx(["甘财〔2024〕57号", "请示"], [["甲", "乙"]]),
        make_ofd([["川财农〔2024〕112号", "通知"]]),
        make_tiff(width=64, height=32, pages=2),
        make_png(),
        make_jpeg(),
    ]
    for raw in CORPUS_RAW:
        docs += [a.data for a in parse_message(raw).documents]
    return docs


DOCUMENTS = _documents()


def _read_all(raw: bytes) -> ParsedMessage:
    """Parse and extract every attachment, as intake does, within the time budget."""
    start = time.perf_counter()
    parsed = parse_message(raw)
    for att in parsed.attachments:
        got = extract(att)
        assert got.status in {"ok", "damaged", "image", "unsupported"}
    assert time.perf_counter() - start < BUDGET_S
    return parsed


# ---------------------------------------------------------------- strategies


@st.composite
def mutated_message(draw: st.DrawFn) -> bytes:
    raw = bytearray(draw(st.sampled_from(CORPUS_RAW)))
    action = draw(st.sampled_from(["truncate", "flip", "base64", "splice", "lines"]))
    if action == "truncate":
        return bytes(raw[: draw(st.integers(0, len(raw)))])
    if action == "flip":
        for _ in range(draw(st.integers(1, 40))):
            i = draw(st.integers(0, len(raw) - 1))
            raw[i] = draw(st.integers(0, 255))
        return bytes(raw)
    if action == "base64":
        # Break the base64 bodies: junk characters and dropped characters on some lines.
        lines = bytes(raw).split(b"\n")
        junk = draw(st.sampled_from([b"!", b"*", b"\xff", b"=", b"-", b"\x00"]))
        for _ in range(draw(st.integers(1, 20))):
            i = draw(st.integers(0, len(lines) - 1))
            if re.fullmatch(rb"[A-Za-z0-9+/=]{8,}\r?", lines[i]):
                cut = draw(st.integers(0, len(lines[i]) - 1))
                lines[i] = lines[i][:cut] + junk + lines[i][cut + 1 :]
        return b"\n".join(lines)
    if action == "splice":
        i = draw(st.integers(0, len(raw)))
        return bytes(raw[:i]) + draw(st.binary(min_size=1, max_size=512)) + bytes(raw[i:])
    lines = bytes(raw).split(b"\n")
    draw(st.randoms(use_true_random=False)).shuffle(lines)
    return b"\n".join(lines)


@st.composite
def mutated_document(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(DOCUMENTS)))
    action = draw(st.sampled_from(["truncate", "flip", "splice"]))
    if action == "truncate":
        return bytes(data[: draw(st.integers(0, len(data)))])
    if action == "flip":
        for _ in range(draw(st.integers(1, 30))):
            i = draw(st.integers(0, len(data) - 1))
            data[i] = draw(st.integers(0, 255))
        return bytes(data)
    i = draw(st.integers(0, len(data)))
    return bytes(data[:i]) + draw(st.binary(min_size=1, max_size=256)) + bytes(data[i:])


# ---------------------------------------------------------------- hypothesis


@FUZZ
@given(st.binary(max_size=4096))
def test_random_bytes_never_raise(raw: bytes) -> None:
    """Arbitrary bytes parse (usually as not-a-message) without raising."""
    _read_all(raw)


@FUZZ
@given(mutated_message())
def test_mutated_corpus_messages_never_raise(raw: bytes) -> None:
    """Corpus messages truncated, bit-flipped, with broken base64 or shuffled lines."""
    _read_all(raw)


@FUZZ
@given(mutated_document(), st.sampled_from(DOC_TYPES))
def test_mutated_documents_never_raise(data: bytes, kind: tuple[str | None, str]) -> None:
    """Broken PDFs, DOCX, OFD and images under any declared type extract without raising."""
    start = time.perf_counter()
    got = extract(Attachment.of(kind[0], kind[1], data))
    assert got.status in {"ok", "damaged", "image", "unsupported"}
    assert time.perf_counter() - start < BUDGET_S


@FUZZ
@given(st.binary(max_size=2048), st.sampled_from(DOC_TYPES))
def test_random_bytes_as_documents(data: bytes, kind: tuple[str | None, str]) -> None:
    """Random bytes (and magic-prefixed random bytes) extract without raising."""
    for prefix in (b"", b"%PDF-1.4\n", b"PK\x03\x04", b"II*\x00", b"\x89PNG\r\n\x1a\n"):
        got = extract(Attachment.of(kind[0], kind[1], prefix + data))
        assert got.status in {"ok", "damaged", "image", "unsupported"}


@FUZZ
@given(st.text(alphabet=st.sampled_from(list("<>/!-=?\"' abc国务院\n&#;[]pscrtyle")),
               max_size=3000))
def test_html_and_encoded_words_never_raise(text: str) -> None:
    """The HTML converter and the RFC 2047 decoder take any text."""
    html_to_text(text)
    decode_words(text)
    decode_words(f"=?gb2312?b?{text[:40]}?= =?utf-8?q?{text[:40]}?=")


# ---------------------------------------------------------------- big hostile inputs

HEAD = b"From: a@sc.gov.cn\r\nTo: shouwen@gzz.gov.cn\r\nSubject: s\r\n"


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b"X-Junk: " + b"a" * 1_000_000 + b"\r\n" + CORPUS_RAW[0], id="1MB-header"),
        pytest.param(b"Subject: " + b"=?utf-8?b?5Zu9?=" * 70_000 + b"\r\n" + CORPUS_RAW[0],
                     id="1MB-encoded-subject"),
        pytest.param(HEAD + b"To: " + b"a@b, " * 200_000 + b"\r\n\r\nx", id="1MB-address-list"),
        pytest.param(HEAD + b"X-A: b\r\n" * 300_000 + b"\r\nx", id="300k-header-lines"),
        pytest.param(
            HEAD + b"Content-Type: multipart/mixed; boundary=x\r\n\r\n"
            + b"".join(b"--x\r\nContent-Type: text/plain\r\n\r\n%d\r\n" % i for i in range(10_000))
            + b"--x--\r\n",
            id="10k-parts",
        ),
        pytest.param(
            HEAD + b"Content-Type: multipart/mixed; boundary=x\r\n\r\n"
            + b"".join(
                b"--x\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n"
                b"\r\n" + base64.encodebytes(b"%PDF-1.4 broken " + bytes([i % 256]) * 50)
                for i in range(300)
            ),
            id="300-broken-pdfs",
        ),
        pytest.param(HEAD + b"\r\n" + bytes(range(256)) * 4096, id="1MB-binary-body"),
        pytest.param(
            HEAD + b"Content-Type: text/html\r\n\r\n" + b"<div><p><b><!--" * 60_000,
            id="pathological-html",
        ),
        pytest.param(
            HEAD + b"Content-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n"
            + b"!" * 1_000_000,
            id="1MB-base64-junk",
        ),
        pytest.param(
            HEAD + b"".join(b"Content-Type: message/rfc822\r\n\r\n" + HEAD for _ in range(2000)),
            id="2000-nested-forwards",
        ),
    ],
)
def test_big_hostile_messages_finish_in_budget(raw: bytes) -> None:
    """Megabyte headers, 10 000 parts, deep forwards and junk bodies stay in budget."""
    parsed = _read_all(raw)
    assert parsed.parsed_ok
