"""The append-only audit log: each entry's hash covers the previous entry's hash and the
state of the record it is about (`row_state`), as its unit of work leaves it.

What the database alone cannot prove (a tail cut off and the head rewritten, every hash
recomputed) is found against an anchor kept elsewhere: `N:HASH`, the count of entries
and the last one's hash (`head`, `anchor_problems`)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from weakref import WeakKeyDictionary

from core.clock import iso
from core.storage import row_state
from core.storage.audit_hash import GENESIS, entry_hash
from core.storage.db import Reader, Row, UnitOfWork

#: `json.dumps(detail, ensure_ascii=False, sort_keys=True, default=str)`, built once
_DETAIL_JSON = json.JSONEncoder(ensure_ascii=False, sort_keys=True, default=str)
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
    detail_text = _DETAIL_JSON.encode(detail or {})
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


async def verify(reader: Reader) -> list[str]:
    """Problems found in the chain (empty when intact)."""
    problems: list[str] = []
    prev = GENESIS
    count = 0
    expected_id = None
    async with reader.conn.execute(
        "SELECT id, at, actor, action, subject, detail, state, prev_hash, hash FROM audit"
        " ORDER BY id"
    ) as cur:
        async for row in cur:
            count += 1
            if expected_id is not None and row["id"] != expected_id:
                problems.append(f"审计记录缺失：{expected_id}–{row['id'] - 1}")
            expected_id = row["id"] + 1
            if row["prev_hash"] != prev:
                problems.append(f"审计记录 {row['id']} 的前一哈希不连续（前一条被改动或删除）")
            digest = entry_hash(
                row["prev_hash"], row["at"], row["actor"], row["action"], row["subject"],
                row["detail"], row["state"],
            )
            if digest != row["hash"]:
                problems.append(f"审计记录 {row['id']} 内容被改动")
            prev = row["hash"]
    head = await reader.fetchone("SELECT value FROM meta WHERE key = 'audit_head'")
    if head is not None:
        n, last = head["value"].split(":", 1)
        if int(n) != count or last != prev:
            problems.append(f"审计日志末尾不符：应有 {n} 条，实有 {count} 条")
    elif count:
        problems.append("审计日志头记录缺失")
    return problems


async def head(reader: Reader) -> tuple[int, str]:
    """The chain as it stands: (count of entries, the last one's hash)."""
    row = await reader.fetchone("SELECT COUNT(*) AS n FROM audit")
    last = await reader.fetchone("SELECT hash FROM audit ORDER BY id DESC LIMIT 1")
    return (row["n"] if row else 0), (last["hash"] if last else GENESIS)


async def anchor_problems(reader: Reader, count: int, head_hash: str, *, source: str) -> list[str]:
    """What contradicts an anchor taken earlier: the chain must still hold `count` entries
    and its `count`-th must still have `head_hash` (an append-only log only grows)."""
    n, _ = await head(reader)
    if count == 0:
        return []
    row = await reader.fetchone(
        "SELECT hash FROM audit ORDER BY id LIMIT 1 OFFSET ?", (count - 1,))
    if row is None:
        return [f"审计日志被截断：{source}记录共 {count} 条，现只有 {n} 条"]
    if row["hash"] != head_hash:
        problem = (f"审计日志被改写：{source}记录第 {count} 条的哈希为 {head_hash[:16]}…，"
                   f"现为 {row['hash'][:16]}…")
        return [problem]
    return []


async def state_problems(reader: Reader) -> list[str]:
    """Records whose rows differ from the state their last audit entry logged (an edit
    that bypassed jiyao)."""
    latest = await reader.fetchall(
        "SELECT a.id, a.subject, a.state FROM audit AS a"
        " JOIN (SELECT MAX(id) AS id FROM audit WHERE state IS NOT NULL GROUP BY subject) AS l"
        " ON a.id = l.id ORDER BY a.id")
    problems = []
    for row in latest:
        record = await row_state.record_of(reader, row["subject"])
        what = row_state.changed(row["state"], record)
        if what:
            problems.append(
                f"{row_state.label(row['subject'], record)}与审计日志第 {row['id']} 条记录的状态"
                f"不符（{'、'.join(what)}被直接改动，未经 jiyao 留痕）")
    return problems
