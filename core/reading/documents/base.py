"""What every reader shares: the limits, the result, the damaged signal, the text budget."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from core.reading.findings import Finding
from core.reading.text import normalize_text

if TYPE_CHECKING:
    from core.reading.doubts import Confidence

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
    """What an attachment says: status, text, metadata and the defects met.

    `image` means pages without text (a scan, a fax): a recognising reader (OCR) may
    give their text instead; `unsupported` means no reader handles the format."""

    status: Status
    text: str
    meta: dict[str, str] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    #: how sure OCR was of each part of `text` (None: not read by OCR)
    confidence: Confidence | None = None


class Damaged(Exception):  # noqa: N818 - internal signal, not an error type
    """Raised inside a reader when the part does not open; carries the finding."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.finding = Finding(code, detail)


class Budget:
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
