"""Zip packages (OFD, DOCX) and their XML, opened safely: the one place for both.

Every entry is decompressed in chunks against real (not declared) sizes, the entry
count is read before zipfile indexes the archive, the compression ratio is bounded,
and XML with a DTD is refused (no entity expansion, no external fetches).
"""

from __future__ import annotations

import contextlib
import io
import posixpath
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from xml.etree import ElementTree as ET

from core.reading.documents.base import Damaged, Limits


@dataclass
class Package:
    """An opened zip: every entry name, and the bytes of the entries kept (the markup)."""

    names: list[str]
    kept: dict[str, bytes]


def _zip_entry_count(data: bytes) -> int | None:
    """Entry count from the end-of-central-directory record, read before zipfile
    builds its index (which costs time per entry)."""
    pos = data.rfind(b"PK\x05\x06", max(0, len(data) - 65_557))
    if pos < 0 or pos + 22 > len(data):
        return None
    (total,) = struct.unpack_from("<H", data, pos + 10)
    if total != 0xFFFF:
        return int(total)
    locator = pos - 20
    if locator >= 0 and data[locator : locator + 4] == b"PK\x06\x07":
        (offset,) = struct.unpack_from("<Q", data, locator + 8)
        if offset + 40 <= len(data) and data[offset : offset + 4] == b"PK\x06\x06":
            (total64,) = struct.unpack_from("<Q", data, offset + 32)
            return int(total64)
    return None


def open_package(data: bytes, limits: Limits, keep: Callable[[str], bool]) -> Package:
    """Open a zip, checking every entry decompresses within the limits (this is the
    integrity check too: a bad CRC means a damaged part). Keeps entries `keep` wants."""
    count = _zip_entry_count(data)
    if count is not None and count > limits.max_zip_entries:
        raise Damaged("zip_bomb", f"压缩包有 {count} 个条目，超过上限 {limits.max_zip_entries}")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError,
            struct.error) as exc:
        raise Damaged("bad_zip", f"压缩包无法打开：{type(exc).__name__}") from exc
    with archive:
        infos = archive.infolist()
        if len(infos) > limits.max_zip_entries:
            raise Damaged("zip_bomb", f"压缩包条目超过上限 {limits.max_zip_entries}")
        total = 0
        kept: dict[str, bytes] = {}
        for info in infos:
            if info.is_dir():
                continue
            _check_declared(info, limits)
            total = _read_entry(archive, info, limits, total, kept if keep(info.filename) else None)
        return Package([i.filename for i in infos], kept)


def _check_declared(info: zipfile.ZipInfo, limits: Limits) -> None:
    if info.file_size > limits.max_entry_bytes:
        detail = f"条目 {info.filename[:100]} 解压后超过 {limits.max_entry_bytes} 字节"
        raise Damaged("zip_bomb", detail)
    if (
        info.file_size > limits.ratio_floor_bytes
        and info.file_size > limits.max_ratio * max(info.compress_size, 1)
    ):
        raise Damaged("zip_bomb", f"条目 {info.filename[:100]} 压缩比异常")


def _read_entry(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, limits: Limits, total: int,
    sink: dict[str, bytes] | None,
) -> int:
    """Stream one entry in chunks, enforcing real (not declared) sizes; returns the
    running total of decompressed bytes."""
    chunks: list[bytes] = []
    size = 0
    with _guard_zip(info):
        stream = archive.open(info)
    with stream:
        while True:
            with _guard_zip(info):
                chunk = stream.read(256 * 1024)
            if not chunk:
                break
            size += len(chunk)
            total += len(chunk)
            if size > limits.max_entry_bytes or total > limits.max_total_bytes:
                raise Damaged("zip_bomb", "压缩包解压后超过大小上限")
            if sink is not None:
                chunks.append(chunk)
    if sink is not None:
        sink[info.filename] = b"".join(chunks)
    return total


@contextlib.contextmanager
def _guard_zip(info: zipfile.ZipInfo) -> Iterator[None]:
    """Turn zipfile's many failure types (bad CRC, bad deflate data, encryption…) into
    a damaged finding."""
    try:
        yield
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError,
            NotImplementedError, RuntimeError, struct.error) as exc:
        detail = f"压缩包条目 {info.filename[:100]} 损坏：{type(exc).__name__}"
        raise Damaged("bad_zip", detail) from exc


def is_markup(name: str) -> bool:
    return name.lower().endswith((".xml", ".rels"))


def parse_xml(data: bytes, name: str) -> ET.Element:
    """Parse an XML entry; a DTD is refused outright (no entity expansion, no external
    fetches: OFD and DOCX never need one)."""
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise Damaged("xml_dtd", f"{name[:100]} 含 DTD 声明，拒绝解析")
    try:
        return ET.fromstring(data)  # noqa: S314 - DTDs are refused above
    except ET.ParseError as exc:
        raise Damaged("bad_xml", f"{name[:100]} 不是有效的 XML") from exc


def local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def children(element: ET.Element, name: str) -> Iterator[ET.Element]:
    return (child for child in element if local(child.tag) == name)


def child(element: ET.Element, name: str) -> ET.Element | None:
    return next(children(element, name), None)


def entry(contents: Package, path: str) -> bytes | None:
    """An entry by path, forgiving case and a leading slash (producers vary)."""
    path = path.lstrip("/")
    if path in contents.kept:
        return contents.kept[path]
    lowered = path.lower()
    for key, value in contents.kept.items():
        if key.lower() == lowered:
            return value
    return None


def resolve(base_file: str, ref: str) -> str:
    """An OFD ST_Loc: absolute from the package root, else relative to the referring file."""
    ref = ref.strip().replace("\\", "/")
    if ref.startswith("/"):
        return posixpath.normpath(ref.lstrip("/"))
    return posixpath.normpath(posixpath.join(posixpath.dirname(base_file), ref))
