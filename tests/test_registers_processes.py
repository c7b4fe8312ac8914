"""Concurrency across OS processes, and a SIGKILL in the middle of a burst."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import ROOT, run_cli

WORKER = [sys.executable, "-m", "tests.registers_worker"]


def _numbers(db: Path) -> list[int]:
    with sqlite3.connect(db) as conn:
        return [r[0] for r in conn.execute(
            "SELECT seq FROM register_entries WHERE kind = '办件' ORDER BY seq")]


def test_four_processes_share_one_register(tmp_path: Path) -> None:
    """4 processes × 250 registrations give exactly 0001..1000 in one register."""
    run_cli("init", data_dir=tmp_path, check=True)
    procs = [
        subprocess.Popen([*WORKER, str(tmp_path), "250", f"p{i}"], cwd=ROOT,
                         stdout=subprocess.PIPE, text=True)
        for i in range(4)
    ]
    printed: list[str] = []
    for p in procs:
        out, _ = p.communicate(timeout=240)
        assert p.returncode == 0
        printed += out.split()
    year = printed[0][1:5]
    assert sorted(printed) == [f"办{year}-{n:04d}" for n in range(1, 1001)]
    assert _numbers(tmp_path / "jiyao.db") == list(range(1, 1001))


def test_sigkill_mid_burst_leaves_consistent_database(tmp_path: Path) -> None:
    """A process killed mid-burst leaves every committed item numbered, no gap, checks passing."""
    run_cli("init", data_dir=tmp_path, check=True)
    p = subprocess.Popen([*WORKER, str(tmp_path), "100000", "burst"], cwd=ROOT,
                         stdout=subprocess.PIPE, text=True)
    assert p.stdout is not None
    seen = 0
    deadline = time.monotonic() + 60
    while seen < 50 and time.monotonic() < deadline:
        if p.stdout.readline():
            seen += 1
    os.kill(p.pid, signal.SIGKILL)
    p.wait(timeout=30)
    assert seen == 50
    nums = _numbers(tmp_path / "jiyao.db")
    assert len(nums) >= 50
    assert nums == list(range(1, len(nums) + 1))
    with sqlite3.connect(tmp_path / "jiyao.db") as conn:
        items = conn.execute("SELECT COUNT(*) FROM items").fetchone()[0]
    assert items == len(nums)  # every committed item has its number
    check = run_cli("check", data_dir=tmp_path)
    assert check.returncode == 0, check.stdout + check.stderr
    audit = run_cli("audit", "verify", data_dir=tmp_path)
    assert audit.returncode == 0, audit.stdout + audit.stderr
