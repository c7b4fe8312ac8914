"""Pages to read come out of TIFF/PNG/JPEG/PDF in square pixels, bounded, and bad input
is a finding, never an exception (no OCR engine needed here)."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from core.ocr.pages import image_pages, pdf_pages
from tests.data.fax import DOCUMENTS, fax_file, render
from tests.data.fax.documents import COUNTY_REQUEST
from tests.data.fax.render import FINE, STANDARD

BOUNDS = {"max_pages": 20, "max_pixels": 40_000_000}


def test_fine_fax_tiff_gives_every_page_unchanged() -> None:
    sample = fax_file(COUNTY_REQUEST, FINE)
    with Image.open(io.BytesIO(sample.data)) as tiff:
        assert tiff.info["compression"] == "group4"
        assert tiff.mode == "1"
        size = tiff.size
    pages, findings = image_pages(sample.data, **BOUNDS)
    assert findings == []
    assert [p.number for p in pages] == [1, 2]
    assert pages[0].image.size == size
    assert pages[0].image.mode == "L"  # widened from 1 bit, so resampling keeps strokes


def test_standard_resolution_fax_is_stretched_to_square_pixels() -> None:
    sample = fax_file(COUNTY_REQUEST, STANDARD)
    with Image.open(io.BytesIO(sample.data)) as tiff:
        assert tiff.info["compression"] == "group3"
        width, height = tiff.size
    assert width == 1728
    pages, _ = image_pages(sample.data, **BOUNDS)
    page = pages[0]
    assert page.dpi == (204.0, 98.0)
    assert page.image.width == width
    assert page.image.height == pytest.approx(height * 204 / 98, abs=1)


def test_a_fax_tiff_that_does_not_say_its_resolution_is_taken_as_standard() -> None:
    image = render.page_images(COUNTY_REQUEST, STANDARD)[0][0]
    out = io.BytesIO()
    image.save(out, format="TIFF", compression="group3")  # no dpi tag
    pages, _ = image_pages(out.getvalue(), **BOUNDS)
    assert pages[0].dpi == (204.0, 98.0)
    assert pages[0].image.height == pytest.approx(image.height * 204 / 98, abs=1)


def test_pages_past_the_limit_are_a_finding() -> None:
    sample = fax_file(COUNTY_REQUEST, FINE)
    pages, findings = image_pages(sample.data, max_pages=1, max_pixels=40_000_000)
    assert len(pages) == 1
    assert [f.code for f in findings] == ["ocr_page_limit"]


def test_a_page_too_large_is_not_decoded() -> None:
    sample = fax_file(COUNTY_REQUEST, FINE, "png")
    pages, findings = image_pages(sample.data, max_pages=20, max_pixels=1_000_000)
    assert pages == []
    assert [f.code for f in findings] == ["ocr_page_too_large"]


@pytest.mark.parametrize("data", [b"", b"not an image", b"II*\x00" + b"\x00" * 40,
                                  b"\x89PNG\r\n\x1a\n" + b"\xff" * 100])
def test_what_does_not_decode_is_a_finding(data: bytes) -> None:
    pages, findings = image_pages(data, **BOUNDS)
    assert pages == []
    assert findings
    assert {f.code for f in findings} == {"ocr_bad_image"}


@pytest.mark.filterwarnings("ignore:Corrupt EXIF data:UserWarning")
def test_truncated_multipage_tiff_keeps_the_pages_that_decode() -> None:
    data = fax_file(COUNTY_REQUEST, FINE).data
    pages, findings = image_pages(data[: len(data) * 3 // 4], **BOUNDS)
    assert len(pages) <= 1
    assert any(f.code == "ocr_bad_image" for f in findings)


def test_image_only_pdf_pages_are_rendered() -> None:
    sample = fax_file(COUNTY_REQUEST, FINE, "pdf")
    pages, findings = pdf_pages(sample.data, dpi=150, **BOUNDS)
    assert findings == []
    assert [(p.number, p.check.reason) for p in pages] == [(1, "empty"), (2, "empty")]
    image = pages[0].image
    assert image is not None
    assert image.image.width == pytest.approx(210 / 25.4 * 150, abs=3)  # A4 at 150 dpi


def test_pdf_with_a_garbage_text_layer_is_rendered() -> None:
    made = render.page_images(COUNTY_REQUEST, FINE)
    data = render.garbage_text_pdf([im for im, _ in made],
                                   ["\n".join(p.lines) for _, p in made], 200)
    pages, _ = pdf_pages(data, dpi=150, **BOUNDS)
    assert [p.check.reason for p in pages] == ["mojibake", "mojibake"]
    assert all(p.image is not None for p in pages)


def test_pdf_with_a_real_text_layer_is_not_rendered() -> None:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(TTFont("WQY", "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"))
    out = io.BytesIO()
    c = canvas.Canvas(out)
    text = c.beginText(60, 780)
    text.setFont("WQY", 14)
    for line in DOCUMENTS[1].lines:
        text.textLine(line.text)
    c.drawText(text)
    c.showPage()
    c.save()
    pages, findings = pdf_pages(out.getvalue(), dpi=150, **BOUNDS)
    assert findings == []
    assert pages[0].check.usable
    assert pages[0].image is None
    assert "川应急〔2025〕23号" in pages[0].text


def test_a_pdf_that_does_not_open_is_a_finding() -> None:
    pages, findings = pdf_pages(b"%PDF-1.7\nbroken", dpi=150, **BOUNDS)
    assert pages == []
    assert [f.code for f in findings] == ["ocr_bad_pdf"]
