"""OCR of generated fax pages with the real engine: text as known, fields exact, doubts
flagged, bounds kept, and nothing fetched from the network.

One engine for the whole session (loading takes seconds); few pages, since each takes
one to three seconds of CPU.
"""

from __future__ import annotations

import io
import socket
from pathlib import Path

import pytest
from PIL import Image

import core.ocr.engine as engine
from core.config import Ocr
from core.errors import OcrUnavailableError
from core.ocr import Engine, OcrText, missing_models, read_image_file, read_pdf
from tests.data.fax import DOCUMENTS, FaxFile, cer, comparable, fax_file, render
from tests.data.fax.documents import COUNTY_REQUEST, PROVINCE_NOTICE
from tests.data.fax.render import BLURRED, COLOUR_SCAN, FINE, GREY_SCAN, SKEWED, STANDARD

SETTINGS = Ocr()
#: character error rate a legible page must stay under (measured: ≤ 0.6 % on every
#: document and variant but the joint 版头 page skewed 1.5°, 0.4 %)
MAX_CER = 0.02


def _refuse(*_: object, **__: object) -> None:
    raise AssertionError("OCR tried to reach the network")


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket.socket, "connect", _refuse)
    monkeypatch.setattr(socket, "create_connection", _refuse)
    monkeypatch.setattr(socket, "getaddrinfo", _refuse)


@pytest.fixture(scope="session")
def ocr_engine() -> Engine:
    with pytest.MonkeyPatch.context() as patch:  # loading must not download either
        patch.setattr(socket.socket, "connect", _refuse)
        patch.setattr(socket, "getaddrinfo", _refuse)
        return engine.get_engine(SETTINGS)


def read(sample: FaxFile, ocr_engine: Engine, settings: Ocr = SETTINGS) -> OcrText:
    if sample.fmt == "pdf":
        return read_pdf(sample.data, settings, engine=ocr_engine)
    return read_image_file(sample.data, settings, engine=ocr_engine)


def assert_fields_exact(sample: FaxFile, text: OcrText) -> None:
    doc = sample.document
    lines = [comparable(line) for line in text.text.splitlines()]
    assert any(line.startswith(comparable(doc.masthead)) for line in lines), doc.masthead
    if doc.doc_number:
        head = lines[:6]  # the 字号 begins a line of the head, not a phrase of the body
        assert any(line.startswith(comparable(doc.doc_number)) for line in head), head
    assert comparable(doc.title) in "".join(lines), doc.title


def test_the_bundled_models_are_installed() -> None:
    """Without them RapidOCR would download models at run time: never."""
    assert missing_models() == []


def test_a_missing_model_stops_the_engine_before_anything_is_fetched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, offline: None,
) -> None:
    models = engine.model_dir()
    assert models is not None
    for name in ("PP-OCRv6_det_small.onnx", "ch_ppocr_mobile_v2.0_cls_mobile.onnx"):
        (tmp_path / name).symlink_to(models / name)
    monkeypatch.setattr(engine, "model_dir", lambda: tmp_path)
    with pytest.raises(OcrUnavailableError) as caught:
        Engine(threads=1, drop_below=0.5)
    assert caught.value.missing == ["PP-OCRv6_rec_small.onnx"]
    assert "缺少模型文件" in str(caught.value)


@pytest.mark.parametrize(
    ("variant", "fmt"),
    [(FINE, "tiff"), (STANDARD, "tiff"), (SKEWED, "png"), (GREY_SCAN, "pdf"),
     (COLOUR_SCAN, "jpeg")],
    ids=lambda v: getattr(v, "name", v),
)
def test_county_request_reads_as_printed(
    variant: render.Variant, fmt: str, ocr_engine: Engine, offline: None,
) -> None:
    sample = fax_file(COUNTY_REQUEST, variant, fmt)
    text = read(sample, ocr_engine)
    assert len(text.pages) == len(sample.pages)
    assert cer(sample.text, text.text) <= MAX_CER
    assert_fields_exact(sample, text)
    lines = text.text.splitlines()
    assert lines[0] == "康定市人民政府文件"
    assert lines[1] == "康府〔2025〕17号 签发人：李明远"  # the 签发人 at the right, one line
    assert not text.doubtful
    assert not [f for f in text.findings if f.code != "ocr_text_layer"]


@pytest.mark.parametrize("doc", DOCUMENTS[1:], ids=lambda d: d.name)
def test_every_kind_of_head_gives_its_fields_exactly(doc: object, ocr_engine: Engine) -> None:
    sample = fax_file(doc, FINE, "png")  # type: ignore[arg-type]
    text = read(sample, ocr_engine)
    assert cer(sample.text, text.text) <= MAX_CER
    assert_fields_exact(sample, text)
    assert not text.doubtful


def test_a_blurred_page_is_flagged(ocr_engine: Engine) -> None:
    sample = fax_file(COUNTY_REQUEST, BLURRED, "png")
    text = read(sample, ocr_engine)
    assert cer(sample.text, text.text) > 0.5  # the body is lost: that must show
    assert text.doubtful
    page = text.pages[0]
    assert page.illegible
    assert page.unread > SETTINGS.unread_above
    assert [f.code for f in text.findings] == ["ocr_illegible"]
    # whatever was read below the threshold is flagged where it stands
    assert text.doubtful_lines
    worst = min(text.lines, key=lambda line: line.confidence)
    assert worst.confidence < SETTINGS.doubtful_below
    assert text.is_doubtful(worst.text)


def test_text_keeps_where_each_piece_was_read(ocr_engine: Engine) -> None:
    sample = fax_file(PROVINCE_NOTICE, STANDARD, "tiff")
    text = read(sample, ocr_engine)
    page = text.pages[0]
    assert page.dpi == (204.0, 98.0)
    assert page.image_png is not None
    with Image.open(io.BytesIO(page.image_png)) as shown:
        assert shown.size == page.size
    width, height = page.size
    assert height > width  # stretched back to square pixels: an upright A4 page
    docno = next(line for line in text.lines if "川应急" in line.text)
    assert docno.text == "川应急〔2025〕23号"
    assert 0 <= docno.box.left < docno.box.right <= width
    assert 0 <= docno.box.top < docno.box.bottom <= height
    confidence = text.confidence_of("川应急〔2025〕23号")
    assert confidence is not None
    assert confidence >= SETTINGS.doubtful_below
    assert not text.is_doubtful("川应急〔2025〕23号")
    assert text.confidence_of("不在文中的话") is None


def test_pdf_with_a_garbage_text_layer_is_read_by_ocr(ocr_engine: Engine) -> None:
    made = render.page_images(PROVINCE_NOTICE, FINE)
    texts = ["\n".join(page.lines) for _, page in made]
    data = render.garbage_text_pdf([image for image, _ in made], texts, 200)
    text = read_pdf(data, SETTINGS, engine=ocr_engine)
    assert [p.source for p in text.pages] == ["ocr"]
    assert [f.code for f in text.findings] == ["ocr_text_layer"]
    assert cer(texts[0], text.text) <= MAX_CER


def test_reading_stops_after_the_page_that_passes_the_time_bound(ocr_engine: Engine) -> None:
    sample = fax_file(COUNTY_REQUEST, FINE, "tiff")
    ticks = iter([0.0, 0.0, 1.0, 1.0, 1000.0])
    text = read_image_file(sample.data, SETTINGS, engine=ocr_engine,
                           clock=lambda: next(ticks, 1000.0))
    assert [p.number for p in text.pages] == [1]
    assert [f.code for f in text.findings] == ["ocr_time_limit"]
    assert "第 2 页未识别" in text.findings[0].detail


def test_disabled_ocr_reads_nothing_and_says_so() -> None:
    text = read_image_file(b"whatever", Ocr(enabled=False))
    assert text.pages == ()
    assert [f.code for f in text.findings] == ["ocr_disabled"]
