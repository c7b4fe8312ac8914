"""Transfer decoding: lenient base64, and long base64 bodies cut out before parsing."""

from __future__ import annotations

import binascii
import contextlib
import re
from dataclasses import dataclass
from email.message import Message

from core.reading.findings import Notes

_B64_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_B64_SPACE = b" \t\n\r\x0b\x0c"  # what rb"\\s" matches
_B64_JUNK = bytes(sorted(set(range(256)) - set(_B64_ALPHABET + b"=")))
_B64_SPACE_STR = _B64_SPACE.decode("ascii")
_B64_SLICE = 1 << 20  # a long payload is cleaned and decoded this much at a time


class _Base64Decoder:
    """Lenient base64 fed in slices: whitespace dropped, other junk dropped and noted,
    each `=`-separated chunk decoded on its own (a chunk of 4n+1 characters loses its
    last one). Decodes as it goes, so a long payload is never copied whole."""

    def __init__(self) -> None:
        self.out: list[bytes] = []
        self.problems: list[str] = []
        self.junk = False
        self._carry = b""  # characters of the current chunk not decoded yet (< 4)
        self._chunk_len = 0

    def feed(self, data: bytes) -> None:
        for i in range(0, len(data), _B64_SLICE):
            compact = data[i : i + _B64_SLICE].translate(None, _B64_SPACE)
            cleaned = compact.translate(None, _B64_JUNK)
            self.junk = self.junk or len(cleaned) != len(compact)
            pieces = cleaned.split(b"=")
            self._extend(pieces[0])
            for piece in pieces[1:]:
                self._close_chunk(last=False)
                self._extend(piece)

    def result(self) -> tuple[bytes, str | None]:
        self._close_chunk(last=True)
        problems = (["含非法字符"] if self.junk else []) + self.problems
        data = b"".join(self.out)
        self.out.clear()
        return data, ("、".join(dict.fromkeys(problems)) or None)

    def _extend(self, piece: bytes) -> None:
        if not piece:
            return
        self._chunk_len += len(piece)
        pending = self._carry + piece
        whole = len(pending) - len(pending) % 4
        if whole:
            self._decode(pending[:whole])
        self._carry = pending[whole:]

    def _close_chunk(self, *, last: bool) -> None:
        rem = self._chunk_len % 4
        carry = self._carry
        if rem == 1:
            carry = b""
            self.problems.append("长度不完整")
        elif rem and last:
            self.problems.append("缺少结尾填充，可能被截断")
        if carry:
            self._decode(carry + b"=" * (-len(carry) % 4))
        self._carry = b""
        self._chunk_len = 0

    def _decode(self, quads: bytes) -> None:
        try:
            self.out.append(binascii.a2b_base64(quads))
        except (binascii.Error, ValueError):
            self.problems.append("无法解码")


def decode_base64(text: str | bytes) -> tuple[bytes, str | None]:
    """Lenient base64: keep what decodes; the second item says what was wrong."""
    decoder = _Base64Decoder()
    _feed_base64(decoder, text)
    return decoder.result()


def _feed_base64(decoder: _Base64Decoder, text: str | bytes) -> None:
    if isinstance(text, str):
        decoder.junk = decoder.junk or not text.isascii()
        text = text.encode("ascii", "ignore")
    decoder.feed(text)


# ---------------------------------------------------------------- long base64 bodies
#
# The email parser reads every line of the message into Python strings: a 30 MB
# attachment cost ~9 s and ~10× its size. Runs of base64 lines are inert to it (no
# boundary, no header can be among them), so long runs are cut out before parsing and
# a token line stands in; the walker decodes a token from the original bytes with
# one binascii call. The parser sees the same structure, so the result is the same.

MIN_REGION_BYTES = 64 * 1024  # shorter bodies are parsed as they are
_SCAN_BLOCK = 16 * 1024  # < MIN_REGION_BYTES / 3: a long run covers whole blocks
_RUN_BYTES = _B64_ALPHABET + b"=\r\n"
_NOT_RUN = re.compile(rb"[^A-Za-z0-9+/=\r\n]")
_BLANK_LINE_END = re.compile(rb"(?>\r\n|\r|\n)(?>\r\n|\r|\n)")
_CONTAINER_VALUE = (b"multipart/", b"message/")
_LF, _CR = 10, 13


@dataclass(frozen=True, slots=True)
class _Span:
    """Bytes [start, end) of `buf`, standing behind one token."""

    buf: bytes
    start: int
    end: int


class Regions:
    """The long base64 runs cut out of one parsed buffer (an encoded forward, parsed on
    its own, has its own)."""

    marker = "JiyaoCutRegion"
    _token = re.compile(marker + r"(\d+)Z")

    def __init__(self, spans: list[_Span]) -> None:
        self.spans = spans

    @classmethod
    def cut(cls, data: bytes) -> tuple[bytes, Regions]:
        """`data` with each long run replaced by a token line, and the runs."""
        spans: list[_Span] = []
        out: list[bytes] = []
        pos = 0
        for start, end in _long_runs(data):
            out += [data[pos:start], f"{cls.marker}{len(spans)}Z".encode("ascii")]
            spans.append(_Span(data, start, end))
            pos = end
        if not out:
            return data, cls([])
        out.append(data[pos:])
        skeleton = b"".join(out)
        if skeleton.count(cls.marker.encode("ascii")) != len(spans):
            return data, cls([])  # the message holds the marker itself: parse it whole
        return skeleton, cls(spans)

    def holds(self, text: str) -> bool:
        """Whether a payload contains tokens."""
        return bool(self.spans) and self.marker in text

    def pieces(self, text: str) -> list[str | _Span]:
        """A payload as its own text and the spans behind its tokens, in order."""
        out: list[str | _Span] = []
        pos = 0
        for m in self._token.finditer(text):
            out += [text[pos : m.start()], self.spans[int(m.group(1))]]
            pos = m.end()
        out.append(text[pos:])
        return [p for p in out if not isinstance(p, str) or p]

    def restore(self, text: str) -> str:
        """The payload as the parser would have given it without the cut."""
        return "".join(
            p if isinstance(p, str) else p.buf[p.start : p.end].decode("ascii")
            for p in self.pieces(text)
        )

    def decode_base64(self, text: str) -> tuple[bytes, str | None]:
        """`decode_base64(self.restore(text))` without building the restored text."""
        pieces = self.pieces(text)
        # line breaks around the token (a single-part body) change nothing
        core = [p for p in pieces if not isinstance(p, str) or p.strip(_B64_SPACE_STR)]
        if len(core) == 1 and isinstance(core[0], _Span) and _padded_at_end(core[0]):
            span = core[0]
            # a span binascii takes whole (4n characters, padding only at the end) decodes
            # as decode_base64 would; binascii refuses any other and the slow path takes it
            with contextlib.suppress(binascii.Error):
                return binascii.a2b_base64(memoryview(span.buf)[span.start : span.end]), None
        decoder = _Base64Decoder()
        for piece in pieces:
            if isinstance(piece, str):
                _feed_base64(decoder, piece)
            else:
                for i in range(piece.start, piece.end, _B64_SLICE):
                    decoder.feed(piece.buf[i : min(i + _B64_SLICE, piece.end)])
        return decoder.result()


def _padded_at_end(span: _Span) -> bool:
    """Whether `=` occurs in the span only as padding at its very end."""
    first = span.buf.find(b"=", span.start, span.end)
    return first < 0 or (span.end - first <= 4 and not span.buf[first : span.end].strip(b"="))


def _long_runs(data: bytes) -> list[tuple[int, int]]:
    """Body regions of at least MIN_REGION_BYTES made of base64 lines only.

    A region starts at a line after a blank line (so it is a body, never a header
    block), right after an LF (so no header regex runs into it), and ends at the end
    of a line; the line after it keeps its own line break.
    """
    if len(data) < MIN_REGION_BYTES:
        return []
    regions: list[tuple[int, int]] = []
    for start, end in _pure_runs(data):
        region = _region_in(data, start, end)
        if region is not None:
            regions.append(region)
    return regions


def _pure_runs(data: bytes) -> list[tuple[int, int]]:
    """Maximal runs of base64-line bytes covering at least one whole scan block."""
    size = len(data)
    blocks = -(-size // _SCAN_BLOCK)

    def pure(block: int) -> bool:
        start = block * _SCAN_BLOCK
        return not data[start : start + _SCAN_BLOCK].translate(None, _RUN_BYTES)

    runs: list[tuple[int, int]] = []
    block = 0
    while block < blocks:
        if not pure(block):
            block += 1
            continue
        first = block
        while block < blocks and pure(block):
            block += 1
        # the blocks just before and after are impure: the run's ends are inside them
        low = first * _SCAN_BLOCK
        start = 0
        for m in _NOT_RUN.finditer(data, max(0, low - _SCAN_BLOCK), low):
            start = m.end()
        high = min(size, block * _SCAN_BLOCK)
        after = _NOT_RUN.search(data, high, min(size, high + _SCAN_BLOCK))
        runs.append((start, after.start() if after is not None else size))
        block += 1
    return runs


def _region_in(data: bytes, start: int, end: int) -> tuple[int, int] | None:
    blank = _BLANK_LINE_END.search(data, start, end)
    if blank is None:
        return None
    first = blank.end()
    while first < end and data[first] in (_LF, _CR):
        first += 1
    if data[first - 1] != _LF:
        return None
    if end < len(data):  # the run stops inside a line: stop before that line
        last_break = max(data.rfind(b"\n", first, end), data.rfind(b"\r", first, end))
        if last_break < 0:
            return None
        end = last_break + 1
    while end > first and data[end - 1] in (_LF, _CR):
        end -= 1
    if end - first < MIN_REGION_BYTES:
        return None
    if data[first : first + 10].lower().startswith(_CONTAINER_VALUE):
        return None  # `Content-Type:` + blank line + `multipart/…`: counted as a container
    return first, end


def cut_payload(part: Message, regions: Regions, *, keep: bool) -> str | None:
    """The part's payload when it holds tokens and may stay cut (`keep`, and ASCII);
    otherwise the cut bytes are put back into the part and None is returned.

    compat32's get_payload() re-decodes a payload with 8-bit bytes by its charset, so
    such a payload must be whole again before anyone reads it.
    """
    internal = getattr(part, "_payload", None)  # the parser's own string
    if not isinstance(internal, str) or not regions.holds(internal):
        return None
    if keep and internal.isascii():
        return internal
    part.set_payload(regions.restore(internal))
    return None


def part_bytes(part: Message, cte: str, label: str, notes: Notes, regions: Regions) -> bytes:
    """The part's bytes, decoded from its transfer encoding `cte` (lower case)."""
    cut = cut_payload(part, regions, keep=cte == "base64")
    if cte == "base64":
        if cut is not None:
            data, problem = regions.decode_base64(cut)
        else:
            payload = part.get_payload()
            data, problem = decode_base64(payload if isinstance(payload, str) else "")
        if problem:
            notes.add("bad_base64", f"{label} 的 base64 编码{problem}")
        return data
    decoded = part.get_payload(decode=True)
    if isinstance(decoded, bytes):
        return decoded
    return b""
