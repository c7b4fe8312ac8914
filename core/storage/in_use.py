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


def hold(data_dir: Path) -> int:
    """Hold the shared lock (blocks only while a restore holds it); the fd to release."""
    fd = _open(data_dir)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)
    except BaseException:
        os.close(fd)
        raise
    return fd


def release(fd: int) -> None:
    os.close(fd)  # closing the file releases its lock


@contextlib.contextmanager
def unused(data_dir: Path) -> Iterator[None]:
    """Hold `data_dir` exclusively, or raise DataDirInUseError at once when it is in use;
    no directory: nothing uses it."""
    if not data_dir.is_dir():
        yield
        return
    fd = _open(data_dir)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DataDirInUseError(data_dir) from None
        yield
    finally:
        os.close(fd)
