"""GB/T 9704 elements of an official document (公文), read from its plain text.

Pure: no I/O, no clock. The input is the text a document extractor produced (one
line per printed line, as PDF/DOCX/OFD give it); the output is a frozen
`DocumentFields` whose every element is a `Field(value, source_text)` so that a
decision can quote the line it rests on.

Chinese has no word boundaries, so no regex here uses `\\b`; full-width and
half-width forms are folded with NFKC only for matching, values keep the
document's own punctuation (titles are quoted as printed).
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from core.model import DOC_TYPES, SECRECY_LEVELS, URGENCY_LEVELS

T = TypeVar("T")

_CJK = "\u4e00-\u9fff"
#: 文种 suffixes, longest first; 令 stands for 命令(令)
_DOC_TYPE_SUFFIXES: tuple[tuple[str, str], ...] = (
    *sorted(((t, t) for t in DOC_TYPES), key=lambda p: -len(p[0])),
    ("令", "命令"),
)
_COLONS = (":", "：")
_HEAD_LINES = 14
_MAX_TITLE_LINES = 3


@dataclass(frozen=True)
class Field(Generic[T]):
    """One element of a document: its value and the text it was read from."""

    value: T
    source_text: str


@dataclass(frozen=True)
class DocumentFields:
    """The elements of one document (党政机关公文处理工作条例 Art. 9); None when absent."""

    copy_no: Field[str] | None = None  # 份号
    secrecy: Field[str] | None = None  # 密级
    secrecy_term: Field[str] | None = None  # 保密期限 (the part after ★)
    urgency: Field[str] | None = None  # 紧急程度
    masthead: Field[str] | None = None  # 发文机关标志, without 文件/明传电报
    doc_number: Field[str] | None = None  # 发文字号, canonical
    signer: Field[str] | None = None  # 签发人
    title: Field[str] | None = None  # 标题
    doc_type: Field[str] | None = None  # trailing 文种 of the title
    addressees: Field[str] | None = None  # 主送机关, without the colon
    cc: Field[str] | None = None  # 抄送/抄报机关, without the full stop
    signature: Field[str] | None = None  # 署名 (the organ line above the date)
    date: Field[dt.date] | None = None  # 成文日期
    attachment_note: Field[str] | None = None  # 附件说明, without 附件：
    note: Field[str] | None = None  # 附注, without the parentheses
    printed_by: Field[str] | None = None  # 印发机关
    printed_date: Field[dt.date] | None = None  # 印发日期
    issue_no: Field[int] | None = None  # 期号 of a periodical
    editor: Field[str] | None = None  # 编印单位 of a periodical (…编)
    deadline: Field[dt.date] | None = None  # a date the text asks things by (于…前)
    telegram: Field[str] | None = None  # 明传电报 marker
    issuer: Field[str] | None = None  # 发文机关 named by the title (…关于) or a page's 发布机关：
    body: str = ""  # 正文: the lines between 主送 and 署名, joined

    @property
    def is_periodical(self) -> bool:
        """An issue of a periodical: a 期号 and no 发文字号 or 文种 of its own."""
        return self.issue_no is not None and self.doc_number is None and self.doc_type is None

    @property
    def organ_names(self) -> tuple[str, ...]:
        """Organ names the document itself shows, most telling first."""
        found = [self.masthead, self.editor, self.signature, self.printed_by, self.issuer]
        return tuple(f.value for f in found if f is not None and f.value)


# ------------------------------------------------------------------ helpers


def fold(text: str) -> str:
    """Full-width forms to half-width (NFKC) and no whitespace: for matching, never for values."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def _halfwidth_alnum(text: str) -> str:
    """Full-width digits and Latin letters to ASCII (２０２４ → 2024); Chinese punctuation kept."""
    return text.translate(_FULLWIDTH_ALNUM)


_FULLWIDTH_ALNUM = {
    c: c - 0xFEE0 for c in (*range(0xFF10, 0xFF1A), *range(0xFF21, 0xFF3B), *range(0xFF41, 0xFF5B))
}


def _squeeze(text: str) -> str:
    """Drop the spaces PDF extraction leaves between Chinese characters."""
    return re.sub(r"\s+", "", text.strip())


_CN_DIGITS = {
    "〇": 0,
    "○": 0,
    "O": 0,  # a Latin O typed for 〇 (二O一一年), Ｏ folded to it
    "o": 0,
    "零": 0,
    "一": 1,
    "二": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
    "两": 2,
}


def _cn_number(text: str) -> int | None:
    """'2024', '二〇二四', '二十', '十一', '三十一' → int; None if not a number."""
    if text.isdecimal():
        return int(text)
    if all(ch in _CN_DIGITS for ch in text):
        return int("".join(str(_CN_DIGITS[ch]) for ch in text))
    if "十" in text and text.count("十") == 1:
        tens, _, units = text.partition("十")
        t = 1 if tens == "" else _CN_DIGITS.get(tens)
        u = 0 if units == "" else _CN_DIGITS.get(units)
        if t is None or u is None:
            return None
        return t * 10 + u
    return None


_NUM = r"[0-9〇○Oo零一二三四五六七八九十两]{1,4}"
_DATE_RE = re.compile(rf"({_NUM})年({_NUM})月({_NUM})日")


def parse_date(text: str) -> dt.date | None:
    """The first `2024年5月20日` (Arabic or Chinese numerals) in `text`, as a date."""
    m = _DATE_RE.search(fold(text))
    if m is None:
        return None
    return _make_date(m.group(1), m.group(2), m.group(3))


def _make_date(y: str, mo: str, d: str) -> dt.date | None:
    year, month, day = _cn_number(y), _cn_number(mo), _cn_number(d)
    if year is None or month is None or day is None:
        return None
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


# ------------------------------------------------------------ 发文字号

_OPEN = "〔[(【〖"
_CLOSE = "〕])】〗"
_DOCNO_CORE = (
    rf"(?P<code>[{_CJK}]{{1,16}})[{re.escape(_OPEN)}](?P<year>\d{{4}})[{re.escape(_CLOSE)}]"
    r"第?(?P<seq>\d{1,6})号"
)
#: the 字号 line, with its 签发人 (which a narrow page may wrap onto the next line)
_DOCNO_LINE_RE = re.compile(rf"^{_DOCNO_CORE}(?:签发人:(?P<signer>.+)|签发?人?:?)?$")
_DOCNO_ANY_RE = re.compile(rf"(?<![{_CJK}]){_DOCNO_CORE}")
_DOCNO_SPLIT_RE = re.compile(rf"^{_DOCNO_CORE}$")


def _canonical(m: re.Match[str]) -> str:
    """The GB/T 9704 form of a matched 字号: full year in 〔〕, no leading zeros, no 第."""
    return f"{m['code']}〔{m['year']}〕{int(m['seq'])}号"


def normalize_doc_number(text: str) -> str | None:
    """The first 字号 in `text` (`川府发 [2024] 第21号`, `川府发（2024）21号`…) as
    `川府发〔2024〕21号`; None if none."""
    m = _DOCNO_ANY_RE.search(fold(text))
    return _canonical(m) if m is not None else None


def canonical_doc_number(text: str) -> str | None:
    """A 字号 standing alone, as staff type one from paper (`川府发 [2024] 21号`,
    `川府发【2024】21号`, `川府发（2024）第21号`), in the form a received one is stored
    in (`川府发〔2024〕21号`); None when the text is anything but one 字号."""
    m = _DOCNO_SPLIT_RE.match(fold(text))
    return _canonical(m) if m is not None else None


def split_doc_number(number: str) -> tuple[str, int, int] | None:
    """A canonical 发文字号 → (code, year, sequence)."""
    m = _DOCNO_SPLIT_RE.match(fold(number))
    if m is None:
        return None
    return m["code"], int(m["year"]), int(m["seq"])


def doc_type_of(title: str) -> str | None:
    """The 文种 a title ends with (紧急通知 → 通知, 复函 → 函, …令 → 命令); a trailing
    remark in parentheses (（试行）, （征求意见稿）, （第二批）, （第258号）) is looked past,
    a periodical's （第N期） is not."""
    t = fold(title).rstrip("。.")
    for _ in range(2):
        if _ISSUE_TITLE_RE.match(t):
            return None
        t = re.sub(r"\([^()]{1,16}\)$", "", t)
    for suffix, kind in _DOC_TYPE_SUFFIXES:
        if t.endswith(suffix):
            return kind
    return None


_ISSUE_TITLE_RE = re.compile(r"^(?P<name>.+?)[(]第(?P<no>\d{1,5})期[)]$")
_ISSUE_RE = re.compile(r"(?:^|[^总])第(?P<no>\d{1,5})期")


#: what a mail client or a sender puts before the title: 转发：, Fwd:, 【特急】
_SUBJECT_PREFIX_RE = re.compile(r"^(?:(?:转发|回复|fwd?|re)\s*[:：]\s*|【[^】]{1,8}】\s*)+", re.I)
#: a 发文字号 as printed in a subject (brackets and digits of either width)
_SUBJECT_DOCNO = (
    rf"(?P<code>[{_CJK}]{{1,10}})[〔\[(（【〖]\s*[0-9０-９]{{4}}\s*[〕\])）】〗]"
    r"第?\s*[0-9０-９]{1,6}\s*号"
)
_SUBJECT_LEADING_RE = re.compile(rf"^[（(【\[]?{_SUBJECT_DOCNO}[）)】\]]?\s*")
_SUBJECT_TRAILING_RE = re.compile(rf"(?:^|\s+|[（(【\[]){_SUBJECT_DOCNO}[）)】\]]?$")
#: words that make a 字号 at the head of a subject part of the title (关于贯彻川办发…)
_QUOTING_RE = re.compile("关于|贯彻|落实|根据|按照|执行|转发|印发")


def _subject_core(subject: str) -> str:
    return _SUBJECT_PREFIX_RE.sub("", subject.strip()).strip()


def _subject_docno(text: str) -> tuple[str, str] | None:
    """(字号 as printed, the subject without it) when the subject starts or ends with one."""
    for pattern in (_SUBJECT_LEADING_RE, _SUBJECT_TRAILING_RE):
        m = pattern.search(text)
        if m is not None and not _QUOTING_RE.search(m["code"]):
            return m.group(0), (text[: m.start()] + text[m.end() :]).strip()
    return None


def doc_number_from_subject(subject: str) -> str | None:
    """The 发文字号 a subject starts or ends with (`川办发〔2024〕43号 …`, `…（川办发〔2024〕43号）`
    also), not one quoted inside the title (关于贯彻川办发〔2024〕43号文件的报告)."""
    found = _subject_docno(_subject_core(subject))
    return normalize_doc_number(found[0]) if found is not None else None


def title_from_subject(subject: str) -> str | None:
    """The title in a mail subject (`川办发〔2024〕43号 …的通知`), if it names one."""
    rest = _subject_core(subject)
    found = _subject_docno(rest)
    if found is not None:
        rest = found[1]
    rest = _halfwidth_alnum(_squeeze(rest))
    if len(rest) < 5:
        return None
    if doc_type_of(rest) is not None or _ISSUE_TITLE_RE.match(fold(rest)):
        return rest
    return None


# ---------------------------------------------------------------- head


_URGENCY_ALT = "|".join(URGENCY_LEVELS)
_SECRECY_ALT = "|".join(SECRECY_LEVELS)
#: one head line of markers, spaces removed: 份号, 密级★保密期限, 紧急程度 (each optional)
_MARKERS_RE = re.compile(
    rf"^(?:份号:?)?(?P<copy>\d{{6}})?"
    rf"(?:(?P<secrecy>{_SECRECY_ALT})(?:★(?P<term>.+?))?)?"
    rf"(?P<urgency>{_URGENCY_ALT})?$"
)


def _marker_tokens(line: str) -> dict[str, tuple[str, str]] | None:
    """份号/密级/紧急程度 of a head line, or None if the line holds anything else.

    Spaces are dropped first: extraction may space out characters (特 急) or run
    the markers together (000017 机密★1年 特急).
    """
    m = _MARKERS_RE.match(fold(line))
    if m is None or not any(m.group(g) for g in ("copy", "secrecy", "urgency")):
        return None
    src = line.strip()
    found: dict[str, tuple[str, str]] = {}
    if m["copy"]:
        found["copy_no"] = (m["copy"], src)
    if m["secrecy"]:
        found["secrecy"] = (m["secrecy"], src)
        if m["term"]:
            found["secrecy_term"] = (m["term"], src)
    if m["urgency"]:
        found["urgency"] = (m["urgency"], src)
    return found


def _is_sentence(line: str) -> bool:
    return "。" in line or "；" in line


def _ends_with_colon(line: str) -> bool:
    return line.rstrip().endswith(_COLONS)


@dataclass
class _Head:
    """What the head of a document gave, while it is being read."""

    values: dict[str, Field[Any]]
    end: int  # index of the first line after the 主送 (or the title)


def _read_head(lines: list[str]) -> _Head:
    """份号/密级/紧急程度, 发文机关标志, 发文字号 (签发人), 期号, 标题 and 主送, in any order
    up to the title, as printed documents and their extracted text put them."""
    values: dict[str, Field[Any]] = {}
    title_at: tuple[int, int] | None = None
    limit = min(len(lines), _HEAD_LINES)
    i = 0
    consumed = 0  # lines up to here were read as head elements
    stopped = False  # the head ended on a 主送 or a sentence
    while i < limit and title_at is None:
        line = lines[i]
        if _read_structural(line, values):
            i += 1
            consumed = i
            continue
        if _ends_with_colon(line) or _is_sentence(line):
            stopped = True
            break
        anchored = "doc_number" in values or "masthead" in values
        title_at = _title_span(
            lines, i, limit, has_anchor=anchored,
            past_masthead="doc_number" in values and "masthead" in values,
        )
        if title_at is None:
            if "masthead" not in values and re.search(f"[{_CJK}]", line) and len(line) <= 40:
                values["masthead"] = Field(_organ_of_masthead(line), line.strip())
                if "明传电报" in fold(line):
                    values["telegram"] = Field("明传电报", line.strip())
                consumed = i + 1
            i += 1
    # with no title and no 主送, the head is only what was read as head elements: the
    # rest (a periodical's 正文, its 署名) belongs to the body and the tail
    end = i if stopped or title_at is not None else consumed
    if title_at is not None:
        _set_title(lines, title_at, values)
        end = title_at[1] + 1
    elif _is_decree(values.get("masthead")):
        masthead = values["masthead"]
        values["title"] = Field(_squeeze(masthead.source_text), masthead.source_text)
        values["doc_type"] = Field("命令", masthead.source_text)
    if title_at is not None:
        end = _read_after_title(lines, end, values)
    end = _read_addressees(lines, end, values)
    return _Head(values, end)


#: a line in parentheses that holds a 字号 or a date: （川办函[2011]36号 2011年3月3日）
_BRACKETED_RE = re.compile(r"^[(（](?P<inner>[^()（）]{4,40})[)）]$")
_AFTER_TITLE_LINES = 5
#: a law database's line under the title: the 成文日期 and the issuing organ
#: (`1964年2月10日，最高法院司法行政厅`)
_DATED_ORGAN_RE = re.compile(
    rf"^{_NUM}年{_NUM}月{_NUM}日[,，、]?(?P<organ>[{_CJK}()]{{4,30}})$"
)


def _repeated_title(lines: list[str], at: int, values: dict[str, Field[Any]]) -> int:
    """A page that prints the title above the document repeats it: the index after the
    repeat (over up to 4 lines), or 0 when the lines at `at` are not the title again."""
    title = values.get("title")
    if title is None:
        return 0
    joined = ""
    for end in range(at, min(len(lines), at + 4)):
        joined += _halfwidth_alnum(_squeeze(lines[end]))
        if joined == title.value:
            return end + 1
        if not title.value.startswith(joined):
            return 0
    return 0


def _read_after_title(lines: list[str], start: int, values: dict[str, Field[Any]]) -> int:
    """The elements published copies print under the title, before the 主送: the 字号,
    the issuing organ and the 成文日期 (公报, gov.cn pages), or both in parentheses.
    None of them is part of the 主送; returns the index of the first line after them."""
    i = start
    while i < min(len(lines), start + _AFTER_TITLE_LINES):
        line = lines[i]
        folded = fold(line)
        bracketed = _BRACKETED_RE.match(folded)
        inner = bracketed["inner"] if bracketed else ""
        if _DOCNO_LINE_RE.match(folded) or (
            inner and (_DOCNO_ANY_RE.search(inner) or _DATE_RE.search(inner))
            and not _is_sentence(line)
        ):
            number = normalize_doc_number(line)
            if number is not None:
                values.setdefault("doc_number", Field(number, line.strip()))
            written = parse_date(line)
            if written is not None:
                values.setdefault("date", Field(written, line.strip()))
            i += 1
            continue
        dated = _DATED_ORGAN_RE.match(folded)
        if _DATE_LINE_RE.match(folded) or (dated and _is_organ_line(dated["organ"])):
            written = _line_date(line)
            if written is not None:
                values.setdefault("date", Field(written, line.strip()))
            if dated:
                values.setdefault("issuer", Field(dated["organ"], line.strip()))
            i += 1
            continue
        repeated = _repeated_title(lines, i, values)
        if repeated:
            i = repeated
            continue
        following = fold(lines[i + 1]) if i + 1 < len(lines) else ""
        if _is_organ_line(_squeeze(line)) and (
            _DATE_LINE_RE.match(following) or _DOCNO_LINE_RE.match(following)
            or _repeated_title(lines, i + 1, values)
        ):
            values.setdefault("issuer", Field(_squeeze(line), line.strip()))
            i += 1
            continue
        break
    return i


def _is_decree(masthead: Field[Any] | None) -> bool:
    """A 政府令 is headed by its own name (四川省人民政府令) and has no other title."""
    return masthead is not None and _squeeze(masthead.source_text).endswith("令")


def _read_structural(line: str, values: dict[str, Field[Any]]) -> bool:
    """A head line that is not masthead or title: markers, 字号, 签发人, 期号."""
    markers = _marker_tokens(line)
    if markers is not None:
        for key, (value, src) in markers.items():
            values.setdefault(key, Field(value, line.strip() if key == "secrecy" else src))
        return True
    folded = fold(line)
    m = _DOCNO_LINE_RE.match(folded)
    if m is not None:
        values["doc_number"] = Field(_canonical(m), line.strip())
        if m["signer"]:
            values["signer"] = Field(m["signer"], line.strip())
        return True
    signer = re.fullmatch(r"签发人:(.+)", folded)
    if signer is not None:
        values["signer"] = Field(signer.group(1), line.strip())
        return True
    return _read_issue_line(line, values)


def _set_title(lines: list[str], span: tuple[int, int], values: dict[str, Field[Any]]) -> None:
    s, e = span
    raw = _halfwidth_alnum("".join(_squeeze(x) for x in lines[s : e + 1]))
    values["title"] = Field(raw, "\n".join(x.strip() for x in lines[s : e + 1]))
    issue = _ISSUE_TITLE_RE.match(fold(raw))
    if issue is not None:
        values.setdefault("issue_no", Field(int(issue["no"]), raw))
        return
    kind = doc_type_of(raw)
    if kind is not None:
        values["doc_type"] = Field(kind, raw)


def _read_issue_line(line: str, values: dict[str, Field[Any]]) -> bool:
    """`第12期　国务院办公厅秘书局编　2024年4月1日`: 期号 and 编印单位; the 编印单位 may
    stand on a line of its own under the 期号 (`国务院办公厅秘书局编印　2024年4月1日`)."""
    m = _ISSUE_RE.search(fold(line))
    if _is_sentence(line) or _ISSUE_TITLE_RE.match(fold(line)):
        return False
    if m is None:
        return "issue_no" in values and "editor" not in values and _read_editor(line, values)
    values["issue_no"] = Field(int(m["no"]), line.strip())
    _read_editor(line, values)
    return True


_EDITOR_SUFFIXES = ("编印", "主办", "编")


def _read_editor(line: str, values: dict[str, Field[Any]]) -> bool:
    """The 编印单位 token of a periodical's head line (…编, …编印, …主办)."""
    for tok in re.split(r"\s+", unicodedata.normalize("NFKC", line).strip()):
        for suffix in _EDITOR_SUFFIXES:
            if tok.endswith(suffix) and len(tok) > len(suffix) + 1:
                values["editor"] = Field(tok.removesuffix(suffix), line.strip())
                return True
    return False


def _is_structural(line: str) -> bool:
    """A head line that is not part of a title: 份号/密级/紧急, 发文字号, 期号."""
    folded = fold(line)
    return (
        _marker_tokens(line) is not None
        or _DOCNO_LINE_RE.match(folded) is not None
        or folded.startswith("签发人:")
        or (_ISSUE_RE.search(folded) is not None and _ISSUE_TITLE_RE.match(folded) is None)
    )


def _title_span(
    lines: list[str], start: int, limit: int, *, has_anchor: bool, past_masthead: bool = False
) -> tuple[int, int] | None:
    """Lines start..end that form a title ending with a 文种 (or a `（第N期）` name).

    Without an anchor above it (发文字号, masthead) a line is taken as a title only
    if it reads like one (关于…, or long), or the 主送 follows it; a short line
    above a 期号 (内部情况通报 / 第33期) is a periodical's masthead.
    """
    for end in range(start, min(limit, start + _MAX_TITLE_LINES)):
        line = lines[end]
        if _ends_with_colon(line) or _is_sentence(line):
            return None
        if end > start and _is_structural(line):
            return None
        joined = "".join(_squeeze(x) for x in lines[start : end + 1])
        if _ISSUE_TITLE_RE.match(fold(line)):
            return end, end  # a periodical's name line stands alone (above it: a wrapped remnant)
        if doc_type_of(joined) is None or len(joined) < 4:
            continue
        at = joined.find("关于")
        first = _squeeze(lines[start])
        after = fold(lines[end + 1]) if end + 1 < len(lines) else ""
        organ_first = _is_organ_line(first) and (
            past_masthead
            or (
                _squeeze(lines[start + 1]).startswith("关于")
                and (re.search("转发|批转", first) is not None or _DOCNO_LINE_RE.match(after))
            )
        )
        if end > start and at >= len(first) and not organ_first:
            # a wrapped title starts 关于 on its first line (its 关 at least: 关|于 may
            # wrap); when 关于 only comes later, the line above is the masthead, unless
            # masthead and 字号 are behind us, or the line is an organ's name right above
            # 关于… that forwards (国务院办公厅转发国家教委) or whose 字号 follows the title (a
            # published copy's order): then it is the organ the title opens with
            return None
        last = end
        following = lines[last + 1] if last + 1 < len(lines) else ""
        if _is_title_remark(following) and last + 1 < limit:
            # the title's remark on a line of its own: …的通知 / （第二批）
            last += 1
            following = lines[last + 1] if last + 1 < len(lines) else ""
        if has_anchor or "关于" in joined or _ends_with_colon(following):
            return start, last
        if len(joined) >= 8 and not _is_structural(following) and not joined.endswith("令"):
            return start, last  # a long 文种-ending line (…全体会议公报) is no organ's masthead
    return None


_REMARK_LINE_RE = re.compile(r"\([^()]{1,16}\)")


def _is_title_remark(line: str) -> bool:
    """A line that is only a short remark in parentheses: （试行）, （第二批）, （征求意见稿）;
    not a 题注 with a date, not a periodical's （第N期）."""
    folded = fold(line)
    return (
        _REMARK_LINE_RE.fullmatch(folded) is not None
        and _DATE_RE.search(folded) is None
        and re.fullmatch(r"\(第\d{1,5}期\)", folded) is None
        and _DOCNO_ANY_RE.search(folded) is None
    )


_ORGAN_SUFFIXES = ("政府", "委员会", "办公厅", "办公室", "厅", "局", "委", "部", "院", "会",
                   "公司", "集团", "中心", "署", "办", "军分区")


def _is_organ_line(text: str) -> bool:
    """A line that is only an organ's name (甘孜州民族宗教事务委员会), as a title broken
    after its organ prints it."""
    return (
        len(text) >= 4
        and re.fullmatch(f"[{_CJK}（）()]+", text) is not None
        and text.endswith(_ORGAN_SUFFIXES)
    )


def _organ_of_masthead(line: str) -> str:
    name = _squeeze(line)
    for suffix in ("明传电报", "电报", "文件", "公文"):
        if name.endswith(suffix) and len(name) > len(suffix) + 1:
            return name.removesuffix(suffix)
    return name


#: words of a sentence, never of a list of organs: `现将有关事项公告如下：` opens a 正文
_NOT_ADDRESSEES_RE = re.compile("如下|现将|现就|根据|按照|为了|为进一步|经研究|特此")


#: a bracketed year or number, as in a 字号 (牟政办发〔2017〕46号): never in a 主送
_NOT_ADDRESSEE_LINE_RE = re.compile(rf"[{re.escape(_OPEN)}]\d")


def _read_addressees(lines: list[str], start: int, values: dict[str, Field[Any]]) -> int:
    """主送: the line(s) right after the title that end with a colon."""
    for end in range(start, min(len(lines), start + _MAX_TITLE_LINES)):
        folded = fold(lines[end])
        if _is_sentence(lines[end]) or _NOT_ADDRESSEES_RE.search(folded) or _DATE_RE.search(folded):
            return start
        if _ends_with_colon(lines[end]):
            # a line above that no 主送 wraps onto (a garbled 字号, a page's remnant) is
            # left out: the 主送 is the lines from the last such one down to the colon
            first = max(
                (k + 1 for k in range(start, end) if _NOT_ADDRESSEE_LINE_RE.search(
                    fold(lines[k])) or not re.search(f"[{_CJK}]", lines[k])),
                default=start,
            )
            raw = "".join(_squeeze(x) for x in lines[first : end + 1])
            raw = re.sub(r"^主送[:：]", "", raw).rstrip(":：")
            if raw:
                values["addressees"] = Field(
                    raw, "\n".join(x.strip() for x in lines[first : end + 1])
                )
            return end + 1
    return start


# ---------------------------------------------------------------- tail

_CC_RE = re.compile(r"^(?:抄送|抄报|抄)[:：]")
_PRINTED_RE = re.compile(rf"^(?P<organ>.*?)(?P<date>{_NUM}年{_NUM}月{_NUM}日)印发$")
#: a date on a line of its own; a web copy may have lost its last 日 (2018年3月13)
_DATE_LINE_RE = re.compile(rf"^({_NUM})年({_NUM})月({_NUM})日?$")


def _line_date(line: str) -> dt.date | None:
    """The date of a line that is only a date (see _DATE_LINE_RE), else the first date in it."""
    m = _DATE_LINE_RE.match(fold(line))
    return _make_date(m.group(1), m.group(2), m.group(3)) if m else parse_date(line)
_NOTE_RE = re.compile(r"^[(（](?P<note>.+)[)）]$")
#: a 主送 placed at the foot, or the 分送 line of a 纪要 (which has no 主送 of its own)
_MAIN_TO_RE = re.compile(r"^(?:主送|分送|发送)[:：]")


def _read_tail(lines: list[str], start: int, values: dict[str, Field[Any]]) -> int:
    """署名, 成文日期, 附注, 抄送, 印发; returns the index where the 正文 ends."""
    body_end = len(lines)
    date_at = _written_date_line(lines, start)
    if date_at is not None:
        written = _line_date(lines[date_at])
        if written is not None:
            values["date"] = Field(written, lines[date_at].strip())
        body_end = _signature_start(lines, date_at, start, values)
    i = start
    while i < len(lines):
        line = lines[i]
        squeezed = _squeeze(line)
        if _CC_RE.match(squeezed):
            body_end = min(body_end, i)
            i = _read_cc(lines, i, values)
            continue
        if _MAIN_TO_RE.match(squeezed) and "addressees" not in values:
            body_end = min(body_end, i)
            text, src, i = _read_list(lines, i, _MAIN_TO_RE)
            values["addressees"] = Field(text, src)
            continue
        if (m := _PRINTED_RE.match(fold(line))) is not None:
            body_end = min(body_end, i)
            if m["organ"]:
                values["printed_by"] = Field(m["organ"], line.strip())
            printed = parse_date(m["date"])
            if printed is not None:
                values["printed_date"] = Field(printed, line.strip())
        elif date_at is not None and i > date_at and (n := _NOTE_RE.match(squeezed)) is not None:
            values.setdefault("note", Field(n["note"], line.strip()))
        i += 1
    return body_end


#: the 附件说明 under the 正文: `附件：…`, its list wrapped or numbered on the lines below
_ANNEX_NOTE_RE = re.compile(r"^附件[:：]")
_ANNEX_ITEM_RE = re.compile(r"^[0-9０-９]{1,2}[.．、]")


def _read_attachment_note(
    lines: list[str], start: int, end: int, values: dict[str, Field[Any]]
) -> None:
    """附件说明: the `附件：` line between the 正文 and the 署名, with the numbered lines
    (`2.…`) under it; the 附件 itself (`附件` alone, after the 成文日期) is not it."""
    for i in range(start, end):
        squeezed = _squeeze(lines[i])
        if not _ANNEX_NOTE_RE.match(squeezed):
            continue
        parts = [_ANNEX_NOTE_RE.sub("", squeezed)]
        src = [lines[i].strip()]
        for line in lines[i + 1 : end]:
            if not _ANNEX_ITEM_RE.match(_squeeze(line)):
                break
            parts.append(_squeeze(line))
            src.append(line.strip())
        text = "\n".join(p for p in parts if p)
        if text:
            values["attachment_note"] = Field(_halfwidth_alnum(text), "\n".join(src))
        return


def _written_date_line(lines: list[str], start: int) -> int | None:
    """The 成文日期: the first date line under a 署名; else the first date line at all.

    A date standing alone inside the 正文 (a meeting's day under 时间：) is not it.
    """
    dates = [i for i in range(start, len(lines)) if _DATE_LINE_RE.match(fold(lines[i]))]
    for i in dates:
        if i - 1 >= start and _looks_like_signature(lines[i - 1]):
            return i
    return dates[0] if dates else None


def _looks_like_signature(line: str) -> bool:
    text = _squeeze(line)
    return (
        0 < len(text) <= 40
        and re.search(f"[{_CJK}]", text) is not None
        and not _is_sentence(text)
        and not _ends_with_colon(text)
        and not re.match(r"^(?:[0-9一二三四五六七八九十]+[、.．]|[(（])", text)
    )


def _signature_start(
    lines: list[str], date_at: int, floor: int, values: dict[str, Field[Any]]
) -> int:
    """The 署名 line above the 成文日期; returns where the 正文 ends."""
    j = date_at - 1
    if j >= floor and _looks_like_signature(lines[j]):
        values["signature"] = Field(_squeeze(lines[j]), lines[j].strip())
        return j
    return date_at


def _read_list(lines: list[str], at: int, label: re.Pattern[str]) -> tuple[str, str, int]:
    """A `抄送：…。` (or `分送：…。`) list, which a narrow page wraps over up to 3 lines:
    its text without label and full stop, its source lines, the index after it."""
    parts = [label.sub("", _squeeze(lines[at]))]
    src = [lines[at].strip()]
    i = at + 1
    while not parts[-1].endswith(("。", ".")) and i < len(lines) and i < at + 3:
        nxt = _squeeze(lines[i])
        if _PRINTED_RE.match(fold(nxt)) or _CC_RE.match(nxt) or _MAIN_TO_RE.match(nxt):
            break
        parts.append(nxt)
        src.append(lines[i].strip())
        i += 1
    return "".join(parts).rstrip("。."), "\n".join(src), i


def _read_cc(lines: list[str], at: int, values: dict[str, Field[Any]]) -> int:
    text, source, i = _read_list(lines, at, _CC_RE)
    previous = values.get("cc")
    if previous is not None:
        values["cc"] = Field(f"{previous.value}，{text}", f"{previous.source_text}\n{source}")
    else:
        values["cc"] = Field(text, source)
    return i


# ------------------------------------------------------------- deadline

_DEADLINE_RE = re.compile(
    rf"(?:(?P<y>{_NUM})年)?(?P<m>{_NUM})月(?P<d>{_NUM})日(?:之前|以前|前)(?!后)"
)


def find_deadline(
    body: str, *, year: int | None, after: dt.date | None = None
) -> Field[dt.date] | None:
    """The first `于2024年6月30日前` / `6月30日前报送` in the 正文, as a date.

    Without a year in the phrase the document's year is used; a month/day that
    would fall before the document's own date belongs to the next year. The
    source text is the sentence, as printed.
    """
    for sentence in re.split(r"(?<=[。；！？])|\n", body):
        for m in _DEADLINE_RE.finditer(fold(sentence)):
            found = _deadline_date(m, year, after)
            if found is not None:
                return Field(found, sentence.strip())
    return None


def _deadline_date(m: re.Match[str], year: int | None, after: dt.date | None) -> dt.date | None:
    y = _cn_number(m["y"]) if m["y"] else year
    if y is None:
        return None
    found = _make_date(str(y), m["m"], m["d"])
    if found is not None and not m["y"] and after is not None and found < after:
        found = _make_date(str(y + 1), m["m"], m["d"])
    return found


# ------------------------------------------------------------------ main


# ---------------------------------------------------------- page layout

#: labels of the metadata block a 政府信息公开 page or a law database prints above the
#: document (索引号：… 标题：… 发文字号：…); spaces inside a label are looked past
_META_LABELS = (
    "索引号", "标题", "名称", "文号", "发文字号", "发文机关", "发文机构", "发布机关", "发布机构",
    "发布部门", "发布单位", "成文日期", "发文日期", "发布日期", "公布日期", "施行日期", "生效时间",
    "废止时间", "生成日期", "效力级别", "时效性", "公文种类", "信息分类", "组配分类", "主题分类",
    "主题词", "公文目录", "发布时间", "浏览次数", "文件编号", "实施日期", "有效性", "废止日期",
    "失效日期", "有效期", "所属主题", "文件类型", "公开方式", "公开范围",
)
_META_LABEL_RE = re.compile(
    "(?P<label>"
    + "|".join(r"\s*".join(label) for label in _META_LABELS)
    + rf"|[{_CJK}]{{2,4}}(?:日期|时间)"  # any other date of the page: 印发日期：, 更新时间：
    + r")\s*[:：]"
)
_META_ISSUER = ("发文机关", "发文机构", "发布机关", "发布机构", "发布部门", "发布单位")
_META_NUMBER = ("文号", "发文字号", "文件编号")
_META_TITLE = ("标题", "名称")


def _meta_pairs(line: str) -> list[tuple[str, str]] | None:
    """The `label：value` pairs of a metadata line, or None if the line is not one:
    it opens with a label, or holds two of them (a wrapped block)."""
    text = line.strip().lstrip("-•·*| ").strip()
    found = list(_META_LABEL_RE.finditer(text))
    if not found or _is_sentence(text):
        return None
    if found[0].start() != 0 and len(found) < 2 and not text[found[0].start() - 1].isspace():
        return None
    pairs = []
    for k, m in enumerate(found):
        end = found[k + 1].start() if k + 1 < len(found) else len(text)
        label = re.sub(r"\s+", "", m["label"])
        pairs.append((label, text[m.end() : end].strip(" |\t")))
    return pairs


def _cells(line: str) -> list[str]:
    """A table row (cells split by tabs or `|`) as one line per cell; a label cell
    (发文字号：) stays with its value."""
    parts = [c.strip() for c in re.split(r"\t+|\s\|\s|^\|\s|\s\|$", line)]
    parts = [c for c in parts if c and c != "|"]
    out: list[str] = []
    for cell in parts:
        if out and _ends_with_colon(out[-1]) and _meta_pairs(out[-1]) is not None:
            out[-1] = out[-1] + cell
        else:
            out.append(cell)
    return out


#: a row a database prints: `title 字号 date 发布机关：…` on one line, cells split by spaces
_ROW_CELL_RE = re.compile(rf"^(?:{_DOCNO_CORE}|{_NUM}年{_NUM}月{_NUM}日)$")


def _row_cells(line: str) -> list[str]:
    tokens = re.split(r"\s{1,}", line.strip())
    if len(tokens) < 2 or not any(
        _ROW_CELL_RE.match(fold(t)) or _META_LABEL_RE.match(t) for t in tokens[1:]
    ):
        return [line]
    if any(len(t) == 1 for t in tokens):  # a letter-spaced line (关 于 …) is one line
        return [line]
    cells: list[str] = []
    for t in tokens:
        if cells and _meta_pairs(t) is None and _ROW_CELL_RE.match(fold(t)) is None and (
            _meta_pairs(cells[-1]) is not None
        ):
            cells[-1] += t  # the value of a label (发布机关：中华人民共和国 国务院)
        else:
            cells.append(t)
    return cells


#: a 字号 (and date) in parentheses closing a title line: …的函（广发改函〔2020〕74号）
_TRAILING_DOCNO_RE = re.compile(r"^(?P<text>.*\S)\s*(?P<paren>[(（][^()（）]{4,40}[)）])$")


def _split_trailing_number(line: str) -> list[str]:
    m = _TRAILING_DOCNO_RE.match(line)
    if m is None or _DOCNO_ANY_RE.search(fold(m["paren"])) is None:
        return [line]
    return [m["text"], m["paren"]]


#: a 主送 and the 正文 run together on one line (a page that joins paragraphs): `市直有关
#: 部门： 为切实做好……`; the space after the colon is what a joined paragraph leaves
_ADDRESSEES_RUN_ON_RE = re.compile(r"^(?P<to>[^:：。；]{2,80}[:：])\s+(?P<rest>\S.*)$")
_ADDRESSEE_ENDS = (*_ORGAN_SUFFIXES, "部门", "单位", "机构")


def _split_addressees(line: str) -> list[str]:
    m = _ADDRESSEES_RUN_ON_RE.match(line.strip())
    if m is None or not _squeeze(m["to"]).rstrip(":：").endswith(_ADDRESSEE_ENDS):
        return _split_trailing_number(line)
    return [m["to"], m["rest"]]


def _layout_lines(text: str) -> tuple[list[str], dict[str, Field[str]]]:
    """The document's lines, one printed element a line, and what a page's metadata
    block said (标题, 发文字号, 发布机关): that block is no part of the document."""
    lines: list[str] = []
    meta: dict[str, Field[str]] = {}
    in_head = True  # the block stands above the 正文: `报名时间：…` in the 正文 is the text's
    for raw in text.replace("\r", "\n").split("\n"):
        for cell in _cells(raw):
            for part in _row_cells(cell):
                pairs = _meta_pairs(part) if in_head else None
                if pairs is not None:
                    _keep_meta(pairs, part, meta)
                    continue
                if in_head:
                    lines.extend(_split_addressees(part))
                else:
                    lines.extend(_split_trailing_number(part))
                in_head = in_head and not _is_sentence(part)
    return [ln for ln in lines if ln], meta


def _keep_meta(pairs: list[tuple[str, str]], line: str, meta: dict[str, Field[str]]) -> None:
    for label, printed in pairs:
        value = _squeeze(printed)
        if not value:
            continue
        if label in _META_NUMBER:
            number = normalize_doc_number(value)
            if number is not None:
                meta.setdefault("doc_number", Field(number, line.strip()))
        elif label in _META_ISSUER:
            meta.setdefault("issuer", Field(value, line.strip()))
        elif label in _META_TITLE and doc_type_of(value) is not None:
            meta.setdefault("title", Field(_halfwidth_alnum(value), line.strip()))


def _title_organ(title: str) -> str | None:
    """The organ a title opens with (国务院关于…, 国务院办公厅转发…): the 发文机关."""
    m = re.match(f"^(?P<organ>[{_CJK}、（）()]{{2,30}}?)(?:关于|转发|批转|印发)", title)
    if m is None or m["organ"].startswith(("关于", "印发", "转发")):
        return None
    return m["organ"]


def extract_fields(text: str, *, year_hint: int | None = None) -> DocumentFields:
    """Read the GB/T 9704 elements of a document's text."""
    lines, meta = _layout_lines(text)
    if not lines:
        return DocumentFields()
    head = _read_head(lines)
    values = head.values
    _fill_from_meta(values, meta)
    body_end = _read_tail(lines, head.end, values)
    _read_attachment_note(lines, head.end, body_end, values)
    body = "".join(_squeeze(x) for x in lines[head.end : body_end])
    written = values.get("date")
    deadline = find_deadline(
        body,
        year=_document_year(values, year_hint),
        after=written.value if written is not None else None,
    )
    if deadline is not None:
        values["deadline"] = deadline
    issue, masthead = values.get("issue_no"), values.get("masthead")
    if issue is not None and masthead is not None and "title" not in values:
        values["title"] = Field(f"{masthead.value}（第{issue.value}期）", masthead.source_text)
    found: dict[str, Any] = dict(values)
    return DocumentFields(body=body, **found)


def _fill_from_meta(values: dict[str, Field[Any]], meta: dict[str, Field[str]]) -> None:
    """What the document's own lines did not give, from the title and the page's block."""
    title = values.get("title")
    organ = _title_organ(title.value) if title is not None else None
    if organ is not None:
        values.setdefault("issuer", Field(organ, title.source_text if title else organ))
    for key in ("doc_number", "issuer"):
        if key in meta:
            values.setdefault(key, meta[key])
    if "title" not in values and "title" in meta:
        values["title"] = meta["title"]
        kind = doc_type_of(meta["title"].value)
        if kind is not None:
            values.setdefault("doc_type", Field(kind, meta["title"].value))


@functools.lru_cache(maxsize=16)  # intake asks twice per message (is it a document? sealed?)
def head_fields(text: str) -> DocumentFields:
    """Only the 版头 and 主送 (份号, 密级, 紧急程度, 发文机关标志, 发文字号, 标题, 主送).

    Enough to tell whether an item is sealed and to register its envelope, without
    reading its 正文.
    """
    lines: list[str] = []
    counted = 0  # lines of the document itself; a page's metadata block is not counted
    for line in (ln for ln in text.splitlines() if ln.strip()):
        if counted >= _HEAD_LINES + _MAX_TITLE_LINES:
            break
        lines.append(line)
        if len(lines) > 40 or not all(_meta_pairs(c) is not None for c in _cells(line)):
            counted += 1
    full = extract_fields("\n".join(lines))
    keep = (
        "copy_no",
        "secrecy",
        "secrecy_term",
        "urgency",
        "masthead",
        "doc_number",
        "signer",
        "title",
        "doc_type",
        "addressees",
        "issue_no",
        "editor",
        "telegram",
        "issuer",
    )
    return DocumentFields(**{k: getattr(full, k) for k in keep})


def _document_year(values: dict[str, Field[Any]], hint: int | None) -> int | None:
    number = values.get("doc_number")
    if number is not None:
        parts = split_doc_number(str(number.value))
        if parts is not None:
            return parts[1]
    written = values.get("date")
    if written is not None:
        return int(written.value.year)
    return hint
