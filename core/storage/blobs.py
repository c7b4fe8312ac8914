"""Content-addressed blob store: raw messages and documents, written durably before use."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from core.errors import StorageError
from core.files import private_dir, private_temp


class BlobStore:
    """Blobs under `root/ab/cdef…` named by their sha256; write temp, fsync, rename."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path_of(self, digest: str) -> Path:
        return self.root / digest[:2] / digest[2:]

    def put(self, data: bytes) -> str:
        """Store `data` durably and return its sha256 (idempotent)."""
        digest = hashlib.sha256(data).hexdigest()
        final = self.path_of(digest)
        if final.exists():
            return digest
        try:
            # Only the shard: a vanished root (unmounted volume) must fail, not be recreated.
            private_dir(final.parent, parents=False)
            fd, tmp = private_temp(final.parent)
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
                    fh.flush()
                    os.fsync(fh.fileno())
                os.replace(tmp, final)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
            _fsync_dir(final.parent)
        except OSError as exc:
            raise StorageError(f"无法保存文件：{exc}") from exc
        return digest

    def get(self, digest: str) -> bytes:
        try:
            return self.path_of(digest).read_bytes()
        except OSError as exc:
            raise StorageError(f"无法读取文件 {digest[:12]}：{exc}") from exc

    def verify(self, digest: str) -> str | None:
        """None when the blob is present and intact, else a description of the problem."""
        path = self.path_of(digest)
        if not path.exists():
            return f"文件缺失 {digest}"
        h = hashlib.sha256()
        with path.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
        if h.hexdigest() != digest:
            return f"文件内容与哈希不符 {digest}"
        return None


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
