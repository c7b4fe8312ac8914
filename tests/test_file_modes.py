"""Files jiyao writes are private, whatever the umask: the data directory and every
directory it makes 0700, the database with its -wal and -shm, blobs, backups, exports,
reports and spool files 0600; `jiyao check` names looser modes on what exists."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.config import Settings, Storage
from core.files import loose_modes
from core.model import Kind
from core.services import admin, registry
from core.services.context import DB_FILE, open_context
from intake_daemon.smtp import SPOOL_BYTES, _Spool
from jiyao.commands.export import write_table
from tests.conftest import EXAMPLE, ROOT

UMASKS = [0o022, 0o000]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(params=UMASKS, ids=lambda u: f"umask{u:03o}")
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    old = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(old)


async def test_everything_written_is_private(
    umask: int, settings: Settings, tmp_path: Path
) -> None:
    data_dir = tmp_path / "srv" / "jiyao"  # parents it creates are private too
    settings = settings.model_copy(update={"storage": Storage(data_dir=data_dir)})
    ctx = await open_context(settings)
    try:
        await registry.register_paper(ctx, kind=Kind.BAN, sender="康定市人民政府", title="t")
        digest = ctx.blobs.put(b"%PDF-1.7 a document")
        db = data_dir / DB_FILE
        wal, shm = db.with_name(DB_FILE + "-wal"), db.with_name(DB_FILE + "-shm")
        assert wal.exists(), "the WAL is there while the database is open"
        assert shm.exists()
        blob = ctx.blobs.path_of(digest)
        backup = (await admin.backup(ctx, tmp_path / "backup")).path
        for path in (tmp_path / "srv", data_dir, data_dir / "blobs", blob.parent, backup,
                     backup / "blobs", backup / blob.parent.relative_to(data_dir)):
            assert mode(path) == 0o700, path
        for path in (db, wal, shm, blob, backup / "jiyao.db", backup / "MANIFEST.sha256",
                     backup / blob.relative_to(data_dir)):
            assert mode(path) == 0o600, path
    finally:
        await ctx.db.close()
    assert loose_modes(data_dir) == []


def test_exports_are_private_even_over_an_older_file(umask: int, tmp_path: Path) -> None:
    rows = [{"a": 1}]
    for fmt in ("csv", "xlsx"):
        out = tmp_path / f"register.{fmt}"
        write_table(rows, [("a", "甲")], fmt, out, sheet="s")
        assert mode(out) == 0o600
        out.chmod(0o644)  # written before this rule
        write_table(rows, [("a", "甲")], fmt, out, sheet="s")
        assert mode(out) == 0o600


def test_spool_files_are_private(umask: int, tmp_path: Path) -> None:
    spool = _Spool(tmp_path)
    spool.write(b"x" * SPOOL_BYTES)  # past the limit: on disk
    assert spool._file is not None
    assert stat.S_IMODE(os.fstat(spool._file.fileno()).st_mode) == 0o600
    spool.discard()


@pytest.mark.parametrize("mask", UMASKS, ids=lambda u: f"umask{u:03o}")
def test_the_command_line_writes_private_files(mask: int, tmp_path: Path) -> None:
    """init, register, backup, export and a statistics file, from a shell with this umask."""
    data_dir = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("JIYAO_")}
    env["JIYAO_STORAGE__DATA_DIR"] = str(data_dir)

    def jiyao(*args: str) -> None:
        subprocess.run(
            [sys.executable, "-m", "jiyao.cli", *args, "--config", str(EXAMPLE)],
            env=env, cwd=tmp_path, umask=mask, check=True, capture_output=True, timeout=120,
            text=True,
        )

    jiyao("init")
    jiyao("register", "--kind", "办件", "--sender", "康定市人民政府", "--title", "t")
    jiyao("backup", str(tmp_path / "b"))
    jiyao("export", "--year", "2026", "--format", "csv", "--out", str(tmp_path / "e.csv"))
    jiyao("stats", "--period", "2026", "--format", "xlsx", "--out", str(tmp_path / "s.xlsx"))
    assert mode(data_dir) == 0o700
    for name in ("e.csv", "s.xlsx"):
        assert mode(tmp_path / name) == 0o600, name
    assert loose_modes(data_dir) == []
    assert loose_modes(tmp_path / "b") == []
    restored = tmp_path / "restored"
    env["JIYAO_STORAGE__DATA_DIR"] = str(restored)
    jiyao("restore", str(tmp_path / "b"))
    assert loose_modes(restored) == []


async def test_check_names_looser_modes(settings: Settings) -> None:
    ctx = await open_context(settings)
    try:
        assert not [p for p in await admin.check(ctx) if "权限" in p]
        data_dir = settings.storage.data_dir
        data_dir.chmod(0o755)  # as mkdir left it before
        (data_dir / DB_FILE).chmod(0o644)  # as SQLite made it before
        problems = [p for p in await admin.check(ctx) if "权限" in p]
    finally:
        await ctx.db.close()
    assert any(f"目录 {data_dir} 为 0755" in p for p in problems), problems
    assert any(f"文件 {data_dir / DB_FILE} 为 0644" in p for p in problems), problems
    assert problems[-1] == f"权限过宽：请运行 chmod -R go-rwx {data_dir}"


def test_check_on_the_command_line_warns_in_chinese(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    env = {**os.environ, "JIYAO_STORAGE__DATA_DIR": str(data_dir)}
    env.pop("JIYAO_CONFIG", None)
    cmd = [sys.executable, "-m", "jiyao.cli", "check", "--config", str(EXAMPLE)]
    ok = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, check=False)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    (data_dir / "blobs").chmod(0o775)
    bad = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, check=False)
    assert bad.returncode == 1
    assert f"权限过宽：目录 {data_dir / 'blobs'} 为 0775" in bad.stdout


def test_many_loose_files_are_counted_not_listed(tmp_path: Path) -> None:
    root = tmp_path / "d"
    root.mkdir(mode=0o700)
    root.chmod(0o700)
    for i in range(15):
        (root / f"f{i:02d}").write_bytes(b"")
        (root / f"f{i:02d}").chmod(0o640)
    (root / "ok").write_bytes(b"")
    (root / "ok").chmod(0o600)
    lines = loose_modes(root)
    assert len(lines) == 12
    assert lines[10] == "权限过宽：另有 5 个文件或目录"
    assert all("ok" not in line for line in lines)
