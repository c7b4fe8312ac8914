"""The SQLite database: one writer connection behind a lock, separate readers, units of work.

Every write runs inside a `BEGIN IMMEDIATE` transaction on the single writer connection,
so numbers taken inside it are gap-free even across processes (the database lock orders
them). A unit of work rolls back unless `commit()` was called.

Group commit: units of work that queue up behind one another share one transaction
(each in its own SAVEPOINT) and one fsync'd COMMIT. A unit's `async with` block exits
only after that COMMIT is durable, so callers (the SMTP edge answering 250) never
acknowledge anything that is not on disk; if the shared COMMIT fails, every unit in it
raises and nothing of it remains.

The writer's statements run on the event loop itself: once `BEGIN IMMEDIATE` holds the
database lock, an INSERT of a row takes tens of microseconds, less than a hop to a
worker thread and back. What can block (waiting for the lock, the fsync of COMMIT,
a checkpoint, a statement carrying a large value) runs on the writer's own thread;
BEGIN IMMEDIATE is tried once on the loop without waiting (nearly always the lock is
free), and only when another process holds the lock is it tried again on the thread,
every fraction of a millisecond at first (SQLite's busy handler sleeps 1, 2, 5 … ms).
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import aiosqlite

from core.errors import StorageError
from core.files import ensure_private_file, private_dir
from core.storage import in_use
from core.storage.audit_hash import entry_hash
from core.storage.migrate import current_version, migrate

log = logging.getLogger(__name__)

#: the database's name in a data directory (and in a backup of one)
DB_FILE = "jiyao.db"
BUSY_TIMEOUT_MS = 60_000
# busy_timeout first: switching a fresh file to WAL already needs the database lock
PRAGMAS = (
    f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}",
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=FULL",
    "PRAGMA foreign_keys=ON",
)
#: the writer's, besides: its statement and savepoint journals in memory. Every unit of a
#: group commit but the first runs in a SAVEPOINT, and a statement with triggers in a
#: statement transaction; their journal keeps the original of each page changed, and past
#: 64 KiB SQLite spills it to a temporary file, each page then a write() to it. In memory
#: a registration's statements took a quarter less time on the writer (16 callers, timed
#: statement by statement: about 525 → 380 µs). Writes are units of rows, so the journal
#: of one stays small; large reads (sorts, temporary tables) run on the readers, which
#: keep temporary files.
WRITER_PRAGMAS = (*PRAGMAS, "PRAGMA temp_store=MEMORY")

Row = sqlite3.Row
T = TypeVar("T")

#: units of work committed together at most (bounds the wait of the first one)
MAX_BATCH = 64
#: a statement with a text parameter this long runs off the event loop (indexing a
#: long document text for search can take a while)
INLINE_MAX_PARAM = 8 * 1024
#: a bytes parameter is only copied into pages, no tokenizing: up to this it stays on
#: the loop (a staged message of the SMTP edge, `raw_staged`)
INLINE_MAX_BLOB = 256 * 1024


async def _connect(path: Path) -> aiosqlite.Connection:
    conn = await aiosqlite.connect(path, isolation_level=None)
    try:
        conn.row_factory = sqlite3.Row
        for pragma in PRAGMAS:
            await conn.execute(pragma)
    except BaseException:
        # its worker thread is not a daemon: left open, it keeps the process from exiting
        await conn.close()
        raise
    return conn


def _connect_writer(path: Path) -> sqlite3.Connection:
    # check_same_thread off: the loop and the writer thread take turns, never at once
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        conn.row_factory = sqlite3.Row
        for pragma in WRITER_PRAGMAS:
            conn.execute(pragma)
        conn.create_function("jiyao_audit_hash", 6, entry_hash, deterministic=True)
        conn.create_function("jiyao_audit_hash", 7, entry_hash, deterministic=True)
    except BaseException:
        conn.close()
        raise
    return conn


class _Writer:
    """The writer connection and the one thread that runs its blocking steps.

    Whoever holds the database lock may use it; a step handed to the thread is always
    waited for to the end (even when the waiting task is cancelled), so the loop never
    touches the connection while the thread does.
    """

    def __init__(self, conn: sqlite3.Connection, pool: ThreadPoolExecutor) -> None:
        self.conn = conn
        self._pool = pool

    @classmethod
    async def open(cls, path: Path) -> _Writer:
        pool = ThreadPoolExecutor(1, thread_name_prefix="jiyao-db-writer")
        try:
            conn = await _finish(asyncio.get_running_loop().run_in_executor(
                pool, _connect_writer, path))
        except BaseException:
            pool.shutdown(wait=False)
            raise
        return cls(conn, pool)

    @property
    def in_transaction(self) -> bool:
        return self.conn.in_transaction

    async def off_loop(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn(*args)` on the writer thread and wait for it to finish."""
        return await _finish(asyncio.get_running_loop().run_in_executor(self._pool, fn, *args))

    async def execute(self, sql: str, params: tuple[Any, ...] = ()) -> sqlite3.Cursor:
        if self.inline(params):
            return self.conn.execute(sql, params)
        return await self.off_loop(self.conn.execute, sql, params)

    @staticmethod
    def inline(params: tuple[Any, ...]) -> bool:
        """Whether a statement may run on the event loop (no long text or large blob in it)."""
        return _inline(params)

    async def close(self) -> None:
        try:
            await self.off_loop(self.conn.close)
        finally:
            self._pool.shutdown(wait=False)


def _heavy(param: Any) -> bool:
    """A parameter that makes its statement run off the event loop."""
    if isinstance(param, str):
        return len(param) > INLINE_MAX_PARAM
    return isinstance(param, bytes) and len(param) > INLINE_MAX_BLOB


def _inline(params: tuple[Any, ...]) -> bool:
    """Whether a statement may run on the event loop: no parameter is `_heavy`. The exact
    types first (one comparison per parameter on every statement); a subclass of str or
    bytes takes the general test."""
    for p in params:
        t = type(p)
        if t is str:
            if len(p) > INLINE_MAX_PARAM:
                return False
        elif t is int or p is None:
            continue
        elif _heavy(p):
            return False
    return True


async def _finish(future: asyncio.Future[T]) -> T:
    """Await a thread's step to its end; a cancellation is passed on only afterwards."""
    cancelled = False
    while True:
        try:
            result = await asyncio.shield(future)
            break
        except asyncio.CancelledError:
            if future.done():
                raise
            cancelled = True
    if cancelled:
        raise asyncio.CancelledError
    return result


class UnitOfWork:
    """One unit of work; rolled back on exit unless `commit()` was called."""

    def __init__(self, writer: _Writer) -> None:
        self._writer = writer
        self.committed = False
        # closed when the unit ends: an unfinished statement makes RELEASE and COMMIT fail
        self._cursors: list[sqlite3.Cursor] = []
        # run, in order, when a committed unit ends, inside it (the audit entries, which
        # record the state the unit leaves)
        self._before_end: list[Callable[[], Awaitable[None]]] = []

    def _now(
        self, sql: str, params: Iterable[Any]
    ) -> tuple[sqlite3.Cursor | None, tuple[Any, ...]]:
        """Run a statement here on the loop when it may (most do: no long text or large
        blob in it); else (None, its parameters) for `_off_loop`. Not a coroutine: every
        statement of a unit passes here, and a coroutine per statement costs."""
        conn = self._writer.conn
        if not conn.in_transaction:
            # SQLite rolled the transaction back on its own (e.g. disk full): a statement
            # now would commit by itself, outside the unit
            raise StorageError("数据库事务已中止，本次写入未保存")
        args = params if type(params) is tuple else tuple(params)
        if _inline(args):
            return conn.execute(sql, args), args
        return None, args

    async def _off_loop(self, sql: str, args: tuple[Any, ...]) -> sqlite3.Cursor:
        writer = self._writer
        return await writer.off_loop(writer.conn.execute, sql, args)

    async def execute(self, sql: str, params: Iterable[Any] = ()) -> sqlite3.Cursor:
        """Run a statement; the cursor gives `rowcount` and is closed when the unit ends."""
        cur, args = self._now(sql, params)
        if cur is None:
            cur = await self._off_loop(sql, args)
        self._cursors.append(cur)
        return cur

    async def fetchone(self, sql: str, params: Iterable[Any] = ()) -> Row | None:
        cur, args = self._now(sql, params)
        if cur is None:
            cur = await self._off_loop(sql, args)
        try:
            row: Row | None = cur.fetchone()
        finally:
            cur.close()
        return row

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[Row]:
        cur, args = self._now(sql, params)
        if cur is None:
            cur = await self._off_loop(sql, args)
        try:
            return cur.fetchall()
        finally:
            cur.close()

    async def insert(self, sql: str, params: Iterable[Any] = ()) -> int:
        cur, args = self._now(sql, params)
        if cur is None:
            cur = await self._off_loop(sql, args)
        rowid = cur.lastrowid
        cur.close()
        if rowid is None:
            raise StorageError("插入失败：没有行号")
        return rowid

    def before_end(self, step: Callable[[], Awaitable[None]]) -> None:
        """Run `step` inside this unit once its work is done, if it is to be kept; a step
        that fails undoes the unit."""
        self._before_end.append(step)

    async def _finish_steps(self) -> None:
        steps, self._before_end = self._before_end, []
        for step in steps:
            await step()

    def _close_cursors(self) -> None:
        for cur in self._cursors:
            cur.close()
        self._cursors.clear()

    async def commit(self) -> None:
        """Keep this unit's changes; they are durable when the `async with` block exits."""
        self.committed = True

    async def rollback(self) -> None:
        self.committed = False


class _UnitScope:
    """`Database.unit_of_work`'s `async with`: takes the writer (queueing behind the unit
    in progress), begins the unit (BEGIN IMMEDIATE, or a SAVEPOINT in the open batch), and
    on exit keeps or undoes it, then waits until the COMMIT carrying it is durable.

    A class rather than a generator-based context manager: every registration enters
    one, and the generator's extra frames and hops cost more than the unit's own work."""

    __slots__ = ("_batch", "_db", "_first", "_uow", "_writer")
    _writer: _Writer
    _batch: _Batch
    _first: bool
    _uow: UnitOfWork

    def __init__(self, db: Database) -> None:
        self._db = db

    async def __aenter__(self) -> UnitOfWork:
        db = self._db
        if db._writer is None:
            raise StorageError("数据库未打开")
        db._waiting += 1
        try:
            await db._lock.acquire()
        finally:
            db._waiting -= 1
        writer = db._writer
        if writer is None:  # closed while this unit queued
            db._lock.release()
            raise StorageError("数据库未打开")
        try:
            first = db._batch is None
            if first:
                await _begin(writer)
                db._batch = _Batch()
            else:
                writer.conn.execute("SAVEPOINT uow")
            batch = db._batch
            assert batch is not None
        except BaseException:
            db._lock.release()
            raise
        self._writer = writer
        self._batch = batch
        self._first = first
        uow = self._uow = UnitOfWork(writer)
        return uow

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        db, uow, batch = self._db, self._uow, self._batch
        ok = False
        try:
            wanted = False
            try:
                if exc_type is None and uow.committed:
                    await uow._finish_steps()
                    wanted = uow.committed
            finally:
                uow._close_cursors()
                ok = await db._end_unit(self._writer, batch, first=self._first, ok=wanted)
            if wanted and not ok:
                raise StorageError("数据库事务中止，本次写入未保存")
        finally:
            db._lock.release()
        if ok:
            await batch.durable()


class Reader:
    """A read-only view on a reader connection."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self.conn = conn

    async def fetchone(self, sql: str, params: Iterable[Any] = ()) -> Row | None:
        rows = list(await self.conn.execute_fetchall(sql, tuple(params)))
        return rows[0] if rows else None

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[Row]:
        return list(await self.conn.execute_fetchall(sql, tuple(params)))


class Database:
    """The registry database file and its connections."""

    def __init__(self, path: Path, *, readers: int = 2) -> None:
        self.path = path
        self._writer: _Writer | None = None
        self._lock = asyncio.Lock()
        self._waiting = 0
        self._batch: _Batch | None = None
        self._flushes: set[asyncio.Task[None]] = set()
        self._n_readers = readers
        self._readers: asyncio.Queue[aiosqlite.Connection] = asyncio.Queue()
        self._all_readers: list[aiosqlite.Connection] = []
        self._in_use: int | None = None

    async def open(self) -> Database:
        private_dir(self.path.parent)
        # a restore waits for its release; while a restore runs, this waits (off the loop)
        self._in_use = in_use.hold(self.path.parent, wait=False)
        if self._in_use is None:
            self._in_use = await asyncio.to_thread(in_use.hold, self.path.parent)
        try:
            ensure_private_file(self.path)  # before SQLite makes it (and -wal, -shm) 0644
            await self._migrate()
            self._writer = await _Writer.open(self.path)
            for _ in range(self._n_readers):
                conn = await _connect(self.path)
                await conn.execute("PRAGMA query_only=ON")
                self._all_readers.append(conn)
                self._readers.put_nowait(conn)
        except sqlite3.Error as exc:
            await self.close()
            raise StorageError(f"无法打开数据库 {self.path}：{exc}") from exc
        except BaseException:
            await self.close()
            raise
        return self

    async def _migrate(self) -> None:
        """Migrations run on a connection of their own, closed before the writer opens."""
        conn = await _connect(self.path)
        try:
            await migrate(conn)
        finally:
            await conn.close()

    async def close(self) -> None:
        try:
            if self._writer is not None:
                # under the lock: a unit in progress (even one still in its BEGIN) ends first
                async with self._lock:
                    writer, self._writer = self._writer, None
                    if writer is not None:
                        try:
                            if self._batch is not None:
                                await self._commit(writer, self._batch)
                        finally:
                            await writer.close()
        finally:
            # even when cancelled: a reader's thread is not a daemon and would keep the
            # process from exiting
            readers, self._all_readers = self._all_readers, []
            self._readers = asyncio.Queue()
            try:
                for conn in readers:
                    await conn.close()
            finally:
                if self._in_use is not None:
                    in_use.release(self._in_use)
                    self._in_use = None

    async def schema_version(self) -> int:
        async with self.reader() as r:
            return await current_version(r.conn)

    async def __aenter__(self) -> Database:
        return await self.open()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def unit_of_work(self) -> _UnitScope:
        """A unit of work in a `BEGIN IMMEDIATE` transaction, durable when the block exits
        (`async with db.unit_of_work() as uow:`)."""
        return _UnitScope(self)

    async def _end_unit(
        self, writer: _Writer, batch: _Batch, *, first: bool, ok: bool
    ) -> bool:
        """Keep or undo one unit, then commit the batch or leave it open for the next unit."""
        batch.units += 1
        if not writer.in_transaction:
            ok = False  # SQLite aborted the transaction: this unit's work is gone too
        if ok and not first:
            try:
                writer.conn.execute("RELEASE uow")
            except sqlite3.Error:
                log.exception("keeping a unit of work failed")
                ok = False
        if ok:
            batch.members += 1
        elif writer.in_transaction:
            try:
                if first:
                    await writer.execute("ROLLBACK")
                else:
                    await writer.execute("ROLLBACK TO uow")
                    await writer.execute("RELEASE uow")
            except sqlite3.Error:
                log.exception("undoing a unit of work failed")
                try:  # nothing of it may stay: undo the whole batch instead
                    await writer.execute("ROLLBACK")
                except sqlite3.Error:
                    log.exception("rolling back the batch failed")
        if not writer.in_transaction:
            # rolled back (first unit undone, or SQLite aborted the whole transaction)
            self._batch = None
            if batch.members:
                batch.fail(StorageError("数据库事务中止，本批次全部未保存"))
            else:
                batch.succeed()
            return False
        # failed units count too: a batch must close even under sustained failures
        if self._waiting == 0 or batch.units >= MAX_BATCH:
            await self._commit(writer, batch)
        elif not batch.flush_scheduled:
            # a queued unit may be cancelled before its turn: make sure someone commits
            batch.flush_scheduled = True
            task = asyncio.create_task(self._flush(batch))
            self._flushes.add(task)
            task.add_done_callback(self._flushes.discard)
        return ok

    async def _commit(self, writer: _Writer, batch: _Batch) -> None:
        self._batch = None
        batch.error = StorageError("数据库提交未完成")
        try:
            await writer.off_loop(_commit_sync, writer.conn, batch)
        finally:  # resolved even if this task was cancelled while the COMMIT ran
            if batch.error is None:
                batch.succeed()
            else:
                batch.fail(batch.error)

    async def _flush(self, batch: _Batch) -> None:
        async with self._lock:
            if self._batch is batch and self._writer is not None:
                await self._commit(self._writer, batch)

    @asynccontextmanager
    async def reader(self) -> AsyncIterator[Reader]:
        conn = await self._readers.get()
        try:
            yield Reader(conn)
        finally:
            self._readers.put_nowait(conn)


async def _begin(writer: _Writer) -> None:
    """BEGIN IMMEDIATE for a batch: on the loop when the write lock is free, else on the
    writer's thread, waiting for another process's lock (busy_timeout)."""
    try:
        if _begin_now(writer.conn):
            # as the hop to the thread did: the units of tasks ready to run now queue
            # behind this one and share its COMMIT
            await asyncio.sleep(0)
        else:
            await writer.off_loop(_begin_sync, writer.conn)
    except sqlite3.Error as exc:
        raise StorageError(f"数据库写入失败：{exc}") from exc
    except BaseException:
        # cancelled after BEGIN took the lock: left open, no unit could begin again and
        # other processes could never write
        if writer.in_transaction:
            try:
                writer.conn.execute("ROLLBACK")
            except sqlite3.Error:
                log.exception("rollback after a cancelled BEGIN failed")
        raise


def _begin_now(conn: sqlite3.Connection) -> bool:
    """BEGIN IMMEDIATE here on the loop if the write lock is free at once (no other
    process writing: the common case), saving a batch the hop to the writer's thread and
    back; False when it is not (or BEGIN failed): then BEGIN runs on the writer's thread,
    waiting up to busy_timeout."""
    conn.execute("PRAGMA busy_timeout=0")
    try:
        conn.execute("BEGIN IMMEDIATE")
        began = True
    except sqlite3.Error:
        began = False
    try:
        conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    except BaseException:
        if conn.in_transaction:  # no unit began: the lock goes back
            conn.execute("ROLLBACK")
        raise
    return began


#: seconds between tries of BEGIN IMMEDIATE while another process holds the write lock,
#: at first: a tenth of the wait so far, within these bounds. SQLite's own busy handler
#: sleeps 1, 2, 5, 10 … ms between its tries: a lock held 1 ms (another process's short,
#: fsync'd transaction) kept the edge from its group commit for 3–8 ms
BEGIN_POLL_MIN = 0.0002
BEGIN_POLL_MAX = 0.005


def _busy(exc: sqlite3.Error) -> bool:
    return getattr(exc, "sqlite_errorcode", 0) & 0xFF == sqlite3.SQLITE_BUSY


def _begin_sync(conn: sqlite3.Connection) -> None:
    """BEGIN IMMEDIATE on the writer thread, tried again while another process holds the
    write lock (for `BUSY_TIMEOUT_MS` in all, as SQLite's busy handler would)."""
    conn.execute("PRAGMA busy_timeout=0")
    try:
        start = time.monotonic()
        while True:
            try:
                conn.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                waited = time.monotonic() - start
                if not _busy(exc) or waited * 1000 >= BUSY_TIMEOUT_MS:
                    raise
            time.sleep(min(BEGIN_POLL_MAX, max(BEGIN_POLL_MIN, waited / 10)))
    finally:
        conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")


def _commit_sync(conn: sqlite3.Connection, batch: _Batch) -> None:
    """COMMIT (the fsync) on the writer thread; on failure roll back and note why."""
    try:
        conn.execute("COMMIT")
    except sqlite3.Error as exc:
        log.exception("commit failed")
        try:
            conn.execute("ROLLBACK")
        except sqlite3.Error:
            log.exception("rollback after failed commit failed")
        batch.error = StorageError(f"数据库提交失败：{exc}")
    else:
        batch.error = None


class _Batch:
    """Units sharing one transaction; each kept unit waits on `durable()` until their
    COMMIT is durable."""

    def __init__(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._waiters: list[asyncio.Future[None]] = []
        self._settled = False
        self._failure: BaseException | None = None
        self.members = 0  # units kept
        self.units = 0  # units ended, kept or undone
        self.flush_scheduled = False
        self.error: StorageError | None = None  # why the COMMIT failed

    def durable(self) -> asyncio.Future[None]:
        """A future of the batch's COMMIT for one unit to wait on, its own: a unit whose
        task is cancelled while it waits cancels nobody else's wait (nor the COMMIT).
        Resolved when the batch is (by the committing unit, not through a callback)."""
        waiter: asyncio.Future[None] = self._loop.create_future()
        if self._settled:
            self._settle(waiter)
        else:
            self._waiters.append(waiter)
        return waiter

    def _settle(self, waiter: asyncio.Future[None]) -> None:
        if waiter.done():  # its unit was cancelled while it waited
            return
        if self._failure is None:
            waiter.set_result(None)
        else:
            waiter.set_exception(self._failure)

    def _finish(self, failure: BaseException | None) -> None:
        if self._settled:
            return
        self._settled, self._failure = True, failure
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            self._settle(waiter)

    def succeed(self) -> None:
        self._finish(None)

    def fail(self, exc: BaseException) -> None:
        self._finish(exc)
