"""Benchmark: durable registrations/s through the service against raw SQLite running the
same statements, and `counts` latency on a large registry.

    nice -n 10 .venv/bin/python bench/registers.py            # 3 rounds, 600 each, 1M items
    .venv/bin/python bench/registers.py --rounds 1 --n 60 --items 0   # quick look

The service side is `registry.register_paper` through the real `Database` (one writer,
group commit), with 1 caller (every registration its own fsync'd COMMIT) and with 16
concurrent callers (their units share a transaction and one COMMIT).

The raw side runs the statements the service ran: one service registration is captured
on the writer connection (SQL text and parameters, each INSERT's rowid and each row
read back), and replayed with plain `sqlite3` on a database of the same schema and the
writer's pragmas (WAL, synchronous=FULL, temp_store=MEMORY, the same SQL function for the
audit hash), on the same file system. Transaction control is the raw side's own: the
service's BEGIN (with the `PRAGMA busy_timeout` around its first try), SAVEPOINT,
RELEASE and COMMIT are not replayed; what they cost the service is counted against it.
Values the database gave (item id, entry id, the register's next number, …) are replaced
in later parameters by the ones the replay gets, so every replayed registration is a new
item with its own gap-free number; texts are the captured ones.
The capture databases are seeded so that every such value is distinctive (≥ 1000) and
cannot be confused with another parameter. The replay's plan is compiled before the clock
starts (the raw side pays for SQLite, not for the substitution). Raw runs:
  - single:  BEGIN IMMEDIATE; one registration; COMMIT — against the 1-caller service;
  - batched: BEGIN IMMEDIATE; N registrations; COMMIT — against the 16-caller service,
    the N of each transaction those of the service's COMMITs in the same slice (below),
    so both commit as often (or --batch N).
Each pair (service ×1 / raw single, service ×16 / raw batched) runs on fresh files, both
warmed, and is measured in SLICES slices that alternate between the two sides (and which
of them goes first), so that both see the same moments of a shared machine's load;
min/median/max over --rounds and the ratios service/raw.
Goal: service ×16 ≥ 0.5 × raw batched (issue 12 measured 0.17–0.34×).
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.config import Storage, load_settings  # noqa: E402 - after the path set-up above
from core.model import Kind  # noqa: E402
from core.services import registry  # noqa: E402
from core.services.context import Context, open_context  # noqa: E402
from core.storage import db as dbmod  # noqa: E402
from core.storage.audit_hash import entry_hash  # noqa: E402
from core.storage.db import WRITER_PRAGMAS  # noqa: E402

SENDER = "康定市人民政府"
#: transaction control: the raw side places its own BEGIN/COMMIT (the service's
#: `PRAGMA busy_timeout` around a BEGIN tried at once is part of its BEGIN)
_TXN = re.compile(r"^\s*(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE|PRAGMA busy_timeout)\b",
                  re.I)
#: database-given values below this are not substituted (seeding keeps ours above it)
_DISTINCT = 1000
#: registrations before the clock starts, on each side: past the first checkpoint, the WAL
#: file is reused instead of growing (a growing file costs a metadata flush per fsync)
WARM = 150
#: slices each measurement is cut into, the service's and the raw side's alternating
SLICES = 6


# ------------------------------------------------------------------ capture


@dataclass
class Statement:
    sql: str
    params: tuple[Any, ...]
    lastrowid: int | None = None
    rows: list[tuple[Any, ...]] = field(default_factory=list)


class _Cursor:
    """A cursor that notes the rows read through it."""

    def __init__(self, cur: sqlite3.Cursor, stmt: Statement) -> None:
        self._cur = cur
        self._stmt = stmt

    def fetchone(self) -> Any:
        row = self._cur.fetchone()
        if row is not None:
            self._stmt.rows.append(tuple(row))
        return row

    def fetchall(self) -> list[Any]:
        rows = self._cur.fetchall()
        self._stmt.rows.extend(tuple(r) for r in rows)
        return rows

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cur, name)


class _Recording:
    """The writer connection, noting every statement executed on it."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self.log: list[Statement] = []

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        cur = self._conn.execute(sql, params)
        stmt = Statement(sql, tuple(params))
        if sql.lstrip()[:6].upper() == "INSERT":
            stmt.lastrowid = cur.lastrowid
        self.log.append(stmt)
        return _Cursor(cur, stmt)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


def _writer(ctx: Context) -> Any:
    writer = ctx.db._writer  # the benchmark looks inside on purpose
    assert writer is not None
    return writer


async def capture(ctx: Context) -> list[Statement]:
    """The statements one `register_paper` runs on the writer connection."""
    writer = _writer(ctx)
    real = writer.conn
    recording = _Recording(real)
    writer.conn = recording
    try:
        await registry.register_paper(ctx, kind=Kind.BAN, sender=SENDER, title="关于测试的请示")
    finally:
        writer.conn = real
    return recording.log


# ------------------------------------------------------------------ databases


def settings_for(data_dir: Path) -> Any:
    settings = load_settings(ROOT / "config.example.toml")
    return settings.model_copy(update={"storage": Storage(data_dir=data_dir)})


def seed(path: Path) -> None:
    """Rows with large ids, and a register well under way: every value the database gives
    the next registration is distinctive."""
    year = time.gmtime().tm_year
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("BEGIN")
        conn.execute(
            "INSERT INTO items (id, received_at, year, month, channel, outcome, kind, sender,"
            " title, created_by) VALUES (830000, '2000-01-01T00:00:00+00:00', 2000, 1,"
            " 'paper', 'register', '阅件', 'seed', 'seed', 'bench')")
        conn.execute(
            "INSERT INTO register_entries (id, item_id, kind, year, seq, number, registered_at)"
            " VALUES (640000, 830000, '阅件', 2000, 1, 'seed-1', '2000-01-01T00:00:00+00:00')")
        conn.execute(
            "INSERT INTO outbox (id, channel, event, item_id, target, payload, created_at,"
            " due_at, done_at) VALUES (450000, 'seed', 'seed', 830000, 'seed', '{}',"
            " '2000-01-01T00:00:00+00:00', '2000-01-01T00:00:00+00:00',"
            " '2000-01-01T00:00:00+00:00')")
        conn.execute(
            "INSERT INTO audit (id, at, actor, action, subject, detail, prev_hash, hash)"
            " VALUES (370000, '2000-01-01T00:00:00+00:00', 'bench', 'seed', 'seed', '{}',"
            " 'seed', 'seed')")
        conn.execute("INSERT INTO register_seq (kind, year, last) VALUES ('办件', ?, 5000)",
                     (year,))
        conn.execute("COMMIT")
    finally:
        conn.close()


async def fresh_context(data_dir: Path) -> Context:
    """A migrated, seeded registry, open."""
    ctx = await open_context(settings_for(data_dir))
    await ctx.db.close()
    seed(data_dir / "jiyao.db")
    return await open_context(settings_for(data_dir))


# ------------------------------------------------------------------ raw replay


def _produced(stmt: Statement) -> list[Any]:
    """The values the database gave in answer to a statement, in order."""
    return ([stmt.lastrowid] if stmt.lastrowid is not None else []) + [
        v for row in stmt.rows for v in row]


class Replay:
    """The captured statements as a plan: which parameters carry database-given values.

    The plan is compiled before the clock starts, so the replay's own Python work per
    statement is a tuple build (and a `str.format` where a text carries an id): the raw
    side pays for SQLite, not for the benchmark's bookkeeping."""

    def __init__(self, log: list[Statement]) -> None:
        self.statements = [s for s in log if not _TXN.match(s.sql)]
        self.control = [s.sql for s in log if _TXN.match(s.sql)]
        given: set[int] = set()
        #: per statement: its SQL, its parameters (a value, or how to make it from the
        #: values this replay got), and where in its answer the values to note are
        self.plan: list[tuple[str, list[Any], bool, list[tuple[int, int]]]] = []
        for s in self.statements:
            params: list[Any] = []
            for p in s.params:
                if isinstance(p, int) and not isinstance(p, bool) and p in given:
                    params.append(_Given(p))
                elif isinstance(p, str) and (found := [
                        v for v in given if re.search(rf"(?<!\d){v}(?!\d)", p)]):
                    params.append(_Text(p, found))
                else:
                    params.append(p)
            produced = _produced(s)
            notes = [(i, v) for i, v in enumerate(produced)
                     if isinstance(v, int) and v >= _DISTINCT]
            reads = bool(s.rows) or s.lastrowid is not None
            self.plan.append((s.sql, params, s.lastrowid is not None, notes if reads else []))
            given.update(v for _, v in notes)
        self.given = given
        small = [v for s in self.statements for v in _produced(s)
                 if isinstance(v, int) and 0 < v < _DISTINCT and s.lastrowid == v
                 and not s.sql.lstrip().upper().startswith("INSERT INTO REGISTER_SEQ")]
        self.unseeded = sorted(set(small))
        self._compiled = [
            (sql, tuple(params) if not any(isinstance(p, _Given | _Text) for p in params)
             else None, params, lastrowid, notes)
            for sql, params, lastrowid, notes in self.plan
        ]

    def one(self, conn: sqlite3.Connection) -> None:
        """One registration's statements with this replay's own database-given values."""
        now: dict[int, int] = {}
        for sql, static, params, lastrowid, notes in self._compiled:
            if static is not None:
                cur = conn.execute(sql, static)
            else:
                cur = conn.execute(sql, [
                    now[p.old] if type(p) is _Given else p.make(now) if type(p) is _Text else p
                    for p in params])
            if notes:
                got: list[Any] = [cur.lastrowid] if lastrowid else []
                for row in cur.fetchall():
                    got.extend(row)
                for i, old in notes:
                    now[old] = got[i]
            cur.close()


@dataclass(frozen=True)
class _Given:
    """A parameter that is a value the database gave an earlier statement."""

    old: int


class _Text:
    """A text parameter carrying database-given values (a subject `item:830001`, a JSON
    detail), as a format string."""

    def __init__(self, text: str, olds: list[int]) -> None:
        self.olds = olds
        fmt = text.replace("{", "{{").replace("}", "}}")
        for k, old in enumerate(olds):
            fmt = re.sub(rf"(?<!\d){old}(?!\d)", f"{{{k}}}", fmt)
        self.fmt = fmt

    def make(self, now: dict[int, int]) -> str:
        return self.fmt.format(*(now[o] for o in self.olds))


def raw_connection(path: Path) -> sqlite3.Connection:
    """Set up as the service's writer connection is."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.row_factory = sqlite3.Row
    for pragma in WRITER_PRAGMAS:
        conn.execute(pragma)
    conn.create_function("jiyao_audit_hash", 6, entry_hash, deterministic=True)
    conn.create_function("jiyao_audit_hash", 7, entry_hash, deterministic=True)
    return conn


def raw_batches(conn: sqlite3.Connection, replay: Replay, sizes: list[int]) -> None:
    """Registrations in transactions of `sizes` each: BEGIN IMMEDIATE; k of them; COMMIT."""
    for k in sizes:
        conn.execute("BEGIN IMMEDIATE")
        for _ in range(k):
            replay.one(conn)
        conn.execute("COMMIT")


def chunks(n: int, per: int) -> list[int]:
    """n registrations cut into transactions of `per` (the last one smaller)."""
    return [min(per, n - i) for i in range(0, n, per)]


def check_registered(conn: sqlite3.Connection, n: int) -> None:
    """n new items, each with its own number, gap-free after the seeded 5000."""
    row = conn.execute(
        "SELECT COUNT(*), COUNT(DISTINCT e.item_id), MIN(e.seq), MAX(e.seq)"
        " FROM register_entries e JOIN items i ON i.id = e.item_id AND i.created_by != 'bench'"
        " WHERE e.kind = '办件'").fetchone()
    assert tuple(row) == (n, n, 5001, 5000 + n), tuple(row)


# ------------------------------------------------------------------ service


@contextmanager
def counting_commits() -> Iterator[list[int]]:
    """The service's COMMITs as they come, each as the number of units it carried (one
    Python call per COMMIT, not per statement)."""
    real: Callable[..., None] = dbmod._commit_sync
    sizes: list[int] = []

    def counted(conn: sqlite3.Connection, batch: Any) -> None:
        sizes.append(batch.members)
        real(conn, batch)

    dbmod._commit_sync = counted
    try:
        yield sizes
    finally:
        dbmod._commit_sync = real


async def service_batch(ctx: Context, first: int, n: int, callers: int) -> None:
    """n registrations through the service by `callers` concurrent tasks."""

    async def caller(k: int) -> None:
        for i in range(first + k, first + n, callers):
            await registry.register_paper(ctx, kind=Kind.BAN, sender=SENDER,
                                          title=f"关于测试的请示{i}")

    await asyncio.gather(*(caller(k) for k in range(callers)))


async def check_service(ctx: Context, n: int) -> None:
    async with ctx.db.reader() as r:
        row = await r.fetchone(
            "SELECT COUNT(*) AS n, MIN(seq) AS lo, MAX(seq) AS hi FROM register_entries"
            " WHERE kind = '办件'")
    assert row is not None
    assert (row["n"], row["lo"], row["hi"]) == (n, 5001, 5000 + n), dict(row)


@dataclass
class Pair:
    service: float  # registrations/s
    raw: float
    per_commit: float  # the service's registrations per COMMIT
    raw_batch: float  # the raw side's
    cpu_service: float  # CPU ms per registration (the process, all its threads)
    cpu_raw: float


async def paired(
    d: Path, replay: Replay, n: int, *, callers: int, raw_batch: int | None
) -> Pair:
    """The service with `callers` concurrent callers and raw SQLite running the same
    statements, each on its own fresh file, measured in SLICES slices of n / SLICES that
    alternate between the sides (which goes first alternating too): both see the same
    moments of a shared machine's load. The raw side commits as the service did: a slice
    in transactions of the sizes the service's COMMITs carried in that slice (or, going
    first, in the slice before) — or of `raw_batch` each when given."""
    assert n % SLICES == 0, f"--n must be a multiple of {SLICES}"
    k = n // SLICES
    ctx = await fresh_context(d / f"svc{callers}")
    conn = raw_connection(await raw_database(d / f"raw{callers}"))
    try:
        with counting_commits() as sizes:
            await service_batch(ctx, -WARM, WARM, callers)
        raw_batches(conn, replay, chunks(WARM, raw_batch) if raw_batch else list(sizes))
        last = chunks(k, raw_batch or max(1, round(WARM / max(1, len(sizes)))))
        t_service = t_raw = c_service = c_raw = 0.0
        raw_commits = service_commits = 0
        for s in range(SLICES):
            for side in ((0, 1) if s % 2 == 0 else (1, 0)):
                if side == 0:
                    with counting_commits() as sizes:
                        t0, c0 = time.perf_counter(), time.process_time()
                        await service_batch(ctx, s * k, k, callers)
                        t_service += time.perf_counter() - t0
                        c_service += time.process_time() - c0
                    assert sum(sizes) == k, sizes
                    service_commits += len(sizes)
                    last = chunks(k, raw_batch) if raw_batch else list(sizes)
                else:
                    t0, c0 = time.perf_counter(), time.process_time()
                    raw_batches(conn, replay, last)
                    t_raw += time.perf_counter() - t0
                    c_raw += time.process_time() - c0
                    raw_commits += len(last)
        await check_service(ctx, WARM + n)
        check_registered(conn, WARM + n)
        return Pair(n / t_service, n / t_raw, n / service_commits, n / raw_commits,
                    c_service * 1000 / n, c_raw * 1000 / n)
    finally:
        conn.close()
        await ctx.db.close()


async def captured_replay(data_dir: Path) -> Replay:
    ctx = await fresh_context(data_dir)
    try:
        return Replay(await capture(ctx))
    finally:
        await ctx.db.close()


async def raw_database(data_dir: Path) -> Path:
    """A migrated, seeded registry file, closed (the raw side's own)."""
    ctx = await fresh_context(data_dir)
    await ctx.db.close()
    return data_dir / "jiyao.db"


# ------------------------------------------------------------------ counts latency


def seed_items(db: Path, total: int) -> None:
    """Bulk-load `total` items spread over 2024–2026 (the items trigger keeps the counters
    and the search rows, as for items registered one by one)."""
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("BEGIN")
    kinds = ["办件", "阅件", "抄件", "内刊", "简报"]
    sql = ("INSERT INTO items (received_at, year, month, channel, outcome, kind, sender,"
           " title, created_by) VALUES (?,?,?,?,?,?,?,?,?)")
    batch = []
    for i in range(total):
        year = 2024 + i % 3
        month = 1 + (i // 3) % 12
        batch.append((f"{year}-{month:02d}-01T00:00:00+00:00", year, month, "email", "register",
                      kinds[i % 5], SENDER, f"标题{i}", "bench"))
        if len(batch) == 50_000:
            conn.executemany(sql, batch)
            batch.clear()
    if batch:
        conn.executemany(sql, batch)
    conn.execute("COMMIT")
    conn.close()


async def counts_latency(data_dir: Path, calls: int) -> tuple[float, float, int]:
    ctx = await open_context(settings_for(data_dir))
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


# ------------------------------------------------------------------ main


def spread(xs: list[float], fmt: str = "{:8.1f}") -> str:
    return " / ".join(fmt.format(x) for x in (min(xs), statistics.median(xs), max(xs)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=600,
                    help=f"registrations per measurement (a multiple of {SLICES})")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--batch", type=int, default=0,
                    help="registrations per raw batched COMMIT (0: the service's observed)")
    ap.add_argument("--items", type=int, default=1_000_000,
                    help="items seeded for the counts latency (0: skip)")
    args = ap.parse_args()
    out = ROOT / "bench" / "out"
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out))  # the repository's file system, as in service
    try:
        replay = asyncio.run(captured_replay(tmp / "capture"))
        print(f"one service registration runs {len(replay.statements)} statements "
              f"(+ {', '.join(replay.control)}); database-given values substituted: "
              f"{sorted(replay.given)}")
        for s in replay.statements:
            print("   ", " ".join(s.sql.split())[:110])
        if replay.unseeded:
            print(f"warning: rowids {replay.unseeded} were not seeded distinct; "
                  "the replay reuses them")
        rs: dict[str, list[float]] = {k: [] for k in ("raw1", "svc1", "svc16", "rawb")}
        batches: list[float] = []
        cpu: dict[str, list[float]] = {k: [] for k in ("svc16", "rawb")}
        for r in range(args.rounds):
            d = tmp / f"round{r}"
            single = asyncio.run(paired(d, replay, args.n, callers=1, raw_batch=1))
            rs["svc1"].append(single.service)
            rs["raw1"].append(single.raw)
            group = asyncio.run(paired(d, replay, args.n, callers=16,
                                       raw_batch=args.batch or None))
            rs["svc16"].append(group.service)
            rs["rawb"].append(group.raw)
            batches.append(group.per_commit)
            cpu["svc16"].append(group.cpu_service)
            cpu["rawb"].append(group.cpu_raw)
            print(f"round {r + 1}: raw single {single.raw:.0f}/s, service×1 "
                  f"{single.service:.0f}/s ({single.per_commit:.1f} per COMMIT), service×16 "
                  f"{group.service:.0f}/s ({group.per_commit:.1f} per COMMIT), raw batched "
                  f"{group.raw:.0f}/s ({group.raw_batch:.1f} per COMMIT)")
        ratio1 = [s / r for s, r in zip(rs["svc1"], rs["raw1"], strict=True)]
        ratio16 = [s / r for s, r in zip(rs["svc16"], rs["rawb"], strict=True)]
        ratio16s = [s / r for s, r in zip(rs["svc16"], rs["raw1"], strict=True)]
        print(f"\nregistrations/s, {args.n} per measurement, {args.rounds} rounds "
              "(min / median / max)")
        print(f"  raw SQLite, same statements, 1 per COMMIT        {spread(rs['raw1'])}")
        print(f"  service register_paper, 1 caller                 {spread(rs['svc1'])}")
        print(f"  service register_paper, 16 callers (group commit){spread(rs['svc16'])}")
        print(f"  raw SQLite, same statements, batched per COMMIT  {spread(rs['rawb'])}"
              f"   (registrations per service COMMIT: {spread(batches, '{:.1f}')})")
        print(f"  ratio service×1 / raw single                     {spread(ratio1, '{:8.2f}')}")
        print(f"  ratio service×16 / raw batched                   {spread(ratio16, '{:8.2f}')}"
              "   (goal ≥ 0.5)")
        print(f"  ratio service×16 / raw single                    {spread(ratio16s, '{:8.2f}')}")
        print("CPU ms per registration (process time, all threads), 16 callers / batched:")
        ms = "{:8.3f}"
        print(f"  service                                          {spread(cpu['svc16'], ms)}")
        print(f"  raw SQLite                                       {spread(cpu['rawb'], ms)}")
        cpu_ratio = [r / s for s, r in zip(cpu["svc16"], cpu["rawb"], strict=True)]
        print(f"  ratio raw / service (1.0: no CPU beyond SQLite's) {spread(cpu_ratio, '{:7.2f}')}")
        if args.items:
            big = tmp / "big"
            asyncio.run(raw_database(big))
            t0 = time.perf_counter()
            seed_items(big / "jiyao.db", args.items)
            print(f"\nseeded {args.items:,} items in {time.perf_counter() - t0:.1f} s")
            p50, p95, per_year = asyncio.run(counts_latency(big, 400))
            print(f"counts latency over {args.items:,} items: p50 {p50:.2f} ms, p95 {p95:.2f} "
                  f"ms (target p95 < 50 ms; largest year holds {per_year:,} items)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
