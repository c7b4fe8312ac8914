"""Page text of laid-out formats (PDF, OFD): letter-spacing undone, page numbers dropped."""

from __future__ import annotations

import re

_GAP_RE = re.compile(r"(?<=\S) (?=\S)")


def _unspace_lines(text: str) -> str:
    """Undo letter-spacing: a line drawn with wide character spacing (a 版头, a spaced
    title, glyph-by-glyph justification) comes out of the PDF as `四 川 省 人 民 政 府`;
    its single spaces are gaps between glyphs, not words. A line counts as spaced when
    most of its space-separated pieces are single characters."""
    lines = text.split("\n")
    for n, line in enumerate(lines):
        pieces = line.split(" ")
        single = sum(len(p) == 1 for p in pieces)
        if single >= 3 and single >= 0.6 * len(pieces):
            lines[n] = _GAP_RE.sub("", line)
    return "\n".join(lines)


#: a line that is only a page number: GB/T 9704 `— 1 —` (and `-1-`, `第1页 共3页`)
_PAGE_NUMBER_RE = re.compile(
    r"^\s*(?:[-—–－―─]\s*\d{1,4}\s*[-—–－―─]|第\s*\d{1,4}\s*页(?:\s*[,，/]?\s*共\s*\d{1,4}\s*页)?)\s*$"
)


def page_text(text: str) -> str:
    """A page's text without its page-number line: page furniture that would otherwise
    land inside a 主送 or 抄送 list running over the page break."""
    lines = [ln for ln in _unspace_lines(text).split("\n") if not _PAGE_NUMBER_RE.match(ln)]
    return "\n".join(lines)
