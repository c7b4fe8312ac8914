"""Benchmark: durable registrations/s through the service layer vs raw sqlite3, and counts latency.

Prints: raw INSERT+COMMIT rate with the same pragmas on the same disk, the service rate
(register_paper: item row, register number, counters, FTS row, audit entry, one fsync'd
commit), their ratio (target ≥ 30%), and `counts` p50/p95 on a registry seeded with
1,000,000 items (target p95 < 50 ms).

    .venv/bin/python bench/registers.py [--n 500] [--items 1000000]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.config import Storage, load_settings
from core.model import Kind
from core.services import registry
from core.services.context import open_context
from core.storage.db import PRAGMAS

ROOT = Path(__file__).resolve().parents[1]


def raw_rate(path: Path, n: int) -> float:
    conn = sqlite3.connect(path, isolation_level=None)
    for p in PRAGMAS:
        conn.execute(p)
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, received_at TEXT, sender TEXT,"
                 " title TEXT, kind TEXT, seq INTEGER)")
    start = time.perf_counter()
    for i in range(n):
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(
            "INSERT INTO t (received_at, sender, title, kind, seq) VALUES (?,?,?,?,?)",
            (datetime.now(UTC).isoformat(), "康定市人民政府", f"关于测试的请示{i}", "办件", i),
        )
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - start
    conn.close()
    return n / elapsed


async def service_rate(data_dir: Path, n: int, callers: int = 1) -> float:
    """Registrations/s with `callers` concurrent tasks (as the SMTP edge has connections)."""
    settings = load_settings(ROOT / "config.example.toml")
    s = settings.model_copy(update={"storage": Storage(data_dir=data_dir)})
    ctx = await open_context(s)

    async def caller(k: int) -> None:
        for i in range(k, n, callers):
            await registry.register_paper(ctx, kind=Kind.BAN, sender="康定市人民政府",
                                          title=f"关于测试的请示{i}")

    try:
        start = time.perf_counter()
        await asyncio.gather(*(caller(k) for k in range(callers)))
        rate = n / (time.perf_counter() - start)
        async with ctx.db.reader() as r:
            row = await r.fetchone("SELECT COUNT(*) AS n, MAX(seq) AS hi FROM register_entries")
        assert row is not None
        assert row["n"] == row["hi"] == n, "every registration durable and numbered"
        return rate
    finally:
        await ctx.db.close()


def seed(db: Path, total: int) -> None:
    """Bulk-load `total` items spread over 2024–2026 (the items trigger keeps the counters
    and the search rows, as for items registered one by one)."""
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("BEGIN")
    kinds = ["办件", "阅件", "抄件", "内刊", "简报"]
    batch = []
    for i in range(total):
        year = 2024 + i % 3
        month = 1 + (i // 3) % 12
        kind = kinds[i % 5]
        batch.append((f"{year}-{month:02d}-01T00:00:00+00:00", year, month, "email", "register",
                      kind, "康定市人民政府", f"标题{i}", "bench"))
        if len(batch) == 50_000:
            conn.executemany(
                "INSERT INTO items (received_at, year, month, channel, outcome, kind, sender,"
                " title, created_by) VALUES (?,?,?,?,?,?,?,?,?)", batch)
            batch.clear()
    if batch:
        conn.executemany(
            "INSERT INTO items (received_at, year, month, channel, outcome, kind, sender,"
            " title, created_by) VALUES (?,?,?,?,?,?,?,?,?)", batch)
    conn.execute("COMMIT")
    conn.close()


async def counts_latency(data_dir: Path, calls: int) -> tuple[float, float, int]:
    settings = load_settings(ROOT / "config.example.toml")
    s = settings.model_copy(update={"storage": Storage(data_dir=data_dir)})
    ctx = await open_context(s)
    try:
        lat = []
        total = 0
        for i in range(calls):
            month = None if i % 2 else 1 + i % 12
            t0 = time.perf_counter()
            c = await registry.counts(ctx, year=2024 + i % 3, month=month)
            lat.append((time.perf_counter() - t0) * 1000)
            if month is None:
                total = max(total, sum(c.by_kind.values()))
        lat.sort()
        return statistics.median(lat), lat[int(len(lat) * 0.95) - 1], total
    finally:
        await ctx.db.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=500, help="registrations per measurement")
    ap.add_argument("--items", type=int, default=1_000_000, help="items seeded for counts")
    args = ap.parse_args()
    out = ROOT / "bench" / "out"
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out))
    try:
        raw = raw_rate(tmp / "raw.db", args.n)
        seq = asyncio.run(service_rate(tmp / "svc1", args.n))
        par = asyncio.run(service_rate(tmp / "svc16", args.n * 2, callers=16))
        print(f"raw sqlite3 INSERT+COMMIT (WAL, synchronous=FULL), one at a time: {raw:8.1f} /s")
        print(f"service register_paper, one caller (1 commit each):             {seq:8.1f} /s"
              f"  = {seq / raw:.0%} of raw")
        print(f"service register_paper, 16 concurrent callers (group commit):   {par:8.1f} /s"
              f"  = {par / raw:.0%} of raw (target ≥ 30%)")
        big = tmp / "big"
        asyncio.run(service_rate(big, 1))  # creates and migrates the schema
        t0 = time.perf_counter()
        seed(big / "jiyao.db", args.items)
        print(f"seeded {args.items:,} items in {time.perf_counter() - t0:.1f} s")
        p50, p95, per_year = asyncio.run(counts_latency(big, 400))
        print(f"counts latency over {args.items:,} items: p50 {p50:.2f} ms, p95 {p95:.2f} ms"
              f" (target p95 < 50 ms; largest year holds {per_year:,} items)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
