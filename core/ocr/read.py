"""Read image pages into `OcrText`: recognise, order, normalise, flag, within bounds.

Total for bad input: a page that does not decode, a page too large, pages past
`max_pages` or past `seconds_per_item` become findings in the result, never
exceptions. Only a missing engine raises (`OcrUnavailableError`), since that is the
installation's fault and not the document's.

The time bound is checked between pages (onnxruntime cannot be interrupted inside
one): an item stops after the page that passes it. The pipeline's own per-step time
limit is the hard stop behind it.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from core.ocr.coverage import unread_ink
from core.ocr.engine import Engine, get_engine
from core.ocr.layout import bounding_box, reading_order, separators
from core.ocr.model import Detected, OcrLine, OcrPage, OcrText, Piece
from core.ocr.normalize import normalize
from core.ocr.pages import PageImage, image_pages, pdf_pages
from core.reading.findings import Finding

if TYPE_CHECKING:
    from PIL import Image

    from core.config import Ocr

Clock = Callable[[], float]


def read_image_file(
    data: bytes, settings: Ocr, *, engine: Engine | None = None, clock: Clock = time.monotonic
) -> OcrText:
    """OCR of a TIFF (every page), PNG or JPEG attachment."""
    if not settings.enabled:
        return _disabled(settings)
    started = clock()
    pages, findings = image_pages(data, max_pages=settings.max_pages,
                                  max_pixels=settings.max_pixels)
    return _read(pages, [], findings, settings, engine, clock, started)


def read_pdf(
    data: bytes, settings: Ocr, *, engine: Engine | None = None, clock: Clock = time.monotonic
) -> OcrText:
    """A PDF page by page: its text layer where that is usable, OCR where it is empty or
    garbage (each such page said in a finding)."""
    if not settings.enabled:
        return _disabled(settings)
    started = clock()
    pdf, findings = pdf_pages(data, max_pages=settings.max_pages,
                              max_pixels=settings.max_pixels, dpi=settings.render_dpi)
    to_read: list[PageImage] = []
    layer: list[OcrPage] = []
    for page in pdf:
        if page.image is None:
            text = page.text.replace("\r\n", "\n").replace("\r", "\n")
            layer.append(OcrPage(page.number, "text_layer", text))
        else:
            to_read.append(page.image)
            findings.append(Finding(
                "ocr_text_layer", f"PDF 第 {page.number} 页{page.check.detail}，已做文字识别"))
    return _read(to_read, layer, findings, settings, engine, clock, started)


def read_images(
    pages: Sequence[PageImage], settings: Ocr, *,
    engine: Engine | None = None, clock: Clock = time.monotonic,
) -> OcrText:
    """OCR of pages already decoded (square pixels)."""
    if not settings.enabled:
        return _disabled(settings)
    return _read(pages, [], [], settings, engine, clock, clock())


def _disabled(settings: Ocr) -> OcrText:
    return OcrText((), (Finding("ocr_disabled", "未启用文字识别（[ocr] enabled = false）"),),
                   settings.doubtful_below)


def _read(
    pages: Sequence[PageImage], layer: list[OcrPage], findings: list[Finding],
    settings: Ocr, engine: Engine | None, clock: Clock, started: float,
) -> OcrText:
    done: list[OcrPage] = list(layer)
    if pages:
        engine = engine or get_engine(settings)
    for k, page in enumerate(pages):
        if clock() - started >= settings.seconds_per_item:
            left = ", ".join(str(p.number) for p in pages[k:])
            findings.append(Finding(
                "ocr_time_limit",
                f"文字识别超过 {settings.seconds_per_item:g} 秒，第 {left} 页未识别"))
            break
        assert engine is not None
        read = read_page(page, engine, settings, clock)
        if read.illegible:
            findings.append(Finding(
                "ocr_illegible",
                f"第 {read.number} 页约 {read.unread:.0%} 的字迹未能识别，请对照原件核对"))
        done.append(read)
    done.sort(key=lambda p: p.number)
    text = OcrText(tuple(done), tuple(findings), settings.doubtful_below)
    if pages and not any(p.lines for p in text.pages):
        text = OcrText(text.pages, (*text.findings, Finding("ocr_no_text", "图像中未识别出文字")),
                       settings.doubtful_below)
    return text


def read_page(page: PageImage, engine: Engine, settings: Ocr,
              clock: Clock = time.monotonic) -> OcrPage:
    """One page: recognised, its boxes put in reading order and normalised."""
    import numpy as np

    started = clock()
    image = page.image
    found = engine.recognise(np.asarray(image.convert("RGB")))
    unread = unread_ink(np.asarray(image.convert("L")), [bounding_box(d) for d in found])
    lines = tuple(
        line for row in reading_order(found)
        if (line := _line(row, page.number, settings.doubtful_below)) is not None
    )
    png = _png(image) if settings.keep_page_images else None
    return OcrPage(
        number=page.number,
        source="ocr",
        text="\n".join(line.text for line in lines),
        lines=lines,
        size=image.size,
        dpi=page.dpi,
        image_png=png,
        seconds=clock() - started,
        unread=unread,
        illegible=unread > settings.unread_above,
    )


def _line(row: Sequence[Detected], page: int, threshold: float) -> OcrLine | None:
    """The line a row of boxes reads; None when nothing is left once normalised (a
    speck read as `.`)."""
    gaps = [*separators(row), ""]
    pieces: list[Piece] = []
    offsets: list[int] = []
    text = ""
    for found, gap in zip(row, gaps, strict=True):
        clean = normalize(found.text)
        if not clean:
            continue
        offsets.append(len(text))
        pieces.append(Piece(clean, found.text, found.score, bounding_box(found),
                            found.score < threshold))
        text += clean + gap
    if not pieces:
        return None
    return OcrLine(text.rstrip(), tuple(pieces), tuple(offsets), page)


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()
