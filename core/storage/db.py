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
from contextlib import asynccontextmanager, closing
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import aiosqlite

from core.errors import StorageError
from core.files import ensure_private_file, private_dir
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
        for pragma in PRAGMAS:
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
        for p in params:  # noqa: SIM110 - a loop, not a generator per statement
            if _heavy(p):
                return False
        return True

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

    async def _run(self, sql: str, params: Iterable[Any]) -> sqlite3.Cursor:
        if not self._writer.in_transaction:
            # SQLite rolled the transaction back on its own (e.g. disk full): a statement
            # now would commit by itself, outside the unit
            raise StorageError("数据库事务已中止，本次写入未保存")
        args = tuple(params)
        if self._writer.inline(args):  # most statements: no hop through _Writer.execute
            return self._writer.conn.execute(sql, args)
        return await self._writer.off_loop(self._writer.conn.execute, sql, args)

    async def execute(self, sql: str, params: Iterable[Any] = ()) -> sqlite3.Cursor:
        """Run a statement; the cursor gives `rowcount` and is closed when the unit ends."""
        cur = await self._run(sql, params)
        self._cursors.append(cur)
        return cur

    async def fetchone(self, sql: str, params: Iterable[Any] = ()) -> Row | None:
        with closing(await self._run(sql, params)) as cur:
            row: Row | None = cur.fetchone()
        return row

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[Row]:
        with closing(await self._run(sql, params)) as cur:
            return list(cur.fetchall())

    async def insert(self, sql: str, params: Iterable[Any] = ()) -> int:
        with closing(await self._run(sql, params)) as cur:
            rowid = cur.lastrowid
        if rowid is None:
            raise StorageError("插入失败：没有行号")
        return int(rowid)

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

    async def open(self) -> Database:
        private_dir(self.path.parent)
        ensure_private_file(self.path)  # before SQLite makes it (and -wal, -shm) 0644
        try:
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
            for conn in readers:
                await conn.close()

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

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[UnitOfWork]:
        """A unit of work in a `BEGIN IMMEDIATE` transaction, durable when the block exits."""
        if self._writer is None:
            raise StorageError("数据库未打开")
        self._waiting += 1
        try:
            await self._lock.acquire()
        finally:
            self._waiting -= 1
        ok = False
        batch: _Batch | None = None
        try:
            writer = self._writer
            if writer is None:  # closed while this unit queued
                raise StorageError("数据库未打开")
            first = self._batch is None
            if first:
                try:  # may wait for another process's write lock (busy_timeout)
                    if _try_begin(writer.conn):  # the lock was free: no thread hop
                        # as the hop did: units ready to run now queue up for this batch
                        await asyncio.sleep(0)
                    else:
                        await writer.off_loop(_begin_sync, writer.conn)
                except sqlite3.Error as exc:
                    raise StorageError(f"数据库写入失败：{exc}") from exc
                except BaseException:
                    # cancelled after BEGIN took the lock: left open, no unit could begin
                    # again and other processes could never write
                    if writer.in_transaction:
                        try:
                            writer.conn.execute("ROLLBACK")
                        except sqlite3.Error:
                            log.exception("rollback after a cancelled BEGIN failed")
                    raise
                self._batch = _Batch()
            else:
                await writer.execute("SAVEPOINT uow")
            batch = self._batch
            assert batch is not None
            uow = UnitOfWork(writer)
            wanted = False
            try:
                yield uow
                if uow.committed:
                    await uow._finish_steps()
                wanted = uow.committed
            finally:
                uow._close_cursors()
                ok = await self._end_unit(writer, batch, first=first, ok=wanted)
            if wanted and not ok:
                raise StorageError("数据库事务中止，本次写入未保存")
        finally:
            self._lock.release()
        if ok and batch is not None:
            await asyncio.shield(batch.done)

    async def _end_unit(
        self, writer: _Writer, batch: _Batch, *, first: bool, ok: bool
    ) -> bool:
        """Keep or undo one unit, then commit the batch or leave it open for the next unit."""
        batch.units += 1
        if not writer.in_transaction:
            ok = False  # SQLite aborted the transaction: this unit's work is gone too
        if ok and not first:
            try:
                await writer.execute("RELEASE uow")
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


#: seconds between tries of BEGIN IMMEDIATE while another process holds the write lock,
#: at first: a tenth of the wait so far, within these bounds. SQLite's own busy handler
#: sleeps 1, 2, 5, 10 … ms between its tries: a lock held 1 ms (another process's short,
#: fsync'd transaction) kept the edge from its group commit for 3–8 ms
BEGIN_POLL_MIN = 0.0002
BEGIN_POLL_MAX = 0.005


def _busy(exc: sqlite3.Error) -> bool:
    return getattr(exc, "sqlite_errorcode", 0) & 0xFF == sqlite3.SQLITE_BUSY


def _try_begin(conn: sqlite3.Connection) -> bool:
    """BEGIN IMMEDIATE if the write lock is free at once (no waiting: on the event loop);
    False if another process holds it."""
    conn.execute("PRAGMA busy_timeout=0")
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        if _busy(exc):
            return False
        raise
    finally:
        conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    return True


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
    """Units sharing one transaction; `done` resolves when their COMMIT is durable."""

    def __init__(self) -> None:
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        # a failed batch nobody waits on must not warn "exception never retrieved"
        self.done.add_done_callback(lambda f: f.cancelled() or f.exception())
        self.members = 0  # units kept
        self.units = 0  # units ended, kept or undone
        self.flush_scheduled = False
        self.error: StorageError | None = None  # why the COMMIT failed

    def succeed(self) -> None:
        if not self.done.done():
            self.done.set_result(None)

    def fail(self, exc: BaseException) -> None:
        if not self.done.done():
            self.done.set_exception(exc)
