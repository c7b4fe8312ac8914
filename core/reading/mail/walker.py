"""The part walker: one pass over the MIME tree, collecting body text, attachments,
forwarded messages and the 签收单 manifest."""

from __future__ import annotations

import binascii
import json
from email import errors as email_errors
from email.message import Message

from core.reading.findings import Notes
from core.reading.mail.bounds import (
    MAX_BODY_CHARS,
    MAX_MANIFEST_BYTES,
    MAX_MESSAGE_DEPTH,
    MAX_MULTIPART_DEPTH,
    MAX_PARTS,
    bound_structural_headers,
    parse_bytes,
)
from core.reading.mail.headers import (
    filename_of,
    header_fields,
    param,
    read_addressing,
    transfer_encoding,
)
from core.reading.mail.message import Addressing, Attachment, is_manifest_name
from core.reading.mail.transfer import (
    Regions,
    cut_payload,
    decode_base64,
    part_bytes,
)
from core.reading.text import decode_text, guess_decode, html_charset, html_to_text, normalize_text

# email's own defects, as finding codes.
_TRUNCATION_DEFECTS = (email_errors.CloseBoundaryNotFoundDefect,)


class Walker:
    """Walks the MIME tree once, collecting body text, attachments and the manifest."""

    def __init__(self, notes: Notes, regions: Regions) -> None:
        self.notes = notes
        self.regions = regions
        self.bodies: list[str] = []
        self.attachments: list[Attachment] = []
        self.forwarded: list[Addressing] = []
        self.manifest: dict[str, object] | None = None
        self._manifest_seen = False
        self._parts = 0
        self._stopped = False

    def body_text(self) -> str:
        text = "\n\n".join(b for b in self.bodies if b)
        if len(text) > MAX_BODY_CHARS:
            self.notes.add("text_limit", f"正文超过 {MAX_BODY_CHARS} 字符，已截断")
            text = text[:MAX_BODY_CHARS]
        return text

    def walk(self, part: Message, message_depth: int, multipart_depth: int) -> None:
        if self._parts >= MAX_PARTS:
            if not self._stopped:
                self.notes.add("too_many_parts", f"邮件超过 {MAX_PARTS} 个部分，其余未读取")
                self._stopped = True
            return
        self._parts += 1
        self._record_defects(part)
        try:
            self._visit(part, message_depth, multipart_depth)
        except RecursionError:
            self.notes.add("too_deep", "MIME 结构嵌套过深")
        except Exception as exc:  # one bad part must not lose the others
            self.notes.add("mime_defect", f"第 {self._parts} 部分无法读取：{type(exc).__name__}")

    def _visit(self, part: Message, message_depth: int, multipart_depth: int) -> None:
        ctype = part.get_content_type()
        payload = part.get_payload()
        if isinstance(payload, list):
            subs = [sub for sub in payload if isinstance(sub, Message)]
            if multipart_depth >= MAX_MULTIPART_DEPTH:
                self.notes.add("too_deep", f"multipart 嵌套超过 {MAX_MULTIPART_DEPTH} 层")
                return
            if part.get_content_maintype() == "message":
                self._visit_message(part, subs, message_depth, multipart_depth)
            elif ctype == "multipart/alternative":
                self._visit_alternative(subs, message_depth, multipart_depth + 1)
            else:
                for sub in subs:
                    self.walk(sub, message_depth, multipart_depth + 1)
            return
        if part.get_content_maintype() == "multipart":
            self.notes.add("mime_defect", f"{ctype} 没有可用的分隔线，该部分未读取")
            return
        self._visit_leaf(part, ctype, message_depth)

    def _visit_message(
        self, part: Message, payload: list[Message], message_depth: int, multipart_depth: int
    ) -> None:
        if message_depth >= MAX_MESSAGE_DEPTH:
            self.notes.add("too_deep", f"转发邮件嵌套超过 {MAX_MESSAGE_DEPTH} 层，未读取")
            return
        if part.get_content_type() == "message/delivery-status":
            return
        for sub in payload:
            outer = self.regions
            inner = self._reparse_encoded(part, sub)  # may switch to its own regions
            try:
                if inner is not None:
                    self.forwarded.append(read_addressing(header_fields(inner), self.notes))
                    self.walk(inner, message_depth + 1, multipart_depth + 1)
            finally:
                self.regions = outer

    def _reparse_encoded(self, part: Message, sub: Message) -> Message | None:
        """A message/rfc822 sent base64/QP-encoded (non-standard) is decoded and parsed
        (its own cut runs become the walker's regions)."""
        cte = transfer_encoding(part)
        if cte not in {"base64", "quoted-printable"} or list(sub.raw_items()):
            return sub
        regions = self.regions
        cut = cut_payload(sub, regions, keep=cte == "base64")
        body = sub.get_payload()
        text = body if isinstance(body, str) else ""
        if cte == "base64":
            data, problem = regions.decode_base64(cut) if cut is not None else decode_base64(text)
            if problem:
                self.notes.add("bad_base64", f"转发邮件的 base64 编码{problem}")
        else:
            data = binascii.a2b_qp(text.encode("ascii", "replace"))
        self.notes.add("mime_defect", f"message/rfc822 使用了 {cte} 编码")
        skeleton, self.regions = Regions.cut(data)
        del data
        inner, complete = parse_bytes(bound_structural_headers(skeleton, self.notes), self.notes)
        return inner if complete else None

    def _visit_alternative(
        self, payload: list[Message], message_depth: int, multipart_depth: int
    ) -> None:
        """Keep the body of the richest alternative only (they say the same thing)."""
        start = len(self.bodies)
        best: list[str] = []
        for sub in payload:
            mark = len(self.bodies)
            self.walk(sub, message_depth, multipart_depth)
            candidate = self.bodies[mark:]
            del self.bodies[mark:]
            if sum(len(t) for t in candidate) > sum(len(t) for t in best):
                best = candidate
        self.bodies[start:] = best

    def _visit_leaf(self, part: Message, ctype: str, message_depth: int) -> None:
        label = f"第 {self._parts} 部分"
        filename = filename_of(part, self.notes)
        if filename:
            label = f"附件“{filename}”"
        data = part_bytes(part, transfer_encoding(part), label, self.notes, self.regions)
        disposition = (part.get_content_disposition() or "").lower()
        charset = param(part, "charset", "content-type", self.notes)
        if ctype in {"text/plain", "text/html"} and disposition != "attachment" and not filename:
            self.bodies.append(self._body(data, ctype, charset, label))
            return
        attachment = Attachment.of(filename, ctype, data, charset)
        self.attachments.append(attachment)
        if is_manifest_name(filename):
            self._read_manifest(attachment)

    def _body(self, data: bytes, ctype: str, charset: str | None, label: str) -> str:
        if ctype == "text/html" and not charset:
            charset = html_charset(data)
        text, findings = decode_text(data, charset)
        for f in findings:
            self.notes.add(f.code, f"{label}：{f.detail}")
        if ctype == "text/html":
            return html_to_text(text)
        return normalize_text(text)

    def _read_manifest(self, attachment: Attachment) -> None:
        if self._manifest_seen:
            self.notes.add("manifest_duplicate", "邮件中有多个签收单，只采用第一个")
            return
        self._manifest_seen = True
        self.manifest = _manifest(attachment.data, self.notes)

    def _record_defects(self, part: Message) -> None:
        for defect in getattr(part, "defects", []):
            if isinstance(defect, _TRUNCATION_DEFECTS):
                self.notes.add("truncated", "缺少结束分隔线，邮件可能被截断")
            else:
                self.notes.add("mime_defect", type(defect).__name__)


def _manifest(data: bytes, notes: Notes) -> dict[str, object] | None:
    if len(data) > MAX_MANIFEST_BYTES:
        notes.add("manifest_invalid", "签收单过大")
        return None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text, _ = guess_decode(data)
        notes.add("charset_guess", "签收单不是 UTF-8 编码")
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        notes.add("manifest_invalid", "签收单不是有效的 JSON")
        return None
    if not isinstance(value, dict):
        notes.add("manifest_invalid", "签收单不是 JSON 对象")
        return None
    return value
