"""The archive hand-over (归档) of a year's received items, by DA/T 22-2015 (归档文件整理规则)
and GB/T 18894-2016 (电子文件归档与电子档案管理规范): 档号, the metadata of each 件 with
DA/T 46-2009 element names, the 归档文件目录 and the checksum manifest. Pure: values in,
bytes out; core.services.archive gathers the records, jiyao/commands/archive.py writes.

档号 = 全宗号-门类代码·年度-保管期限代码-机构（问题）代码-件号 (DA/T 22 §6.2), e.g.
X001-WS·2026-Y-BGS-0001; 件号 runs from 0001 within each 年度·保管期限·机构, in the order the
items were received.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from core.config import Archive
from core.errors import InvalidInputError
from core.model import Outcome

#: 保管期限 → its code in the 档号 (DA/T 22 §6.2: Y, D30, D10), in catalogue order
RETENTION_CODES = {"永久": "Y", "30年": "D30", "10年": "D10"}
NOT_ARCHIVED = "不归档"
#: the retention key of sealed items (亲启, 绝密: their kind is never read)
SEALED_KIND = "封存件"
#: the audit actions that are process metadata, as DA/T 46 业务行为
PROCESS_ACTIONS = {
    "receive": "签收", "register": "登记", "number": "登记", "classify": "登记",
    "correct": "登记（更正）", "convert": "登记（阅件转办件）", "item.proposed": "拟办",
    "instruct": "批示", "item.assigned": "承办", "item.done": "办结",
}
#: the metadata elements of one 件, in order: DA/T 46-2009 names (文件编号 is the 文号),
#: and three it lacks that a hand-over needs: 哈希值 (GB/T 18894 固化), 文件用途, 封存
ELEMENTS = (
    "聚合层次", "来源", "全宗名称", "立档单位名称", "档号", "全宗号", "年度", "保管期限",
    "机构或问题", "室编件号", "内容描述", "题名", "文件编号", "责任者", "日期", "文种",
    "紧急程度", "密级", "附注", "形式特征", "件数", "页数", "封存", "计算机文件", "计算机文件名",
    "计算机文件大小", "格式信息", "哈希值", "文件用途", "业务实体", "业务", "业务行为",
    "行为时间", "机构人员名称", "行为描述",
)


def archive_kind(outcome: str, kind: str | None) -> str:
    """The key an item's 保管期限 is configured under."""
    return SEALED_KIND if outcome == Outcome.SEALED else (kind or "")


def check_config(archive: Archive, kinds: Iterable[str]) -> None:
    """Refuse, in Chinese and naming the key, an [archive] that cannot make a 档号 for
    each kind the year holds."""
    if not archive.fonds.strip():
        raise InvalidInputError("配置缺少全宗号：请在 [archive] fonds 中填写档案馆给定的全宗号",
                                field="archive.fonds")
    if not archive.category.strip():
        raise InvalidInputError("配置缺少档案门类代码：请在 [archive] category 中填写（文书为 WS）",
                                field="archive.category")
    if not archive.organ_code.strip():
        raise InvalidInputError("配置缺少机构（问题）代码：请在 [archive] organ_code 中填写",
                                field="archive.organ_code")
    missing = sorted({k for k in kinds if k not in archive.retention})
    if missing:
        names = "、".join(f"“{k}”" for k in missing)
        raise InvalidInputError(
            f"配置 [archive] retention 未给出 {names} 的保管期限"
            f"（永久、30年、10年 或 {NOT_ARCHIVED}）", field="archive.retention")


@dataclass(frozen=True)
class FileEntry:
    """One computer file of a 件: its name inside the 件's folder and its bytes' facts."""

    path: str
    size: int
    sha256: str
    fmt: str
    use: str  # 原件 | 版式转换件 | 公文处理单 | 原始报文
    note: str = ""
    #: an original with a countable PDF form in the package (itself, or its rendition)
    has_form: bool = False


@dataclass(frozen=True)
class Action:
    """One step of the item's process, from the audit log."""

    what: str  # 业务行为: 签收, 登记, 批示, 承办, 办结…
    at: str  # local time, ISO 8601
    actor: str
    description: str = ""


@dataclass(frozen=True)
class Record:
    """What the metadata of one 件 says. A sealed item carries envelope facts only."""

    item_id: int
    kind: str  # archive_kind
    retention: str
    received_at: str  # local ISO time
    received_on: str  # local ISO date
    sealed: bool
    title: str
    doc_number: str
    sender: str
    doc_type: str
    urgency: str
    secrecy: str
    register_number: str
    sealed_reason: str = ""
    note: str = ""  # 附注 beyond the register number (a sender known only by address)
    written_on: str = ""  # 成文日期 as read (ISO), "" when not read or sealed
    actions: list[Action] = field(default_factory=list)

    @property
    def date(self) -> str:
        """DA/T 22's 日期: the date the document was made (成文日期; the date received
        stands in where it was not read), in 8 digits (20260302) as the standard writes it."""
        return (self.written_on or self.received_on).replace("-", "")


@dataclass(frozen=True)
class Numbered:
    record: Record
    code: str  # 档号
    seq: int  # 件号


def number_records(archive: Archive, year: int, records: Sequence[Record]) -> list[Numbered]:
    """Give each archived record its 档号, in catalogue order (保管期限 永久, 30年, 10年;
    件号 in the order received). Records of a kind marked 不归档 are left out."""
    order = list(RETENTION_CODES)
    kept = [r for r in records if r.retention != NOT_ARCHIVED]
    kept.sort(key=lambda r: (order.index(r.retention), r.received_at, r.item_id))
    out: list[Numbered] = []
    seq_of: dict[str, int] = {}
    for r in kept:
        seq = seq_of[r.retention] = seq_of.get(r.retention, 0) + 1
        code = (f"{archive.fonds.strip()}-{archive.category.strip()}·{year}-"
                f"{RETENTION_CODES[r.retention]}-{archive.organ_code.strip()}-{seq:04d}")
        out.append(Numbered(r, code, seq))
    return out


def _sub(parent: ET.Element, tag: str, text: str | int | None = None) -> ET.Element:
    el = ET.SubElement(parent, tag)
    if text is not None:
        el.text = str(text)
    return el


def _xml(root: ET.Element) -> bytes:
    ET.indent(root)
    return bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True)) + b"\n"


def metadata_xml(n: Numbered, archive: Archive, office: str, year: int,
                 files: Sequence[FileEntry], pages: int | None = None) -> bytes:
    """The 件's metadata (DA/T 46 element names)."""
    r = n.record
    root = ET.Element("文件实体元数据", {"标准": "DA/T 46-2009"})
    _sub(root, "聚合层次", "件")
    src = _sub(root, "来源")
    _sub(src, "全宗名称", office)
    _sub(src, "立档单位名称", office)
    code = _sub(root, "档号")
    code.set("值", n.code)
    code.set("门类代码", archive.category.strip())
    _sub(code, "全宗号", archive.fonds.strip())
    _sub(code, "年度", year)
    _sub(code, "保管期限", r.retention)
    _sub(code, "机构或问题", archive.organ_code.strip())
    _sub(code, "室编件号", f"{n.seq:04d}")
    content = _sub(root, "内容描述")
    _sub(content, "题名", r.title)
    _sub(content, "文件编号", r.doc_number)
    _sub(content, "责任者", r.sender)
    _sub(content, "日期", r.date).set("依据", "成文日期" if r.written_on else "收文日期")
    _sub(content, "文种", r.doc_type)
    _sub(content, "紧急程度", r.urgency)
    _sub(content, "密级", r.secrecy)
    notes = [f"收文编号 {r.register_number}" if r.register_number else "", r.note]
    _sub(content, "附注", "；".join(x for x in notes if x))
    form = _sub(root, "形式特征")
    _sub(form, "件数", len(files))
    if pages is not None:
        _sub(form, "页数", pages)
    if r.sealed:
        _sub(form, "封存", f"封存移交，未拆封（{r.sealed_reason}）" if r.sealed_reason
             else "封存移交，未拆封")
    for f in files:
        el = _sub(root, "计算机文件")
        _sub(el, "计算机文件名", f.path)
        _sub(el, "计算机文件大小", f.size)
        _sub(el, "格式信息", f.fmt)
        _sub(el, "哈希值", f.sha256).set("算法", "SHA-256")
        _sub(el, "文件用途", f.use)
        if f.note:
            _sub(el, "附注", f.note)
    business = _sub(root, "业务实体")
    for a in r.actions:
        b = _sub(business, "业务")
        _sub(b, "业务行为", a.what)
        _sub(b, "行为时间", a.at)
        _sub(b, "机构人员名称", a.actor)
        if a.description:
            _sub(b, "行为描述", a.description)
    return _xml(root)


#: the columns of the 归档文件目录 (DA/T 22 §8.2, with the registry's own number)
CATALOGUE_COLUMNS = ("档号", "件号", "责任者", "文号", "题名", "日期", "密级", "保管期限",
                     "页数", "收文编号", "备注")
#: the widest each catalogue column prints (display widths, as the register books)
CATALOGUE_WIDTHS = (26, 6, 20, 18, 40, 10, 6, 8, 4, 12, 14)


def catalogue_rows(numbered: Sequence[Numbered],
                   pages: Mapping[str, int | None]) -> list[list[str]]:
    """The catalogue's rows; 页数 (of the 件's PDF form) blank where it is not known."""
    rows = []
    for n in numbered:
        r = n.record
        count = pages.get(n.code)
        rows.append([n.code, f"{n.seq:04d}", r.sender, r.doc_number, r.title, r.date,
                     r.secrecy, r.retention, "" if count is None else str(count),
                     r.register_number, "封存件，未拆封" if r.sealed else ""])
    return rows


def catalogue_xml(numbered: Sequence[Numbered], pages: Mapping[str, int | None],
                  office: str, year: int) -> bytes:
    root = ET.Element("归档文件目录", {"全宗名称": office, "年度": str(year)})
    for row in catalogue_rows(numbered, pages):
        entry = _sub(root, "条目")
        for name, value in zip(CATALOGUE_COLUMNS, row, strict=True):
            _sub(entry, name, value)
    return _xml(root)


def manifest(entries: Iterable[tuple[str, str]]) -> bytes:
    """`sha256sum` format (hex, two spaces, path relative to the package), sorted by path:
    `sha256sum -c` verifies the package."""
    lines = [f"{digest}  {path}\n" for path, digest in sorted(entries)]
    return "".join(lines).encode("utf-8")


def safe_name(name: str | None, fallback: str) -> str:
    """A file name fit for a folder and for the manifest: no path, no control characters."""
    text = "".join(ch for ch in (name or "") if ch.isprintable() and ch not in '/\\:*?"<>|')
    text = text.strip().lstrip(".")
    return text[:120] or fallback
