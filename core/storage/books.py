"""SQL of the printed registers (收文登记簿): a year's entries and items a page at a time
(keyset, on the year indexes), with what the flow added to a page's items read in a few
set queries (not one query per row)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from core.storage.db import Reader, Row

#: document parts of an item (the 签收单 manifest is not one), counted as its 份数
_DOCUMENTS = (
    "(SELECT COUNT(*) FROM attachments a WHERE a.item_id = i.id"
    " AND a.status IN ('ok', 'image') AND COALESCE(a.filename, '') NOT LIKE '%.json')"
)
_ITEM_COLUMNS = (
    "i.id AS item_id, i.kind AS item_kind, i.outcome, i.reason, i.received_at, i.channel,"
    " i.sender, i.doc_number, i.title, i.secrecy, i.urgency, i.deadline, i.envelope_no,"
    " i.issue_no, i.created_by, " + _DOCUMENTS + " AS documents"
)


@dataclass
class YearBook:
    """Everything a year's 收文登记簿 prints, keyed by item id where it is per item."""

    entries: list[Row]
    unnumbered: list[Row]
    sealed: list[Row]
    handling: dict[int, Row] = field(default_factory=dict)
    assignments: dict[int, list[Row]] = field(default_factory=lambda: defaultdict(list))
    instructions: dict[int, list[Row]] = field(default_factory=lambda: defaultdict(list))
    due: dict[int, str] = field(default_factory=dict)
    circulation: dict[int, list[Row]] = field(default_factory=lambda: defaultdict(list))


#: rows of a register read at a time (with what the flow added to those items)
PAGE = 1000


async def entries_page(r: Reader, year: int, kind: str, after: int, limit: int) -> list[Row]:
    """A numbered register's entries after `seq` `after`, in number order."""
    return await r.fetchall(
        "SELECT e.number, e.kind, e.seq, e.status, e.note, e.registered_at,"
        " n.number AS replaced_by_number, " + _ITEM_COLUMNS +
        " FROM register_entries e JOIN items i ON i.id = e.item_id"
        " LEFT JOIN register_entries n ON n.id = e.replaced_by"
        " WHERE e.year = ? AND e.kind = ? AND e.seq > ? ORDER BY e.seq LIMIT ?",
        (year, kind, after, limit),
    )


async def items_page(r: Reader, year: int, outcome: str, kind: str | None,
                     after: tuple[str, int] | None, limit: int) -> list[Row]:
    """Unnumbered (`outcome` register, of `kind`) or sealed items in receipt order, after
    (received_at, id) `after`."""
    sql = "SELECT " + _ITEM_COLUMNS + " FROM items i WHERE i.year = ? AND i.outcome = ?"
    params: list[object] = [year, outcome]
    if kind is not None:
        sql += " AND i.kind = ?"
        params.append(kind)
    if after is not None:
        sql += " AND (i.received_at, i.id) > (?, ?)"
        params += list(after)
    return await r.fetchall(sql + " ORDER BY i.received_at, i.id LIMIT ?", (*params, limit))


async def flow_of(r: Reader, rows: list[Row]) -> YearBook:
    """What the flow added to these items (handling, assignments, instructions, due
    dates, circulation), the rows themselves as the book's entries."""
    book = YearBook(rows, [], [])
    ids = sorted({row["item_id"] for row in rows})
    if not ids:
        return book
    among = f"item_id IN ({', '.join('?' * len(ids))})"
    for row in await r.fetchall(f"SELECT * FROM item_handling WHERE {among}", ids):
        book.handling[row["item_id"]] = row
    for row in await r.fetchall(
        f"SELECT * FROM item_assignments WHERE status = 'active' AND {among}"
        " ORDER BY item_id, CASE role WHEN '主办' THEN 0 ELSE 1 END, id", ids,
    ):
        book.assignments[row["item_id"]].append(row)
    for row in await r.fetchall(
        f"SELECT * FROM instructions WHERE {among} ORDER BY item_id, seq", ids
    ):
        book.instructions[row["item_id"]].append(row)
    for row in await r.fetchall(f"SELECT item_id, due_on FROM item_followups WHERE {among}",
                                ids):
        book.due[row["item_id"]] = row["due_on"]
    for row in await r.fetchall(
        f"SELECT * FROM circulation WHERE {among} ORDER BY item_id, position", ids
    ):
        book.circulation[row["item_id"]].append(row)
    return book


async def year_counts(r: Reader, year: int) -> dict[str, int]:
    """Rows of each of the year's registers, by kind (办件, 阅件, 抄件, 内刊, 简报) and "sealed"."""
    out: dict[str, int] = {}
    for row in await r.fetchall(
        "SELECT kind, COUNT(*) AS n FROM register_entries WHERE year = ? GROUP BY kind", (year,)
    ):
        out[row["kind"]] = row["n"]
    for row in await r.fetchall(
        "SELECT CASE outcome WHEN 'sealed' THEN 'sealed' ELSE kind END AS sheet,"
        " COUNT(*) AS n FROM items WHERE year = ? AND (outcome = 'sealed'"
        " OR (outcome = 'register' AND kind IN ('抄件', '内刊', '简报'))) GROUP BY sheet",
        (year,),
    ):
        out[row["sheet"]] = row["n"]
    return out
