"""What the audit log vouches for: a digest of the record rows a change leaves behind.

An item (with its register entries) and a dispatch are the records; each audit entry on
`item:N` or `dispatch:N` carries the digest of that record as its unit of work left it,
so a row edited behind the log (direct SQL) no longer matches its last entry. Only the
columns that change through audited use cases are covered; the pipeline's bookkeeping
(claims, attempts, timestamps of steps) is not.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from functools import lru_cache
from typing import Any, Protocol

from core.storage import json_text
from core.storage.db import Row

#: the record's columns, as staff know them (the names `jiyao check` reports)
ITEM_FIELDS = {
    "received_at": "收到时间", "channel": "渠道", "kind": "类别", "sender": "来文单位",
    "doc_number": "文号", "secrecy": "密级", "urgency": "紧急程度", "title": "标题",
    "envelope_no": "信封编号", "message_id": "Message-ID", "content_sha256": "内容哈希",
    "raw_blob": "原件",
}
ENTRY_FIELDS = {
    "number": "编号", "kind": "类别", "year": "年度", "seq": "序号", "status": "状态",
    "replaced_by": "更正后编号",
}
DISPATCH_FIELDS = {
    "number": "发文字号", "code": "代字", "year": "年度", "seq": "序号", "title": "标题",
    "section": "拟稿科室", "written_on": "成文日期", "disclosure": "公开属性",
    "status": "状态",
}


class _Query(Protocol):
    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[Row]: ...


def _subject(subject: str) -> tuple[str, int] | None:
    kind, _, ident = subject.partition(":")
    if kind in ("item", "dispatch") and ident.isdigit():
        return kind, int(ident)
    return None


async def record_of(q: _Query, subject: str) -> dict[str, Any] | None:
    """The record `subject` names as plain values, or None (not a record, or gone)."""
    return (await records_of(q, [subject])).get(subject)


async def records_of(q: _Query, subjects: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The records `subjects` name, as `record_of` gives them, in three queries; those
    that are not records or are gone are left out."""
    ids: dict[str, list[int]] = {"item": [], "dispatch": []}
    for subject in subjects:
        parsed = _subject(subject)
        if parsed is not None:
            ids[parsed[0]].append(parsed[1])
    out: dict[str, dict[str, Any]] = {}
    if ids["item"]:
        items_sql, entries_sql = _item_queries(len(ids["item"]))
        rows = await q.fetchall(items_sql, ids["item"])
        entries: dict[int, list[dict[str, Any]]] = {}
        for e in await q.fetchall(entries_sql, ids["item"]):
            entry = dict(e)
            entries.setdefault(entry.pop("_item"), []).append(entry)
        for row in rows:
            record = dict(row)
            ident = record.pop("_id")
            record["entries"] = entries.get(ident, [])
            out[f"item:{ident}"] = record
    if ids["dispatch"]:
        marks = ", ".join("?" * len(ids["dispatch"]))
        for row in await q.fetchall(
                f"SELECT id AS _id, {', '.join(DISPATCH_FIELDS)} FROM dispatches"
                f" WHERE id IN ({marks})", ids["dispatch"]):
            record = dict(row)
            out[f"dispatch:{record.pop('_id')}"] = record
    return out


@lru_cache(maxsize=8)
def _item_queries(n: int) -> tuple[str, str]:
    """The two queries of `records_of` for `n` items (their text built once: every audit
    entry on an item reads its record)."""
    marks = ", ".join("?" * n)
    items = f"SELECT id AS _id, {', '.join(ITEM_FIELDS)} FROM items WHERE id IN ({marks})"
    entries = (f"SELECT item_id AS _item, id, {', '.join(ENTRY_FIELDS)} FROM register_entries"
               f" WHERE item_id IN ({marks}) ORDER BY id")
    return items, entries


#: json.dumps(value, ensure_ascii=False, sort_keys=True, default=str), built once, with
#: the column values' own types (text, integers, NULL) encoded directly: a full check
#: fingerprints a million records
_encode = json_text.encoder(ensure_ascii=False, sort_keys=True, default=str)
_encode_text = json.encoder.encode_basestring
#: json.dumps(fingerprint, sort_keys=True): the state an audit entry carries
_encode_state = json_text.encoder(sort_keys=True)


def _json(value: Any) -> str:
    if isinstance(value, str):
        return _encode_text(value)
    if value is None:
        return "null"
    if type(value) is int:
        return int.__repr__(value)
    return _encode(value)


_sha256 = hashlib.sha256


def _h(value: Any) -> str:
    """A column's (or a register entry's) hash: sha256 of its `_json`, 16 hex digits.
    The common types are tested here, not in `_json` (one call less per column)."""
    t = type(value)
    if t is str:
        text = _encode_text(value)
    elif value is None:
        return _NULL_HASH
    elif t is int:
        text = int.__repr__(value)
    else:
        text = _json(value)
    return _sha256(text.encode("utf-8")).hexdigest()[:16]


#: the hash of NULL, the most common column value (a paper item has no Message-ID, …)
_NULL_HASH = _sha256(b"null").hexdigest()[:16]


def fingerprint(record: dict[str, Any]) -> dict[str, str]:
    """A short hash per column (and per register entry): it names what changed without
    keeping the values in the log a second time."""
    h = _h
    out = {k: h(v) for k, v in record.items() if k != "entries"}
    for e in record.get("entries", ()):
        out[f"entry:{e['id']}"] = h(e)
    return out


async def state_of(q: _Query, subject: str) -> str | None:
    """The state the audit entry on `subject` carries (None for a non-record)."""
    parsed = _subject(subject)
    if parsed is None:
        return None
    if parsed[0] == "item":  # most entries: `records_of`'s two queries, for one item
        items_sql, entries_sql = _item_queries(1)
        rows = await q.fetchall(items_sql, (parsed[1],))
        entries = await q.fetchall(entries_sql, (parsed[1],))
        if not rows:
            return None
        record = dict(rows[0])
        del record["_id"]
        record["entries"] = [_entry(e) for e in entries]
    else:
        found = (await records_of(q, [subject])).get(subject)
        if found is None:
            return None
        record = found
    return str(_encode_state(fingerprint(record)))


def _entry(row: Row) -> dict[str, Any]:
    entry = dict(row)
    del entry["_item"]
    return entry


def changed(logged: str, record: dict[str, Any] | None) -> list[str]:
    """Staff names of what differs between a logged state and the record now."""
    if record is None:
        return ["记录被删除"]
    now = fingerprint(record)
    if _encode_state(now) == logged:
        return []  # the common case, without parsing the logged state
    then: dict[str, str] = json.loads(logged)
    names = ITEM_FIELDS if "entries" in record else DISPATCH_FIELDS
    out = []
    for key in sorted(then.keys() | now.keys(), key=lambda k: (k.startswith("entry:"), k)):
        if then.get(key) == now.get(key):
            continue
        if key.startswith("entry:"):
            out.append("登记编号记录" + ("被删除" if key not in now else
                                          "被添加" if key not in then else "被改动"))
        else:
            out.append(names.get(key, key))
    return out


def label(subject: str, record: dict[str, Any] | None) -> str:
    """How staff know the record: 收件 12（办2026-0003）, 发文 甘府发〔2026〕1号."""
    parsed = _subject(subject)
    assert parsed is not None
    kind, ident = parsed
    if kind == "dispatch":
        return f"发文 {record['number']}" if record else f"发文（记录 {ident}）"
    numbers = [e["number"] for e in (record or {}).get("entries", ()) if e["status"] == "active"]
    return f"收件 {ident}" + (f"（{numbers[-1]}）" if numbers else "")
