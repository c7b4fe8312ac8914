"""Whether a data directory is in use: every process with its database open holds a shared
lock on `<data_dir>/in-use.lock`; a restore must take it exclusively, so it never swaps a
directory from under a running `jiyao serve`, a pipeline worker or a command."""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from core.errors import StorageError

LOCK_FILE = "in-use.lock"


class DataDirInUseError(StorageError):
    def __init__(self, data_dir: Path) -> None:
        super().__init__(f"数据目录 {data_dir} 正在被 jiyao 使用（服务、收文处理进程或命令），"
                         "请先停止后再恢复")
        self.data_dir = data_dir


def _open(data_dir: Path) -> int:
    return os.open(data_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)


def _current(fd: int, data_dir: Path) -> bool:
    """The locked file is still the directory's lock file: a restore that came first may
    have moved the directory (and the file in it) away."""
    try:
        now = os.stat(data_dir / LOCK_FILE)
    except FileNotFoundError:
        return False
    held = os.fstat(fd)
    return (held.st_dev, held.st_ino) == (now.st_dev, now.st_ino)


def hold(data_dir: Path, *, wait: bool = True) -> int | None:
    """Hold the shared lock; the fd to release. It waits only while a restore holds the
    lock, and without `wait` returns None then instead."""
    while True:
        fd = _open(data_dir)
        try:
            fcntl.flock(fd, fcntl.LOCK_SH if wait else fcntl.LOCK_SH | fcntl.LOCK_NB)
            if _current(fd, data_dir):
                return fd
        except BlockingIOError:
            os.close(fd)
            return None
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)  # locked a lock file a restore moved away: lock the new one


def release(fd: int) -> None:
    os.close(fd)  # closing the file releases its lock


@contextlib.contextmanager
def unused(data_dir: Path) -> Iterator[None]:
    """Hold `data_dir` exclusively, or raise DataDirInUseError at once when it is in use;
    no directory: nothing uses it."""
    if not data_dir.is_dir():
        yield
        return
    while True:
        fd = _open(data_dir)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise DataDirInUseError(data_dir) from None
        if _current(fd, data_dir):
            break
        os.close(fd)
    try:
        yield
    finally:
        os.close(fd)
