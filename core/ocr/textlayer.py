"""Whether a PDF page's text layer can be believed, or the page must be read as an image.

Pure. A page needs OCR when its text layer is
- empty (a scan, or text drawn as outlines);
- too sparse over an image: a scan with a stamped page number or a scanner's header,
  fewer characters than a page of text ever has for its area;
- a font-encoding mess: replacement characters (U+FFFD), private-use code points
  (glyphs of an embedded font with no Unicode mapping), control characters, `(cid:N)`
  escapes, glyphs the PDF library could not map; or Chinese bytes decoded as Latin-1
  (`¿µ¶¨ÊÐ`: many accented Latin letters and hardly any Chinese);
- Chinese characters that are not Chinese text: a layer mapped through the wrong
  table gives characters spread over the whole CJK block, of which about a fifth are
  among the 3,755 common characters of GB 2312 level 1; real official text has ≥ 90 %.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

#: a page of 公文 holds ~600 characters; a text page below this per A4 area is no text page
_MIN_CHARS_PER_A4 = 20
_A4_POINTS = 595.0 * 842.0
#: share of characters that may be unmappable before the layer is garbage
_MAX_BAD = 0.10
#: a layer with this share of accented Latin letters and almost no Chinese is mojibake
_MOJIBAKE_LATIN = 0.20
_MOJIBAKE_CJK = 0.05
#: enough Chinese characters to judge their commonness, and the share that must be common
_COMMON_SAMPLE = 30
_MIN_COMMON = 0.60
#: a page this much covered by images is a scan
_SCAN_COVER = 0.5

_CID_RE = re.compile(r"\(cid:\d+\)")


@dataclass(frozen=True, slots=True)
class TextLayerCheck:
    """The verdict on one page's text layer: usable, or why not (`reason` a stable code)."""

    usable: bool
    reason: str | None = None
    detail: str = ""


_REASONS = {
    "empty": "无文字层",
    "sparse": "文字层过少（扫描件上的页码或页眉）",
    "unmapped": "文字层为无法映射的字形（字体编码错误）",
    "mojibake": "文字层为乱码（中文按西文编码解出）",
    "uncommon": "文字层为非常用字的杂乱组合（字体编码错误）",
}


def _verdict(reason: str) -> TextLayerCheck:
    return TextLayerCheck(False, reason, _REASONS[reason])


def check_text_layer(
    text: str, *, page_area: float = _A4_POINTS, image_cover: float = 0.0, unmapped: int = 0
) -> TextLayerCheck:
    """Judge a page's extracted `text`. `page_area` in square points, `image_cover` the
    share of the page under images (0–1), `unmapped` the characters the PDF library
    reported without a Unicode mapping."""
    cids = len(_CID_RE.findall(text))
    chars = [c for c in _CID_RE.sub("", text) if not c.isspace()]
    total = len(chars) + cids
    if total == 0:
        return _verdict("empty")
    bad = cids + unmapped + sum(_is_bad(c) for c in chars)
    if bad > _MAX_BAD * total:
        return _verdict("unmapped")
    cjk = [c for c in chars if _is_cjk(c)]
    latin = sum("\u0080" <= c <= "\u024f" for c in chars)
    if latin > _MOJIBAKE_LATIN * total and len(cjk) < _MOJIBAKE_CJK * total:
        return _verdict("mojibake")
    if len(cjk) >= _COMMON_SAMPLE and sum(map(_is_common, cjk)) < _MIN_COMMON * len(cjk):
        return _verdict("uncommon")
    if image_cover >= _SCAN_COVER and total < _MIN_CHARS_PER_A4 * page_area / _A4_POINTS:
        return _verdict("sparse")
    return TextLayerCheck(True)


def _is_bad(char: str) -> bool:
    if char == "\ufffd":
        return True
    category = unicodedata.category(char)
    return category in {"Co", "Cc", "Cs", "Cn"}


def _is_cjk(char: str) -> bool:
    return "\u4e00" <= char <= "\u9fff" or "\u3400" <= char <= "\u4dbf"


def _is_common(char: str) -> bool:
    """One of GB 2312's level-1 characters (rows 16–55: lead bytes 0xB0–0xD7)."""
    try:
        encoded = char.encode("gb2312")
    except UnicodeEncodeError:
        return False
    return len(encoded) == 2 and 0xB0 <= encoded[0] <= 0xD7
