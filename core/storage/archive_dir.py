"""The archive package on disk: built in a temporary folder beside its final name, every
file fsynced as written, then renamed into place — a reader (or the archive's import)
sees a whole package or none. Files 0600, folders 0700: a package may hold classified
originals. A package of the same name already there is refused unless replacing it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from pathlib import Path
from types import TracebackType

from core.errors import InvalidInputError
from core.files import create_private, fsync_dir, private_dir


class PackageWriter:
    """`with PackageWriter(out, replace=…) as w: w.add(path, data) …; w.commit()`; leaving
    the block without commit removes the temporary folder."""

    def __init__(self, final: Path, *, replace: bool) -> None:
        self.final = final.absolute()
        if self.final.exists() and not replace:
            raise InvalidInputError(
                f"{self.final} 已存在：该年度已导出过归档包；如需重新导出，请加 --replace",
                field="out")
        if self.final.exists() and not self.final.is_dir():
            raise InvalidInputError(f"{self.final} 已存在且不是目录", field="out")
        # --out DIR may be new, but the folder it is in must exist (no path is made up)
        if not self.final.parent.parent.is_dir():
            raise InvalidInputError(
                f"无法写入 {self.final.parent}：目录 {self.final.parent.parent} 不存在"
                "（不会自动创建，请先建好该目录）", field="out")
        private_dir(self.final.parent, parents=False)
        stamp = f"{time.time_ns():x}"
        self.tmp = self.final.parent / f".{self.final.name}.tmp-{stamp}"
        self.tmp.mkdir(mode=0o700)
        self.digests: dict[str, str] = {}
        self._dirs: set[Path] = {self.tmp}
        self._done = False

    def add(self, rel: str, data: bytes) -> str:
        """Write one file of the package; its sha256 goes into the manifest."""
        if rel in self.digests:
            raise ValueError(f"duplicate path in package: {rel}")
        target = self.tmp / rel
        if target.parent not in self._dirs:
            private_dir(target.parent)
            self._dirs.update({target.parent, *target.parent.parents})
        fd = create_private(target)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        digest = hashlib.sha256(data).hexdigest()
        self.digests[rel] = digest
        return digest

    def commit(self) -> Path:
        """Swap the package in: the old one (when replacing) goes only once the new is in."""
        for d in sorted(self._dirs, key=lambda p: len(p.parts), reverse=True):
            if d.is_relative_to(self.tmp):
                fsync_dir(d)
        old = None
        if self.final.exists():
            old = self.final.parent / f".{self.final.name}.old-{time.time_ns():x}"
            os.rename(self.final, old)
        os.rename(self.tmp, self.final)
        fsync_dir(self.final.parent)
        self._done = True
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        return self.final

    def __enter__(self) -> PackageWriter:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if not self._done:
            shutil.rmtree(self.tmp, ignore_errors=True)
