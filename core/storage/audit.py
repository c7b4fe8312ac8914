"""The append-only audit log: each entry's hash covers the previous entry's hash and the
state of the record it is about (`row_state`), as its unit of work leaves it.

What the database alone cannot prove (a tail cut off and the head rewritten, every hash
recomputed) is found against an anchor kept elsewhere: `N:HASH`, the count of entries
and the last one's hash (`head`, `anchor_problems`)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from weakref import WeakKeyDictionary

from core.clock import iso
from core.storage import json_text, row_state
from core.storage.audit_hash import GENESIS, entry_hash
from core.storage.db import Reader, Row, UnitOfWork

#: `json.dumps(detail, ensure_ascii=False, sort_keys=True, default=str)`, built once
_DETAIL_JSON = json_text.encoder(ensure_ascii=False, sort_keys=True, default=str)
#: the entries a unit of work has appended and not yet written, per unit (the unit holds
#: them only while it lives)
_pending: WeakKeyDictionary[UnitOfWork, list[tuple[str, str, str, str, str]]] = (
    WeakKeyDictionary())


async def append(
    uow: UnitOfWork,
    *,
    at: datetime,
    actor: str,
    action: str,
    subject: str,
    detail: dict[str, Any] | None = None,
) -> None:
    """Add an entry inside the caller's transaction (who, when, what, why).

    Written when the unit's work is done (so the record state it carries is the one the
    unit leaves), in the order appended. One statement each: the previous hash is read
    from the head kept in `meta` and the new hash computed by the `jiyao_audit_hash` SQL
    function the writer connection registers. Entries of one unit on the same record
    carry the same state, read once.
    """
    detail_text = _DETAIL_JSON(detail or {})
    pending = _pending.get(uow)
    if pending is None:
        pending = _pending[uow] = []

        async def write() -> None:
            del _pending[uow]  # an entry appended from now on is written by a step of its own
            await _write(uow, pending)

        uow.before_end(write)
    pending.append((iso(at), actor, action, subject, detail_text))


async def _write(uow: UnitOfWork, entries: list[tuple[str, str, str, str, str]]) -> None:
    states: dict[str, str | None] = {}
    for at, actor, action, subject, detail_text in entries:
        if subject not in states:  # audit rows are not part of any record's state
            states[subject] = await row_state.state_of(uow, subject)
        await uow.execute(
            "INSERT INTO audit (at, actor, action, subject, detail, state, prev_hash, hash)"
            " SELECT ?1, ?2, ?3, ?4, ?5, ?7, h.prev,"
            "        jiyao_audit_hash(h.prev, ?1, ?2, ?3, ?4, ?5, ?7)"
            " FROM (SELECT COALESCE((SELECT substr(value, instr(value, ':') + 1) FROM meta"
            "        WHERE key = 'audit_head'), ?6) AS prev) AS h",
            (at, actor, action, subject, detail_text, GENESIS, states[subject]),
        )


async def entries_of(conn: Reader | UnitOfWork, subject: str) -> list[Row]:
    """The entries about one subject (item:12), oldest first."""
    return await conn.fetchall(
        "SELECT id, at, actor, action, detail FROM audit WHERE subject = ? ORDER BY id",
        (subject,),
    )


#: entries fetched per hop to the reader's thread
_WALK_BATCH = 1000
_COLUMNS = "id, at, actor, action, subject, detail, state, prev_hash, hash"


@dataclass
class Walk:
    """A run along the chain: where it stands and what it found."""

    prev: str = GENESIS
    last_id: int | None = None
    count: int = 0
    problems: list[str] = field(default_factory=list)
    #: the records the entries walked carry a state of (when `collect`)
    subjects: set[str] = field(default_factory=set)
    collect: bool = True

    def step(self, row: Row) -> None:
        """One entry: its id follows the last one's, it links to it, its hash holds."""
        self.count += 1
        if self.last_id is not None and row["id"] != self.last_id + 1:
            self.problems.append(f"审计记录缺失：{self.last_id + 1}–{row['id'] - 1}")
        self.last_id = row["id"]
        if row["prev_hash"] != self.prev:
            self.problems.append(f"审计记录 {row['id']} 的前一哈希不连续（前一条被改动或删除）")
        if _digest(row) != row["hash"]:
            self.problems.append(f"审计记录 {row['id']} 内容被改动")
        self.prev = row["hash"]
        if self.collect and row["state"] is not None:
            self.subjects.add(row["subject"])


def _digest(row: Row) -> str:
    return entry_hash(row["prev_hash"], row["at"], row["actor"], row["action"], row["subject"],
                      row["detail"], row["state"])


async def _walk(reader: Reader, walk: Walk, sql: str, params: tuple[Any, ...]) -> Walk:
    async with reader.conn.execute(sql, params) as cur:
        while rows := list(await cur.fetchmany(_WALK_BATCH)):
            for row in rows:
                walk.step(row)
    return walk


async def _head_problems(reader: Reader, count: int, last: str) -> list[str]:
    head = await reader.fetchone("SELECT value FROM meta WHERE key = 'audit_head'")
    if head is not None:
        n, head_hash = head["value"].split(":", 1)
        if int(n) != count or head_hash != last:
            return [f"审计日志末尾不符：应有 {n} 条，实有 {count} 条"]
    elif count:
        return ["审计日志头记录缺失"]
    return []


async def verify(reader: Reader) -> list[str]:
    """Problems found in the whole chain (empty when intact)."""
    return (await verify_full(reader))[0]


@dataclass(frozen=True)
class Verified:
    """A chain verified up to entry `upto` (its `hash`, `count` entries up to it)."""

    upto: int
    hash: str
    count: int
    #: the records the entries read carry a state of
    subjects: set[str] = field(default_factory=set)


async def verify_full(reader: Reader) -> tuple[list[str], Verified]:
    """`verify`, and the point it reached (no subjects: a full check compares them all)."""
    walk = await _walk(reader, Walk(collect=False), f"SELECT {_COLUMNS} FROM audit ORDER BY id", ())
    problems = walk.problems + await _head_problems(reader, walk.count, walk.prev)
    return problems, Verified(walk.last_id or 0, walk.prev, walk.count, walk.subjects)


async def verify_since(reader: Reader, point: Verified) -> tuple[list[str], Verified]:
    """The chain after a point verified earlier: the point's own entry must still be
    there with the recorded hash (and hash to it), then every later entry must link on
    from it; the head's count must be the point's plus those. The entries before the
    point are not read (`verify_slice`, `verify` do)."""
    problems: list[str] = []
    if point.upto:
        row = await reader.fetchone(f"SELECT {_COLUMNS} FROM audit WHERE id = ?", (point.upto,))
        if row is None:
            problems.append(f"审计记录 {point.upto}（上次校验到的一条）已不存在")
        elif row["hash"] != point.hash or _digest(row) != point.hash:
            problems.append(f"审计记录 {point.upto}（上次校验到的一条）被改动：哈希为"
                            f" {row['hash'][:16]}…，上次校验时为 {point.hash[:16]}…")
    walk = Walk(prev=point.hash, last_id=point.upto or None)
    await _walk(reader, walk, f"SELECT {_COLUMNS} FROM audit WHERE id > ? ORDER BY id",
                (point.upto,))
    problems += walk.problems
    count = point.count + walk.count
    problems += await _head_problems(reader, count, walk.prev)
    return problems, Verified(walk.last_id or point.upto, walk.prev, count, walk.subjects)


@dataclass(frozen=True)
class Slice:
    problems: list[str]
    first: int
    last: int  # 0 when nothing was read (the next slice starts over)
    count: int
    subjects: set[str]


async def verify_slice(reader: Reader, after: int, upto: int, limit: int) -> Slice:
    """Re-verify up to `limit` old entries with ids in (after, upto], each against the
    one before it."""
    prev_row = await reader.fetchone(
        "SELECT id, hash FROM audit WHERE id <= ? ORDER BY id DESC LIMIT 1", (after,))
    walk = Walk(prev=prev_row["hash"] if prev_row else GENESIS,
                last_id=prev_row["id"] if prev_row else None)
    await _walk(reader, walk,
                f"SELECT {_COLUMNS} FROM audit WHERE id > ? AND id <= ? ORDER BY id LIMIT ?",
                (after, upto, limit))
    if prev_row is None and after > 0 and walk.count:
        walk.problems.append(f"审计记录缺失：{after} 及之前")
    first = after + 1 if walk.count else 0
    return Slice(walk.problems, first, (walk.last_id or 0) if walk.count else 0, walk.count,
                 walk.subjects)


async def head(reader: Reader) -> tuple[int, str]:
    """The chain as it stands: (count of entries, the last one's hash)."""
    row = await reader.fetchone("SELECT COUNT(*) AS n FROM audit")
    last = await reader.fetchone("SELECT hash FROM audit ORDER BY id DESC LIMIT 1")
    return (row["n"] if row else 0), (last["hash"] if last else GENESIS)


async def anchor_problems(reader: Reader, count: int, head_hash: str, *, source: str) -> list[str]:
    """What contradicts an anchor taken earlier: the chain must still hold `count` entries
    and its `count`-th must still have `head_hash` (an append-only log only grows).

    The `count`-th entry is the one with id `count`: ids run 1, 2, … with no gap in an
    intact log (a gap is what `verify` reports), so each anchor is one look-up by key."""
    if count == 0:
        return []
    row = await reader.fetchone("SELECT hash FROM audit WHERE id = ?", (count,))
    if row is None:
        n, _ = await head(reader)
        return [f"审计日志被截断：{source}记录共 {count} 条，现只有 {n} 条"]
    if row["hash"] != head_hash:
        problem = (f"审计日志被改写：{source}记录第 {count} 条的哈希为 {head_hash[:16]}…，"
                   f"现为 {row['hash'][:16]}…")
        return [problem]
    return []


#: records compared with their last logged state per round of queries
_STATE_BATCH = 500


async def state_problems(reader: Reader, subjects: Iterable[str] | None = None) -> list[str]:
    """Records whose rows differ from the state their last audit entry logged (an edit
    that bypassed jiyao): those of `subjects`, or every record the log has a state for
    (read batch by batch: a million records are never all in memory)."""
    problems: list[str] = []
    if subjects is None:
        async with reader.conn.execute(
            "SELECT subject, MAX(id) AS id, state FROM audit WHERE state IS NOT NULL"
            " GROUP BY subject ORDER BY id"
        ) as cur:
            while rows := list(await cur.fetchmany(_STATE_BATCH)):
                problems += await _compare(reader, rows)
        return problems
    wanted = sorted(set(subjects))
    latest: list[Row] = []
    for n in range(0, len(wanted), _STATE_BATCH):
        chunk = wanted[n:n + _STATE_BATCH]
        latest += await reader.fetchall(
            "SELECT subject, MAX(id) AS id, state FROM audit WHERE state IS NOT NULL"
            f" AND subject IN ({', '.join('?' * len(chunk))}) GROUP BY subject", chunk)
    latest.sort(key=lambda row: row["id"])
    for n in range(0, len(latest), _STATE_BATCH):
        problems += await _compare(reader, latest[n:n + _STATE_BATCH])
    return problems


async def _compare(reader: Reader, rows: list[Row]) -> list[str]:
    """The records of these latest state entries that no longer match them."""
    records = await row_state.records_of(reader, [row["subject"] for row in rows])
    problems = []
    for row in rows:
        record = records.get(row["subject"])
        what = row_state.changed(row["state"], record)
        if what:
            problems.append(
                f"{row_state.label(row['subject'], record)}与审计日志第 {row['id']} 条记录的"
                f"状态不符（{'、'.join(what)}被直接改动，未经 jiyao 留痕）")
    return problems
