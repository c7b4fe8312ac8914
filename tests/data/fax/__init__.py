"""Fax pages the tests generate: known documents, rendered and degraded as fax
gateways and scanners deliver them, and the measures of how well they were read.

    sample = fax_file(COUNTY_REQUEST, STANDARD)   # TIFF bytes + the text of each page
    cer(sample.pages[0], ocr_text)                # character error rate, 0–1
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from tests.data.fax import render
from tests.data.fax.documents import DOCUMENTS, FaxDocument
from tests.data.fax.render import Variant


@dataclass(frozen=True)
class FaxFile:
    """A file as delivered, what each of its pages reads, and how it was made."""

    data: bytes
    fmt: str  # tiff, png, jpeg, pdf
    pages: tuple[tuple[str, ...], ...]  # each page's lines
    document: FaxDocument
    variant: Variant

    @property
    def text(self) -> str:
        return "\n\n".join("\n".join(page) for page in self.pages)


def fax_file(doc: FaxDocument, variant: Variant, fmt: str = "tiff") -> FaxFile:
    """`doc` delivered as `variant` in `fmt`: TIFF (G4 at fine, G3 at standard
    resolution), PNG or JPEG (first page), or an image-only PDF."""
    made = render.page_images(doc, variant)
    images = [image for image, _ in made]
    pages = tuple(layout.lines for _, layout in made)
    if fmt == "tiff":
        compression = "group3" if variant.dpi[1] < 150 else "group4"
        data = render.tiff(images, variant.dpi, compression)
    elif fmt == "png":
        data, pages = render.png(images[0], variant.dpi), pages[:1]
    elif fmt == "jpeg":
        data, pages = render.jpeg(images[0], variant.dpi), pages[:1]
    elif fmt == "pdf":
        data = render.image_pdf(images, variant.dpi[0])
    else:
        raise ValueError(fmt)
    return FaxFile(data, fmt, pages, doc, variant)


def comparable(text: str) -> str:
    """Text as compared: NFKC (full- and half-width alike), no whitespace."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance (insertions, deletions, substitutions)."""
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1,
                               previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def cer(expected: str, got: str) -> float:
    """Character error rate: edits to turn what was read into the known text, per known
    character (whitespace and character width ignored)."""
    truth = comparable(expected)
    return edit_distance(truth, comparable(got)) / max(1, len(truth))


__all__ = ["DOCUMENTS", "FaxFile", "cer", "comparable", "edit_distance", "fax_file"]
