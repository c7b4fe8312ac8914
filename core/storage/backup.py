"""Backup and restore of a data directory: an online SQLite backup of the database plus a
copy of every other file (the blobs, annual reports), with a manifest of sha256 sums in
`sha256sum` format (`cd BACKUP && sha256sum -c MANIFEST.sha256` checks it by hand).

Both are whole or not at all: each is built in a `.tmp-` directory beside its target and
renamed into place once every file is fsync'd.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import shutil
import sqlite3
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from core.errors import StorageError
from core.files import (
    TEMP_PREFIX,
    MissingFolderError,
    create_private,
    fsync_dir,
    private_dir,
)
from core.storage import in_use
from core.storage.db import DB_FILE

MANIFEST = "MANIFEST.sha256"
#: the database and SQLite's companions: the database comes from the backup API instead
_DB_FILES = {DB_FILE + suffix for suffix in ("", "-wal", "-shm", "-journal")}
#: not copied: the database goes as one snapshot; the in-use lock belongs to its directory
_NOT_COPIED = _DB_FILES | {in_use.LOCK_FILE}
_LINE = re.compile(r"([0-9a-f]{64})  (.+)")
_CHUNK = 1 << 20


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def _copy(src: Path, dst: Path) -> str:
    """`src` to a new 0600 file `dst`, fsync'd; the sha256 of the bytes written."""
    h = hashlib.sha256()
    with src.open("rb") as fin, os.fdopen(create_private(dst), "wb") as fout:
        for chunk in iter(lambda: fin.read(_CHUNK), b""):
            h.update(chunk)
            fout.write(chunk)
        fout.flush()
        os.fsync(fout.fileno())
    return h.hexdigest()


def _files(root: Path) -> list[Path]:
    """Regular files under `root`, relative, sorted; symlinks and `.tmp-` files left out."""
    out = []
    for base, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith(TEMP_PREFIX))
        for name in sorted(names):
            path = Path(base) / name
            if name.startswith(TEMP_PREFIX) or path.is_symlink() or not path.is_file():
                continue
            out.append(path.relative_to(root))
    return out


def _fsync_tree(root: Path) -> None:
    for base, _dirs, _names in os.walk(root, topdown=False):
        fsync_dir(Path(base))


def _staging(folder: Path, name: str) -> Path:
    return Path(tempfile.mkdtemp(dir=folder, prefix=f"{TEMP_PREFIX}{name}-"))  # 0700


@dataclass(frozen=True)
class BackupResult:
    path: Path
    files: int
    size: int


def backup(data_dir: Path, dest: Path) -> BackupResult:
    """Back up `data_dir` into the new directory `dest` (its folder must exist; `dest`
    must not)."""
    folder = dest.parent
    if not folder.is_dir():
        raise MissingFolderError(errno.ENOENT, os.strerror(errno.ENOENT), str(folder))
    _refuse_existing(dest)
    tmp = _staging(folder, dest.name)
    try:
        lines = _fill(data_dir, tmp)
        _refuse_existing(dest)  # made meanwhile: rename would replace an empty directory
        os.rename(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    fsync_dir(folder)
    size = sum((dest / rel).stat().st_size for _, rel in lines)
    return BackupResult(dest, len(lines), size)


def _refuse_existing(dest: Path) -> None:
    if dest.exists():
        raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(dest))


def _fill(data_dir: Path, tmp: Path) -> list[tuple[str, str]]:
    """The backup's files in `tmp`, fsync'd, and its manifest lines (sha256, path)."""
    # The database first, as one snapshot: every file it refers to was on disk before its
    # row committed and is never removed, so the files copied after it include them all.
    db = tmp / DB_FILE
    os.close(create_private(db))
    source = sqlite3.connect(data_dir / DB_FILE)
    try:
        target = sqlite3.connect(db)
        try:
            source.backup(target)
            # a rollback-journal file: opening the backup (to look) makes no -wal beside it
            target.execute("PRAGMA journal_mode=DELETE")
        finally:
            target.close()
    finally:
        source.close()
    with db.open("rb+") as fh:
        os.fsync(fh.fileno())
    lines = [(_sha256(db), DB_FILE)]
    for rel in _files(data_dir):
        if rel.as_posix() in _NOT_COPIED:
            continue
        _listable(rel)
        private_dir(tmp / rel.parent)
        lines.append((_copy(data_dir / rel, tmp / rel), rel.as_posix()))
    with os.fdopen(create_private(tmp / MANIFEST), "w", encoding="utf-8") as fh:
        fh.writelines(f"{digest}  {rel}\n" for digest, rel in lines)
        fh.flush()
        os.fsync(fh.fileno())
    _fsync_tree(tmp)
    return lines


def _listable(rel: Path) -> None:
    if "\n" in str(rel) or "\\" in str(rel):
        raise StorageError(f"文件名含换行或反斜杠，无法列入备份清单：{rel!r}")


def _safe(rel: str) -> bool:
    """A manifest path that stays inside the directory."""
    p = PurePosixPath(rel)
    return not p.is_absolute() and ".." not in p.parts and rel == p.as_posix() and rel != "."


def read_manifest(backup_dir: Path) -> tuple[list[tuple[str, str]], list[str]]:
    """The manifest's (sha256, path) lines and what is wrong with the backup: a file
    missing, altered or not listed, a line that cannot be read."""
    manifest = backup_dir / MANIFEST
    if not backup_dir.is_dir():
        return [], [f"备份目录不存在：{backup_dir}"]
    if not manifest.is_file():
        return [], [f"{backup_dir} 不是 jiyao 备份：缺少清单 {MANIFEST}"]
    entries: list[tuple[str, str]] = []
    problems: list[str] = []
    for n, line in enumerate(manifest.read_text(encoding="utf-8").splitlines(), 1):
        m = _LINE.fullmatch(line)
        if m is None or not _safe(m.group(2)):
            problems.append(f"清单第 {n} 行无法识别：{line[:80]!r}")
            continue
        entries.append((m.group(1), m.group(2)))
    listed = {rel for _, rel in entries}
    if DB_FILE not in listed:
        problems.append(f"备份中没有数据库 {DB_FILE}")
    for digest, rel in entries:
        path = backup_dir / rel
        if not path.is_file():
            problems.append(f"备份缺少文件：{rel}")
        elif _sha256(path) != digest:
            problems.append(f"备份文件内容与清单不符：{rel}")
    problems += [
        f"备份中有清单外的文件：{rel}"
        for rel in (p.as_posix() for p in _files(backup_dir))
        if rel != MANIFEST and rel not in listed
    ]
    return entries, problems


@dataclass(frozen=True)
class RestoreResult:
    files: int
    #: where the data directory that was replaced now is (None when there was none)
    replaced: Path | None


class BackupInvalidError(StorageError):
    def __init__(self, problems: list[str]) -> None:
        listed = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"备份校验未通过，未作任何改动：\n{listed}")
        self.problems = problems


class DataDirNotEmptyError(StorageError):
    pass


def restore(backup_dir: Path, data_dir: Path, *, replace: bool, stamp: str) -> RestoreResult:
    """Restore `backup_dir` as `data_dir`, every file checked against the manifest first.
    A non-empty `data_dir` is refused unless `replace`, and then moved aside (kept as
    `<data_dir>.replaced-<stamp>`), never deleted."""
    entries, problems = read_manifest(backup_dir)
    if problems:
        raise BackupInvalidError(problems)
    _occupied(data_dir, replace=replace)  # before the lock: a refusal writes nothing
    with in_use.unused(data_dir):
        return _restore(backup_dir, entries, data_dir, replace=replace, stamp=stamp)


def _occupied(data_dir: Path, *, replace: bool) -> bool:
    """Whether `data_dir` holds anything; refused unless `replace`."""
    if data_dir.exists() and not data_dir.is_dir():
        raise DataDirNotEmptyError(f"数据目录 {data_dir} 不是目录")
    occupied = data_dir.is_dir() and any(p.name != in_use.LOCK_FILE for p in data_dir.iterdir())
    if occupied and not replace:
        raise DataDirNotEmptyError(
            f"数据目录 {data_dir} 不是空的，未恢复（确认要替换时加 --replace，原目录会被改名保留）")
    return occupied


def _restore(backup_dir: Path, entries: list[tuple[str, str]], data_dir: Path, *,
             replace: bool, stamp: str) -> RestoreResult:
    occupied = _occupied(data_dir, replace=replace)  # again, under the lock
    private_dir(data_dir.parent)
    tmp = _staging(data_dir.parent, f"restore-{data_dir.name}")
    try:
        _copy_checked(backup_dir, entries, tmp)
        replaced = None
        if occupied:
            replaced = data_dir.with_name(f"{data_dir.name}.replaced-{stamp}")
            os.rename(data_dir, replaced)
        elif data_dir.is_dir():
            (data_dir / in_use.LOCK_FILE).unlink(missing_ok=True)
            data_dir.rmdir()
        os.rename(tmp, data_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    fsync_dir(data_dir.parent)
    return RestoreResult(len(entries), replaced)


def _copy_checked(backup_dir: Path, entries: list[tuple[str, str]], tmp: Path) -> None:
    for digest, rel in entries:
        private_dir((tmp / rel).parent)
        if _copy(backup_dir / rel, tmp / rel) != digest:  # changed since it was checked
            raise BackupInvalidError([f"备份文件内容与清单不符：{rel}"])
    _fsync_tree(tmp)
