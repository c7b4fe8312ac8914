"""SQL of items: the item rows, their attachments, search text and counters, and the
look-ups over them. Services call these inside a unit of work or a reader."""

from __future__ import annotations

import json
import operator
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from core.clock import iso
from core.model import Outcome
from core.storage import json_text
from core.storage.db import Reader, Row, UnitOfWork

Conn = Reader | UnitOfWork


@dataclass(slots=True)  # not frozen: that __init__ sets each field by object.__setattr__
class NewItem:
    received_at: datetime
    year: int
    month: int
    channel: str
    outcome: str
    created_by: str
    kind: str | None = None
    reason: str | None = None
    sender: str | None = None
    doc_number: str | None = None
    doc_type: str | None = None
    secrecy: str | None = None
    urgency: str | None = None
    title: str | None = None
    envelope_no: str | None = None
    issue_no: str | None = None
    rule: str | None = None
    evidence: str | None = None
    message_id: str | None = None
    content_sha256: str | None = None
    raw_blob: str | None = None
    from_address: str | None = None
    subject: str | None = None
    fax_remote_id: str | None = None
    deadline: str | None = None
    # 份号, 签发人, 主送, 抄送, 成文日期 (YYYY-MM-DD), 附件说明
    copy_no: str | None = None
    signer: str | None = None
    addressees: str | None = None
    cc: str | None = None
    written_on: str | None = None
    attachment_note: str | None = None
    flags: str = ""
    findings: list[dict[str, str]] = field(default_factory=list)
    text: str = ""
    # how the sender reached us (SMTP envelope, peer, AUTH user, TLS)
    mail_from: str | None = None
    rcpt_tos: list[str] | None = None
    peer: str | None = None
    auth_user: str | None = None
    tls: bool = False
    tls_client: str | None = None


_ITEM_COLUMNS = (
    "received_at", "year", "month", "channel", "outcome", "kind", "reason", "sender",
    "doc_number", "doc_type", "secrecy", "urgency", "title", "envelope_no", "issue_no", "rule",
    "evidence", "message_id", "content_sha256", "raw_blob", "from_address", "subject",
    "fax_remote_id", "deadline", "flags", "findings", "created_by",
    "mail_from", "rcpt_tos", "peer", "auth_user", "tls", "tls_client", "decided_at",
    "copy_no", "signer", "addressees", "cc", "written_on", "attachment_note",
)


#: the columns `insert_item` computes; the others are the NewItem's fields of their name
_COMPUTED = ("received_at", "findings", "rcpt_tos", "tls", "decided_at")
_COPIED = tuple(c for c in _ITEM_COLUMNS if c not in _COMPUTED)
#: the copied columns first, in one C call (not a getattr per column)
_copied = operator.attrgetter(*_COPIED)
_INSERT_ITEM = (f"INSERT INTO items ({', '.join(_COPIED + _COMPUTED)})"
                f" VALUES ({', '.join('?' for _ in _ITEM_COLUMNS)})")
#: `json.dumps(value, ensure_ascii=False)`, the encoder built once
_FINDINGS_JSON = json_text.encoder(ensure_ascii=False)


async def insert_item(uow: UnitOfWork, item: NewItem) -> int:
    received_at = iso(item.received_at)
    item_id = await uow.insert(_INSERT_ITEM, (
        *_copied(item),
        received_at,
        _FINDINGS_JSON(item.findings) if item.findings else "[]",
        json.dumps(item.rcpt_tos) if item.rcpt_tos is not None else None,
        int(item.tls),
        # an item made decided (paper, or a test's) is decided when it is made
        None if item.outcome == Outcome.RECEIVED else received_at,
    ))
    # the counter and the search row come from the items_after_insert trigger
    if item.text:
        await index_text(uow, item_id, title=item.title, body=item.text)
    return item_id


async def index_text(uow: UnitOfWork, item_id: int, *, title: str | None, body: str) -> None:
    """The item's search row: its title and document text, and the ends of both that
    `search` of a two-character word looks up (lower-cased as LIKE compares)."""
    title = title or ""
    await uow.execute(
        "UPDATE item_text SET title = ?, body = ? WHERE rowid = ?", (title, body, item_id)
    )
    await uow.execute(
        "UPDATE item_text_ends SET title_end = lower(substr(?, -2)),"
        " body_end = lower(substr(?, -2)) WHERE item_id = ?",
        (title, body, item_id),
    )


async def bump_count(
    uow: UnitOfWork, year: int, month: int, kind: str, outcome: str, delta: int
) -> None:
    await uow.execute(
        "INSERT INTO item_counts (year, month, kind, outcome, n) VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT (year, month, kind, outcome) DO UPDATE SET n = n + excluded.n",
        (year, month, kind, outcome, delta),
    )


async def update_item_class(
    uow: UnitOfWork, item: Row, *, kind: str | None, outcome: str, reason: str | None = None
) -> None:
    """Change an item's kind/outcome and move it between counters."""
    await uow.execute(
        "UPDATE items SET kind = ?, outcome = ?, reason = ? WHERE id = ?",
        (kind, outcome, reason, item["id"]),
    )
    await bump_count(uow, item["year"], item["month"], item["kind"] or "", item["outcome"], -1)
    await bump_count(uow, item["year"], item["month"], kind or "", outcome, +1)


async def get_item(conn: Conn, item_id: int) -> Row | None:
    return await conn.fetchone("SELECT * FROM items WHERE id = ?", (item_id,))


@dataclass(frozen=True)
class NewAttachment:
    filename: str | None
    content_type: str | None
    sha256: str
    size: int
    status: str
    #: what OCR read of it, per page (core.reading.doubts.Confidence.pages); None: no OCR
    ocr: list[dict[str, Any]] | None = None


async def insert_attachments(
    uow: UnitOfWork, item_id: int, attachments: Sequence[NewAttachment]
) -> None:
    for idx, a in enumerate(attachments):
        ocr = json.dumps({"pages": a.ocr}, ensure_ascii=False) if a.ocr is not None else None
        await uow.execute(
            "INSERT INTO attachments"
            " (item_id, idx, filename, content_type, sha256, size, status, ocr)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (item_id, idx, a.filename, a.content_type, a.sha256, a.size, a.status, ocr),
        )


async def text_of(conn: Conn, item_id: int) -> str:
    """The item's document text as search holds it ("" for a sealed item)."""
    row = await conn.fetchone("SELECT body FROM item_text WHERE rowid = ?", (item_id,))
    return str(row["body"]) if row is not None and row["body"] else ""


async def attachments_of(conn: Conn, item_id: int) -> list[Row]:
    return await conn.fetchall(
        "SELECT * FROM attachments WHERE item_id = ? ORDER BY idx", (item_id,)
    )


# ------------------------------------------------------------------ identity
async def find_same(conn: Conn, message_id: str | None, digest: str) -> Row | None:
    """The item of the same delivery: same Message-ID (or none) and content hash."""
    if message_id is None:
        return await conn.fetchone(
            "SELECT * FROM items WHERE message_id IS NULL AND content_sha256 = ? LIMIT 1",
            (digest,),
        )
    return await conn.fetchone(
        "SELECT * FROM items WHERE message_id = ? AND content_sha256 = ? LIMIT 1",
        (message_id, digest),
    )


async def same_delivery(
    conn: Conn, message_id: str | None, digest: str
) -> tuple[Row | None, bool]:
    """In one look-up: the item of the same delivery (`find_same`), and whether the
    Message-ID is already used (by this delivery or another message)."""
    if message_id is None:
        return await find_same(conn, None, digest), False
    row = await conn.fetchone(
        "SELECT * FROM items WHERE message_id = ? ORDER BY content_sha256 = ? DESC, id"
        " LIMIT 1",
        (message_id, digest),
    )
    if row is None:
        return None, False
    return (row, True) if row["content_sha256"] == digest else (None, True)


async def envelope_used(conn: Conn, envelope_no: str) -> bool:
    """签收过: an item with this envelope number was received and not returned.

    A returned envelope was never signed for; its corrected resend may carry it again.
    """
    row = await conn.fetchone(
        "SELECT 1 FROM items WHERE envelope_no = ? AND outcome != ? LIMIT 1",
        (envelope_no, Outcome.RETURN.value),
    )
    return row is not None


# ------------------------------------------------------------------ listings and counts
async def listing(
    conn: Conn, *, outcome: str | None = None, since: datetime | None = None,
    limit: int | None = None,
) -> list[Row]:
    """What came in, oldest first: items with their active register number."""
    sql = (
        "SELECT i.id, i.message_id, i.received_at, i.channel, i.outcome, i.kind, i.reason,"
        " e.number, i.sender, i.doc_number, i.doc_type, i.title, i.secrecy, i.urgency,"
        " i.envelope_no, i.fax_remote_id, i.from_address, i.deadline, i.flags, i.rule,"
        " i.copy_no, i.signer, i.addressees, i.cc, i.written_on, i.attachment_note,"
        " i.decided_at, i.numbered_at, i.attempts, i.last_error"
        " FROM items i LEFT JOIN register_entries e"
        " ON e.item_id = i.id AND e.status = 'active'"
    )
    where: list[str] = []
    params: list[Any] = []
    if outcome is not None:
        where.append("i.outcome = ?")
        params.append(outcome)
    if since is not None:
        where.append("i.received_at >= ?")
        params.append(iso(since.astimezone(UTC)))
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY i.id"
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    return await conn.fetchall(sql, params)


async def counts(conn: Conn, year: int, month: int | None = None) -> list[Row]:
    """(kind, outcome, n) from the counters of a year or one of its months."""
    sql = "SELECT kind, outcome, SUM(n) AS n FROM item_counts WHERE year = ?"
    params: list[Any] = [year]
    if month is not None:
        sql += " AND month = ?"
        params.append(month)
    sql += " GROUP BY kind, outcome"
    return await conn.fetchall(sql, params)


async def registrations(conn: Conn, year: int) -> int:
    """Items registered in a year (from the counters)."""
    row = await conn.fetchone(
        "SELECT COALESCE(SUM(n), 0) AS n FROM item_counts WHERE year = ? AND outcome = ?",
        (year, Outcome.REGISTER.value),
    )
    return int(row["n"]) if row else 0


async def received_between(conn: Conn, start: datetime, end: datetime) -> list[Row]:
    """Items received in [start, end): kind, outcome and how many, for the digest."""
    return await conn.fetchall(
        "SELECT kind, outcome, COUNT(*) AS n FROM items WHERE received_at >= ? AND received_at < ?"
        " GROUP BY kind, outcome",
        (iso(start), iso(end)),
    )


async def blob_digests(conn: Conn) -> list[str]:
    """Every blob the items refer to: raw messages and attachments (not the raw bytes
    still staged in `raw_staged`, which are not in the blob store yet)."""
    rows = await conn.fetchall(
        "SELECT raw_blob AS d FROM items WHERE raw_blob IS NOT NULL"
        " AND id NOT IN (SELECT item_id FROM raw_staged)"
        " UNION SELECT sha256 FROM attachments"
    )
    return [str(row["d"]) for row in rows]


# ------------------------------------------------------------------ staged raw bytes


async def stage_raw(uow: UnitOfWork, item_id: int, raw: bytes) -> None:
    """Keep an accepted message's bytes with its row, until the pipeline files them."""
    await uow.execute("INSERT INTO raw_staged (item_id, raw) VALUES (?, ?)", (item_id, raw))


async def staged_raw(conn: Conn, item_id: int) -> bytes | None:
    row = await conn.fetchone("SELECT raw FROM raw_staged WHERE item_id = ?", (item_id,))
    return bytes(row["raw"]) if row is not None else None


async def drop_staged(uow: UnitOfWork, item_id: int) -> None:
    """The bytes are in the blob store now (durably): the staged copy goes."""
    await uow.execute("DELETE FROM raw_staged WHERE item_id = ?", (item_id,))


async def staged_items(conn: Conn) -> list[Row]:
    """(item_id, raw_blob) of every item whose raw bytes are still staged."""
    return await conn.fetchall(
        "SELECT s.item_id, i.raw_blob FROM raw_staged s JOIN items i ON i.id = s.item_id"
        " ORDER BY s.item_id"
    )


async def blob_ids(conn: Conn) -> tuple[int, int]:
    """The last items.id and attachments rowid: where a full blob check reaches. Items
    from the first whose raw bytes are still staged on are not reached yet: their blobs
    are checked once the pipeline has filed them."""
    row = await conn.fetchone(
        "SELECT MIN((SELECT COALESCE(MAX(id), 0) FROM items),"
        "           COALESCE((SELECT MIN(item_id) - 1 FROM raw_staged), 1 << 62)) AS items,"
        " (SELECT COALESCE(MAX(rowid), 0) FROM attachments) AS attachments")
    return (row["items"], row["attachments"]) if row else (0, 0)


async def item_blobs(conn: Conn, after: int, upto: int | None = None,
                     limit: int = -1) -> list[tuple[int, str]]:
    """(items.id, raw blob) of the items after `after` (up to `upto`), in id order."""
    rows = await conn.fetchall(
        "SELECT id, raw_blob FROM items WHERE id > ? AND id <= COALESCE(?, id)"
        " AND raw_blob IS NOT NULL AND id NOT IN (SELECT item_id FROM raw_staged)"
        " ORDER BY id LIMIT ?", (after, upto, limit))
    return [(row["id"], str(row["raw_blob"])) for row in rows]


async def attachment_blobs(conn: Conn, after: int, upto: int | None = None,
                           limit: int = -1) -> list[tuple[int, str]]:
    """(rowid, sha256) of the attachments after rowid `after` (up to `upto`)."""
    rows = await conn.fetchall(
        "SELECT rowid AS r, sha256 FROM attachments WHERE rowid > ?"
        " AND rowid <= COALESCE(?, rowid) ORDER BY rowid LIMIT ?", (after, upto, limit))
    return [(row["r"], str(row["sha256"])) for row in rows]


async def blobs_of(conn: Conn, item_ids: Sequence[int]) -> list[str]:
    """The blobs of these items: raw messages and attachments."""
    out: list[str] = []
    for n in range(0, len(item_ids), 500):
        chunk = list(item_ids[n:n + 500])
        marks = ", ".join("?" * len(chunk))
        rows = await conn.fetchall(
            f"SELECT raw_blob AS d FROM items WHERE id IN ({marks}) AND raw_blob IS NOT NULL"
            " AND id NOT IN (SELECT item_id FROM raw_staged)"
            f" UNION SELECT sha256 FROM attachments WHERE item_id IN ({marks})", chunk * 2)
        out += [str(row["d"]) for row in rows]
    return out


# ------------------------------------------------------------------ look-ups
async def review_items(conn: Conn, limit: int) -> list[Row]:
    return await conn.fetchall(
        "SELECT * FROM items WHERE outcome = 'review' ORDER BY received_at, id LIMIT ?",
        (limit,),
    )


async def first_attachment(conn: Conn, item_id: int) -> Row | None:
    """The document to attach to a push: the first readable part that is not a manifest."""
    return await conn.fetchone(
        "SELECT * FROM attachments WHERE item_id = ? AND status IN ('ok', 'image')"
        " AND COALESCE(filename, '') NOT LIKE '%.json' ORDER BY idx LIMIT 1",
        (item_id,),
    )


async def archive_items(conn: Conn, year: int) -> list[Row]:
    """A year's accepted items (registered or sealed) for the archive hand-over, in the
    order received, with their active register number."""
    return await conn.fetchall(
        "SELECT i.*, e.number FROM items i LEFT JOIN register_entries e"
        " ON e.item_id = i.id AND e.status = 'active'"
        " WHERE i.year = ? AND i.outcome IN ('register', 'sealed')"
        " ORDER BY i.received_at, i.id",
        (year,),
    )


def _fts_phrase(keyword: str) -> str:
    """An FTS5 phrase query for the keyword, quotes doubled."""
    return '"' + keyword.replace('"', '""') + '"'


#: the trigram tokenizer matches only terms of 3 characters or more
TRIGRAM_MIN = 3


#: /find's order: newest received first, ties by id (the later entered first)
_NEWEST = "ORDER BY i.received_at DESC, i.id DESC"
#: items newer than the k-th newest match probed one by one at most; past it the
#: matches entered before the first k are read from the index instead (a rare word)
LATE_PROBE_MAX = 20_000
#: matches read by id first, per match asked for
HEAD_TIMES = 2


async def search(conn: Conn, keyword: str, limit: int) -> list[Row]:
    """Items whose title or document text holds `keyword`, the `limit` newest first
    (received_at, then id, descending).

    FTS5 trigram for keywords of 3+ characters; shorter ones (common in Chinese: 防汛,
    财政) fall back to LIKE over the same table. Neither materialises every match: see
    `_newest_fts` and `_newest_like`.
    """
    if limit <= 0:
        return []
    if len(keyword) >= TRIGRAM_MIN:
        ids = await _newest_fts(conn, _fts_phrase(keyword), limit)
    else:
        ids = await _newest_like(conn, keyword, limit)
    if not ids:
        return []
    marks = ", ".join("?" for _ in ids)
    return await conn.fetchall(
        "SELECT i.id, i.received_at, i.kind, i.outcome, i.sender, i.doc_number, i.title,"
        " i.secrecy, i.urgency, e.number FROM items i LEFT JOIN register_entries e"
        f" ON e.item_id = i.id AND e.status = 'active' WHERE i.id IN ({marks}) {_NEWEST}",
        ids,
    )


def _like_pattern(keyword: str) -> str:
    return "%" + keyword.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _newest(rows: Sequence[Row], limit: int) -> list[int]:
    ranked = sorted(rows, key=lambda x: (x["received_at"], x["id"]), reverse=True)
    return [int(x["id"]) for x in ranked[:limit]]


async def _newest_fts(conn: Conn, phrase: str, limit: int) -> list[int]:
    """The newest `limit` matches of an FTS5 phrase without sorting all of them.

    FTS5 walks matches by rowid (the item id) descending and stops after HEAD_TIMES ×
    `limit` (the head). Ids follow entry, not receipt: a paper item is entered with its
    earlier received date (registry.register_paper), so an item entered before the
    head (smaller id) can still be received after the head's k-th newest. A match
    outside the head that belongs in the newest `limit` ranks above that k-th, so,
    having a smaller id, it is received strictly after it: one of the items received
    after the k-th, few for a common word (probed one by one), many for a rare one,
    whose matches are then few (read from the index and filtered).
    """
    head = await conn.fetchall(
        "SELECT id, received_at FROM items WHERE id IN (SELECT rowid FROM item_text"
        " WHERE item_text MATCH ? ORDER BY rowid DESC LIMIT ?)",
        (phrase, HEAD_TIMES * limit),
    )
    if len(head) < HEAD_TIMES * limit:  # every match is here
        return _newest(head, limit)
    # the k-th newest of the head: a paper item entered late among the newest ids would
    # put the least received of them far back
    kth = sorted((x["received_at"] for x in head), reverse=True)[limit - 1]
    below = min(int(x["id"]) for x in head)
    newer = await conn.fetchone(
        "SELECT COUNT(*) AS n FROM (SELECT 1 FROM items WHERE received_at > ? LIMIT ?)",
        (kth, LATE_PROBE_MAX + 1),
    )
    if newer is not None and int(newer["n"]) <= LATE_PROBE_MAX:
        late = await conn.fetchall(
            "SELECT i.id, i.received_at FROM items i INDEXED BY items_received"
            " WHERE i.received_at > ?1 AND i.id < ?2"
            " AND EXISTS (SELECT 1 FROM item_text WHERE item_text MATCH ?3"
            " AND rowid = i.id)",
            (kth, below, phrase),
        )
    else:
        late = await conn.fetchall(
            "SELECT id, received_at FROM items WHERE +received_at > ?1 AND id IN ("
            "SELECT rowid FROM item_text WHERE item_text MATCH ?3 AND rowid < ?2)",
            (kth, below, phrase),
        )
    return _newest([*head, *late], limit)


#: a two-character word with fewer occurrences in the trigram index (followed by another
#: character) is read from the index alone; a more common one first walks the newest
#: LIKE_WALK items, then turns to the index
FEW_OCCURRENCES = 5_000
LIKE_WALK = 10_000
#: candidates from the index whose text is read at once
_VERIFY_CHUNK = 256
#: the largest code point: the upper end of the terms that start with a word
_LAST_CHAR = "\U0010ffff"


def _ascii_lower(text: str) -> str:
    return "".join(ch.lower() if ch.isascii() else ch for ch in text)


def _indexed_pair(keyword: str) -> bool:
    """A two-character word whose folding by the trigram index is LIKE's (ASCII
    lower-casing): ASCII and characters without case (CJK, digits, punctuation)."""
    return len(keyword) == 2 and all(
        ch.isascii() or ch.lower() == ch == ch.upper() for ch in keyword
    )


async def _newest_like(conn: Conn, keyword: str, limit: int) -> list[int]:
    """The newest `limit` items whose title or text is LIKE '%keyword%'.

    A two-character word is found from the index: every occurrence followed by another
    character of its column starts a trigram term (item_text_terms), and the others end
    their column (item_text_ends); these candidates, newest first, are read until
    `limit` hold the word. A common one (FEW_OCCURRENCES or more) first walks the newest
    LIKE_WALK items on the received_at index, reading each one's text, and usually ends
    there. A one-character word (or one the trigram index folds otherwise than LIKE)
    walks on through every item, as before.
    """
    pattern = _like_pattern(keyword)
    like = "(t.title LIKE ?1 ESCAPE '\\' OR t.body LIKE ?1 ESCAPE '\\')"
    pair = _indexed_pair(keyword)
    first = _ascii_lower(keyword)
    terms = (first, first + _LAST_CHAR)
    floor = None
    if pair:
        few = await conn.fetchone(
            "SELECT COUNT(*) AS n FROM (SELECT 1 FROM item_text_terms"
            " WHERE term >= ? AND term <= ? LIMIT ?)",
            (*terms, FEW_OCCURRENCES),
        )
        if few is not None and int(few["n"]) < FEW_OCCURRENCES:
            return await _newest_indexed(conn, pattern, like, terms, limit)
        # the walk ends at the LIKE_WALK-th newest item
        row = await conn.fetchone(
            "SELECT received_at FROM items ORDER BY received_at DESC, id DESC LIMIT 1 OFFSET ?",
            (LIKE_WALK,),
        )
        floor = row["received_at"] if row is not None else None
    rows = await conn.fetchall(
        "SELECT i.id, i.received_at FROM items i CROSS JOIN item_text t ON t.rowid = i.id"
        f" WHERE i.received_at >= ?3 AND {like} {_NEWEST} LIMIT ?2",
        (pattern, limit, floor or ""),
    )
    if len(rows) == limit or floor is None:  # or the walk went through every item
        return [int(x["id"]) for x in rows]
    return await _newest_indexed(conn, pattern, like, terms, limit)


async def _newest_indexed(
    conn: Conn, pattern: str, like: str, terms: tuple[str, str], limit: int
) -> list[int]:
    """The candidates of a two-character word from the index, newest first, read until
    `limit` hold it."""
    first = terms[0]
    candidates = await conn.fetchall(
        "SELECT i.id FROM items i WHERE i.id IN ("
        " SELECT doc FROM item_text_terms WHERE term >= ?1 AND term <= ?2"
        " UNION SELECT item_id FROM item_text_ends WHERE title_end = ?3"
        " UNION SELECT item_id FROM item_text_ends WHERE body_end = ?3)"
        f" {_NEWEST}",
        (*terms, first),
    )
    found: list[int] = []
    for start in range(0, len(candidates), _VERIFY_CHUNK):
        chunk = [int(x["id"]) for x in candidates[start:start + _VERIFY_CHUNK]]
        marks = ", ".join("?" for _ in chunk)
        held = {int(x["id"]) for x in await conn.fetchall(
            f"SELECT i.id FROM items i CROSS JOIN item_text t ON t.rowid = i.id"
            f" WHERE i.id IN ({marks}) AND {like.replace('?1', '?')}",
            [*chunk, pattern, pattern],
        )}
        found += [x for x in chunk if x in held]
        if len(found) >= limit:
            break
    return found[:limit]
