"""Benchmark: `jiyao check` and `jiyao audit verify`, full against incremental, on a large
registry.

    nice -n 10 .venv/bin/python bench/integrity.py --items 100000      # 3 rounds
    .venv/bin/python bench/integrity.py --items 1000000 --full-rounds 1 --no-parts
    .venv/bin/python bench/integrity.py --items 2000 --rounds 1        # quick look

Seeding writes straight to SQLite (one transaction per 10,000 items, synchronous off)
what the services would leave: per item a row in `items` with a unique raw message
(~2 KB) in the blob store, a register entry, and two audit entries (received, registered)
carrying the record state, hash-chained as `audit.append` chains them; the register
counters at the end. The first `check` after seeding is a full one (nothing to start
from), so the verified points are set before the clock starts.

Each round: full `check --full`; then a day's intake (--day new items, seeded the same
way) and an incremental `check`; then `audit verify --full`; then a day's intake and an
incremental `audit verify`. The ratio is full/incremental in the same round. The database
and blobs are in the page cache (warm): the figures are CPU and SQLite, not disk.
The data directory is under /tmp and removed at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.config import Storage, load_settings  # noqa: E402 - after the path set-up above
from core.files import loose_modes  # noqa: E402
from core.services import admin  # noqa: E402
from core.services.context import Context, open_context  # noqa: E402
from core.storage import audit, maintenance, registers  # noqa: E402
from core.storage.audit_hash import GENESIS, entry_hash  # noqa: E402
from core.storage.db import DB_FILE  # noqa: E402
from core.storage.row_state import DISPATCH_FIELDS, ENTRY_FIELDS, ITEM_FIELDS, fingerprint  # noqa: E402

SENDER = "康定市人民政府"
CHUNK = 10_000
YEARS = 10
BODY = ("根据省人民政府办公厅通知精神，现就做好年度防汛抗旱工作有关事项通知如下。" * 12)

_ = DISPATCH_FIELDS  # the bench seeds no dispatches


def _record(row: dict[str, Any], entries: list[dict[str, Any]]) -> str:
    record = {k: row[k] for k in ITEM_FIELDS} | {"entries": entries}
    return json.dumps(fingerprint(record), sort_keys=True)


def seed(data_dir: Path, n: int) -> float:
    """Add `n` items after those there; the seconds it took."""
    t0 = time.perf_counter()
    blob_root = data_dir / "blobs"
    conn = sqlite3.connect(data_dir / DB_FILE, isolation_level=None)
    conn.execute("PRAGMA synchronous=OFF")
    first = conn.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM items").fetchone()[0]
    first_entry = conn.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM register_entries"
                               ).fetchone()[0]
    head = conn.execute("SELECT value FROM meta WHERE key = 'audit_head'").fetchone()
    prev = head[0].split(":", 1)[1] if head else GENESIS
    seqs = {(k, y): last for k, y, last in conn.execute(
        "SELECT kind, year, last FROM register_seq")}
    per_year = max(1, (first + n) // YEARS)
    item_cols = [*ITEM_FIELDS, "year", "month", "outcome", "created_by", "id"]
    entry_cols = ["id", "item_id", "kind", "year", "seq", "number", "registered_at", "status"]
    for start in range(0, n, CHUNK):
        items_rows, entry_rows, audit_rows = [], [], []
        for i in range(first + start, first + min(n, start + CHUNK)):
            year = 2017 + min(YEARS - 1, (i - 1) // per_year)
            month = 1 + i % 12
            at = f"{year}-{month:02d}-{1 + i % 28:02d}T0{i % 10}:00:00+00:00"
            kind = "办件" if i % 3 else "阅件"
            raw = (f"Message-ID: <{i}@bench.jiyao>\r\nSubject: =?utf-8?b?{i}?=\r\n\r\n"
                   f"{BODY}{i}").encode()
            digest = hashlib.sha256(raw).hexdigest()
            shard = blob_root / digest[:2]
            if not shard.is_dir():
                shard.mkdir(mode=0o700)
            fd = os.open(shard / digest[2:], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.write(fd, raw)
            os.close(fd)
            row: dict[str, Any] = {
                "id": i, "received_at": at, "channel": "email", "kind": kind,
                "sender": SENDER, "doc_number": f"康府发〔{year}〕{i}号", "secrecy": None,
                "urgency": None, "title": f"关于做好{year}年防汛工作的通知（第{i}号）",
                "envelope_no": None, "message_id": f"<{i}@bench.jiyao>",
                "content_sha256": digest, "raw_blob": digest, "year": year, "month": month,
                "outcome": "registered", "created_by": "bench",
            }
            items_rows.append(tuple(row[c] for c in item_cols))
            seq = seqs.get((kind, year), 0) + 1
            seqs[(kind, year)] = seq
            entry = {"id": first_entry + (i - first), "number": f"{kind}{year}-{seq:06d}",
                     "kind": kind, "year": year, "seq": seq, "status": "active",
                     "replaced_by": None}
            entry_rows.append((entry["id"], i, kind, year, seq, entry["number"], at, "active"))
            assert set(entry) == {"id", *ENTRY_FIELDS}
            for action, state in (("receive", _record(row, [])),
                                  ("register", _record(row, [entry]))):
                detail = json.dumps({"n": i}, sort_keys=True)
                h = entry_hash(prev, at, "bench", action, f"item:{i}", detail, state)
                audit_rows.append((at, "bench", action, f"item:{i}", detail, state, prev, h))
                prev = h
        conn.execute("BEGIN")
        conn.executemany(
            f"INSERT INTO items ({', '.join(item_cols)}) VALUES"
            f" ({', '.join('?' * len(item_cols))})", items_rows)
        conn.executemany(
            f"INSERT INTO register_entries ({', '.join(entry_cols)}) VALUES"
            f" ({', '.join('?' * len(entry_cols))})", entry_rows)
        conn.executemany(
            "INSERT INTO audit (at, actor, action, subject, detail, state, prev_hash, hash)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)", audit_rows)
        conn.execute("COMMIT")
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO register_seq (kind, year, last) VALUES (?, ?, ?)"
        " ON CONFLICT (kind, year) DO UPDATE SET last = excluded.last",
        [(k, y, last) for (k, y), last in seqs.items()])
    conn.execute("COMMIT")
    conn.close()
    return time.perf_counter() - t0


async def timed(fn: Callable[[], Awaitable[Any]]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    result = await fn()
    return time.perf_counter() - t0, result


def stats(xs: list[float]) -> str:
    return f"min {min(xs):7.2f}  median {statistics.median(xs):7.2f}  max {max(xs):7.2f} s"


async def run(args: argparse.Namespace) -> None:
    base = Path(tempfile.mkdtemp(prefix="jiyao-bench-integrity-", dir="/tmp"))
    try:
        settings = load_settings(ROOT / "config.example.toml")
        settings = settings.model_copy(update={"storage": Storage(data_dir=base / "data")})
        ctx: Context = await open_context(settings)
        try:
            took = seed(base / "data", args.items)
            size = (base / "data" / DB_FILE).stat().st_size
            print(f"seeded {args.items} items in {took:.1f} s; database {size / 2**20:.0f} MB")
            t, first = await timed(lambda: admin.check_report(ctx))
            assert not first.problems, first.problems[:5]
            print(f"first check (sets the verified points): {t:.2f} s")
            runs: dict[str, list[float]] = {k: [] for k in (
                "check --full", "check", "verify --full", "verify")}
            parts: dict[str, list[float]] = {k: [] for k in (
                "integrity_check+fk", "register sequences", "record states, all",
                "record states, 1/30", "stale temps, full walk",
                "file modes, full walk", "stale temps, shallow", "file modes, shallow")}
            lines: list[str] = []
            for n in range(args.rounds):
                for name, fn, day in (
                    ("check --full", lambda: admin.check_report(ctx, full=True), False),
                    ("check", lambda: admin.check_report(ctx), True),
                    ("verify --full", lambda: admin.verify_audit_report(ctx, full=True), False),
                    ("verify", lambda: admin.verify_audit_report(ctx), True),
                ):
                    if not day and n >= args.full_rounds:
                        continue
                    if day:
                        seed(base / "data", args.day)
                    t, report = await timed(fn)
                    assert not report.problems, report.problems[:5]
                    runs[name].append(t)
                    if name in ("check", "verify"):
                        lines = report.checked
                if not args.parts:
                    continue
                async with ctx.db.reader() as r:
                    parts["integrity_check+fk"].append(
                        (await timed(lambda: maintenance.integrity_problems(r)))[0])
                    parts["register sequences"].append(
                        (await timed(lambda: registers.sequence_problems(r)))[0])
                    parts["record states, all"].append(
                        (await timed(lambda: audit.state_problems(r)))[0])
                    sample = [f"item:{i}" for i in range(1, args.items + 1, 30)]
                    parts["record states, 1/30"].append(
                        (await timed(lambda: audit.state_problems(r, sample)))[0])  # noqa: B023
                parts["stale temps, full walk"].append((await timed(
                    lambda: asyncio.to_thread(ctx.blobs.stale_temps)))[0])
                parts["file modes, full walk"].append((await timed(
                    lambda: asyncio.to_thread(loose_modes, ctx.data_dir)))[0])
                parts["stale temps, shallow"].append((await timed(
                    lambda: asyncio.to_thread(ctx.blobs.stale_temps, shallow=True)))[0])
                parts["file modes, shallow"].append((await timed(lambda: asyncio.to_thread(
                    lambda: loose_modes(ctx.data_dir, shallow=ctx.blobs.root))))[0])
            print(f"{args.rounds} rounds at {args.items} items (+{args.day} new before each"
                  f" incremental run; the full runs in {args.full_rounds} of them):")
            for name, xs in runs.items():
                print(f"  {name:14} {stats(xs)}")
            for full, inc in (("check --full", "check"), ("verify --full", "verify")):
                ratio = statistics.median(runs[full]) / statistics.median(runs[inc])
                print(f"  {full} / {inc}: {ratio:.1f}x (medians)")
            if args.parts:
                print("parts of check (each timed alone):")
                for name, xs in parts.items():
                    print(f"  {name:24} {stats(xs)}")
            print("last incremental verify said:")
            for line in lines:
                print(f"    {line}")
        finally:
            await ctx.db.close()
    finally:
        shutil.rmtree(base, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--items", type=int, default=100_000)
    ap.add_argument("--day", type=int, default=300, help="new items before each incremental run")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--full-rounds", type=int, default=None,
                    help="rounds with the full runs too (default: all); a full check at 1M"
                         " items takes minutes")
    ap.add_argument("--no-parts", dest="parts", action="store_false",
                    help="skip timing the parts of check alone")
    args = ap.parse_args()
    if args.full_rounds is None:
        args.full_rounds = args.rounds
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
