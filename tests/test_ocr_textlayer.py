"""A PDF page's text layer is believed only when it is text: empty, sparse-over-a-scan
and font-encoding messes send the page to OCR."""

from __future__ import annotations

import random

import pytest

from core.ocr.textlayer import check_text_layer
from tests.data.fax import DOCUMENTS

PAGE = "\n".join(line.text for line in DOCUMENTS[0].lines if line.text)


def test_a_real_page_of_text_is_usable() -> None:
    for doc in DOCUMENTS:
        text = "\n".join(line.text for line in doc.lines if line.text)
        assert check_text_layer(text).usable, doc.name


def test_a_short_page_without_a_scan_is_usable() -> None:
    """A last page with the 署名 only is text, not a scan."""
    assert check_text_layer("康定市人民政府\n2025年3月18日").usable


@pytest.mark.parametrize(
    ("text", "image_cover", "reason"),
    [
        ("", 0.0, "empty"),
        ("  \n\t ", 0.0, "empty"),
        ("- 1 -", 0.98, "sparse"),  # a scan with a stamped page number
        # an embedded font without a Unicode map: its glyph ids in the private-use area
        ("".join(chr(0xE000 + ord(c) % 0x1800) if c > "\u4e00" else c for c in PAGE),
         0.0, "unmapped"),
        ("".join(c if i % 5 else "\ufffd" for i, c in enumerate(PAGE)), 0.0, "unmapped"),
        (" ".join(f"(cid:{n})" for n in range(200)), 0.0, "unmapped"),
        (PAGE.encode("gbk").decode("latin-1"), 0.0, "mojibake"),
    ],
)
def test_unusable_layers(text: str, image_cover: float, reason: str) -> None:
    check = check_text_layer(text, image_cover=image_cover)
    assert not check.usable
    assert check.reason == reason
    assert check.detail


def test_characters_from_all_over_the_cjk_block_are_not_text() -> None:
    """A layer mapped through the wrong table: real ideographs, but not the common ones
    official text is made of."""
    rng = random.Random(7)
    mess = "".join(chr(rng.randrange(0x4E00, 0x9FA6)) for _ in range(400))
    check = check_text_layer(mess)
    assert (check.usable, check.reason) == (False, "uncommon")


def test_unmapped_glyphs_reported_by_the_pdf_library_count() -> None:
    assert check_text_layer(PAGE).usable
    assert check_text_layer(PAGE, unmapped=len(PAGE) // 5).reason == "unmapped"
