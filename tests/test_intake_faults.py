"""Faults: storage failing mid-burst, the daemon killed mid-burst, hostile input.

What must hold: a 250 is only ever given for an item that is durably in the database,
exactly once; anything else is 451 (the sender retries) and leaves nothing behind.
"""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiosmtplib
import pytest

from core.config import Settings
from core.services import admin
from core.services.context import DB_FILE, Context, open_context
from core.services.receive import message_id_of
from tests.conftest import FrozenClock, run_cli
from tests.intake_helpers import (
    OFFICE,
    ServedIntake,
    free_port,
    realistic,
    start_intake,
    wait_decided,
    wait_decided_dir,
)

RETRYABLE = (
    aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPConnectError,
    aiosmtplib.SMTPTimeoutError, ConnectionError, OSError, TimeoutError,
)


class Burst:
    """Sends messages over persistent connections and records each final reply code."""

    def __init__(self, port: int, raws: list[bytes], *, retry: bool) -> None:
        self.port = port
        self.raws = raws
        self.retry = retry
        self.codes: dict[int, int] = {}
        self.replies: list[int] = []  # every reply, in arrival order (451s included)
        self._next = 0

    async def run(self, connections: int) -> None:
        await asyncio.gather(*(self._worker() for _ in range(connections)))

    def _take(self) -> int | None:
        if self._next >= len(self.raws):
            return None
        self._next += 1
        return self._next - 1

    async def _worker(self) -> None:
        client: aiosmtplib.SMTP | None = None
        i = self._take()
        while i is not None:
            try:
                if client is None or not client.is_connected:
                    client = aiosmtplib.SMTP(
                        hostname="127.0.0.1", port=self.port, start_tls=False, timeout=30
                    )
                    await client.connect()
                await client.sendmail("mta@relay.example", [OFFICE], self.raws[i])
                code = 250
            except aiosmtplib.SMTPResponseException as exc:
                code = exc.code
                if code == 421:
                    client = None
            except aiosmtplib.SMTPRecipientsRefused as exc:
                code = exc.recipients[0].code
            except RETRYABLE:
                client = None
                if self.retry:
                    await asyncio.sleep(0.1)
                    continue
                code = 0
            self.replies.append(code)
            if self.retry and 400 <= code < 500:
                await asyncio.sleep(0.05)
                continue
            self.codes[i] = code
            i = self._take()
        if client is not None and client.is_connected:
            await client.quit()

    def accepted(self) -> int:
        return self.replies.count(250)


async def _stored_ids(ctx: Context) -> Counter[str]:
    async with ctx.db.reader() as r:
        rows = await r.fetchall("SELECT message_id FROM items")
    return Counter(row["message_id"] for row in rows)


async def _fault_mid_burst(
    ctx: Context, inject: Callable[[], Awaitable[None]], heal: Callable[[], Awaitable[None]],
    tag: str,
) -> None:
    """Inject a fault after some 250s, heal it after some 451s, then resend the 451s."""
    daemon = ServedIntake(ctx)
    await daemon.start()
    try:
        raws = realistic(60, tag)
        burst = Burst(daemon.port, raws, retry=False)
        sending = asyncio.create_task(burst.run(connections=4))
        while burst.accepted() < 15:
            await asyncio.sleep(0.01)
        await inject()
        while burst.replies.count(451) < 8 and not sending.done():
            await asyncio.sleep(0.01)
        await heal()
        await sending
        assert 451 in burst.codes.values()
        assert set(burst.codes.values()) <= {250, 451}
        after_fault = Counter(c for c in burst.replies[-10:])
        assert after_fault[250] > 0
        got_250 = {message_id_of(raws[i]) for i, c in burst.codes.items() if c == 250}
        assert set((await _stored_ids(ctx)).elements()) == got_250
        retry = Burst(daemon.port, [raws[i] for i, c in burst.codes.items() if c != 250],
                      retry=False)
        await retry.run(connections=2)
        assert set(retry.codes.values()) == {250}
        await wait_decided(ctx)
    finally:
        await daemon.stop()
    stored = await _stored_ids(ctx)
    assert set(stored) == {message_id_of(r) for r in raws}
    assert max(stored.values()) == 1
    async with ctx.db.reader() as r:
        audited = await r.fetchone(
            "SELECT COUNT(*) AS n FROM audit WHERE action = 'receive'"
        )
        orphans = await r.fetchone(
            "SELECT COUNT(*) AS n FROM outbox WHERE item_id IS NOT NULL"
            " AND item_id NOT IN (SELECT id FROM items)"
        )
    assert audited is not None
    assert orphans is not None
    assert audited["n"] == len(raws)
    assert orphans["n"] == 0
    assert await admin.check(ctx) == []


async def test_database_failing_mid_burst_gives_451_then_recovers(ctx: Context) -> None:
    """The database refusing writes (late in the transaction) answers 451 and keeps nothing."""

    async def ddl(sql: str) -> None:
        # through the writer's own queue: an outside connection would wait for a gap
        async with ctx.db.unit_of_work() as uow:
            await uow.execute(sql)
            await uow.commit()

    async def inject() -> None:
        # fails the edge's one insert, the `received` row, after its blob was written
        await ddl("CREATE TRIGGER fault BEFORE INSERT ON items"
                  " BEGIN SELECT RAISE(ABORT, 'disk I/O error (injected)'); END")

    async def heal() -> None:
        await ddl("DROP TRIGGER fault")

    await _fault_mid_burst(ctx, inject, heal, "dbfault")


async def test_blob_store_failing_mid_burst_holds_filing_then_recovers(ctx: Context) -> None:
    """The blob directory becoming unusable: small messages are still accepted (their bytes
    are committed with their rows) and wait to be filed; a large one, which goes to the
    blob store at once, is answered 451. Once back, everything is filed and decided."""
    blobs = ctx.blobs.root
    away = blobs.with_name("blobs.away")
    daemon = ServedIntake(ctx)
    await daemon.start()
    try:
        raws = realistic(30, "blobfault")
        await Burst(daemon.port, raws[:10], retry=False).run(connections=2)
        blobs.rename(away)
        blobs.write_bytes(b"not a directory")  # root ignores permissions; this it cannot
        during = Burst(daemon.port, raws[10:], retry=False)
        await during.run(connections=4)
        line = b"y" * 76 + b"\r\n"
        large = raws[0].replace(b"blobfault.0@", b"blobfault.large@") + line * 20_000
        refused = Burst(daemon.port, [large], retry=False)
        await refused.run(connections=1)
        async with ctx.db.reader() as r:
            staged = await r.fetchone("SELECT COUNT(*) AS n FROM raw_staged")
        blobs.unlink()
        away.rename(blobs)
        assert set(during.codes.values()) == {250}
        assert refused.codes == {0: 451}
        assert staged is not None
        assert staged["n"] > 0  # some were waiting for the blob store
        again = Burst(daemon.port, [large], retry=False)
        await again.run(connections=1)
        assert again.codes == {0: 250}
        await wait_decided(ctx, timeout=90)
    finally:
        await daemon.stop()
    stored = await _stored_ids(ctx)
    assert set(stored) == {message_id_of(r) for r in [*raws, large]}
    assert max(stored.values()) == 1
    async with ctx.db.reader() as r:
        left = await r.fetchone("SELECT COUNT(*) AS n FROM raw_staged")
        shunted = await r.fetchone("SELECT COUNT(*) AS n FROM items WHERE outcome = 'shunted'")
    assert left is not None
    assert shunted is not None
    assert (left["n"], shunted["n"]) == (0, 0)
    assert await admin.check(ctx) == []


async def test_sigkill_mid_burst_loses_and_doubles_nothing(tmp_path: Path) -> None:
    """`jiyao intake` killed with SIGKILL during 500 messages, restarted: each is in once."""
    data, log = tmp_path / "data", tmp_path / "intake.log"
    port = free_port()
    raws = realistic(500, "kill")
    proc = await asyncio.to_thread(start_intake, data, port, log)
    try:
        burst = Burst(port, raws, retry=True)
        sending = asyncio.create_task(burst.run(connections=10))
        while burst.accepted() < 150:
            await asyncio.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
        await asyncio.to_thread(proc.wait)
        proc = await asyncio.to_thread(start_intake, data, port, log)
        await asyncio.wait_for(sending, timeout=120)
        assert set(burst.codes.values()) == {250}
        assert len(burst.codes) == len(raws)
        # the items the killed worker held are claimed again and decided, once each
        decided = await asyncio.to_thread(wait_decided_dir, data, 120.0)
        assert "shunted" not in {row["outcome"] for row in decided}
    finally:
        proc.terminate()
        await asyncio.to_thread(proc.wait, 30)
    assert proc.returncode == 0, log.read_text()
    assert "已停止" in log.read_text()
    db = sqlite3.connect(data / DB_FILE)
    try:
        counts = Counter(row[0] for row in db.execute("SELECT message_id FROM items"))
    finally:
        db.close()
    assert set(counts) == {message_id_of(r) for r in raws}
    assert max(counts.values()) == 1
    with sqlite3.connect(data / DB_FILE) as db:
        audited = db.execute("SELECT COUNT(*) FROM audit WHERE action = 'receive'").fetchone()
    assert audited[0] == len(raws)  # each item decided exactly once
    check = run_cli("check", data_dir=data)
    assert check.returncode == 0, check.stdout + check.stderr


HOSTILE = (
    b"\x00\x01\x02 binary garbage \xff\xfe\xfd\r\n" * 50,
    b"\r\n",
    b"Subject: no blank line and no end",
    (
        b"From: a@b\r\nContent-Type: multipart/mixed; boundary=XX\r\n\r\n--XX\r\n"
        b"Content-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        b"JVBERi0x!!!not base64%%%\r\n"
    ),
    b"X-Long: " + b"a" * 900 + b"\r\n\r\nbody\r\n",
    "Subject: 亲启\r\nFrom: =?gb2312?B?invalid?= <x@y>\r\n\r\n\u4e2d\u6587".encode(),
)


async def test_hostile_input_is_stored_and_never_crashes(
    settings: Settings, clock: FrozenClock
) -> None:
    """Garbage DATA is 250 and quarantined (or held); the daemon then still takes mail."""
    ctx = await open_context(settings, clock=clock)
    daemon = ServedIntake(ctx)
    await daemon.start()
    try:
        for raw in HOSTILE:
            errors, text = await aiosmtplib.send(
                raw, sender="x@example.org", recipients=[OFFICE], hostname="127.0.0.1",
                port=daemon.port, start_tls=False,
            )
            assert errors == {}
            assert text.startswith("2.0.0 Ok: item")
        await wait_decided(ctx)
        async with ctx.db.reader() as r:
            rows = await r.fetchall("SELECT outcome, raw_blob FROM items ORDER BY id")
        assert len(rows) == len(HOSTILE)
        assert {row["outcome"] for row in rows} <= {"quarantine", "sealed", "return"}
        assert rows[0]["outcome"] == "quarantine"
        assert all(ctx.blobs.verify(row["raw_blob"]) is None for row in rows)
        (good,) = realistic(1, "after-garbage")
        _errors, text = await aiosmtplib.send(
            good, sender="x@example.org", recipients=[OFFICE], hostname="127.0.0.1",
            port=daemon.port, start_tls=False,
        )
        assert text.startswith("2.0.0 Ok: item")
    finally:
        await daemon.stop()
        await ctx.db.close()


async def test_an_outside_writer_holding_the_lock_gives_451_within_the_wait(
    settings: Settings, clock: FrozenClock
) -> None:
    """Another process holding the database's write lock: DATA answers 451 after `[smtp]
    lock_wait` seconds, not after busy_timeout; once the lock is free the retry is
    answered 250 with the one item the first transaction recorded meanwhile."""
    tuned = settings.model_copy(update={"smtp": settings.smtp.model_copy(update={
        "lock_wait": 1.0})})
    ctx = await open_context(tuned, clock=clock)
    daemon = ServedIntake(ctx)
    await daemon.start()
    blocker = sqlite3.connect(settings.storage.data_dir / DB_FILE, isolation_level=None)
    (raw,) = realistic(1, "locked")
    try:
        blocker.execute("BEGIN IMMEDIATE")
        started = time.monotonic()
        with pytest.raises(aiosmtplib.SMTPDataError) as refused:
            await aiosmtplib.send(raw, sender="a@sc.gov.cn", recipients=[OFFICE],
                                  hostname="127.0.0.1", port=daemon.port, start_tls=False,
                                  timeout=30)
        assert refused.value.code == 451
        assert time.monotonic() - started < 5
        blocker.execute("ROLLBACK")
        _, reply = await aiosmtplib.send(raw, sender="a@sc.gov.cn", recipients=[OFFICE],
                                         hostname="127.0.0.1", port=daemon.port,
                                         start_tls=False, timeout=30)
        await wait_decided(ctx)
    finally:
        blocker.close()
        await daemon.stop()
    async with ctx.db.reader() as r:
        rows = await r.fetchall("SELECT id FROM items WHERE message_id = ?",
                                (message_id_of(raw),))
    await ctx.db.close()
    assert [f"item {row['id']}" in reply for row in rows] == [True]
