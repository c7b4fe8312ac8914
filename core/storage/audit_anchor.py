"""The audit anchor file: one line per anchor taken, `<ISO time> N:HASH`, appended and
fsync'd; kept outside the data directory so a rewritten database cannot rewrite it too."""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass
from pathlib import Path

from core.files import FILE_MODE, MissingFolderError


@dataclass(frozen=True)
class Anchor:
    line: int
    at: str
    count: int
    hash: str


def format_anchor(count: int, head_hash: str) -> str:
    return f"{count}:{head_hash}"


def parse_anchor(text: str) -> tuple[int, str] | None:
    """`N:HASH` as (N, HASH), or None when it is not one."""
    n, sep, h = text.strip().partition(":")
    if not sep or not n.isdigit() or len(h) != 64 or h.strip("0123456789abcdef"):
        return None
    return int(n), h


def append(path: Path, at: str, anchor: str) -> None:
    """Append `at anchor` as one line, durably; the file is made 0600 when new."""
    if not path.parent.is_dir():
        raise MissingFolderError(errno.ENOENT, os.strerror(errno.ENOENT), str(path.parent))
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, FILE_MODE)
    try:
        os.write(fd, f"{at} {anchor}\n".encode())
        os.fsync(fd)
    finally:
        os.close(fd)


def read(path: Path) -> tuple[list[Anchor], list[str]]:
    """The anchors in the file and the lines that are not one (as problems)."""
    anchors: list[Anchor] = []
    problems: list[str] = []
    text = path.read_text(encoding="utf-8", errors="replace")
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        at, _, value = line.strip().rpartition(" ")
        parsed = parse_anchor(value)
        if parsed is None:
            problems.append(f"锚点文件 {path} 第 {n} 行无法识别：{line[:80]!r}")
            continue
        anchors.append(Anchor(n, at, *parsed))
    return anchors, problems
