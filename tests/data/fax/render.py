"""Render the known documents as a fax machine or a scanner delivers them.

`layout(doc, dpi)` sets each page the way GB/T 9704 pages are set (A4, margins
37/28/26/35 mm, 正文 in 三号 on a 28.95 pt pitch, 标题 in 二号, a large red 版头 with
the red rule under the 字号), wrapping paragraphs with the line-start rules of
Chinese type, and says what every page's lines read. `page_image(doc, variant)`
then degrades each page as a transmission does: skew, 1-bit threshold, fax standard
resolution (204×98 dpi: every two scan lines become one), speckle, a fold line,
blur. The encoders write what the gateway and scanners send: CCITT G3/G4 TIFF,
PNG, JPEG, an image-only PDF and one with a garbage text layer.

Fonts are Debian's fonts-noto-cjk (宋体-like serif) and fonts-wqy-zenhei (黑体);
`.ci/run` installs both.
"""

from __future__ import annotations

import io
import random
import re
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageFont

from tests.data.fax.documents import FaxDocument

A4_MM = (210.0, 297.0)
MARGIN_MM = {"top": 37.0, "left": 28.0, "right": 26.0, "bottom": 35.0}
RED = (205, 20, 20)
BLACK = (0, 0, 0)
#: the width of a fax scan line (ITU-T T.4): 1728 dots at 204 dpi, 215 mm
FAX_WIDTH = 1728

_FONT_FILES = {
    # (path, index of the Simplified Chinese face in the collection, Debian package)
    "serif": ("/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc", 2, "fonts-noto-cjk"),
    "serif_bold": ("/usr/share/fonts/opentype/noto/NotoSerifCJK-Bold.ttc", 2, "fonts-noto-cjk"),
    "sans": ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0, "fonts-wqy-zenhei"),
}

#: size in points and line pitch in points of each style
_SIZES = {
    "marker": (16.0, 28.95),
    "masthead": (36.0, 64.0),
    "docno": (16.0, 40.0),
    "rule": (0.0, 16.0),
    "title": (22.0, 32.0),
    "body": (16.0, 28.95),
    "signature": (16.0, 28.95),
    "imprint": (14.0, 26.0),
}
#: characters a line may not start with (避头): they stay at the end of the line before
_NO_LINE_START = "，。、；：？！）》”’〕】"


@cache
def font(kind: str, size_px: int) -> ImageFont.FreeTypeFont:
    path, index, package = _FONT_FILES[kind]
    if not Path(path).is_file():
        raise RuntimeError(f"fax pages need the font {path}: apt-get install {package}")
    return ImageFont.truetype(path, size_px, index=index)


@dataclass(frozen=True)
class Run:
    """Text drawn at (x, baseline) in pixels; an empty text with `width` is a rule."""

    text: str
    x: float
    baseline: float
    face: str
    size_px: int
    color: tuple[int, int, int]
    width: float = 0.0


@dataclass(frozen=True)
class PageLayout:
    width: int
    height: int
    runs: tuple[Run, ...]
    #: what the page reads, line by line, in reading order (parts of a line space-separated)
    lines: tuple[str, ...]


def _px(mm: float, dpi: float) -> float:
    return mm / 25.4 * dpi


def _faces(doc: FaxDocument, style: str) -> str:
    if style in {"masthead", "title"}:
        return "sans" if doc.font == "sans" else "serif_bold"
    if style == "marker":
        return "sans"
    return "sans" if doc.font == "sans" else "serif"


_TOKEN_RE = re.compile(r"[0-9A-Za-z.%·-]+|.", re.S)


def _wrap(text: str, face: ImageFont.FreeTypeFont, first: float, width: float) -> list[str]:
    """Break `text` into lines no wider than `width` (the first `first` narrower), never
    inside a number or a Latin word, never before a closing mark."""
    lines: list[str] = []
    current = ""
    room = width - first
    for token in _TOKEN_RE.findall(text):
        too_wide = face.getlength(current + token) > room
        if current and too_wide and token not in _NO_LINE_START:
            lines.append(current)
            current, room = "", width
        current += token
    if current:
        lines.append(current)
    return lines


def layout(doc: FaxDocument, dpi: float = 200.0) -> list[PageLayout]:
    """The pages of `doc` set at `dpi` (square pixels)."""
    width, height = round(_px(A4_MM[0], dpi)), round(_px(A4_MM[1], dpi))
    left, right = _px(MARGIN_MM["left"], dpi), width - _px(MARGIN_MM["right"], dpi)
    top, bottom = _px(MARGIN_MM["top"], dpi), height - _px(MARGIN_MM["bottom"], dpi)
    text_width = right - left
    pages: list[PageLayout] = []
    runs: list[Run] = []
    lines: list[str] = []
    y = top

    def pt(points: float) -> float:
        return points / 72.0 * dpi

    def new_page() -> None:
        nonlocal runs, lines, y
        pages.append(PageLayout(width, height, tuple(runs), tuple(lines)))
        runs, lines, y = [], [], top

    if doc.head is not None:
        y = _joint_head(doc, runs, lines, left, text_width, y, pt)
    for index, line in enumerate(doc.lines):
        if index == doc.page_break:
            new_page()
        size, pitch = _SIZES[line.style]
        size_px = round(pt(size))
        face_name = _faces(doc, line.style)
        if line.style == "rule":
            runs.append(Run("", left, y - pt(pitch) / 2, face_name, 0, RED, text_width))
            y += pt(pitch)
            continue
        face = font(face_name, size_px)
        if line.style == "masthead":  # a 版头 is set to fit the line, as printers compress it
            while face.getlength(line.text) > text_width and size_px > 10:
                size_px -= 2
                face = font(face_name, size_px)
        indent = 2 * size_px if line.align == "indent" else 0.0
        pieces = (
            _wrap(line.text, face, indent, text_width) if line.align == "indent" else [line.text]
        )
        color = RED if line.style == "masthead" else BLACK
        for k, piece in enumerate(pieces):
            if y + pt(pitch) > bottom + pt(pitch) * 0.5:
                new_page()
            baseline = y + size_px
            length = face.getlength(piece)
            x = {
                "left": left,
                "indent": left + (indent if k == 0 else 0.0),
                "center": left + (text_width - length) / 2,
                "right": right - length - (2 * size_px if line.style == "signature" else 0),
            }[line.align]
            runs.append(Run(piece, x, baseline, face_name, size_px, color))
            text = piece
            if line.right and k == len(pieces) - 1:
                rx = right - face.getlength(line.right) - size_px
                runs.append(Run(line.right, rx, baseline, face_name, size_px, BLACK))
                text = f"{piece} {line.right}"
            lines.append(text)
            y += pt(pitch)
        if line.style == "masthead":
            y += pt(12)
    pages.append(PageLayout(width, height, tuple(runs), tuple(lines)))
    return pages


def _joint_head(doc, runs, lines, left, text_width, y, pt):  # type: ignore[no-untyped-def]
    """Organ names stacked, `文件` at their right, centred on them (GB/T 9704 §7.2.2)."""
    assert doc.head is not None
    organs, suffix = doc.head.organs, doc.head.suffix
    size_px = round(pt(30))
    face_name = _faces(doc, "masthead")
    face = font(face_name, size_px)
    widest = max(face.getlength(o) for o in organs)
    gap = size_px * 0.8
    total = widest + gap + face.getlength(suffix)
    x0 = left + (text_width - total) / 2
    pitch = size_px * 1.25
    for k, organ in enumerate(organs):
        baseline = y + size_px + k * pitch
        x = x0 + (widest - face.getlength(organ)) / 2
        runs.append(Run(organ, x, baseline, face_name, size_px, RED))
    middle = y + size_px + (len(organs) - 1) * pitch / 2
    runs.append(Run(suffix, x0 + widest + gap, middle, face_name, size_px, RED))
    *first, last = organs
    lines.extend([*first, f"{last} {suffix}"])
    return y + len(organs) * pitch + pt(20)


def draw(page: PageLayout) -> Image.Image:
    """The page as printed: RGB, white paper."""
    image = Image.new("RGB", (page.width, page.height), (255, 255, 255))
    pen = ImageDraw.Draw(image)
    for run in page.runs:
        if not run.text:
            thickness = max(2, round(page.width / 600))
            pen.rectangle(
                (run.x, run.baseline, run.x + run.width, run.baseline + thickness), fill=run.color
            )
            continue
        pen.text((run.x, run.baseline), run.text, font=font(run.face, run.size_px),
                 fill=run.color, anchor="ls")
    return image


# ---------------------------------------------------------------- transmission


@dataclass(frozen=True)
class Variant:
    """How a page is degraded on its way to the office."""

    name: str
    dpi: tuple[float, float] = (200.0, 200.0)  # (x, y) of the delivered image
    skew: float = 0.0  # degrees, counter-clockwise
    speckle: float = 0.0  # black specks per 10,000 pixels
    fold: bool = False  # a dark line across the page where it was folded
    blur: float = 0.0  # Gaussian radius in pixels before thresholding
    mode: str = "1"  # "1" (fax), "L" (grey scan) or "RGB" (colour scan)
    seed: int = 0
    #: the printed line beginning with this text is struck by pen strokes, the rest of
    #: the page left as it is: OCR reads it, less sure
    struck_line: str = ""
    strokes: int = 4


#: the variants the tests read, each a page delivered the way offices deliver them
FINE = Variant("fine", (200.0, 200.0), skew=0.8, speckle=1.5, fold=True, seed=1)
STANDARD = Variant("standard", (204.0, 98.0), skew=-1.2, speckle=1.5, fold=True, seed=2)
SKEWED = Variant("skewed", (200.0, 200.0), skew=1.5, speckle=3.0, fold=True, seed=3)
GREY_SCAN = Variant("grey", (150.0, 150.0), skew=-0.5, mode="L", seed=4)
COLOUR_SCAN = Variant("colour", (150.0, 150.0), skew=0.3, mode="RGB", seed=5)
BLURRED = Variant("blurred", (200.0, 200.0), blur=3.2, speckle=1.0, seed=6)


def page_images(doc: FaxDocument, variant: Variant) -> list[tuple[Image.Image, PageLayout]]:
    """Every page of `doc` as delivered in `variant`, with its layout (the known text)."""
    dpi_x = variant.dpi[0]
    pages = layout(doc, dpi_x)
    out = []
    for number, page in enumerate(pages):
        rng = random.Random(variant.seed * 1000 + number)
        image = draw(page)
        if variant.struck_line:
            image = _struck_line(image, page, variant)
        if dpi_x == 204.0:  # a fax line is 1728 dots: the A4 page sits in its middle
            wide = Image.new("RGB", (FAX_WIDTH, image.height), (255, 255, 255))
            wide.paste(image, ((FAX_WIDTH - image.width) // 2, 0))
            image = wide
        out.append((degrade(image, variant, rng), page))
    return out


def _struck_line(image: Image.Image, page: PageLayout, variant: Variant) -> Image.Image:
    """Pen strokes slanting across the line that begins with `variant.struck_line` (a
    clerk's ticks over the 字号), the rest of the page as it was."""
    run = next((r for r in page.runs if r.text.startswith(variant.struck_line)), None)
    if run is None:  # on another page
        return image
    left = run.x
    width = font(run.face, run.size_px).getlength(run.text)
    top, bottom = run.baseline - 0.9 * run.size_px - 4, run.baseline + 0.1 * run.size_px + 4
    pen_px = max(1, round(run.size_px / 9))
    image = image.copy()
    pen = ImageDraw.Draw(image)
    n = variant.strokes
    for k in range(n):
        x = left + width * (k + 0.3) / n
        pen.line((x, bottom, x + width / n * 0.6, top), fill=BLACK, width=pen_px)
    return image


def degrade(image: Image.Image, variant: Variant, rng: random.Random) -> Image.Image:
    if variant.blur:
        image = image.filter(ImageFilter.GaussianBlur(variant.blur))
    if variant.skew:
        image = image.rotate(variant.skew, resample=Image.Resampling.BICUBIC,
                             fillcolor=(255, 255, 255))
    dpi_x, dpi_y = variant.dpi
    if dpi_y != dpi_x:  # standard resolution: the scanner keeps one line in two
        image = image.resize((image.width, round(image.height * dpi_y / dpi_x)),
                             Image.Resampling.BOX)
    if variant.mode == "RGB":
        return _speckle(image, variant, rng)
    grey = image.convert("L")
    if variant.mode == "L":
        return _speckle(grey, variant, rng)
    bilevel = grey.point(lambda p: 255 if p >= 150 else 0).convert("1", dither=None)
    return _speckle(bilevel, variant, rng)


def _speckle(image: Image.Image, variant: Variant, rng: random.Random) -> Image.Image:
    if not (variant.speckle or variant.fold):
        return image
    image = image.copy()
    pen = ImageDraw.Draw(image)
    ink = 0 if image.mode in {"1", "L"} else (0, 0, 0)
    w, h = image.size
    for _ in range(round(w * h * variant.speckle / 10_000)):
        x, y = rng.randrange(w), rng.randrange(h)
        r = rng.choice((0, 0, 0, 1, 1, 2))
        pen.rectangle((x, y, x + r, y + r), fill=ink)
    if variant.fold:
        y0 = round(h * 0.52)
        thick = max(1, round(h / 1200))
        x = 0
        while x < w:
            step = rng.randrange(40, 200)
            if rng.random() > 0.15:
                dy = rng.choice((-1, 0, 0, 1))
                pen.rectangle((x, y0 + dy, min(w, x + step), y0 + dy + thick), fill=ink)
            x += step
    return image


# ---------------------------------------------------------------- files


def tiff(images: list[Image.Image], dpi: tuple[float, float], compression: str = "group4") -> bytes:
    """A multi-page TIFF as fax gateways write: bilevel pages in CCITT G3 or G4."""
    out = io.BytesIO()
    images[0].save(out, format="TIFF", compression=compression, dpi=dpi, save_all=True,
                   append_images=images[1:])
    return out.getvalue()


def png(image: Image.Image, dpi: tuple[float, float]) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG", dpi=dpi)
    return out.getvalue()


def jpeg(image: Image.Image, dpi: tuple[float, float], quality: int = 70) -> bytes:
    out = io.BytesIO()
    image.convert("RGB" if image.mode == "RGB" else "L").save(
        out, format="JPEG", dpi=dpi, quality=quality)
    return out.getvalue()


def image_pdf(images: list[Image.Image], dpi: float) -> bytes:
    """A scan saved as PDF: each page one image, no text layer."""
    out = io.BytesIO()
    frames = [im.convert("L") for im in images]
    frames[0].save(out, format="PDF", resolution=dpi, save_all=True, append_images=frames[1:])
    return out.getvalue()


def garbage_text_pdf(images: list[Image.Image], texts: list[str], dpi: float) -> bytes:
    """A scan whose scanner put an invisible text layer on each page in the wrong font
    encoding: the GBK bytes of the real text read as Latin-1 (`¿µ¶¨ÊÐ…`)."""
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    first = images[0]
    size = (first.width / dpi * 72, first.height / dpi * 72)
    c = canvas.Canvas(out, pagesize=size)
    for image, text in zip(images, texts, strict=True):
        c.drawImage(ImageReader(image.convert("L")), 0, 0, *size)
        mess = text.encode("gbk").decode("latin-1")
        body = c.beginText(40, size[1] - 80)
        body.setTextRenderMode(3)  # invisible, as a scanner's text layer is
        body.setFont("Helvetica", 10)
        for line in mess.split("\n"):
            body.textLine("".join(ch for ch in line if ch.isprintable()))
        c.drawText(body)
        c.showPage()
    c.save()
    return out.getvalue()


def with_variant(variant: Variant, **changes: object) -> Variant:
    return replace(variant, **changes)  # type: ignore[arg-type]
