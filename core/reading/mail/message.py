"""What reading one message gives: the parsed message, its attachments, its forwards."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime

from core.reading.findings import Finding

MANIFEST_FILENAME = "签收单.json"


@dataclass(frozen=True, slots=True)
class Attachment:
    """A non-body part, decoded from its transfer encoding."""

    filename: str | None
    content_type: str
    data: bytes
    sha256: str
    charset: str | None = None

    @classmethod
    def of(
        cls, filename: str | None, content_type: str, data: bytes, charset: str | None = None
    ) -> Attachment:
        """Build an attachment, computing its sha256."""
        return cls(filename, content_type, data, hashlib.sha256(data).hexdigest(), charset)


@dataclass(frozen=True, slots=True)
class Addressing:
    """The addressing headers of a message: the outer one, or a forwarded (message/rfc822) one."""

    message_id: str | None
    from_address: str | None
    from_name: str | None
    to_addresses: list[str]
    cc_addresses: list[str]
    subject: str | None
    date: datetime | None


@dataclass(frozen=True, slots=True)
class ParsedMessage:
    """Everything the registry reads from one message."""

    message_id: str | None
    from_address: str | None
    from_name: str | None
    to_addresses: list[str]
    cc_addresses: list[str]
    subject: str | None
    date: datetime | None
    headers: dict[str, str]
    body_text: str
    attachments: list[Attachment]
    manifest: dict[str, object] | None
    findings: list[Finding]
    parsed_ok: bool
    forwarded: list[Addressing] = field(default_factory=list)

    @property
    def documents(self) -> list[Attachment]:
        """The attachments that are documents, i.e. all but the 签收单 manifest."""
        return [a for a in self.attachments if not is_manifest_name(a.filename)]

    def has_finding(self, code: str) -> bool:
        """Whether any finding carries `code`."""
        return any(f.code == code for f in self.findings)


def is_manifest_name(filename: str | None) -> bool:
    """Whether a part's filename names the 签收单 manifest."""
    return filename is not None and filename.strip().lower() == MANIFEST_FILENAME
