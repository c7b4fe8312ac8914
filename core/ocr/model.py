"""What OCR read from a document: pages of lines, each line made of the pieces the
engine read, each piece with its box on the page and its confidence.

`OcrText.text` is the document's text as a text-layer reader gives it (one line per
printed line, pages apart by a blank line), so the field readers take it as they
take any other text; `confidence_of` / `is_doubtful` tell which parts of it rest on
doubtful reading, and each page keeps the image that was read, for staff to confirm.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

from core.reading.doubts import Confidence, Span
from core.reading.findings import Finding

Point = tuple[float, float]


@dataclass(frozen=True, slots=True)
class Detected:
    """One text box as the engine returns it: its four corners (clockwise from the top
    left of the text, in page pixels), the text read in it and the engine's score."""

    corners: tuple[Point, Point, Point, Point]
    text: str
    score: float


@dataclass(frozen=True, slots=True)
class Box:
    """An upright rectangle in pixels of the page image that was read."""

    left: float
    top: float
    right: float
    bottom: float

    @property
    def height(self) -> float:
        return self.bottom - self.top

    @property
    def width(self) -> float:
        return self.right - self.left

    def union(self, other: Box) -> Box:
        return Box(min(self.left, other.left), min(self.top, other.top),
                   max(self.right, other.right), max(self.bottom, other.bottom))


@dataclass(frozen=True, slots=True)
class Piece:
    """One box of a line: the text as normalised, as read, and how sure the engine was."""

    text: str
    raw: str
    confidence: float
    box: Box
    doubtful: bool


@dataclass(frozen=True, slots=True)
class OcrLine:
    """One printed line: its pieces left to right, joined by `text` (a space where the
    pieces stand apart, as a 字号 and its 签发人 do)."""

    text: str
    pieces: tuple[Piece, ...]
    #: offset of each piece's text in `text`
    offsets: tuple[int, ...]
    page: int

    @property
    def confidence(self) -> float:
        """The least sure piece: a line is as doubtful as its worst part."""
        return min(p.confidence for p in self.pieces)

    @property
    def doubtful(self) -> bool:
        return any(p.doubtful for p in self.pieces)

    @property
    def box(self) -> Box:
        box = self.pieces[0].box
        for piece in self.pieces[1:]:
            box = box.union(piece.box)
        return box


Source = Literal["ocr", "text_layer"]


@dataclass(frozen=True, slots=True)
class OcrPage:
    """One page: read by OCR (`lines`, and the image that was read) or, in a PDF whose
    page has a usable text layer, taken from it (`text` only)."""

    number: int  # 1-based, in the document
    source: Source
    text: str
    lines: tuple[OcrLine, ...] = ()
    #: size of the image that was read, in square pixels (boxes are in these pixels)
    size: tuple[int, int] = (0, 0)
    #: the resolution the page came in, (x, y) dots per inch; None when it did not say
    dpi: tuple[float, float] | None = None
    #: the image that was read, PNG, for staff to see beside the text (None if not kept)
    image_png: bytes | None = None
    #: wall seconds spent reading this page (decoding, recognition, layout)
    seconds: float = 0.0
    #: share of the page's ink (0–1) outside any box read (see `core.ocr.coverage`)
    unread: float = 0.0
    #: so much ink is unread that the page is illegible in part: staff read the image
    illegible: bool = False


@dataclass(frozen=True, slots=True)
class _Span:
    start: int
    end: int
    piece: Piece
    page: int


@dataclass(frozen=True)
class OcrText:
    """A document read page by page; `text` is what a text reader would have given."""

    pages: tuple[OcrPage, ...]
    findings: tuple[Finding, ...]
    #: a piece read with less confidence than this is doubtful
    threshold: float
    text: str = field(init=False)
    _spans: tuple[_Span, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        parts: list[str] = []
        spans: list[_Span] = []
        at = 0
        for page in self.pages:
            if parts:
                parts.append("\n\n")
                at += 2
            if page.source == "ocr":
                for n, line in enumerate(page.lines):
                    if n:
                        parts.append("\n")
                        at += 1
                    for piece, offset in zip(line.pieces, line.offsets, strict=True):
                        start = at + offset
                        spans.append(_Span(start, start + len(piece.text), piece, page.number))
                    parts.append(line.text)
                    at += len(line.text)
            else:
                parts.append(page.text)
                at += len(page.text)
        object.__setattr__(self, "text", "".join(parts))
        object.__setattr__(self, "_spans", tuple(spans))

    @property
    def lines(self) -> Iterator[OcrLine]:
        """Every line OCR read, in reading order."""
        for page in self.pages:
            yield from page.lines

    @property
    def doubtful_lines(self) -> tuple[OcrLine, ...]:
        return tuple(line for line in self.lines if line.doubtful)

    @property
    def doubtful(self) -> bool:
        """Whether anything OCR gave rests on doubtful reading: a line below the
        threshold, or a page with ink left unread."""
        return any(page.illegible for page in self.pages) or bool(self.doubtful_lines)

    @property
    def ocr_pages(self) -> int:
        return sum(page.source == "ocr" for page in self.pages)

    @property
    def confidence(self) -> float | None:
        """Mean confidence over the characters OCR read (None when OCR read nothing)."""
        weight = total = 0.0
        for span in self._spans:
            size = max(1, len(span.piece.text))
            weight += size
            total += size * span.piece.confidence
        return total / weight if weight else None

    def reading_confidence(self) -> Confidence:
        """How sure each part of `text` is, for reading (core.reading.doubts) to judge."""
        return Confidence(self.text, tuple(
            Span(s.start, s.end, s.piece.confidence, s.page) for s in self._spans
        ), self.threshold)

    def confidence_of(self, fragment: str) -> float | None:
        """How sure the reading of `fragment` (a field's source text, a phrase a rule fired
        on) is: its least sure piece, whitespace ignored (`Confidence.least`)."""
        worst = self.reading_confidence().least(fragment)
        return worst.confidence if worst is not None else None

    def is_doubtful(self, fragment: str) -> bool:
        """Whether `fragment` rests on a piece read below the threshold."""
        return self.reading_confidence().doubt_of(fragment) is not None
