"""Storage: units of work roll back unless committed; group commit keeps units independent."""

from __future__ import annotations

import asyncio
import os
import sqlite3
from pathlib import Path

import pytest

from core.errors import StorageError
from core.storage.blobs import BlobStore
from core.storage.db import Database


async def _count(db: Database) -> int:
    async with db.reader() as r:
        row = await r.fetchone("SELECT COUNT(*) AS n FROM meta WHERE key LIKE 'k%'")
    assert row is not None
    return int(row["n"])


async def _put(db: Database, key: str, *, commit: bool = True, fail: bool = False) -> None:
    async with db.unit_of_work() as uow:
        await uow.execute("INSERT INTO meta (key, value) VALUES (?, 'v')", (key,))
        await asyncio.sleep(0)
        if fail:
            raise RuntimeError("boom")
        if commit:
            await uow.commit()


async def test_rolls_back_unless_committed(tmp_path: Path) -> None:
    """A unit that does not commit, or raises, leaves nothing behind."""
    async with Database(tmp_path / "x.db") as db:
        await _put(db, "k1", commit=False)
        with pytest.raises(RuntimeError):
            await _put(db, "k2", fail=True)
        await _put(db, "k3")
        assert await _count(db) == 1


async def test_group_commit_isolates_failures(tmp_path: Path) -> None:
    """Concurrent units share commits, yet a failing unit undoes only itself."""
    async with Database(tmp_path / "x.db") as db:
        results = await asyncio.gather(
            *(_put(db, f"k{i}", fail=(i % 7 == 3)) for i in range(40)), return_exceptions=True
        )
        failed = [r for r in results if isinstance(r, Exception)]
        assert len(failed) == len([i for i in range(40) if i % 7 == 3])
        assert await _count(db) == 40 - len(failed)
    # durable: visible to a fresh connection after close
    with sqlite3.connect(tmp_path / "x.db") as conn:
        left = conn.execute("SELECT COUNT(*) FROM meta WHERE key LIKE 'k%'").fetchone()[0]
    assert left == 40 - len(failed)


async def test_failed_commit_fails_every_unit(tmp_path: Path) -> None:
    """When the shared COMMIT fails, every unit in the batch raises and nothing remains."""
    async with Database(tmp_path / "x.db") as db:
        async with db.unit_of_work() as uow:
            await uow.execute("CREATE TABLE p (id INTEGER PRIMARY KEY)")
            # a deferred foreign key is only checked at COMMIT: a way to make COMMIT fail
            await uow.execute(
                "CREATE TABLE c (p INTEGER REFERENCES p (id) DEFERRABLE INITIALLY DEFERRED)"
            )
            await uow.commit()

        async def add(v: int) -> None:
            async with db.unit_of_work() as uow:
                await uow.execute("INSERT INTO c (p) VALUES (?)", (v,))
                await uow.commit()

        async with db.unit_of_work() as uow:
            await uow.execute("INSERT INTO p (id) VALUES (1)")
            await uow.commit()
        results = await asyncio.gather(add(1), add(99), add(1), return_exceptions=True)
        assert all(isinstance(r, StorageError) for r in results), results
        async with db.reader() as r:
            rows = await r.fetchall("SELECT p FROM c")
        assert rows == []
        await add(1)  # the writer recovers for the next unit
        async with db.reader() as r:
            assert len(await r.fetchall("SELECT p FROM c")) == 1


def _slow_commits(monkeypatch: pytest.MonkeyPatch) -> asyncio.Event:
    """Each batch's COMMIT takes 0.3 s on the writer thread; the event is set as it
    starts."""
    import time

    from core.storage import db as dbmod

    real = dbmod._commit_sync
    committing = asyncio.Event()
    loop = asyncio.get_running_loop()

    def slow_commit(conn: sqlite3.Connection, batch: object) -> None:
        loop.call_soon_threadsafe(committing.set)
        time.sleep(0.3)
        real(conn, batch)  # type: ignore[arg-type]

    monkeypatch.setattr(dbmod, "_commit_sync", slow_commit)
    return committing


async def test_cancelled_committer_still_resolves_its_batch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cancelling the task that runs a batch's COMMIT neither loses the batch nor hangs
    the units waiting on it."""
    committing = _slow_commits(monkeypatch)
    async with Database(tmp_path / "x.db") as db:
        waiting = asyncio.create_task(_put(db, "k1"))
        await asyncio.sleep(0)  # k1 holds the lock while k2 queues behind it
        committer = asyncio.create_task(_put(db, "k2"))
        await committing.wait()
        committer.cancel()
        with pytest.raises(asyncio.CancelledError):
            await committer
        await asyncio.wait_for(waiting, 5)  # resolved by the COMMIT that did finish
        await _put(db, "k3")  # the writer is free again
        assert await _count(db) == 3


async def test_a_unit_cancelled_while_it_waits_for_the_commit_leaves_the_batch_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A kept unit whose task is cancelled while the batch's COMMIT runs raises
    CancelledError; its rows are still committed with the batch, and the other units'
    waits end as the COMMIT does."""
    committing = _slow_commits(monkeypatch)
    async with Database(tmp_path / "x.db") as db:
        first = asyncio.create_task(_put(db, "k1"))
        await asyncio.sleep(0)  # k1 holds the lock while k2 and k3 queue behind it
        second = asyncio.create_task(_put(db, "k2"))
        committer = asyncio.create_task(_put(db, "k3"))
        await committing.wait()
        second.cancel()
        with pytest.raises(asyncio.CancelledError):
            await second
        assert not first.done()
        await asyncio.wait_for(asyncio.gather(first, committer), 5)
        assert await _count(db) == 3


async def test_statement_with_large_value_runs_off_loop(tmp_path: Path) -> None:
    """A statement carrying a long text runs on the writer thread, a short one on the loop."""
    import threading

    threads: list[int] = []

    def length(value: str) -> int:
        threads.append(threading.get_ident())
        return len(value)

    big = "文" * 200_000
    async with Database(tmp_path / "x.db") as db:
        assert db._writer is not None
        db._writer.conn.create_function("probe_len", 1, length)
        async with db.unit_of_work() as uow:
            for key, value in (("kbig", big), ("ksmall", "短")):
                await uow.execute(
                    "INSERT INTO meta (key, value) VALUES (?, probe_len(?))", (key, value)
                )
            await uow.commit()
        async with db.reader() as r:
            rows = await r.fetchall("SELECT value FROM meta WHERE key LIKE 'k%' ORDER BY key")
    assert [row["value"] for row in rows] == [str(len(big)), "1"]
    assert threads[0] != threading.get_ident()
    assert threads[1] == threading.get_ident()


async def test_cancelled_begin_gives_the_write_lock_back(tmp_path: Path) -> None:
    """A unit cancelled while its BEGIN waits for another connection's lock leaves no
    transaction open: later units work and other connections can write."""
    path = tmp_path / "x.db"
    async with Database(path) as db:
        blocker = sqlite3.connect(path, isolation_level=None, timeout=0.5)
        try:
            blocker.execute("BEGIN IMMEDIATE")
            unit = asyncio.create_task(_put(db, "k1"))
            await asyncio.sleep(0.2)  # its BEGIN waits on the blocker's lock
            unit.cancel()
            await asyncio.sleep(0.05)
            blocker.execute("ROLLBACK")
            with pytest.raises(asyncio.CancelledError):
                await asyncio.wait_for(unit, 5)
            await asyncio.wait_for(_put(db, "k2"), 5)
            blocker.execute("BEGIN IMMEDIATE")  # the lock is free between units
            blocker.execute("ROLLBACK")
        finally:
            blocker.close()
        assert await _count(db) == 1


@pytest.mark.parametrize("partner", [False, True])
async def test_transaction_aborted_by_sqlite_fails_the_unit_and_leaves_nothing(
    tmp_path: Path, partner: bool
) -> None:
    """When a statement makes SQLite roll back the whole transaction, a unit that goes on
    anyway raises instead of writing outside any transaction, and so does its partner."""

    async def stubborn() -> None:
        async with db.unit_of_work() as uow:
            await uow.execute("INSERT INTO meta (key, value) VALUES ('k1', 'v')")
            with pytest.raises(sqlite3.IntegrityError):
                await uow.execute("INSERT OR ROLLBACK INTO meta (key, value) VALUES ('k1', 'v')")
            await uow.execute("INSERT INTO meta (key, value) VALUES ('k2', 'v')")
            await uow.commit()

    async with Database(tmp_path / "x.db") as db:
        units = [_put(db, "k0")] if partner else []
        results = await asyncio.gather(*units, stubborn(), return_exceptions=True)
        assert all(isinstance(r, StorageError) for r in results), results
        assert await _count(db) == 0
        await _put(db, "k3")  # the writer recovers
        assert await _count(db) == 1


async def test_unit_holding_an_unfinished_statement_still_commits(tmp_path: Path) -> None:
    """A cursor a unit leaves unfinished (RETURNING rows not read) neither fails the shared
    COMMIT nor lets the unit return before its rows are durable."""

    async def returning(key: str) -> None:
        async with db.unit_of_work() as uow:
            cur = await uow.execute(
                "INSERT INTO meta (key, value) VALUES (?, 'v'), (? || 'x', 'v') RETURNING key",
                (key, key),
            )
            cur.fetchone()
            await uow.commit()
        assert cur is not None  # still referenced while the unit ended

    path = tmp_path / "x.db"
    async with Database(path) as db:
        results = await asyncio.gather(
            _put(db, "k1"), returning("k2"), returning("k3"), return_exceptions=True
        )
        assert results == [None, None, None]
        with sqlite3.connect(path) as conn:
            keys = {r[0] for r in conn.execute("SELECT key FROM meta WHERE key LIKE 'k%'")}
        assert keys == {"k1", "k2", "k2x", "k3", "k3x"}


async def test_close_waits_for_a_unit_in_progress(tmp_path: Path) -> None:
    """Closing the database while a unit waits for its BEGIN lets that unit finish and
    commit before the writer connection is closed."""
    path = tmp_path / "x.db"
    db = await Database(path).open()
    blocker = sqlite3.connect(path, isolation_level=None)
    try:
        blocker.execute("BEGIN IMMEDIATE")
        unit = asyncio.create_task(_put(db, "k1"))
        await asyncio.sleep(0.2)  # its BEGIN waits on the blocker's lock
        closing = asyncio.create_task(db.close())
        await asyncio.sleep(0.1)
        blocker.execute("ROLLBACK")
        await asyncio.wait_for(unit, 5)
        await asyncio.wait_for(closing, 5)
    finally:
        blocker.close()
        await db.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT COUNT(*) FROM meta WHERE key = 'k1'").fetchone()[0] == 1
    with pytest.raises(StorageError):
        await _put(db, "k2")


async def test_cancelled_close_still_closes_the_readers(tmp_path: Path) -> None:
    """A close() cancelled while a unit holds the writer still closes the reader
    connections, whose threads would otherwise keep the process from exiting."""
    import threading

    before = set(threading.enumerate())
    db = await Database(tmp_path / "x.db").open()
    gate = asyncio.Event()

    async def holder() -> None:
        async with db.unit_of_work() as uow:
            await uow.execute("INSERT INTO meta (key, value) VALUES ('k1', 'v')")
            await gate.wait()
            await uow.commit()

    unit = asyncio.create_task(holder())
    await asyncio.sleep(0.05)
    closing = asyncio.create_task(db.close())
    await asyncio.sleep(0.05)  # waits for the unit to end
    closing.cancel()
    with pytest.raises(asyncio.CancelledError):
        await closing
    left = [t for t in set(threading.enumerate()) - before
            if not t.daemon and not t.name.startswith("jiyao-db-writer")]
    for t in left:
        t.join(2)
    assert not [t for t in left if t.is_alive()]
    gate.set()
    await asyncio.wait_for(unit, 5)
    await db.close()


def test_blob_store_is_content_addressed(tmp_path: Path) -> None:
    """Blobs are stored once under their sha256 and verified on demand."""
    (tmp_path / "blobs").mkdir()
    store = BlobStore(tmp_path / "blobs")
    d1 = store.put(b"hello")
    assert store.put(b"hello") == d1
    assert store.get(d1) == b"hello"
    assert store.verify(d1) is None
    store.path_of(d1).write_bytes(b"tampered")
    assert store.verify(d1) is not None
    assert not [p for p in store.path_of(d1).parent.iterdir() if p.name.startswith(".tmp")]
    os.remove(store.path_of(d1))
    assert "缺失" in (store.verify(d1) or "")


def test_blob_store_whose_root_vanished_fails_instead_of_recreating_it(tmp_path: Path) -> None:
    """A missing blob root (an unmounted volume) is a StorageError; nothing is written elsewhere."""
    store = BlobStore(tmp_path / "blobs")
    with pytest.raises(StorageError):
        store.put(b"hello")
    assert not (tmp_path / "blobs").exists()


def test_database_that_is_not_sqlite_fails_and_lets_the_process_exit(tmp_path: Path) -> None:
    """Opening a file that is not a database raises StorageError and leaves no thread that
    would keep the process alive."""
    import subprocess
    import sys

    bad = tmp_path / "x.db"
    bad.write_bytes(b"this is not a database" * 100)
    code = (
        "import asyncio, sys\n"
        "from pathlib import Path\n"
        "from core.errors import StorageError\n"
        "from core.storage.db import Database\n"
        "async def main():\n"
        "    try:\n"
        "        await Database(Path(sys.argv[1])).open()\n"
        "    except StorageError as exc:\n"
        "        print('refused:', exc)\n"
        "asyncio.run(main())\n"
    )
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "-c", code, str(bad)], cwd=root, timeout=60,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("refused: 无法打开数据库")
