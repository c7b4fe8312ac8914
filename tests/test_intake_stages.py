"""`jiyao intake` as real processes: the edge accepts while worker processes decide.

A message of 250,000 folded header lines no longer stalls other senders; a worker
process killed mid-burst loses and doubles nothing; SIGTERM during DATA answers 421.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sqlite3
import time
from collections import Counter
from pathlib import Path

import aiosmtplib

from core.services.context import DB_FILE
from core.services.receive import message_id_of
from tests.conftest import run_cli
from tests.intake_helpers import (
    OFFICE,
    free_port,
    realistic,
    start_intake,
    wait_decided_dir,
)
from tests.test_intake_faults import Burst


def _children(pid: int) -> list[int]:
    """Pids of the worker processes the daemon started (Linux /proc)."""
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    workers = []
    for child in (int(x) for x in text.split()):
        try:
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
        except OSError:
            continue
        if b"spawn_main" in cmdline:  # not multiprocessing's resource tracker
            workers.append(child)
    return workers


def _wait_children(pid: int, n: int, timeout: float = 30.0) -> list[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = _children(pid)
        if len(found) >= n:
            return found
        time.sleep(0.1)
    raise AssertionError(f"daemon {pid} has no {n} worker processes")


def _folded(lines: int) -> bytes:
    head = (b"From: a@sc.gov.cn\r\nTo: " + OFFICE.encode() + b"\r\nSubject: folded\r\n"
            b"Message-ID: <folded.1@example.org>\r\nX-Folded: start\r\n")
    return head + b" x\r\n" * lines + b"\r\nbody\r\n"


async def _send(port: int, raw: bytes) -> tuple[str, float]:
    started = time.monotonic()
    _errors, text = await aiosmtplib.send(
        raw, sender="a@sc.gov.cn", recipients=[OFFICE], hostname="127.0.0.1", port=port,
        start_tls=False, timeout=60,
    )
    return text, time.monotonic() - started


async def test_folded_header_message_does_not_stall_other_senders(tmp_path: Path) -> None:
    """250,000 folded header lines (1 MB): 250 within 10 s, and a second sender's small
    message meanwhile is answered within 1 s; both are decided afterwards."""
    data, log = tmp_path / "data", tmp_path / "intake.log"
    port = free_port()
    raw = _folded(250_000)
    assert len(raw) >= 1_000_000
    proc = await asyncio.to_thread(start_intake, data, port, log)
    try:
        big = asyncio.create_task(_send(port, raw))
        await asyncio.sleep(0.05)
        lags = []
        for i in range(5):  # while the big one is taken in and then read by a worker
            (other,) = realistic(1, f"beside-{i}")
            text, lag = await _send(port, other)
            assert text.startswith("2.0.0 Ok: item")
            lags.append(lag)
            await asyncio.sleep(0.2)
        text, big_lag = await asyncio.wait_for(big, 30)
        assert text.startswith("2.0.0 Ok: item")
        assert big_lag < 10
        assert max(lags) < 1.0, lags
        rows = await asyncio.to_thread(wait_decided_dir, data, 60.0)
        assert len(rows) == 6
    finally:
        proc.terminate()
        await asyncio.to_thread(proc.wait, 30)
    assert proc.returncode == 0, log.read_text()


async def test_sigkill_of_a_worker_mid_burst_loses_and_doubles_nothing(tmp_path: Path) -> None:
    """A pipeline worker killed with SIGKILL during 300 messages: it is started again, the
    item it held is claimed again, each message is decided once, registers gap-free."""
    data, log = tmp_path / "data", tmp_path / "intake.log"
    port = free_port()
    raws = realistic(300, "wkill")
    proc = await asyncio.to_thread(start_intake, data, port, log)
    try:
        (worker,) = await asyncio.to_thread(_wait_children, proc.pid, 1)
        burst = Burst(port, raws, retry=True)
        sending = asyncio.create_task(burst.run(connections=8))
        while burst.accepted() < 60:
            await asyncio.sleep(0.01)
        os.kill(worker, signal.SIGKILL)
        await asyncio.wait_for(sending, timeout=120)
        assert set(burst.codes.values()) == {250}
        rows = await asyncio.to_thread(wait_decided_dir, data, 180.0)
        assert "shunted" not in {r["outcome"] for r in rows}
        assert worker not in _children(proc.pid)  # a new worker took its place
    finally:
        proc.terminate()
        await asyncio.to_thread(proc.wait, 60)
    assert proc.returncode == 0, log.read_text()
    assert "重新启动" in log.read_text()
    with sqlite3.connect(data / DB_FILE) as db:
        ids = Counter(r[0] for r in db.execute("SELECT message_id FROM items"))
        audited = db.execute("SELECT COUNT(*) FROM audit WHERE action = 'receive'").fetchone()
    assert set(ids) == {message_id_of(r) for r in raws}
    assert max(ids.values()) == 1
    assert audited[0] == len(raws)
    check = run_cli("check", data_dir=data)
    assert check.returncode == 0, check.stdout + check.stderr


def _reply(sock: socket.socket) -> bytes:
    buf = b""
    while not buf.endswith(b"\r\n") or buf.split(b"\r\n")[-2][3:4] == b"-":
        chunk = sock.recv(4096)
        if not chunk:
            break
        buf += chunk
    return buf


async def test_sigterm_during_data_answers_421_and_keeps_nothing(tmp_path: Path) -> None:
    """SIGTERM while a client is sending DATA: 421 (the sender retries), nothing of the
    half-sent message is stored, the daemon and its workers stop cleanly."""
    data, log = tmp_path / "data", tmp_path / "intake.log"
    port = free_port()
    proc = await asyncio.to_thread(start_intake, data, port, log)
    (raw,) = realistic(1, "term")
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        assert _reply(sock).startswith(b"220")
        for command in (b"EHLO t", b"MAIL FROM:<a@sc.gov.cn>", b"RCPT TO:<" + OFFICE.encode()
                        + b">", b"DATA"):
            sock.sendall(command + b"\r\n")
            reply = _reply(sock)
            assert reply[:1] in (b"2", b"3"), reply
        sock.sendall(raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")[: len(raw) // 2])
        await asyncio.sleep(0.3)
        proc.send_signal(signal.SIGTERM)
        answer = await asyncio.to_thread(_reply, sock)
    assert answer.startswith(b"421"), answer
    await asyncio.to_thread(proc.wait, 60)
    assert proc.returncode == 0, log.read_text()
    with sqlite3.connect(data / DB_FILE) as db:
        assert db.execute("SELECT COUNT(*) FROM items").fetchone()[0] == 0
    leftovers = [p for p in (data / "blobs").rglob("*") if p.is_file()]
    assert leftovers == []
