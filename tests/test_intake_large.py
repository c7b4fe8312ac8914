"""Large messages at intake: parsed, hashed, spooled and read in time and memory linear in
their size, with the same results as the plain way of doing each."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import io
import os
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import aiosmtplib
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import core.reading.mail.transfer as transfer
import core.services.receive as receive_service
from core.reading.documents import extract
from core.reading.mail import Attachment, ParsedMessage, decode_base64, parse_message
from core.services import decide
from core.services.context import Context
from intake_daemon import smtp as smtp_edge
from intake_daemon.app import IntakeDaemon
from tests.conftest import CORPUS
from tests.data.reading.builders import make_pdf
from tests.intake_helpers import OFFICE, ServedIntake, wait_decided

CORPUS_RAW = [p.read_bytes() for p in sorted(CORPUS.glob("*.eml"))]
PROPERTY = settings(
    max_examples=150, deadline=None, database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@contextlib.contextmanager
def _cut_from(min_bytes: int, block: int) -> Iterator[None]:
    """Cut base64 runs from `min_bytes` on (scanning in `block`-byte steps)."""
    saved = transfer.MIN_REGION_BYTES, transfer._SCAN_BLOCK
    transfer.MIN_REGION_BYTES, transfer._SCAN_BLOCK = min_bytes, block
    try:
        yield
    finally:
        transfer.MIN_REGION_BYTES, transfer._SCAN_BLOCK = saved


def _parse_both(raw: bytes) -> tuple[ParsedMessage, ParsedMessage]:
    """The message parsed with every base64 run cut out, and parsed whole."""
    with _cut_from(24, 8):
        cut = parse_message(raw)
    with _cut_from(1 << 40, 1 << 20):
        whole = parse_message(raw)
    return cut, whole


def _lines(data: bytes, width: int, eol: bytes) -> bytes:
    encoded = base64.b64encode(data)
    return eol.join(encoded[i : i + width] for i in range(0, len(encoded), width))


@st.composite
def base64_messages(draw: st.DrawFn) -> bytes:
    """Messages with base64 bodies in every container, line ending and state of repair."""
    eol = draw(st.sampled_from([b"\r\n", b"\n", b"\r"]))
    body = _lines(draw(st.binary(min_size=0, max_size=400)),
                  draw(st.sampled_from([76, 64, 4, 300])), eol)
    damage = draw(st.sampled_from(
        ["", "unpadded", "junk", "blank-lines", "marker", "lead-blank", "inner-pad"]
    ))
    if damage == "unpadded":
        body = body.rstrip(b"=")
    elif damage == "inner-pad":
        body = body.replace(b"=", b"") + b"="
    elif body:
        at = draw(st.integers(0, len(body)))
        insert = {"junk": draw(st.sampled_from([b"!", b"-", b"\xff", b" ", b":", b"=="])),
                  "blank-lines": eol + eol, "marker": b"JiyaoCutRegion0Z" + eol,
                  "lead-blank": b"", "": b""}[damage]
        body = body[:at] + insert + body[at:]
    if damage == "lead-blank":
        body = eol + body
    head = eol.join([b"From: a@sc.gov.cn", b"To: shouwen@gzz.gov.cn", b"Subject: t",
                     b"Date: Mon, 18 Mar 2024 10:00:00 +0800", b""])
    part = eol.join([b"Content-Type: " + draw(st.sampled_from(
        [b"application/pdf", b"text/plain; charset=utf-8", b"application/octet-stream"])),
        b"Content-Transfer-Encoding: " + draw(st.sampled_from(
            [b"base64", b"7bit", b"quoted-printable"])), b"", body])
    shape = draw(st.sampled_from(["single", "multipart", "forward", "encoded-forward",
                                  "container-value"]))
    if shape == "single":
        return head + part + draw(st.sampled_from([b"", eol, eol + eol]))
    if shape == "container-value":  # `Content-Type:` then a blank line then `multipart/…`
        return head + b"Content-Type:" + eol + eol + b"multipart/" + body
    inner = head + part
    if shape == "forward":
        return head + b"Content-Type: message/rfc822" + eol + eol + inner
    if shape == "encoded-forward":
        cte = draw(st.sampled_from([b"base64", b"quoted-printable"]))
        encoded = _lines(inner, 76, eol) if cte == b"base64" else inner
        part = eol.join([b"Content-Type: message/rfc822", b"Content-Transfer-Encoding: " + cte,
                         b"", encoded])
    close = draw(st.sampled_from([b"--B--" + eol, b"", b"--B" + eol]))
    preamble = draw(st.sampled_from([b"", b"preamble" + eol, body + eol]))
    return (head + b"Content-Type: multipart/mixed; boundary=B" + eol + eol + preamble
            + b"--B" + eol + part + eol + b"--B" + eol + part + eol + close)


@PROPERTY
@given(base64_messages())
def test_cutting_base64_runs_changes_nothing(raw: bytes) -> None:
    """With long base64 runs cut out before parsing, every message reads exactly as whole."""
    cut, whole = _parse_both(raw)
    assert cut == whole


@PROPERTY
@given(st.sampled_from(CORPUS_RAW), st.sampled_from([b"\n", b"\r", b"\r\n\r\n"]),
       st.integers(0, 10_000), st.binary(max_size=8))
def test_cutting_changes_nothing_on_damaged_corpus_messages(
    raw: bytes, eol: bytes, at: int, junk: bytes
) -> None:
    """Corpus messages with other line ends and spliced junk read the same cut or whole."""
    raw = raw.replace(b"\r\n", eol)
    at = min(at, len(raw))
    cut, whole = _parse_both(raw[:at] + junk + raw[at:])
    assert cut == whole


@PROPERTY
@given(st.binary(max_size=300).map(base64.encodebytes), st.binary(max_size=6),
       st.integers(0, 400), st.integers(1, 9))
def test_base64_decodes_the_same_in_slices(
    text: bytes, junk: bytes, at: int, piece: int
) -> None:
    """Lenient base64 gives the same bytes and problems whatever slices it is fed in."""
    text = text[:at] + junk + text[at:]
    whole = decode_base64(text)
    saved = transfer._B64_SLICE
    transfer._B64_SLICE = piece
    try:
        assert decode_base64(text) == whole
        assert decode_base64(text.decode("latin-1")) == decode_base64(text.decode("latin-1"))
    finally:
        transfer._B64_SLICE = saved


def _scan_message(size: int) -> tuple[bytes, bytes]:
    """A message with one incompressible attachment of `size` bytes, and the attachment."""
    data = os.urandom(size)
    raw = (
        b"From: a@sc.gov.cn\r\nTo: shouwen@gzz.gov.cn\r\nSubject: scan\r\n"
        b"Message-ID: <scan.1@sc.gov.cn>\r\nDate: Mon, 18 Mar 2024 10:00:00 +0800\r\n"
        b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n"
        b"--B\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nscan\r\n"
        b"--B\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n"
        b'Content-Disposition: attachment; filename="scan.bin"\r\n\r\n'
        + base64.encodebytes(data).replace(b"\n", b"\r\n") + b"--B--\r\n"
    )
    return raw, data


def test_large_attachment_is_parsed_in_linear_time_and_memory() -> None:
    """An 8 MiB attachment parses fast, holding little besides its decoded bytes."""
    raw, data = _scan_message(8 << 20)
    tracemalloc.start()
    try:
        start = time.perf_counter()
        parsed = parse_message(raw)
        elapsed = time.perf_counter() - start
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [a.data for a in parsed.attachments] == [data]
    assert parsed.body_text == "scan"
    assert parsed.findings == []
    assert elapsed < 2.0  # the email parser alone took ~2 s for this before the cut
    assert peak < len(data) * 1.2  # the attachment, once


def test_pdf_is_read_without_copying_the_document() -> None:
    """pypdf sizes the document without making BytesIO copy it."""
    from PIL import Image
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    image = Image.frombytes("RGB", (600, 600), os.urandom(600 * 600 * 3))
    out = io.BytesIO()
    page = canvas.Canvas(out, pageCompression=0)
    page.drawImage(ImageReader(image), 0, 0, width=500, height=500)
    page.showPage()
    page.save()
    pdf = out.getvalue()
    extract(Attachment.of("warm.pdf", "application/pdf", make_pdf(["通知"])))  # imports
    tracemalloc.start()
    try:
        got = extract(Attachment.of("scan.pdf", "application/pdf", pdf))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert got.status == "image"
    assert peak < len(pdf) * 1.6  # pypdf reads the image stream once; not the file twice


def _scan_pdf(side: int) -> bytes:
    """A one-page PDF holding an incompressible side × side image (a scan)."""
    from PIL import Image
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    image = Image.frombytes("RGB", (side, side), os.urandom(side * side * 3))
    out = io.BytesIO()
    page = canvas.Canvas(out, pageCompression=0)
    page.drawImage(ImageReader(image), 0, 0, width=500, height=500)
    page.showPage()
    page.save()
    return out.getvalue()


async def test_large_message_leaves_no_garbage_behind(ctx: Context) -> None:
    """Once a large message is recorded, the copies its PDF reader made are freed, not
    left in reference cycles for a later collection."""
    pdf = _scan_pdf(1400)  # ≈ 5.6 MiB
    raw, _ = _scan_message(16)
    raw = raw.replace(b"application/octet-stream", b"application/pdf").replace(
        b"scan.bin", b"scan.pdf")
    head, _, _ = raw.partition(b'filename="scan.pdf"\r\n\r\n')
    raw = head + b'filename="scan.pdf"\r\n\r\n' + base64.encodebytes(pdf).replace(
        b"\n", b"\r\n") + b"--B--\r\n"
    assert len(raw) >= decide._COLLECT_AFTER_BYTES
    small = CORPUS_RAW[0]
    await receive_service.receive(ctx, small, mail_from="a@sc.gov.cn", rcpt_tos=[OFFICE])
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        got = await receive_service.receive(ctx, raw, mail_from="a@sc.gov.cn",
                                            rcpt_tos=[OFFICE])
        after, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert got.outcome is not None
    assert after - before < len(pdf) // 4  # without the collection: the PDF's stream, kept


def _plain_content_hash(raw: bytes, limit: int) -> str:
    """content_hash as first written: the whole message copied with CRLF folded."""
    data = raw.replace(b"\r\n", b"\n")
    end = data.find(b"\n\n", 0, limit)
    split = end + 1 if end >= 0 else min(len(data), limit)
    kept: list[bytes] = []
    skipping = False
    for line in data[:split].split(b"\n"):
        if line[:1] in (b" ", b"\t"):
            if not skipping:
                kept.append(line)
            continue
        skipping = line.partition(b":")[0].strip().lower() in receive_service._TRACE_FIELDS
        if not skipping:
            kept.append(line)
    digest = hashlib.sha256(b"\n".join(kept))
    stop = len(data)
    while stop > split and data[stop - 1 : stop] == b"\n":
        stop -= 1
    digest.update(data[split:stop])
    return digest.hexdigest()


@PROPERTY
@given(st.lists(st.sampled_from([b"\r", b"\n", b"\r\n", b"a", b":", b" ", b"\t", b"Received",
                                 b"X-Received", b"Subject"]), max_size=60).map(b"".join),
       st.integers(2, 12), st.integers(1, 7))
def test_content_hash_slice_by_slice_is_the_plain_hash(raw: bytes, limit: int, piece: int) -> None:
    """Hashing in slices gives the digest of folding and hashing the whole message."""
    saved = receive_service._HEADER_SCAN_LIMIT, receive_service._HASH_SLICE
    receive_service._HEADER_SCAN_LIMIT, receive_service._HASH_SLICE = limit, piece
    try:
        assert receive_service.content_hash(raw) == _plain_content_hash(raw, limit)
    finally:
        receive_service._HEADER_SCAN_LIMIT, receive_service._HASH_SLICE = saved


@PROPERTY
@given(st.lists(st.sampled_from([b"\r", b"\n", b"\r\n", b"a", b":", b" "]),
                max_size=60).map(b"".join), st.integers(2, 40), st.integers(1, 40))
def test_header_block_looked_for_in_a_piece_first_is_the_plain_one(
    raw: bytes, limit: int, first: int
) -> None:
    """header_block folds only the first piece when the blank line is in it: the same
    block as folding the whole scan limit."""
    saved = receive_service._HEADER_SCAN_LIMIT, receive_service._HEADER_FIRST
    receive_service._HEADER_SCAN_LIMIT, receive_service._HEADER_FIRST = limit, first
    try:
        head = raw[:limit].replace(b"\r\n", b"\n")
        end = head.find(b"\n\n")
        assert receive_service.header_block(raw) == (head if end < 0 else head[: end + 1])
    finally:
        receive_service._HEADER_SCAN_LIMIT, receive_service._HEADER_FIRST = saved


@PROPERTY
@given(st.lists(st.sampled_from([b"\r", b"\n", b"\r\n", b"a", b":", b" ", b"\t", b"Received",
                                 b"Subject"]), max_size=60).map(b"".join),
       st.integers(2, 12), st.lists(st.integers(1, 9), min_size=1, max_size=20))
def test_content_hash_fed_as_data_arrives_is_the_same(
    raw: bytes, limit: int, pieces: list[int]
) -> None:
    """The edge hashes a spooled message as it arrives, in whatever pieces the network
    gives: the digest is content_hash's."""
    saved = receive_service._HEADER_SCAN_LIMIT
    receive_service._HEADER_SCAN_LIMIT = limit
    try:
        hasher = receive_service.ContentHasher()
        pos = 0
        for n in pieces * (len(raw) // max(1, sum(pieces)) + 1):
            hasher.feed(raw[pos:pos + n])
            pos += n
        assert pos >= len(raw)
        assert hasher.hexdigest() == receive_service.content_hash(raw)
    finally:
        receive_service._HEADER_SCAN_LIMIT = saved


_SEND = """
import smtplib, sys
with smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=120) as s:
    s.sendmail("a@sc.gov.cn", [sys.argv[3]], open(sys.argv[2], "rb").read())
"""


async def test_the_edge_holds_a_large_message_only_in_passing(
    ctx: Context, tmp_path: Path
) -> None:
    """DATA past the spool size goes into the blob store as it arrives, hashed on the way:
    the edge's memory grows by a small part of the message (it was read back whole), and
    the blob is the message as sent."""
    raw, _ = _scan_message(24 << 20)  # ≈ 32 MiB as base64
    path = tmp_path / "big.eml"
    path.write_bytes(raw)
    edge = IntakeDaemon(ctx, host="127.0.0.1", port=0)
    await edge.start()
    tracemalloc.start()
    try:
        # the client in its own process: only the edge's allocations are traced here
        sent = await asyncio.to_thread(
            subprocess.run, [sys.executable, "-c", _SEND, str(edge.port), str(path), OFFICE],
            capture_output=True, timeout=120, check=False,
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        await edge.stop()
    assert sent.returncode == 0, sent.stderr
    assert peak < len(raw) // 3  # a few MiB in passing, whatever the message's size
    async with ctx.db.reader() as r:
        item = await r.fetchone("SELECT * FROM items")
    assert item is not None
    assert item["outcome"] == "received"
    assert item["content_sha256"] == receive_service.content_hash(raw)
    assert ctx.blobs.get(item["raw_blob"]) == raw
    assert list(ctx.blobs.root.glob(".tmp-*")) == []


async def test_large_message_over_smtp_is_stored_byte_exact(ctx: Context) -> None:
    """A message past the spool size, dot-stuffed lines included, is stored as sent with
    its attachment blob."""
    raw, data = _scan_message(3 << 20)
    tail = b".leading dot\r\n..two dots\r\n.\r\nnot the end\r\n"
    raw = raw.replace(b"\r\n\r\nscan\r\n", b"\r\n\r\n" + tail + b"scan\r\n")
    raw = raw.replace(b"--B--\r\n", b"--B--\r\n" + tail)
    daemon = ServedIntake(ctx)
    await daemon.start()
    try:
        errors, _ = await aiosmtplib.send(raw, sender="a@sc.gov.cn", recipients=[OFFICE],
                                          hostname="127.0.0.1", port=daemon.port,
                                          start_tls=False, timeout=60)
        await wait_decided(ctx)
    finally:
        await daemon.stop()
    assert errors == {}
    assert len(raw) > smtp_edge.SPOOL_BYTES
    async with ctx.db.reader() as r:
        item = await r.fetchone("SELECT id, raw_blob FROM items")
        assert item is not None
        blobs = [row["sha256"] for row in await r.fetchall(
            "SELECT sha256 FROM attachments WHERE item_id = ?", (item["id"],))]
    assert ctx.blobs.get(item["raw_blob"]) == raw
    assert hashlib.sha256(data).hexdigest() in blobs
    assert ctx.blobs.get(hashlib.sha256(data).hexdigest()) == data


class _Memory(smtp_edge._Spool):
    """A spool that never leaves memory (the property below runs thousands of times)."""

    def __init__(self) -> None:
        super().__init__(None)
        self._in_memory = True


def _by_lines(stream: bytes, line_limit: int, size_limit: int) -> tuple[str | bytes, bytes]:
    """DATA read a line at a time, as aiosmtpd does: (reply or message, what follows)."""
    data, size, refusal, pos = [], 0, "", 0
    while (end := stream.find(b"\r\n", pos)) >= 0:
        line, pos = stream[pos : end + 2], end + 2
        if line == b".\r\n":
            return refusal or b"".join(data), stream[pos:]
        if len(line) - 2 > line_limit:
            refusal = refusal or smtp_edge.LINE_TOO_LONG
        size += len(line)
        if size_limit and size > size_limit:
            refusal = refusal or smtp_edge.TOO_MUCH_DATA
        data.append(line[1:] if line.startswith(b".") else line)
    raise AssertionError("no final dot")


@PROPERTY
@given(st.lists(st.sampled_from([b"a", b".", b"\r", b"\n", b"\r\n", b"..", b"x" * 40,
                                 b".\r\n", b"QUIT\r\n"]), max_size=40).map(b"".join),
       st.lists(st.integers(1, 30), max_size=30), st.integers(3, 30), st.integers(0, 150))
def test_data_read_in_blocks_is_data_read_by_lines(
    lines: bytes, cuts: list[int], line_limit: int, size_limit: int
) -> None:
    """However DATA is cut into blocks, it ends, unstuffs and is refused as line by line."""
    stream = lines + b"\r\n.\r\nQUIT\r\n"
    spool = _Memory()
    reader = smtp_edge._DataLines(spool, line_limit=line_limit, size_limit=size_limit)
    pos = 0
    for n in [*cuts, len(stream)]:
        if reader.done or pos >= len(stream):
            break
        reader.feed(stream[pos : pos + n])
        pos += n
    assert reader.done
    got = reader.refusal or spool.getvalue()
    assert (got, reader.leftover + stream[pos:]) == _by_lines(stream, line_limit, size_limit)


def test_daemon_fixes_the_mmap_threshold_on_glibc() -> None:
    """On glibc, mallopt accepts the fixed mmap threshold the daemon sets at start."""
    import platform

    from jiyao.memory import return_large_buffers

    if platform.libc_ver()[0] != "glibc":
        pytest.skip("mallopt is glibc's")
    assert return_large_buffers() is True
