"""Undo what OCR confuses in Chinese official text, without touching what is right.

Pure. Each rule fires only in a context where the printed form is certain:
- the brackets of a year in a 发文字号 (`康府[2025]17号`, `（2025）`, `【2025】`, `〈2025〉`,
  one of them lost) are 六角括号 〔〕 (GB/T 9704 §7.3.3); a year in brackets elsewhere
  (`（2024—2026年）`) is left as printed;
- O/o/〇 and I/l/| inside a number are 0 and 1 (`2O25` → 2025, `l0号` → 10号), but not
  in a word of Latin letters (`COVID-19`, `G318`) nor among Chinese numerals (二〇二五);
- full-width digits and Latin letters are ASCII, as the text-layer readers give them;
- ASCII `, : ; ? ! ( )` beside Chinese characters are the full-width marks of Chinese
  text (`甘孜州人民政府:` → `：`); between digits they stay (`1,250`, `10:30`);
- a speck read as `.`/`·` beside a Chinese mark is dropped (`，.全市`); a `.` after a
  Chinese character is the full stop 。 read small (the `·` of a name, 阿旺·扎西, stays).
"""

from __future__ import annotations

import re

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
#: Chinese punctuation OCR reads (full-width forms and CJK marks)
_CJK_MARKS = (
    "\u3000-\u303f\uff01-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65"
    "\u2014\u2026\u201c\u201d\u2018\u2019"
)
_CJK_CONTEXT = re.compile(f"[{_CJK}{_CJK_MARKS}]")
_IDEOGRAPH_RE = re.compile(f"[{_CJK}]")
_MARK_RE = re.compile(f"[{_CJK_MARKS}]")

_FULLWIDTH_ALNUM = {
    c: c - 0xFEE0 for c in (*range(0xFF10, 0xFF1A), *range(0xFF21, 0xFF3B), *range(0xFF41, 0xFF5B))
}

#: what OCR reads for the 六角括号 of a year
_OPEN = "〔[［【(（〈<＜《「『〖{｛"
_CLOSE = "〕]］】)）〉>＞》」』〗}｝"
_DOCNO_RE = re.compile(
    rf"(?P<code>[{_CJK}]{{1,16}})\s*(?P<open>[{re.escape(_OPEN)}])?\s*(?P<year>(?:19|20)\d\d)"
    rf"\s*(?P<close>[{re.escape(_CLOSE)}])?\s*(?P<seq>第?\s*\d{{1,6}}\s*号)"
)

#: a run of digits and the letters OCR takes them for (and Latin letters, to tell words)
_ALNUM_RUN_RE = re.compile(r"[0-9A-Za-z|〇]+")
_DIGIT_LOOKALIKES = str.maketrans({"O": "0", "o": "0", "〇": "0", "I": "1", "l": "1", "|": "1"})
_LOOKALIKE_SET = frozenset("OoIl|〇")

_FULLWIDTH_MARKS = {",": "，", ":": "：", ";": "；", "?": "？", "!": "！", "(": "（", ")": "）"}
_SPECKS = ".·'`"


def normalize(text: str) -> str:
    """OCR text of one box as the document printed it (see the module doc)."""
    text = text.translate(_FULLWIDTH_ALNUM).strip()
    text = _ALNUM_RUN_RE.sub(_digits, text)
    text = _DOCNO_RE.sub(_docno, text)
    text = _parens(text)
    return _marks(text)


def _digits(m: re.Match[str]) -> str:
    run = m.group(0)
    if not any(c.isdigit() for c in run):
        return run
    if all(c.isdigit() or c in _LOOKALIKE_SET for c in run):
        return run.translate(_DIGIT_LOOKALIKES)
    return run  # a word with letters of its own: G318, COVID, PM2


def _docno(m: re.Match[str]) -> str:
    if m["open"] is None and m["close"] is None:
        return m.group(0)  # no bracket at all: 2025年17号 is a date-like phrase, not a 字号
    seq = re.sub(r"\s+", "", m["seq"])
    return f"{m['code']}〔{m['year']}〕{seq}"


#: a pair of ASCII parentheses with nothing bracketed inside
_PAREN_RE = re.compile(r"\(([^()]{1,40})\)")


def _parens(text: str) -> str:
    """`(45公里)` and `甘孜州(2024)`: the pair is Chinese when what it holds or what
    stands beside it is; `(a)` in Latin text stays."""

    def one(m: re.Match[str]) -> str:
        before = text[m.start() - 1] if m.start() else ""
        after = text[m.end()] if m.end() < len(text) else ""
        if _CJK_CONTEXT.search(m[1]) or _beside_cjk(before, after):
            return f"（{m[1]}）"
        return m.group(0)

    return _PAREN_RE.sub(one, text)


def _marks(text: str) -> str:
    out: list[str] = []
    n = len(text)
    for i, char in enumerate(text):
        before = text[i - 1] if i > 0 else ""
        after = text[i + 1] if i + 1 < n else ""
        if char in _FULLWIDTH_MARKS:
            between_digits = before.isdigit() and after.isdigit()
            if _beside_cjk(before, after) and not between_digits:
                out.append(_FULLWIDTH_MARKS[char])
                continue
        elif char in _SPECKS and _beside_cjk(before, after) and not (
            _is_ascii_alnum(before) or _is_ascii_alnum(after)
        ):
            if _MARK_RE.match(before) or _MARK_RE.match(after):
                continue  # a speck beside a mark: `，.全市`, `。·`
            if char == "." and _IDEOGRAPH_RE.match(before):
                out.append("。")  # a full stop read small: `偏高.` → `偏高。`
                continue
            if char != "·":  # 阿旺·扎西: the name dot stays
                continue
        out.append(char)
    return "".join(out)


def _is_ascii_alnum(char: str) -> bool:
    return char.isascii() and char.isalnum()


def _beside_cjk(before: str, after: str) -> bool:
    return bool(_CJK_CONTEXT.match(before) or _CJK_CONTEXT.match(after))
