"""The append-only audit log: each entry's hash covers the previous entry's hash."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from core.clock import iso
from core.storage.audit_hash import GENESIS, entry_hash
from core.storage.db import Reader, Row, UnitOfWork


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

    One statement: the previous hash is read from the head kept in `meta` and the new
    hash computed by the `jiyao_audit_hash` SQL function the writer connection registers.
    """
    await uow.execute(
        "INSERT INTO audit (at, actor, action, subject, detail, prev_hash, hash)"
        " SELECT ?1, ?2, ?3, ?4, ?5, h.prev, jiyao_audit_hash(h.prev, ?1, ?2, ?3, ?4, ?5)"
        " FROM (SELECT COALESCE((SELECT substr(value, instr(value, ':') + 1) FROM meta"
        "        WHERE key = 'audit_head'), ?6) AS prev) AS h",
        (iso(at), actor, action, subject,
         json.dumps(detail or {}, ensure_ascii=False, sort_keys=True, default=str), GENESIS),
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
        "SELECT id, at, actor, action, subject, detail, prev_hash, hash FROM audit ORDER BY id"
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
                row["detail"],
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
