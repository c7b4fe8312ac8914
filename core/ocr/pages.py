"""Page images to read: frames of a TIFF/PNG/JPEG, pages of a PDF rendered with pdfium.

Bounded and total: at most `max_pages` pages, none larger than `max_pixels` decoded;
a frame that does not decode is a finding, never an exception. Every page comes out
in square pixels — a fax at standard resolution (204×98 dpi) is stretched to
204×204 before recognition, since the recogniser was trained on square pixels and
reads squashed characters badly — and in greyscale or colour (1-bit pages are
widened to 8 bits so that resampling keeps the strokes smooth).
"""

from __future__ import annotations

import io
import struct
from collections.abc import Iterator
from dataclasses import dataclass

from PIL import Image, ImageOps, ImageSequence

from core.ocr.textlayer import TextLayerCheck, check_text_layer
from core.reading.findings import Finding

#: a page is shrunk to at most this long side (A4 at 300 dpi): more only costs memory
MAX_SIDE = 3508
#: fax widths in dots (ITU-T T.4: A4, B4, A3 at 204 dpi, and A4 at 408 dpi)
_FAX_WIDTHS = frozenset({1728, 2048, 2432, 3456})
#: pixels more than this much taller or wider than square are stretched
_ASPECT_TOLERANCE = 1.05
#: what Pillow raises on a damaged file: a truncated TIFF directory is a TypeError or
#: KeyError, a bad header a SyntaxError or struct.error, besides the OSError family
_DECODE_ERRORS = (OSError, ValueError, EOFError, TypeError, KeyError, IndexError,
                  SyntaxError, struct.error, Image.DecompressionBombError)


@dataclass(frozen=True)
class PageImage:
    """One page ready for recognition (square pixels, mode L or RGB)."""

    number: int  # 1-based in its document
    image: Image.Image
    #: the resolution the page came in, or None when the file did not say
    dpi: tuple[float, float] | None


@dataclass(frozen=True)
class PdfPage:
    """A PDF page: its text layer and the verdict on it; `image` only when it needs OCR."""

    number: int
    text: str
    check: TextLayerCheck
    image: PageImage | None


def image_pages(
    data: bytes, *, max_pages: int, max_pixels: int
) -> tuple[list[PageImage], list[Finding]]:
    """The frames of an image file (multi-page TIFF, PNG, JPEG…), at most `max_pages`."""
    findings: list[Finding] = []
    pages: list[PageImage] = []
    try:
        opened = Image.open(io.BytesIO(data))
    except _DECODE_ERRORS as exc:
        return [], [Finding("ocr_bad_image", f"图像无法打开：{type(exc).__name__}")]
    with opened:
        frames = _frames(opened, findings)
        for number, frame in enumerate(frames, 1):
            if number > max_pages:
                findings.append(Finding(
                    "ocr_page_limit", f"图像页数超过 {max_pages} 页，只识别前 {max_pages} 页"))
                break
            page = _page(frame, number, max_pixels, findings)
            if page is not None:
                pages.append(page)
    return pages, findings


def _frames(image: Image.Image, findings: list[Finding]) -> Iterator[Image.Image]:
    """Each frame, stopping at the first that does not decode."""
    try:
        yield from ImageSequence.Iterator(image)
    except _DECODE_ERRORS as exc:
        findings.append(Finding("ocr_bad_image", f"图像页无法读取：{type(exc).__name__}"))


def _page(frame: Image.Image, number: int, max_pixels: int,
          findings: list[Finding]) -> PageImage | None:
    width, height = frame.size
    if width * height > max_pixels:  # checked before decoding: a bomb costs nothing
        findings.append(Finding(
            "ocr_page_too_large",
            f"第 {number} 页图像 {width}×{height} 像素，超过上限 {max_pixels}，未识别"))
        return None
    try:
        dpi = _dpi(frame)
        image = ImageOps.exif_transpose(frame)
        image = image.convert("RGB" if image.mode in {"RGB", "RGBA", "P", "CMYK"} else "L")
    except _DECODE_ERRORS as exc:
        detail = f"第 {number} 页图像无法解码：{type(exc).__name__}"
        findings.append(Finding("ocr_bad_image", detail))
        return None
    return PageImage(number, square(image, dpi), dpi)


def _dpi(frame: Image.Image) -> tuple[float, float] | None:
    """The resolution a frame says it has; a TIFF without one at a fax width and wider
    than a page is tall is a standard-resolution fax (204×98)."""
    info = frame.info
    dpi = info.get("dpi")
    if dpi is None and "resolution" in info:  # a TIFF with no unit: the ratio still holds
        dpi = info["resolution"]
    if dpi is not None:
        x, y = float(dpi[0]), float(dpi[1])
        if x > 1 and y > 1:
            return (x, y)
    width, height = frame.size
    if frame.format == "TIFF" and width in _FAX_WIDTHS and height < 0.9 * width:
        return (204.0, 98.0)
    return None


def square(image: Image.Image, dpi: tuple[float, float] | None) -> Image.Image:
    """`image` in square pixels (the lower resolution stretched to the higher), no longer
    than MAX_SIDE on its long side."""
    width, height = image.size
    if dpi is not None:
        x, y = dpi
        if x > y * _ASPECT_TOLERANCE:
            height = round(height * x / y)
        elif y > x * _ASPECT_TOLERANCE:
            width = round(width * y / x)
    longest = max(width, height)
    if longest > MAX_SIDE:
        width, height = round(width * MAX_SIDE / longest), round(height * MAX_SIDE / longest)
    if (width, height) != image.size:
        image = image.resize((width, height), Image.Resampling.LANCZOS)
    return image


# ---------------------------------------------------------------- PDF


def pdf_pages(
    data: bytes, *, max_pages: int, max_pixels: int, dpi: float
) -> tuple[list[PdfPage], list[Finding]]:
    """Each page's text layer and verdict; pages whose layer is not usable rendered at
    `dpi` (less when that would pass `max_pixels`)."""
    import pypdfium2 as pdfium

    findings: list[Finding] = []
    try:
        document = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        return [], [Finding("ocr_bad_pdf", f"PDF 无法打开：{exc}")]
    pages: list[PdfPage] = []
    try:
        count = len(document)
        if count > max_pages:
            findings.append(Finding(
                "ocr_page_limit", f"PDF 共 {count} 页，只识别前 {max_pages} 页"))
        for index in range(min(count, max_pages)):
            try:
                pages.append(_pdf_page(document[index], index + 1, max_pixels, dpi))
            except pdfium.PdfiumError as exc:
                findings.append(Finding("ocr_bad_pdf", f"PDF 第 {index + 1} 页无法读取：{exc}"))
    finally:
        document.close()
    return pages, findings


def _pdf_page(page: object, number: int, max_pixels: int, dpi: float) -> PdfPage:
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    assert isinstance(page, pdfium.PdfPage)
    try:
        width, height = page.get_size()
        textpage = page.get_textpage()
        try:
            text = textpage.get_text_bounded()
            unmapped = sum(
                bool(pdfium_c.FPDFText_HasUnicodeMapError(textpage.raw, i))
                for i in range(textpage.count_chars())
            )
        finally:
            textpage.close()
        check = check_text_layer(
            text, page_area=width * height, image_cover=_image_cover(page, width, height),
            unmapped=unmapped)
        if check.usable:
            return PdfPage(number, text, check, None)
        scale = dpi / 72.0
        pixels = width * scale * height * scale
        if pixels > max_pixels:
            scale *= (max_pixels / pixels) ** 0.5
        bitmap = page.render(scale=scale, grayscale=True)
        image = bitmap.to_pil().convert("L")
        rendered = PageImage(number, square(image, None), (dpi, dpi))
        return PdfPage(number, text, check, rendered)
    finally:
        page.close()


def _image_cover(page: object, width: float, height: float) -> float:
    """The share of the page (0–1) under its largest image."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    assert isinstance(page, pdfium.PdfPage)
    area = width * height
    if area <= 0:
        return 0.0
    best = 0.0
    for obj in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE]):
        left, bottom, right, top = obj.get_bounds()
        cover = max(0.0, min(right, width) - max(left, 0.0)) * max(
            0.0, min(top, height) - max(bottom, 0.0))
        best = max(best, cover / area)
    return best
