"""OCR of image faxes and scans: what a picture of a document says, with its doubts kept.

    from core.ocr import read_image_file, read_pdf
    text = read_image_file(tiff_bytes, settings.ocr)   # -> OcrText
    text.text                    # the document's text, line per printed line
    text.is_doubtful(field.source_text)   # rests on text read below the threshold?
    text.doubtful                # any doubtful line, or a page with ink left unread
    text.pages[0].image_png      # the page as read, to show staff beside the text

Modules: `engine` (RapidOCR with its bundled models, one per process), `pages`
(decoding and PDF rendering, bounded), `layout` and `normalize` (pure: boxes into
lines in reading order; what OCR confuses), `textlayer` (pure: is a PDF page's text
layer usable), `coverage` (pure: how much ink no box read), `read` (the whole,
within the configured bounds), `model` (the result).
"""

from core.ocr.engine import Engine, get_engine, missing_models
from core.ocr.model import Box, OcrLine, OcrPage, OcrText, Piece
from core.ocr.pages import PageImage, image_pages, pdf_pages
from core.ocr.read import read_image_file, read_images, read_page, read_pdf
from core.ocr.textlayer import TextLayerCheck, check_text_layer

__all__ = [
    "Box",
    "Engine",
    "OcrLine",
    "OcrPage",
    "OcrText",
    "PageImage",
    "Piece",
    "TextLayerCheck",
    "check_text_layer",
    "get_engine",
    "image_pages",
    "missing_models",
    "pdf_pages",
    "read_image_file",
    "read_images",
    "read_page",
    "read_pdf",
]
