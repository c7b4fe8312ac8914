"""Files jiyao writes are its user's alone: directories 0700, files 0600, whatever the umask.

One rule in one place: the database (its -wal and -shm take the database file's mode), the
blob store, backups, exports, reports and spool files are all created here. Existing files
and directories are left as they are; `loose_modes` names those others may read, for
`jiyao check`.

A file meant to be whole is written whole or not at all (`atomic_file`): a `.tmp-` file
beside it, fsync'd and renamed over it. Each `.tmp-` file is flock'ed by the process
writing it, so one whose writer died (SIGKILL) is told from one being written
(`stale_temps`).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import itertools
import os
import stat
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

DIR_MODE = 0o700
FILE_MODE = 0o600
#: bits that let anyone but the owner in
_OTHERS = 0o077


def private_dir(path: Path, *, parents: bool = True) -> Path:
    """`path` as a directory, it (and with `parents` the parents it needs) created 0700;
    existing ones are left as they are. Without `parents` a missing parent is an error
    (FileNotFoundError)."""
    missing: list[Path] = []
    for p in (path, *path.parents):
        if p.exists():  # a file in the way: mkdir below says ENOTDIR, as it should
            break
        missing.append(p)
        if not parents:
            break
    for p in reversed(missing):
        try:
            p.mkdir(mode=DIR_MODE)
        except FileExistsError:
            if not p.is_dir():
                raise
            continue  # made meanwhile by someone else: theirs, not ours
        os.chmod(p, DIR_MODE)  # mkdir's mode is cut by the umask, never widened: set it
    if not path.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(path))
    return path


def create_private(path: Path, *, exclusive: bool = True) -> int:
    """A new file opened for writing, mode 0600; with `exclusive` an existing one is an
    error (FileExistsError), else it is truncated (and made 0600: it is ours to write)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC | (os.O_EXCL if exclusive else os.O_TRUNC)
    fd = os.open(path, flags, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
    except BaseException:
        os.close(fd)
        raise
    return fd


def ensure_private_file(path: Path) -> None:
    """Create an empty 0600 file unless one exists (SQLite then gives -wal and -shm the
    database file's mode)."""
    with contextlib.suppress(FileExistsError):
        os.close(create_private(path))


TEMP_PREFIX = ".tmp-"


def private_temp(directory: Path, *, prefix: str = TEMP_PREFIX) -> tuple[int, str]:
    """A named temporary file in `directory` (to fill, fsync and rename): 0600, locked by
    this process until the descriptor is closed (the lock dies with the process)."""
    fd, name = tempfile.mkstemp(dir=directory, prefix=prefix)  # mkstemp creates 0600
    fcntl.flock(fd, fcntl.LOCK_EX)
    return fd, name


class MissingFolderError(FileNotFoundError):
    """The folder an output file was to go into does not exist (it is never created)."""


@contextlib.contextmanager
def atomic_file(path: Path, mode: str = "wb", **kwargs: Any) -> Iterator[IO[Any]]:
    """`open(path, mode)` for a file that must be whole or absent: written to a 0600
    `.tmp-` file in the same folder, fsync'd, renamed over `path`. An error (or a kill)
    midway leaves the old file, or nothing. A missing folder is MissingFolderError."""
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_file writes only, got mode {mode!r}")
    folder = path.parent
    if not folder.is_dir():
        raise MissingFolderError(errno.ENOENT, os.strerror(errno.ENOENT), str(folder))
    fd, tmp = private_temp(folder, prefix=f"{TEMP_PREFIX}{path.name}-")
    try:
        with os.fdopen(fd, mode, **kwargs) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
            os.replace(tmp, path)  # still holding the lock: never taken for stale
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_dir(folder)


def fsync_dir(path: Path) -> None:
    """Make the names in `path` (a rename, a new file) durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


#: a `.tmp-` file younger than this is never stale: between mkstemp and flock it is not
#: yet locked
_TEMP_GRACE = 60.0


def stale_temps(root: Path, *, now: float | None = None, shallow: bool = False) -> list[Path]:
    """`.tmp-` files under `root` whose writer is gone: unlocked and older than a minute;
    `shallow`: only those in `root` itself, its subdirectories not listed."""
    if not root.is_dir():
        return []
    now = time.time() if now is None else now
    stale = []
    for base, dirs, files in os.walk(root):
        if shallow:
            dirs[:] = []
        dirs.sort()
        for name in sorted(files):
            if not name.startswith(TEMP_PREFIX):
                continue
            path = Path(base) / name
            try:
                fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
            except OSError:  # renamed or removed meanwhile, or not ours to open
                continue
            try:
                st = os.fstat(fd)
                if not stat.S_ISREG(st.st_mode) or now - st.st_mtime < _TEMP_GRACE:
                    continue
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue  # its writer is alive
                stale.append(path)
            finally:
                os.close(fd)
    return stale


def private_spool(directory: Path | None) -> IO[bytes]:
    """An unnamed temporary file (gone when closed): 0600 while it exists."""
    return tempfile.TemporaryFile(dir=directory)


def _walk(root: Path, shallow: Path | None = None) -> Iterator[Path]:
    """`root` and everything under it; under `shallow`, its subdirectories but not what
    they hold."""
    yield root
    for base, dirs, files in os.walk(root):
        dirs.sort()
        names = (*dirs, *sorted(files))
        if shallow is not None and Path(base) == shallow:
            dirs[:] = []
        for name in names:
            yield Path(base) / name


#: loose paths named one by one before the rest are counted
_NAMED = 10


def loose_modes(
    root: Path, *, shallow: Path | None = None, also: Iterable[str | Path] = ()
) -> list[str]:
    """Staff-facing warnings about directories and files under `root` (itself included)
    that others than their owner may read, write or enter: the first few by name, then a
    count and the one command that mends them all. With `shallow` (a directory under
    `root`), what its subdirectories hold is not listed: of that, only the paths `also`
    names are looked at (an incremental check: the blobs it re-hashed)."""
    if not root.is_dir():
        return []
    loose = []
    for path in itertools.chain(_walk(root, shallow), also):
        try:
            st = os.lstat(path)
        except FileNotFoundError:  # removed while we looked (a -wal at checkpoint)
            continue
        if not stat.S_ISLNK(st.st_mode) and st.st_mode & _OTHERS:
            loose.append((path, stat.S_ISDIR(st.st_mode), stat.S_IMODE(st.st_mode)))
    out = [
        f"权限过宽：{'目录' if is_dir else '文件'} {path} 为 {mode:04o}，其他用户可访问"
        f"（应为 {DIR_MODE if is_dir else FILE_MODE:04o}）"
        for path, is_dir, mode in loose[:_NAMED]
    ]
    if len(loose) > _NAMED:
        out.append(f"权限过宽：另有 {len(loose) - _NAMED} 个文件或目录")
    if loose:
        out.append(f"权限过宽：请运行 chmod -R go-rwx {root}")
    return out
