"""The 政府信息公开工作年度报告 (条例 Art. 49–50) in the national format (国办公开办函〔2021〕30号,
《中华人民共和国政府信息公开工作年度报告格式》): six parts, the format's tables, the registry's
own figures filled in and what it cannot know left as marked blanks (〔待填〕) and listed.

Pure: the facts of the year in (plain values, `year` given), the report out; rendering to
xlsx and DOCX is core.annual_render.

How the registry's seven reply types (Art. 36) land in the format's 办理结果 rows:
已公开 and 予以公开 → （一）予以公开 (the format counts 告知已主动公开 there); 不予公开 →
（三） by its legal reason; 信息不存在 and 非本机关负责 → （四）1.本机关不掌握相关政府信息;
重复申请 → （五）2.重复申请; 特殊登记资料 → （六）3.其他. Rows no reply type reaches (部分公开,
信访举报类, 逾期不补正…) are blanks: the registry cannot tell them apart.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from core.deadline_rules import ReplyType

BLANK = "〔待填〕"
#: a table cell: a count, or text (a label, a blank)
Cell = int | str


@dataclass(frozen=True)
class RequestFact:
    """One 依申请公开 application as the report needs it."""

    received_on: date
    answered_on: date | None
    reply_type: str | None
    reply_reason: str | None
    on_time: bool | None
    due_on: date | None
    extended_on: date | None  # the day an extension (Art. 33) was recorded
    applicant_kind: str | None = None  # 自然人, 商业企业… (None: not recorded)


@dataclass(frozen=True)
class SectionFigures:
    """提供和录用情况 of one section for the year (core.services.stats)."""

    section: str
    provided: int
    published: int
    on_time: int
    overdue: int


@dataclass(frozen=True)
class Table:
    """A table as the format draws it: header rows and label columns whose equal
    neighbours are merged cells; `label_cols` label cells open every body row."""

    header: list[list[str]]
    rows: list[list[Cell]]
    label_cols: int = 1
    caption: str = ""


@dataclass(frozen=True)
class Part:
    heading: str
    blocks: list[str | Table]


@dataclass(frozen=True)
class AnnualReport:
    year: int
    office: str
    parts: list[Part]
    blanks: list[str] = field(default_factory=list)

    @property
    def title(self) -> str:
        return f"{self.office}{self.year}年政府信息公开工作年度报告"


# ------------------------------------------------------------------ the 办理结果 rows
_RESULT = "三、本年度办理结果"
#: （三）不予公开 sub-rows and the words of a configured legal reason that put it there
WITHHELD_ROWS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("1.属于国家秘密", ("国家秘密",)),
    ("2.其他法律行政法规禁止公开", ("法律", "法规")),
    ("3.危及“三安全一稳定”", ("国家安全", "公共安全", "经济安全", "社会稳定")),
    ("4.保护第三方合法权益", ("商业秘密", "个人隐私", "第三方")),
    ("5.属于三类内部事务信息", ("内部事务",)),
    ("6.属于四类过程性信息", ("过程性",)),
    ("7.属于行政执法案卷", ("执法案卷",)),
    ("8.属于行政查询事项", ("查询",)),
)
#: (level 2, level 3, the reply types counted there; None: the registry cannot know)
_RESULT_ROWS: tuple[tuple[str, str, frozenset[ReplyType] | None], ...] = (
    ("（一）予以公开", "", frozenset({ReplyType.ALREADY_PUBLIC, ReplyType.PROVIDED})),
    ("（二）部分公开（区分处理的，只计这一情形，不计其他情形）", "", None),
    *(("（三）不予公开", sub, frozenset({ReplyType.WITHHELD})) for sub, _ in WITHHELD_ROWS),
    ("（四）无法提供", "1.本机关不掌握相关政府信息",
     frozenset({ReplyType.NOT_EXIST, ReplyType.NOT_OURS})),
    ("（四）无法提供", "2.没有现成信息需要另行制作", None),
    ("（四）无法提供", "3.补正后申请内容仍不明确", None),
    ("（五）不予处理", "1.信访举报投诉类申请", None),
    ("（五）不予处理", "2.重复申请", frozenset({ReplyType.REPEAT})),
    ("（五）不予处理", "3.要求提供公开出版物", None),
    ("（五）不予处理", "4.无正当理由大量反复申请", None),
    ("（五）不予处理", "5.要求行政机关确认或重新出具已获取信息", None),
    ("（六）其他处理",
     "1.申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请", None),
    ("（六）其他处理",
     "2.申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请", None),
    ("（六）其他处理", "3.其他", frozenset({ReplyType.SPECIAL_REGISTER})),
)
APPLICANTS = ("自然人", "商业企业", "科研机构", "社会公益组织", "法律服务机构", "其他")
_NOTE = "（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）"


def withheld_row(reason: str | None) -> str | None:
    """The （三）不予公开 sub-row a legal reason belongs to, or None."""
    text = reason or ""
    for row, words in WITHHELD_ROWS:
        if any(w in text for w in words):
            return row
    return None


#: the big table's own rows (beside the 办理结果 rows, keyed "level2|level3")
RECEIVED, CARRIED_IN, TOTAL, CARRIED_OUT = "新收", "上年结转", "总计", "结转下年度"


@dataclass(frozen=True)
class RequestYear:
    """The 依申请公开 figures of a year, counted from the requests' own dates: for each
    row of the big table, the applicant category of each request it counts (None: not
    recorded)."""

    rows: dict[str, list[str | None]]
    extended: int
    late: int
    open_overdue: int
    unplaced: Counter[str]  # 不予公开 reasons no sub-row names

    def count(self, row: str) -> int:
        return len(self.rows.get(row, []))


def count_requests(year: int, facts: Sequence[RequestFact]) -> RequestYear:
    first, last = date(year, 1, 1), date(year, 12, 31)
    rows: dict[str, list[str | None]] = {}
    unplaced: Counter[str] = Counter()
    extended = late = open_overdue = 0

    def count(row: str, f: RequestFact) -> None:
        rows.setdefault(row, []).append(f.applicant_kind)

    for f in facts:
        if f.received_on > last or (f.answered_on is not None and f.answered_on < first):
            continue
        count(RECEIVED if f.received_on >= first else CARRIED_IN, f)
        if f.extended_on is not None and first <= f.extended_on <= last:
            extended += 1
        if f.answered_on is None or f.answered_on > last:
            count(CARRIED_OUT, f)
            open_overdue += int(f.due_on is not None and f.due_on < last)
            continue
        count(TOTAL, f)
        late += int(f.on_time is False)
        key = _result_key(f)
        if key is None:
            unplaced[f.reply_reason or "（未写理由）"] += 1
        else:
            count(key, f)
    return RequestYear(rows, extended, late, open_overdue, unplaced)


def _result_key(f: RequestFact) -> str | None:
    try:
        reply = ReplyType(f.reply_type or "")
    except ValueError:
        return None
    if reply is ReplyType.WITHHELD:
        sub = withheld_row(f.reply_reason)
        return f"（三）不予公开|{sub}" if sub else None
    for level2, level3, types in _RESULT_ROWS:
        if types and reply in types:
            return f"{level2}|{level3}"
    return None


def _request_table(ry: RequestYear) -> Table:
    header = [
        [_NOTE] * 3 + ["申请人情况"] * 7,
        [_NOTE] * 3 + ["自然人"] + ["法人或其他组织"] * 5 + ["总计"],
        [_NOTE] * 3 + list(APPLICANTS) + ["总计"],
    ]

    def row(labels: tuple[str, str, str], key: str | None) -> list[Cell]:
        if key is None:  # a row the registry cannot tell apart
            return [*labels, *[BLANK] * (len(APPLICANTS) + 1)]
        kinds = ry.rows.get(key, [])
        # by category only when every request counted here has its category recorded
        split: list[Cell] = ([BLANK] * len(APPLICANTS) if None in kinds
                             else [kinds.count(k) for k in APPLICANTS])
        return [*labels, *split, len(kinds)]

    rows = [
        row(("一、本年新收政府信息公开申请数量",) * 3, RECEIVED),
        row(("二、上年结转政府信息公开申请数量",) * 3, CARRIED_IN),
    ]
    for level2, level3, types in _RESULT_ROWS:
        rows.append(row((_RESULT, level2, level3 or level2),
                        f"{level2}|{level3}" if types else None))
    rows.append(row((_RESULT, "（七）总计", "（七）总计"), TOTAL))
    rows.append(row(("四、结转下年度继续办理",) * 3, CARRIED_OUT))
    return Table(header, rows, label_cols=3)


# ------------------------------------------------------------------ the report
@dataclass(frozen=True)
class YearFacts:
    """What the registry knows of a year, gathered by core.services.annual."""

    year: int
    office: str
    #: 主动公开 records formed in the year, by 公开栏目 ("栏目/子栏目", or "" when unset)
    public_by_column: dict[str, int]
    requests: list[RequestFact]
    sections: list[SectionFigures]
    as_of: date


def _column_count(by_column: dict[str, int], sub: str) -> int:
    return sum(n for col, n in by_column.items() if col.rpartition("/")[2] == sub)


def _public_tables(by_column: dict[str, int]) -> list[str | Table]:
    return [
        Table([["第二十条第（一）项"] * 4,
               ["信息内容", "本年制发件数", "本年废止件数", "现行有效件数"]],
              [["规章", _column_count(by_column, "规章"), BLANK, BLANK],
               ["行政规范性文件", _column_count(by_column, "规范性文件"), BLANK, BLANK]]),
        Table([["第二十条第（五）项"] * 2, ["信息内容", "本年处理决定数量"]],
              [["行政许可", BLANK]]),
        Table([["第二十条第（六）项"] * 2, ["信息内容", "本年处理决定数量"]],
              [["行政处罚", BLANK], ["行政强制", BLANK]]),
        Table([["第二十条第（八）项"] * 2, ["信息内容", "本年收费金额（单位：万元）"]],
              [["行政事业性收费", BLANK]]),
    ]


def _review_table() -> Table:
    results = ["结果维持", "结果纠正", "其他结果", "尚未审结", "总计"]
    return Table(
        [["行政复议"] * 5 + ["行政诉讼"] * 10,
         results + ["未经复议直接起诉"] * 5 + ["复议后起诉"] * 5,
         results + results + results],
        [[BLANK] * 15], label_cols=0)


def _sections_table(sections: Sequence[SectionFigures]) -> Table:
    rows: list[list[Cell]] = []
    total = SectionFigures("合计", 0, 0, 0, 0)
    for s in [*sections]:
        rows.append([s.section, s.provided, s.published, s.on_time, s.overdue])
        total = SectionFigures("合计", total.provided + s.provided,
                               total.published + s.published, total.on_time + s.on_time,
                               total.overdue + s.overdue)
    rows.append([total.section, total.provided, total.published, total.on_time, total.overdue])
    return Table([["科室", "提供", "公开（录用）", "按时公开", "超限"]], rows,
                 caption="政务公开信息提供和录用情况（按科室）")


def _columns_text(by_column: dict[str, int]) -> str:
    parts = [f"{col or '未定栏目'} {n} 件" for col, n in sorted(by_column.items()) if n]
    return "（按公开栏目：" + "，".join(parts) + "）" if parts else ""


def build(facts: YearFacts) -> AnnualReport:
    year = facts.year
    ry = count_requests(year, facts.requests)
    total = SectionFigures("合计", *(sum(getattr(s, k) for s in facts.sections)
                                     for k in ("provided", "published", "on_time", "overdue")))
    formed = sum(facts.public_by_column.values())
    blanks = [
        "一、总体情况：政府信息管理、平台建设、监督保障等文字",
        "二、主动公开：规章和行政规范性文件的本年废止件数、现行有效件数（登记簿不记废止）",
        "二、主动公开：行政许可、行政处罚、行政强制的处理决定数量，行政事业性收费金额",
        ("三、依申请公开：（二）部分公开，（四）2–3，（五）1、3–5，（六）1–2（登记簿的答复"
         "类型不区分这些情形；核实后从相应行移入）"),
        "四、行政复议、行政诉讼情况（全部）",
        "五、存在的主要问题及改进情况",
        "六、信息处理费收取情况",
    ]
    unknown = sum(k is None for k in ry.rows.get(RECEIVED, []) + ry.rows.get(CARRIED_IN, []))
    if unknown:
        blanks.insert(3, f"三、依申请公开：{unknown} 件申请未登记申请人类别（request add "
                         "--applicant-kind），含这些申请的各行按申请人分列的栏须人工填写，总计已填")
    for reason, n in sorted(ry.unplaced.items()):
        blanks.append(f"三、依申请公开：不予公开理由“{reason}”{n} 件未能归入格式的子项，"
                      "已计入总计，请归入相应子项")
    overview = [
        (f"本报告根据《中华人民共和国政府信息公开条例》（以下简称《条例》）第四十九条、第五十条"
         f"和《中华人民共和国政府信息公开工作年度报告格式》编制，所列数据统计期限为 {year} 年"
         f" 1 月 1 日至 {year} 年 12 月 31 日，由本机关机要收发登记簿生成（统计截至"
         f" {facts.as_of.isoformat()}），标注“{BLANK}”处须人工核实填写。"),
        (f"（一）主动公开。本年登记主动公开的发文 {formed} 件"
         f"{_columns_text(facts.public_by_column)}；"
         f"本年公开（录用）{total.published} 件，其中在《条例》第二十六条规定的 20 个工作日内"
         f"公开 {total.on_time} 件，超过期限 {total.overdue} 件。"),
        (f"（二）依申请公开。本年新收政府信息公开申请 {ry.count(RECEIVED)} 件，"
         f"上年结转 {ry.count(CARRIED_IN)} 件，"
         f"本年办结 {ry.count(TOTAL)} 件，结转下年度继续办理 {ry.count(CARRIED_OUT)} 件。"
         f"经批准延长答复期限的 {ry.extended} 件（《条例》第三十三条），"
         f"超过法定期限答复的 {ry.late} 件，"
         f"截至年底已超过答复期限尚未答复的 {ry.open_overdue} 件。"),
        f"（三）政府信息管理。{BLANK}",
        f"（四）平台建设。{BLANK}",
        f"（五）监督保障。{BLANK}",
    ]
    parts = [
        Part("一、总体情况", list(overview)),
        Part("二、主动公开政府信息情况", _public_tables(facts.public_by_column)),
        Part("三、收到和处理政府信息公开申请情况", [_request_table(ry)]),
        Part("四、政府信息公开行政复议、行政诉讼情况", [_review_table()]),
        Part("五、存在的主要问题及改进情况", [
            (f"登记簿记录的情况供参考：主动公开超过期限 {total.overdue} 件，依申请公开超过法定期限"
             f"答复 {ry.late} 件。主要问题及改进措施：{BLANK}"),
        ]),
        Part("六、其他需要报告的事项", [
            f"（一）收取信息处理费情况：{BLANK}",
            "（二）政务公开信息提供和录用情况（按科室）：",
            _sections_table(facts.sections),
        ]),
    ]
    return AnnualReport(year, facts.office, parts, blanks)

