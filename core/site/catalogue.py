"""The catalogue's pages as data: the 栏目 tree, list pages, document pages, the search
index, the 依申请公开 guide, annual reports and the 提供和录用情况 tables.

Pure: no I/O, no clock. Every page is a template name and a JSON-able context; the same
inputs give the same pages, so a page whose context did not change need not be written
again (the fingerprint of a page is a hash of its template set and context).
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from core.config import SiteContact

#: the catalogue's own pages (paths are relative to the site's root, POSIX style)
HOME = "index.html"
CATALOGUE = "lm/index.html"
GUIDE = "guide.html"
REPORTS = "reports/index.html"
STATS = "stats/index.html"
SEARCH = "search.html"
SEARCH_INDEX = "search-index.js"
#: how many of the latest publications the home page lists
LATEST = 10

#: the top navigation, in order
NAV = (
    (HOME, "首页"),
    (CATALOGUE, "政府信息公开目录"),
    (GUIDE, "依申请公开"),
    (REPORTS, "年度报告"),
    (STATS, "提供和录用情况"),
    (SEARCH, "搜索"),
)


# ------------------------------------------------------------------ inputs
@dataclass(frozen=True, slots=True)
class FileRef:
    """The file as published (PDF/OFD), kept in the blob store under its sha256."""

    sha256: str
    name: str
    format: str
    size: int

    @property
    def path(self) -> str:
        return f"files/{self.sha256}.{self.format}"


@dataclass(frozen=True, slots=True)
class Entry:
    """One published record as the catalogue shows it."""

    dispatch_id: int
    task_id: int
    index_year: int
    index_seq: int
    index_no: str  # 索引号
    title: str
    doc_number: str  # 文号
    publisher: str  # 发布机构
    written_on: date | None  # 成文日期
    published_on: date  # 发布日期
    topic: str  # 主题分类
    column: str  # 栏目: "栏目/子栏目" (or "栏目")
    carrier: str | None = None
    url: str | None = None  # 公开网址 registered with `jiyao published`
    file: FileRef | None = None

    @property
    def path(self) -> str:
        return f"doc/{self.index_year}-{self.index_seq:05d}.html"


@dataclass(frozen=True, slots=True)
class StatsTable:
    """One period's 提供和录用情况 (from the stats service)."""

    key: str
    label: str
    first: date
    last: date
    as_of: date | None  # set while the period is still running
    headers: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]  # one per section; the first cell names it
    total: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Report:
    """An annual report file found in the configured directory."""

    year: int
    title: str
    path: str  # where the site keeps it: reports/<year>[-n].<ext>
    format: str
    size: int


@dataclass(frozen=True, slots=True)
class Guide:
    """What the 依申请公开 guide states; the periods come from core.deadline_rules."""

    contact: SiteContact
    answer_days: int
    extension_days: int
    supplement_days: int
    consult_days: int
    reply_types: tuple[str, ...]


@dataclass(frozen=True)
class SiteModel:
    office: str  # the organ whose catalogue this is
    title: str
    catalogue: Mapping[str, Sequence[str]]
    entries: Sequence[Entry]
    guide: Guide
    stats: Sequence[StatsTable] = ()
    reports: Sequence[Report] = ()
    page_size: int = 20


# ------------------------------------------------------------------ the 栏目 tree
@dataclass(frozen=True, slots=True)
class Column:
    path: str  # "业务工作" or "业务工作/工作简报"
    name: str
    children: tuple[Column, ...] = ()

    @property
    def slug(self) -> str:
        return column_slug(self.path)

    @property
    def href(self) -> str:
        return f"lm/{self.slug}/index.html"

    def page_href(self, page: int) -> str:
        return self.href if page == 1 else f"lm/{self.slug}/{page}.html"


@functools.lru_cache(maxsize=4096)
def column_slug(path: str) -> str:
    # a hash keeps the address of a 栏目 when others are added, removed or reordered
    return "c" + hashlib.sha256(path.encode()).hexdigest()[:10]


#: the pager shows the first and last page and this many on either side of the current one
PAGER_SPAN = 3


def pager(page: int, pages: int) -> list[int | None]:
    """Page numbers to link, None where a run of them is left out (shown as an ellipsis)."""
    shown = sorted({1, pages, *range(max(1, page - PAGER_SPAN), min(pages, page + PAGER_SPAN) + 1)})
    out: list[int | None] = []
    for n in shown:
        if out and out[-1] is not None and n - out[-1] > 1:
            out.append(None)
        out.append(n)
    return out


def top_of(column: str) -> str:
    return column.split("/", 1)[0]


def column_tree(catalogue: Mapping[str, Sequence[str]], used: Iterable[str]) -> tuple[Column, ...]:
    """The configured 栏目 in order; a 栏目 used by a record but no longer configured is
    appended, so that nothing published disappears from the tree."""
    tops: dict[str, list[str]] = {top: list(subs) for top, subs in catalogue.items()}
    for col in sorted(set(used)):
        top, _, sub = col.partition("/")
        subs = tops.setdefault(top, [])
        if sub and sub not in subs:
            subs.append(sub)
    return tuple(
        Column(top, top, tuple(Column(f"{top}/{sub}", sub) for sub in subs))
        for top, subs in tops.items()
    )


# ------------------------------------------------------------------ pages
@dataclass(frozen=True, slots=True)
class Page:
    path: str
    template: str
    context: dict[str, Any]
    #: the record whose document page this is (site check looks it up)
    owner: int | None = None
    #: the publication whose file text the page shows (fetched when it is rendered)
    text_of: int | None = None

    def fingerprint(self, base: str) -> str:
        """A hash of what the page is made of: the template set (`base`) and context."""
        h = hashlib.sha256(base.encode())
        h.update(self.template.encode())
        h.update(canonical(self.context))
        return h.hexdigest()


def canonical(value: Any) -> bytes:
    # keys in the order the code builds them (deterministic); sorting costs twice the time
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str).encode()


def _date(d: date | None) -> str:
    return d.isoformat() if d else ""


def _row(e: Entry) -> dict[str, Any]:
    """An entry as a list row or a search result."""
    return {"title": e.title, "href": e.path, "number": e.doc_number,
            "date": e.published_on.isoformat(), "index": e.index_no}


def sort_key(e: Entry) -> tuple[str, int, int]:
    """Newest first: 发布日期, then 索引号."""
    return (e.published_on.isoformat(), e.index_year, e.index_seq)


def shell(model: SiteModel, tree: Sequence[Column]) -> dict[str, Any]:
    """What every page shares: titles, the top navigation and the 栏目 tree."""
    return {
        "office": model.office,
        "title": model.title,
        "nav": [{"href": href, "label": label} for href, label in NAV],
        "tree": [
            {"path": c.path, "name": c.name, "href": c.href,
             "children": [{"path": s.path, "name": s.name, "href": s.href} for s in c.children]}
            for c in tree
        ],
    }


def _crumbs(*pairs: tuple[str | None, str]) -> list[dict[str, str | None]]:
    head: list[dict[str, str | None]] = [{"href": HOME, "label": "首页"}]
    return head + [{"href": h, "label": t} for h, t in pairs]


def _column_crumbs(tree_index: Mapping[str, Column], path: str) -> list[tuple[str | None, str]]:
    crumbs: list[tuple[str | None, str]] = [(CATALOGUE, "政府信息公开目录")]
    top = top_of(path)
    if top in tree_index:
        crumbs.append((tree_index[top].href, top))
    if path != top and path in tree_index:
        crumbs.append((tree_index[path].href, tree_index[path].name))
    return crumbs


def plan(model: SiteModel) -> tuple[dict[str, Any], list[Page]]:
    """The shared shell and every page of the site."""
    entries = sorted(model.entries, key=sort_key, reverse=True)
    tree = column_tree(model.catalogue, (e.column for e in entries))
    index: dict[str, Column] = {}
    for top in tree:
        index[top.path] = top
        for sub in top.children:
            index[sub.path] = sub
    by_column: dict[str, list[Entry]] = {path: [] for path in index}
    for e in entries:
        by_column[e.column].append(e)
        if "/" in e.column:
            by_column[top_of(e.column)].append(e)
    counts = {path: len(items) for path, items in by_column.items()}
    pages = [
        _home(model, entries, counts),
        _catalogue_page(counts),
        _guide(model),
        _reports(model.reports),
        *_stats_pages(model.stats),
        Page(SEARCH, "search.html", {"crumbs": _crumbs((None, "搜索"))}),
    ]
    for path, col in index.items():
        pages += _column_pages(col, by_column[path], model.page_size,
                               _column_crumbs(index, path))
    pages += [_document(e, _column_crumbs(index, e.column)) for e in entries]
    return shell(model, tree), pages


def _home(model: SiteModel, entries: Sequence[Entry], counts: Mapping[str, int]) -> Page:
    return Page(HOME, "home.html", {
        "crumbs": [],
        "latest": [_row(e) for e in entries[:LATEST]],
        "total": len(entries),
        "counts": dict(counts),
        "reports": [{"title": r.title, "href": r.path} for r in model.reports[:3]],
    })


def _catalogue_page(counts: Mapping[str, int]) -> Page:
    return Page(CATALOGUE, "catalogue.html", {
        "crumbs": _crumbs((None, "政府信息公开目录")),
        "counts": dict(counts),
        "current": "",
    })


def _column_pages(
    col: Column, items: Sequence[Entry], size: int, crumbs: list[tuple[str | None, str]]
) -> list[Page]:
    n_pages = max(1, -(-len(items) // size))
    pages = []
    for page in range(1, n_pages + 1):
        chunk = items[(page - 1) * size: page * size]
        pages.append(Page(col.page_href(page), "column.html", {
            "crumbs": _crumbs(*crumbs[:-1], (None, col.name)),
            "current": col.path,
            "name": col.name,
            "children": [{"name": s.name, "href": s.href} for s in col.children],
            "rows": [_row(e) for e in chunk],
            "total": len(items),
            "page": page,
            "pages": n_pages,
            "first": (page - 1) * size + 1,
            "prev": col.page_href(page - 1) if page > 1 else None,
            "next": col.page_href(page + 1) if page < n_pages else None,
            "links": [{"page": p, "href": col.page_href(p) if p else None}
                      for p in pager(page, n_pages)],
        }))
    return pages


def _document(e: Entry, crumbs: list[tuple[str | None, str]]) -> Page:
    file = None
    if e.file is not None:
        file = {"href": e.file.path, "name": e.file.name, "format": e.file.format.upper(),
                "size": human_size(e.file.size), "sha256": e.file.sha256}
    url = e.url if e.url and re.match(r"https?://", e.url) else None
    return Page(e.path, "document.html", {
        "crumbs": _crumbs(*crumbs, (None, "正文")),
        "current": e.column,
        "title": e.title,
        "meta": [
            ("索引号", e.index_no),
            ("主题分类", e.topic),
            ("发布机构", e.publisher),
            ("成文日期", _date(e.written_on) or "—"),
            ("文号", e.doc_number),
            ("发布日期", e.published_on.isoformat()),
            ("标题", e.title),
            ("所属栏目", e.column.replace("/", " / ")),
        ],
        "file": file,
        "url": url,
    }, owner=e.dispatch_id, text_of=e.task_id if e.file is not None else None)


def _guide(model: SiteModel) -> Page:
    g = model.guide
    c = g.contact
    contact = [(label, value) for label, value in (
        ("受理机构", c.organ), ("通信地址", c.address), ("邮政编码", c.postcode),
        ("联系电话", c.phone), ("传真", c.fax), ("电子邮箱", c.email), ("网上申请", c.online),
        ("受理时间", c.hours),
    ) if value]
    return Page(GUIDE, "guide.html", {
        "crumbs": _crumbs((None, "依申请公开")),
        "office": model.office,
        "contact": contact,
        "online": c.online,
        "answer_days": g.answer_days,
        "extension_days": g.extension_days,
        "supplement_days": g.supplement_days,
        "consult_days": g.consult_days,
        "reply_types": list(g.reply_types),
    })


def _reports(reports: Sequence[Report]) -> Page:
    return Page(REPORTS, "reports.html", {
        "crumbs": _crumbs((None, "政府信息公开工作年度报告")),
        "reports": [{"year": r.year, "title": r.title, "href": r.path,
                     "format": r.format.upper(), "size": human_size(r.size)} for r in reports],
    })


def _stats_pages(tables: Sequence[StatsTable]) -> list[Page]:
    years = sorted({t.first.year for t in tables}, reverse=True)
    pages = [Page(STATS, "stats_index.html", {
        "crumbs": _crumbs((None, "提供和录用情况")),
        "years": [{"year": y, "href": f"stats/{y}.html"} for y in years],
    })]
    for y in years:
        of_year = sorted((t for t in tables if t.first.year == y), key=lambda t: t.first,
                         reverse=True)
        pages.append(Page(f"stats/{y}.html", "stats.html", {
            "crumbs": _crumbs((STATS, "提供和录用情况"), (None, f"{y}年")),
            "year": y,
            "tables": [{"key": t.key, "label": t.label, "first": _date(t.first),
                        "last": _date(t.last), "as_of": _date(t.as_of),
                        "headers": list(t.headers), "rows": [list(r) for r in t.rows],
                        "total": list(t.total)} for t in of_year],
        }))
    return pages


def search_index(entries: Iterable[Entry]) -> list[list[str]]:
    """The search index: title, 文号, 栏目, 发布日期, address, 索引号 — newest first."""
    return [[e.title, e.doc_number, e.column.replace("/", " / "), e.published_on.isoformat(),
             e.path, e.index_no] for e in sorted(entries, key=sort_key, reverse=True)]


def search_index_js(entries: Iterable[Entry]) -> bytes:
    """The index as a script (loads from file:// too, where fetch() of JSON is refused)."""
    body = json.dumps({"fields": ["title", "number", "column", "date", "href", "index"],
                       "items": search_index(entries)}, ensure_ascii=False,
                      separators=(",", ":"))
    # "</" inside a string must not end the script element when inlined anywhere
    return ("window.JIYAO_SEARCH = " + body.replace("</", "<\\/") + ";\n").encode()


# ------------------------------------------------------------------ text helpers
_SIZES = ((1 << 20, "MB"), (1 << 10, "KB"))


def human_size(n: int) -> str:
    for unit, name in _SIZES:
        if n >= unit:
            return f"{n / unit:.1f} {name}"
    return f"{n} 字节"


#: punctuation that ends a Chinese paragraph line
_END = tuple("。！？；：”」）)")


def paragraphs(text: str) -> list[str]:
    """A file's text layer as paragraphs: PDF lines wrapped at the page width are joined;
    a line that ends a sentence or stops short of the width ends its paragraph."""
    lines = [ln.strip() for ln in text.splitlines()]
    lines = [ln for ln in lines if ln]
    if not lines:
        return []
    long_lines = [len(ln) for ln in lines if len(ln) >= 10]
    width = statistics.median(long_lines) if long_lines else 0
    out: list[str] = []
    buf = ""
    for ln in lines:
        buf += ln
        if ln.endswith(_END) or len(ln) < 0.8 * width:
            out.append(buf)
            buf = ""
    if buf:
        out.append(buf)
    return out



def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
