"""Files jiyao writes are its user's alone: directories 0700, files 0600, whatever the umask.

One rule in one place: the database (its -wal and -shm take the database file's mode), the
blob store, backups, exports, reports and spool files are all created here. Existing files
and directories are left as they are; `loose_modes` names those others may read, for
`jiyao check`.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from collections.abc import Iterator
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


def open_private(path: Path, mode: str = "wb", **kwargs: Any) -> IO[Any]:
    """`open(path, mode)` for writing a file jiyao owns (an export, a report): 0600, an
    existing file replaced."""
    if mode not in ("w", "wb"):
        raise ValueError(f"open_private writes only, got mode {mode!r}")
    return os.fdopen(create_private(path, exclusive=False), mode, **kwargs)


def ensure_private_file(path: Path) -> None:
    """Create an empty 0600 file unless one exists (SQLite then gives -wal and -shm the
    database file's mode)."""
    with contextlib.suppress(FileExistsError):
        os.close(create_private(path))


def private_temp(directory: Path, *, prefix: str = ".tmp-") -> tuple[int, str]:
    """A named temporary file in `directory` (to fill, fsync and rename): 0600."""
    return tempfile.mkstemp(dir=directory, prefix=prefix)  # mkstemp creates 0600


def fsync_dir(path: Path) -> None:
    """Make a rename or a new entry in `path` durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, data: bytes) -> None:
    """Write `path` whole or not at all: a 0600 temporary file beside it, fsync, rename
    over the old one, fsync the directory. A reader never sees half a file."""
    private_dir(path.parent)
    fd, tmp = private_temp(path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    fsync_dir(path.parent)


def private_spool(directory: Path | None) -> IO[bytes]:
    """An unnamed temporary file (gone when closed): 0600 while it exists."""
    return tempfile.TemporaryFile(dir=directory)


def _walk(root: Path) -> Iterator[Path]:
    yield root
    for base, dirs, files in os.walk(root):
        dirs.sort()
        for name in (*dirs, *sorted(files)):
            yield Path(base) / name


#: loose paths named one by one before the rest are counted
_NAMED = 10


def loose_modes(root: Path) -> list[str]:
    """Staff-facing warnings about directories and files under `root` (itself included)
    that others than their owner may read, write or enter: the first few by name, then a
    count and the one command that mends them all."""
    if not root.is_dir():
        return []
    loose = []
    for path in _walk(root):
        try:
            st = path.lstat()
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
