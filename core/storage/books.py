"""SQL of the printed registers (收文登记簿): a year's entries and items with what the
flow added to them, read in a few set queries (not one query per row)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from core.storage.db import Reader, Row

#: the items of a year's registers: numbered entries' items and the unnumbered ones
_YEAR_ITEMS = (
    "SELECT item_id FROM register_entries WHERE year = ?1"
    " UNION SELECT id FROM items WHERE year = ?1 AND outcome IN ('register', 'sealed')"
)
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


async def year_book(r: Reader, year: int) -> YearBook:
    entries = await r.fetchall(
        "SELECT e.number, e.kind, e.seq, e.status, e.note, e.registered_at,"
        " n.number AS replaced_by_number, " + _ITEM_COLUMNS +
        " FROM register_entries e JOIN items i ON i.id = e.item_id"
        " LEFT JOIN register_entries n ON n.id = e.replaced_by"
        " WHERE e.year = ? ORDER BY e.kind, e.seq",
        (year,),
    )
    unnumbered = await r.fetchall(
        "SELECT " + _ITEM_COLUMNS + " FROM items i WHERE i.year = ? AND i.outcome = 'register'"
        " AND i.kind IN ('抄件', '内刊', '简报')"
        " ORDER BY i.received_at, i.id",
        (year,),
    )
    sealed = await r.fetchall(
        "SELECT " + _ITEM_COLUMNS + " FROM items i WHERE i.year = ? AND i.outcome = 'sealed'"
        " ORDER BY i.received_at, i.id",
        (year,),
    )
    book = YearBook(list(entries), list(unnumbered), list(sealed))
    for row in await r.fetchall(
        f"SELECT * FROM item_handling WHERE item_id IN ({_YEAR_ITEMS})", (year,)
    ):
        book.handling[row["item_id"]] = row
    for row in await r.fetchall(
        f"SELECT * FROM item_assignments WHERE status = 'active' AND item_id IN ({_YEAR_ITEMS})"
        " ORDER BY item_id, CASE role WHEN '主办' THEN 0 ELSE 1 END, id",
        (year,),
    ):
        book.assignments[row["item_id"]].append(row)
    for row in await r.fetchall(
        f"SELECT * FROM instructions WHERE item_id IN ({_YEAR_ITEMS}) ORDER BY item_id, seq",
        (year,),
    ):
        book.instructions[row["item_id"]].append(row)
    for row in await r.fetchall(
        f"SELECT item_id, due_on FROM item_followups WHERE item_id IN ({_YEAR_ITEMS})",
        (year,),
    ):
        book.due[row["item_id"]] = row["due_on"]
    for row in await r.fetchall(
        f"SELECT * FROM circulation WHERE item_id IN ({_YEAR_ITEMS}) ORDER BY item_id, position",
        (year,),
    ):
        book.circulation[row["item_id"]].append(row)
    return book
