"""Backups and exports are whole or absent: a writer that fails or is SIGKILLed midway
leaves the old file (or nothing), never a truncated one; an output folder that does not
exist is an error, not created; `.tmp-` files a killed writer left in blobs/ are reported
by `jiyao check` and removed when the daemon starts."""

from __future__ import annotations

import errno
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from core.config import Settings
from core.files import TEMP_PREFIX, private_temp
from core.model import Kind
from core.services import admin, registry
from core.services.context import Context, open_context
from core.storage import backup as backups
from jiyao import serve
from jiyao.commands.export import write_table
from tests.conftest import ROOT, run_cli

HEADERS = [("n", "序号"), ("t", "标题")]


class _Boom:
    def __str__(self) -> str:
        raise RuntimeError("the writer fails midway")


def _temps(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.startswith(TEMP_PREFIX)]


def test_a_csv_export_failing_midway_leaves_the_old_file(tmp_path: Path) -> None:
    out = tmp_path / "register.csv"
    write_table([{"n": 1, "t": "旧"}], HEADERS, "csv", out, sheet="s")
    before = out.read_bytes()
    rows = [{"n": i, "t": "新"} for i in range(5000)] + [{"n": 5000, "t": _Boom()}]
    with pytest.raises(RuntimeError):
        write_table(rows, HEADERS, "csv", out, sheet="s")
    assert out.read_bytes() == before
    assert _temps(tmp_path) == []


def test_an_xlsx_export_failing_midway_leaves_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from openpyxl import Workbook

    out = tmp_path / "register.xlsx"
    write_table([{"n": 1, "t": "旧"}], HEADERS, "xlsx", out, sheet="s")
    before = out.read_bytes()

    def save_half(self: Workbook, fh: Any) -> None:
        fh.write(b"PK\x03\x04 the first part of the archive")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Workbook, "save", save_half)
    with pytest.raises(OSError):
        write_table([{"n": 2, "t": "新"}], HEADERS, "xlsx", out, sheet="s")
    assert out.read_bytes() == before
    assert _temps(tmp_path) == []


# A child writes an export whose rows kill it (SIGKILL) halfway, after flushing what it
# wrote so far: nothing gets to clean up.
_KILLED_EXPORT = """
import os, signal, sys
from pathlib import Path
from jiyao.commands.export import write_table

class Rows(list):
    def __iter__(self):
        for i in range(10_000):
            if i == 5_000:
                sys.stdout.flush()
                os.kill(os.getpid(), signal.SIGKILL)
            yield {"n": i, "t": "新的一行" * 10}

write_table(Rows(), [("n", "序号"), ("t", "标题")], "csv", Path(sys.argv[1]), sheet="s")
"""


def test_a_killed_export_leaves_the_old_file(tmp_path: Path) -> None:
    out = tmp_path / "register.csv"
    write_table([{"n": 1, "t": "旧"}], HEADERS, "csv", out, sheet="s")
    before = out.read_bytes()
    r = subprocess.run([sys.executable, "-c", _KILLED_EXPORT, str(out)], cwd=ROOT,
                       capture_output=True, timeout=120, check=False)
    assert r.returncode == -signal.SIGKILL, r.stderr
    assert out.read_bytes() == before


async def test_a_backup_failing_midway_leaves_nothing_and_the_retry_works(
    ctx: Context, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for i in range(50):
        await registry.register_paper(ctx, kind=Kind.BAN, sender="国务院", title=f"通知{i}")
    dest = tmp_path / "backup"
    real_connect = sqlite3.connect

    class Source:
        """The live database, backed up page by page, failing after the first page."""

        def __init__(self, conn: sqlite3.Connection) -> None:
            self.conn = conn

        def backup(self, target: sqlite3.Connection) -> None:
            def boom(*_: object) -> None:
                raise OSError(28, "No space left on device")

            self.conn.backup(target, pages=1, progress=boom)

        def close(self) -> None:
            self.conn.close()

    def connect(path: object) -> object:
        conn = real_connect(path)  # type: ignore[call-overload]
        return Source(conn) if Path(str(path)) == ctx.db.path else conn

    monkeypatch.setattr(backups.sqlite3, "connect", connect)
    with pytest.raises(OSError):
        await admin.backup(ctx, dest)
    assert not dest.exists()
    assert _temps(tmp_path) == []
    monkeypatch.undo()
    await admin.backup(ctx, dest)  # not blocked by a half-made one
    with sqlite3.connect(dest / "jiyao.db") as conn:
        assert conn.execute("SELECT COUNT(*) FROM items").fetchone()[0] == 50


_KILLED_BACKUP = """
import os, signal, sqlite3, sys
from pathlib import Path
from core.storage import backup as backups

real_connect = sqlite3.connect
src = Path(sys.argv[1])

class Source:
    def __init__(self, conn):
        self.conn = conn
    def backup(self, target):
        def kill(*_):
            os.kill(os.getpid(), signal.SIGKILL)
        self.conn.backup(target, pages=1, progress=kill)
    def close(self):
        self.conn.close()

def connect(path):
    conn = real_connect(path)
    return Source(conn) if Path(str(path)) == src else conn

backups.sqlite3.connect = connect
backups.backup(src.parent, Path(sys.argv[2]))
"""


def test_a_killed_backup_leaves_nothing_under_its_name(tmp_path: Path) -> None:
    data = tmp_path / "d"
    for i in range(3):  # the schema alone is many pages
        run_cli("register", "--kind", "阅件", "--sender", "国务院", "--title", f"t{i}",
                data_dir=data, check=True)
    dest = tmp_path / "b"
    r = subprocess.run([sys.executable, "-c", _KILLED_BACKUP, str(data / "jiyao.db"), str(dest)],
                       cwd=ROOT, capture_output=True, timeout=120, check=False)
    assert r.returncode == -signal.SIGKILL, r.stderr
    assert not dest.exists()
    assert run_cli("backup", str(dest), data_dir=data).returncode == 0  # the retry works
    with sqlite3.connect(dest / "jiyao.db") as conn:
        assert conn.execute("SELECT COUNT(*) FROM items").fetchone()[0] == 3


@pytest.mark.parametrize("command", [
    ("export", "--year", "2026", "--format", "csv", "--out"),
    ("stats", "--period", "2026", "--format", "xlsx", "--out"),
    ("backup",),
])
def test_an_output_folder_that_does_not_exist_is_an_error(
    command: tuple[str, ...], tmp_path: Path
) -> None:
    missing = tmp_path / "no" / "such"
    r = run_cli(*command, str(missing / "out.file"), data_dir=tmp_path / "d")
    assert r.returncode != 0
    assert f"目录 {missing} 不存在" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr
    assert not (tmp_path / "no").exists()


_HALF_WRITTEN_BLOB = """
import os, sys, time
from pathlib import Path
from core.files import private_temp

fd, _ = private_temp(Path(sys.argv[1]))
os.write(fd, b"half a message")
print("ready", flush=True)
time.sleep(60)
"""


def _killed_blob_writer(shard: Path) -> None:
    """A child that starts a blob temp file and is SIGKILLed while writing it."""
    child = subprocess.Popen(
        [sys.executable, "-c", _HALF_WRITTEN_BLOB, str(shard)],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )
    assert child.stdout is not None
    assert child.stdout.readline() == "ready\n"
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)


def _age(path: Path, seconds: float = 600) -> None:
    past = time.time() - seconds
    os.utime(path, (past, past))


async def test_temps_left_by_a_kill_are_reported_then_removed_at_start(
    settings: Settings,
) -> None:
    ctx = await open_context(settings)
    try:
        shard = ctx.blobs.root / "ab"
        shard.mkdir(mode=0o700)
        _killed_blob_writer(shard)
        (left,) = (p for p in shard.iterdir() if p.name.startswith(TEMP_PREFIX))
        _age(left)
        # one being written now (its writer alive, holding the lock) is neither
        fd, live = private_temp(ctx.blobs.root)
        _age(Path(live))
        fresh_fd, fresh = private_temp(ctx.blobs.root)
        os.close(fresh_fd)  # unlocked but just made: could be a writer between mkstemp and flock
        problems = [p for p in await admin.check(ctx) if "临时文件" in p]
        assert problems == [
            f"临时文件残留：{left}（写入时进程被终止留下；下次启动 jiyao serve 时清除）"
        ]
    finally:
        await ctx.db.close()
    assert await serve.run(settings, []) == 1  # nothing to run, but the start cleaned up
    assert not left.exists()
    assert Path(live).exists()
    assert Path(fresh).exists()
    os.close(fd)
    Path(live).unlink()  # as its writer would, renaming it
    ctx = await open_context(settings)
    try:
        assert not [p for p in await admin.check(ctx) if "临时文件" in p]
    finally:
        await ctx.db.close()
