"""SQL of the 政府信息公开 catalogue: candidates, 索引号, files as published, withdrawals."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from core.clock import iso
from core.storage.db import Reader, Row, UnitOfWork

Conn = Reader | UnitOfWork

#: every record with a published 主动公开 cycle, with the facts the publishable rule reads
#: and the details of its latest publication (the file's text is fetched separately)
_CANDIDATES = (
    "SELECT d.id, d.code, d.year, d.seq, d.number, d.style, d.title, d.owner, d.section,"
    " d.written_on, d.disclosure, d.carrier, d.catalogue_column, d.status, d.secrecy,"
    " t.id AS task_id, t.cycle, t.published_on, t.url,"
    " (SELECT r.result FROM secrecy_reviews r WHERE r.dispatch_id = d.id"
    "  ORDER BY r.id DESC LIMIT 1) AS review,"
    " (SELECT MAX(w.cycle) FROM site_withdrawals w WHERE w.dispatch_id = d.id)"
    "  AS withdrawn_cycle,"
    " p.topic, p.file_sha256, p.file_name, p.file_format, p.file_size,"
    " n.year AS index_year, n.seq AS index_seq"
    " FROM dispatches d"
    " JOIN disclosure_tasks t ON t.dispatch_id = d.id AND t.status = 'published'"
    "  AND t.cycle = (SELECT MAX(t2.cycle) FROM disclosure_tasks t2"
    "                 WHERE t2.dispatch_id = d.id AND t2.status = 'published')"
    " LEFT JOIN site_publications p ON p.task_id = t.id"
    " LEFT JOIN site_index_numbers n ON n.dispatch_id = d.id"
)


async def candidates(conn: Conn) -> list[Row]:
    return await conn.fetchall(_CANDIDATES + " ORDER BY d.id")


async def candidates_by_id(conn: Conn, ids: Sequence[int]) -> list[Row]:
    rows: list[Row] = []
    for start in range(0, len(ids), 500):
        chunk = list(ids[start:start + 500])
        marks = ", ".join("?" for _ in chunk)
        rows += await conn.fetchall(_CANDIDATES + f" WHERE d.id IN ({marks})", chunk)
    return rows


async def dispatch_facts(conn: Conn, dispatch_id: int) -> Row | None:
    """A record's status and attributes, whether or not it was ever published."""
    return await conn.fetchone(
        "SELECT id, number, title, status, disclosure, secrecy FROM dispatches WHERE id = ?",
        (dispatch_id,),
    )


async def file_texts(conn: Conn, task_ids: Sequence[int]) -> dict[int, str]:
    """The text layer of the files published with these cycles (those that have one)."""
    out: dict[int, str] = {}
    for start in range(0, len(task_ids), 500):
        chunk = list(task_ids[start:start + 500])
        marks = ", ".join("?" for _ in chunk)
        for row in await conn.fetchall(
            f"SELECT task_id, file_text FROM site_publications WHERE task_id IN ({marks})"
            " AND file_text IS NOT NULL",
            chunk,
        ):
            out[int(row["task_id"])] = str(row["file_text"])
    return out


async def published_files(conn: Conn) -> list[Row]:
    """Every file ever recorded as published (for the integrity check of the blob store)."""
    return await conn.fetchall(
        "SELECT task_id, file_sha256 FROM site_publications WHERE file_sha256 IS NOT NULL"
    )


# ------------------------------------------------------------------ 索引号
async def assign_index_numbers(
    uow: UnitOfWork, wanted: Sequence[tuple[int, int]], at: datetime
) -> int:
    """Give each (dispatch id, year) without a 索引号 the next number of that year.

    Inside BEGIN IMMEDIATE: two builds at once cannot take the same number, and a record
    that got one meanwhile keeps it.
    """
    given = 0
    for dispatch_id, year in wanted:
        cur = await uow.execute(
            "INSERT INTO site_index_numbers (dispatch_id, year, seq, assigned_at)"
            " SELECT ?, ?, COALESCE(MAX(seq), 0) + 1, ? FROM site_index_numbers WHERE year = ?"
            " ON CONFLICT (dispatch_id) DO NOTHING",
            (dispatch_id, year, iso(at), year),
        )
        given += max(cur.rowcount, 0)
    return given


async def index_numbers(conn: Conn, ids: Sequence[int]) -> dict[int, tuple[int, int]]:
    out: dict[int, tuple[int, int]] = {}
    for start in range(0, len(ids), 500):
        chunk = list(ids[start:start + 500])
        marks = ", ".join("?" for _ in chunk)
        for row in await conn.fetchall(
            f"SELECT dispatch_id, year, seq FROM site_index_numbers WHERE dispatch_id IN ({marks})",
            chunk,
        ):
            out[int(row["dispatch_id"])] = (int(row["year"]), int(row["seq"]))
    return out


async def index_problems(conn: Conn) -> list[str]:
    """Every year's 索引号 must run 1..n."""
    rows = await conn.fetchall(
        "SELECT year, COUNT(*) AS n, MIN(seq) AS lo, MAX(seq) AS hi FROM site_index_numbers"
        " GROUP BY year"
    )
    return [
        f"{row['year']}年索引号不连续：{row['n']} 条，序号 {row['lo']}–{row['hi']}"
        for row in rows
        if not (row["lo"] == 1 and row["hi"] == row["n"])
    ]


# ------------------------------------------------------------------ publication details
@dataclass(frozen=True)
class PublishedFile:
    sha256: str
    name: str
    format: str  # "pdf" | "ofd"
    size: int
    text: str | None


async def record_publication(
    uow: UnitOfWork,
    task_id: int,
    *,
    topic: str | None,
    file: PublishedFile | None,
    at: datetime,
    by: str,
) -> None:
    await uow.execute(
        "INSERT INTO site_publications (task_id, topic, file_sha256, file_name, file_format,"
        " file_size, file_text, recorded_at, recorded_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (task_id, topic, file.sha256 if file else None, file.name if file else None,
         file.format if file else None, file.size if file else None,
         file.text if file else None, iso(at), by),
    )


# ------------------------------------------------------------------ 撤回
async def add_withdrawal(
    uow: UnitOfWork, dispatch_id: int, cycle: int, *, reason: str, at: datetime, by: str
) -> int:
    return await uow.insert(
        "INSERT INTO site_withdrawals (dispatch_id, cycle, reason, at, by)"
        " VALUES (?, ?, ?, ?, ?)",
        (dispatch_id, cycle, reason, iso(at), by),
    )


# ------------------------------------------------------------------ statistics span
async def first_disclosure_day(conn: Conn) -> str | None:
    """The earliest day a 主动公开 record was formed or published (YYYY-MM-DD), or None."""
    row = await conn.fetchone(
        "SELECT MIN(day) AS first FROM ("
        " SELECT COALESCE(written_on, substr(taken_at, 1, 10)) AS day FROM dispatches"
        "  WHERE status = 'active' AND disclosure = '主动公开'"
        " UNION ALL SELECT published_on FROM disclosure_tasks WHERE status = 'published')"
    )
    return str(row["first"]) if row and row["first"] else None
