"""Content-addressed blob store: raw messages and documents, written durably before use."""

from __future__ import annotations

import errno
import hashlib
import os
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

from core.errors import StorageError
from core.files import fsync_dir, private_dir, private_temp, stale_temps


def digest_of(data: bytes) -> str:
    """The name a blob of `data` has in the store: its sha256."""
    return hashlib.sha256(data).hexdigest()


class BlobStore:
    """Blobs under `root/ab/cdef…` named by their sha256; write temp, fsync, rename."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path_of(self, digest: str) -> Path:
        return Path(self.file_of(digest))

    def file_of(self, digest: str) -> str:
        """`path_of` as text (cheaper by far when a check lists tens of thousands)."""
        return os.path.join(self.root, digest[:2], digest[2:])

    def put(self, data: bytes) -> str:
        """Store `data` durably and return its sha256 (idempotent)."""
        digest = digest_of(data)
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
            fsync_dir(final.parent)
        except OSError as exc:
            raise StorageError(f"无法保存文件：{exc}") from exc
        return digest

    def stale_temps(self, *, shallow: bool = False) -> list[Path]:
        """`.tmp-` files a killed writer left behind (none being written); `shallow`: in
        the store's root only (where large messages are written), not in its shards."""
        return stale_temps(self.root, shallow=shallow)

    def remove_stale_temps(self) -> list[Path]:
        """Remove what `stale_temps` finds; the paths removed."""
        removed = []
        for path in self.stale_temps():
            try:
                path.unlink()
            except FileNotFoundError:
                continue
            removed.append(path)
        return removed

    def writer(self) -> BlobWriter:
        """A blob to write as it arrives (`BlobWriter`)."""
        return BlobWriter(self)

    def get(self, digest: str) -> bytes:
        try:
            return self.path_of(digest).read_bytes()
        except OSError as exc:
            raise StorageError(f"无法读取文件 {digest[:12]}：{exc}") from exc

    def verify(self, digest: str) -> str | None:
        """None when the blob is present and intact, else a description of the problem."""
        h = hashlib.sha256()
        try:
            fh = open(self.file_of(digest), "rb")  # noqa: SIM115 - closed just below
        except FileNotFoundError:
            return f"文件缺失 {digest}"
        with fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
        if h.hexdigest() != digest:
            return f"文件内容与哈希不符 {digest}"
        return None

    def verify_many(self, digests: Iterable[str]) -> list[str]:
        """`verify` each (blocking: run it off the event loop); the problems found."""
        return [problem for digest in digests if (problem := self.verify(digest))]


class BlobWriter:
    """A blob written as it arrives (DATA of a large message): an unnamed file in the blob
    store, hashed on the way. `keep()` fsyncs it and links it in under its sha256;
    `discard()` drops it. A crash in between leaves nothing behind (O_TMPFILE; a named
    `.tmp-` file where the filesystem lacks it)."""

    def __init__(self, store: BlobStore) -> None:
        self._store = store
        self._sha = hashlib.sha256()
        self.size = 0
        self._named: str | None = None
        try:
            try:
                fd = os.open(store.root, os.O_TMPFILE | os.O_WRONLY, 0o600)
            except OSError as exc:
                if exc.errno not in (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL):
                    raise
                fd, self._named = private_temp(store.root)
        except OSError as exc:
            raise StorageError(f"无法保存文件：{exc}") from exc
        self._fh: BinaryIO | None = os.fdopen(fd, "wb")

    def write(self, data: bytes | bytearray | memoryview) -> None:
        assert self._fh is not None, "written after keep() or discard()"
        try:
            self._fh.write(data)
        except OSError as exc:
            self.discard()
            raise StorageError(f"无法保存文件：{exc}") from exc
        self._sha.update(data)
        self.size += len(data)

    @property
    def digest(self) -> str:
        return self._sha.hexdigest()

    def keep(self) -> str:
        """Make it a blob, durably (it blocks: run it off the event loop); its sha256."""
        fh, self._fh = self._fh, None
        assert fh is not None, "kept twice or after discard()"
        digest = self.digest
        final = self._store.path_of(digest)
        try:
            with fh:
                fh.flush()
                os.fsync(fh.fileno())
                private_dir(final.parent, parents=False)
                try:
                    if self._named is None:
                        _link_unnamed(fh.fileno(), self._store.root, final)
                    else:
                        os.replace(self._named, final)
                        self._named = None
                except FileExistsError:
                    pass  # the same bytes are there already
            fsync_dir(final.parent)
        except OSError as exc:
            raise StorageError(f"无法保存文件：{exc}") from exc
        finally:
            if self._named is not None:
                Path(self._named).unlink(missing_ok=True)
                self._named = None
        return digest

    def discard(self) -> None:
        fh, self._fh = self._fh, None
        if fh is not None:
            fh.close()
        if self._named is not None:
            Path(self._named).unlink(missing_ok=True)
            self._named = None


def _link_unnamed(fd: int, root: Path, final: Path) -> None:
    """Give the O_TMPFILE file `fd` its name (open(2)): linkat with AT_SYMLINK_FOLLOW,
    which os.link uses only when given a directory fd."""
    root_fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.link(f"/proc/self/fd/{fd}", final.relative_to(root), dst_dir_fd=root_fd,
                follow_symlinks=True)
    finally:
        os.close(root_fd)

