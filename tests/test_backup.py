"""`jiyao backup OUT` writes a directory (online database backup, every file of the data
directory, a sha256 manifest); `jiyao restore BACKUP` checks it and restores it into the
configured data directory, refusing a non-empty one unless --replace."""

from __future__ import annotations

import asyncio
import hashlib
import os
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path

import aiosmtplib
import pytest

from core.files import loose_modes
from core.services.receive import message_id_of
from core.storage.backup import MANIFEST
from tests.conftest import EXAMPLE, NO_OCR_ENV, ROOT, run_cli
from tests.intake_helpers import OFFICE, free_port, intake_process, realistic


def _register(data: Path, n: int) -> None:
    for i in range(n):
        run_cli("register", "--kind", "阅件", "--sender", "国务院", "--title", f"通知{i}",
                data_dir=data, check=True)


def _query(db: Path, sql: str) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True)  # looking changes nothing
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def _message_ids(db: Path) -> set[object]:
    return {row[0] for row in _query(db, "SELECT message_id FROM items")}


def _count(db: Path) -> object:
    return _query(db, "SELECT COUNT(*) FROM items")[0][0]


def _cli_env(data: Path) -> dict[str, str]:
    env = {**os.environ, "JIYAO_STORAGE__DATA_DIR": str(data), **NO_OCR_ENV}
    env.pop("JIYAO_CONFIG", None)
    return env


@pytest.mark.slow
async def test_backup_of_a_receiving_instance_restores_and_checks_clean(tmp_path: Path) -> None:
    """While real SMTP intake is receiving, every message answered 250 before the backup
    started is in it; the restored data directory passes `jiyao check`."""
    live, restored = tmp_path / "live", tmp_path / "restored"
    port = free_port()
    raws = realistic(400, "backup")
    acked: list[tuple[float, str]] = []  # (when the 250 came, Message-ID)
    stop = asyncio.Event()

    async def send() -> None:
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False, timeout=60)
        await client.connect()
        try:
            for raw in raws:
                if stop.is_set():
                    break
                await client.sendmail("mta@relay.example", [OFFICE], raw)
                acked.append((time.monotonic(), message_id_of(raw)))
        finally:
            await client.quit()

    with intake_process(live, port, tmp_path / "intake.log"):
        sending = asyncio.create_task(send())
        while len(acked) < 20:
            assert not sending.done(), sending
            await asyncio.sleep(0.02)
        started = time.monotonic()
        backup = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "jiyao.cli", "backup", str(tmp_path / "b"),
            "--config", str(EXAMPLE), env=_cli_env(live), cwd=ROOT,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
        out, err = await backup.communicate()
        assert backup.returncode == 0, err.decode()
        stop.set()
        await sending
    before = {mid for at, mid in acked if at < started}
    assert len(acked) > len(before), "the intake went on receiving during the backup"
    assert "已备份到" in out.decode()
    assert before <= _message_ids(tmp_path / "b" / "jiyao.db")

    r = run_cli("restore", str(tmp_path / "b"), data_dir=restored)
    assert r.returncode == 0, r.stderr
    assert "已从" in r.stdout
    check = run_cli("check", data_dir=restored)
    assert check.returncode == 0, check.stdout + check.stderr
    assert before <= _message_ids(restored / "jiyao.db")
    assert stat.S_IMODE(restored.stat().st_mode) == 0o700
    assert loose_modes(restored) == []


def test_the_backup_directory_holds_the_blobs_and_a_manifest(tmp_path: Path) -> None:
    data = tmp_path / "d"
    _register(data, 1)
    (data / "blobs" / "ab").mkdir(exist_ok=True)
    blob = data / "blobs" / "ab" / ("c" * 62)
    blob.write_bytes(b"a stored document")
    (data / "blobs" / ".tmp-half").write_bytes(b"left by a kill")
    out = tmp_path / "b"
    r = run_cli("backup", str(out), data_dir=data)
    assert r.returncode == 0, r.stderr
    lines = (out / MANIFEST).read_text(encoding="utf-8").splitlines()
    listed = {line.split("  ", 1)[1]: line.split("  ", 1)[0] for line in lines}
    assert set(listed) == {"jiyao.db", f"blobs/ab/{'c' * 62}"}
    for rel, digest in listed.items():
        assert hashlib.sha256((out / rel).read_bytes()).hexdigest() == digest
    # sha256sum can check it by hand, as the module says
    check = subprocess.run(["sha256sum", "-c", MANIFEST], cwd=out, capture_output=True,
                           text=True, check=False)
    assert check.returncode == 0, check.stdout + check.stderr
    assert loose_modes(out) == []
    # into an existing directory: a new backup inside it
    r = run_cli("backup", str(tmp_path), data_dir=data)
    assert r.returncode == 0, r.stderr
    (inside,) = tmp_path.glob("jiyao-backup-*")
    assert (inside / MANIFEST).is_file()


def test_restore_refuses_a_non_empty_data_directory_unless_replace(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    _register(a, 2)
    _register(b, 1)
    assert run_cli("backup", str(tmp_path / "bk"), data_dir=a).returncode == 0
    r = run_cli("restore", str(tmp_path / "bk"), data_dir=b)
    assert r.returncode != 0
    assert "不是空的" in r.stderr
    assert "--replace" in r.stderr
    assert "Traceback" not in r.stderr
    assert _count(b / "jiyao.db") == 1  # untouched
    r = run_cli("restore", str(tmp_path / "bk"), "--replace", data_dir=b)
    assert r.returncode == 0, r.stderr
    assert _count(b / "jiyao.db") == 2
    (kept,) = tmp_path.glob("b.replaced-*")
    assert _count(kept / "jiyao.db") == 1  # the old one kept, not deleted
    assert f"原数据目录已改名保留为 {kept}" in r.stdout
    assert run_cli("check", data_dir=b).returncode == 0


@pytest.mark.slow
def test_restore_refuses_a_data_directory_in_use_and_changes_nothing(tmp_path: Path) -> None:
    """While another process has the target's database open (a service, a worker, a
    command), restore --replace is refused at once; once it has closed, it restores."""
    a, b = tmp_path / "a", tmp_path / "b"
    _register(a, 2)
    _register(b, 1)
    assert run_cli("backup", str(tmp_path / "bk"), data_dir=a).returncode == 0
    holder = subprocess.Popen(
        [sys.executable, "-c", (
            "import asyncio, sys\n"
            "from core.storage.db import Database\n"
            "async def main():\n"
            f"    db = await Database(__import__('pathlib').Path({str(b / 'jiyao.db')!r})).open()\n"
            "    print('open', flush=True)\n"
            "    sys.stdin.readline()\n"
            "    await db.close()\n"
            "asyncio.run(main())\n")],
        cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline() == "open\n"
        r = run_cli("restore", str(tmp_path / "bk"), "--replace", data_dir=b)
        assert r.returncode != 0
        assert "正在被 jiyao 使用" in r.stderr
        assert "Traceback" not in r.stderr
        assert _count(b / "jiyao.db") == 1
        assert not list(tmp_path.glob("b.replaced-*"))
    finally:
        holder.communicate("\n", timeout=30)
    assert holder.returncode == 0
    r = run_cli("restore", str(tmp_path / "bk"), "--replace", data_dir=b)
    assert r.returncode == 0, r.stderr
    assert _count(b / "jiyao.db") == 2
    assert not (tmp_path / "bk" / "in-use.lock").exists()  # not in the backup


@pytest.mark.parametrize(("damage", "words"), [
    ("alter", "备份文件内容与清单不符：jiyao.db"),
    ("remove", "备份缺少文件：jiyao.db"),
    ("extra", "备份中有清单外的文件：extra.txt"),
    ("escape", "清单第 2 行无法识别"),
    ("no manifest", "缺少清单"),
])
def test_restore_refuses_a_damaged_backup_and_changes_nothing(
    damage: str, words: str, tmp_path: Path
) -> None:
    _register(tmp_path / "a", 1)
    bk = tmp_path / "bk"
    assert run_cli("backup", str(bk), data_dir=tmp_path / "a").returncode == 0
    if damage == "alter":
        with (bk / "jiyao.db").open("r+b") as fh:
            fh.seek(5000)
            fh.write(b"\xff")
    elif damage == "remove":
        (bk / "jiyao.db").unlink()
    elif damage == "extra":
        (bk / "extra.txt").write_text("x")
    elif damage == "escape":
        with (bk / MANIFEST).open("a") as fh:
            fh.write(f"{'0' * 64}  ../outside\n")
    else:
        (bk / MANIFEST).unlink()
    target = tmp_path / "new"
    r = run_cli("restore", str(bk), data_dir=target)
    assert r.returncode != 0
    assert words in r.stderr, r.stderr
    assert "Traceback" not in r.stderr
    assert not target.exists()
    assert not list(tmp_path.glob(".tmp-*"))


def test_backup_to_an_existing_file_is_refused(tmp_path: Path) -> None:
    _register(tmp_path / "a", 1)
    (tmp_path / "taken").write_text("someone's file")
    r = run_cli("backup", str(tmp_path / "taken"), data_dir=tmp_path / "a")
    assert r.returncode != 0
    assert "已存在" in r.stderr
    assert (tmp_path / "taken").read_text() == "someone's file"
