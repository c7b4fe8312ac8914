"""Images (TIFF, PNG, JPEG, GIF, BMP): structure checked, no text (status `image`).

Recognition (OCR) is a separate reader registered ahead of these for its formats.
"""

from __future__ import annotations

import struct
import zlib

from core.reading.documents.base import Damaged, Extracted, Limits
from core.reading.documents.reader import Reader, Source


def read_tiff(source: Source, limits: Limits) -> Extracted:
    """Walk the IFD chain: every page must have its strips inside the file."""
    data = source.data
    if len(data) < 8:
        raise Damaged("bad_image", "TIFF 文件头不完整")
    order = "<" if data[:2] == b"II" else ">"
    (magic,) = struct.unpack_from(order + "H", data, 2)
    if magic == 43:  # BigTIFF: recognised, not walked
        return Extracted("image", "", {"format": "tiff"}, [])
    (offset,) = struct.unpack_from(order + "I", data, 4)
    pages = 0
    seen: set[int] = set()
    meta = {"format": "tiff"}
    while offset:
        if offset in seen or pages >= limits.max_image_frames:
            raise Damaged("bad_image", "TIFF 页链循环或页数过多")
        seen.add(offset)
        tags, offset = _tiff_ifd(data, order, offset)
        _check_tiff_page(data, tags, pages + 1)
        if pages == 0:
            meta.update({"width": str(tags.get(256, [0])[0]), "height": str(tags.get(257, [0])[0]),
                         "compression": str(tags.get(259, [1])[0])})
        pages += 1
    if pages == 0:
        raise Damaged("bad_image", "TIFF 没有页面")
    meta["pages"] = str(pages)
    return Extracted("image", "", meta, [])


_TIFF_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8}
_TIFF_FORMATS = {1: "B", 3: "H", 4: "I", 6: "b", 8: "h", 9: "i"}
_TIFF_TAGS = frozenset({256, 257, 259, 273, 279, 324, 325})


def _tiff_ifd(data: bytes, order: str, offset: int) -> tuple[dict[int, list[int]], int]:
    if offset + 2 > len(data):
        raise Damaged("bad_image", "TIFF 目录位置超出文件")
    (count,) = struct.unpack_from(order + "H", data, offset)
    end = offset + 2 + 12 * count
    if end + 4 > len(data):
        raise Damaged("truncated", "TIFF 目录不完整，文件可能被截断")
    tags: dict[int, list[int]] = {}
    for i in range(count):
        tag, kind, n = struct.unpack_from(order + "HHI", data, offset + 2 + 12 * i)
        if tag not in _TIFF_TAGS or kind not in _TIFF_FORMATS:
            continue
        size = _TIFF_SIZES[kind] * n
        where = offset + 2 + 12 * i + 8
        if size > 4:
            (where,) = struct.unpack_from(order + "I", data, where)
        if n > 1_000_000 or where + size > len(data):
            raise Damaged("truncated", "TIFF 标签数据超出文件，文件可能被截断")
        tags[tag] = list(struct.unpack_from(f"{order}{n}{_TIFF_FORMATS[kind]}", data, where))
    (next_offset,) = struct.unpack_from(order + "I", data, end)
    return tags, next_offset


def _check_tiff_page(data: bytes, tags: dict[int, list[int]], page: int) -> None:
    if not tags.get(256) or not tags.get(257):
        raise Damaged("bad_image", f"TIFF 第 {page} 页缺少宽高")
    offsets = tags.get(273) or tags.get(324)
    counts = tags.get(279) or tags.get(325)
    if not offsets or not counts or len(offsets) != len(counts):
        raise Damaged("bad_image", f"TIFF 第 {page} 页缺少图像数据")
    if any(o + c > len(data) for o, c in zip(offsets, counts, strict=True)):
        raise Damaged("truncated", f"TIFF 第 {page} 页图像数据超出文件，文件可能被截断")


def read_png(source: Source, limits: Limits) -> Extracted:
    """Chunks from IHDR to IEND, each inside the file with a matching CRC."""
    data = source.data
    pos = 8
    meta = {"format": "png"}
    first = True
    while pos + 12 <= len(data):
        length, kind = struct.unpack_from(">I4s", data, pos)
        end = pos + 12 + length
        if end > len(data):
            break
        body = data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack_from(">I", data, pos + 8 + length)
        if zlib.crc32(kind + body) != crc:
            raise Damaged("bad_image", f"PNG 数据块 {kind!r} 校验失败")
        if first:
            if kind != b"IHDR" or length < 8:
                raise Damaged("bad_image", "PNG 缺少 IHDR")
            width, height = struct.unpack_from(">II", body)
            meta.update({"width": str(width), "height": str(height), "pages": "1"})
            first = False
        if kind == b"IEND":
            return Extracted("image", "", meta, [])
        pos = end
    raise Damaged("truncated", "PNG 缺少结束块，文件可能被截断")


_JPEG_SOF = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD,
                       0xCE, 0xCF})


def read_jpeg(source: Source, limits: Limits) -> Extracted:
    """Segments up to the scan, then an end-of-image marker after it."""
    data = source.data
    pos = 2
    meta = {"format": "jpeg", "pages": "1"}
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            raise Damaged("bad_image", "JPEG 段结构损坏")
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in {0x01} or 0xD0 <= marker <= 0xD7:
            pos += 2
            continue
        (length,) = struct.unpack_from(">H", data, pos + 2)
        if length < 2 or pos + 2 + length > len(data):
            break
        if marker in _JPEG_SOF and length >= 7:
            height, width = struct.unpack_from(">HH", data, pos + 5)
            meta.update({"width": str(width), "height": str(height)})
        if marker == 0xDA:  # start of scan: entropy-coded data runs to EOI
            if b"\xff\xd9" in data[pos + 2 + length :]:
                return Extracted("image", "", meta, [])
            break
        pos += 2 + length
    raise Damaged("truncated", "JPEG 数据不完整，文件可能被截断")


def read_gif(source: Source, limits: Limits) -> Extracted:
    data = source.data
    if len(data) < 13 or not data.rstrip(b"\x00").endswith(b";"):
        raise Damaged("truncated", "GIF 数据不完整，文件可能被截断")
    width, height = struct.unpack_from("<HH", data, 6)
    return Extracted("image", "", {"format": "gif", "width": str(width),
                                   "height": str(height)}, [])


def read_bmp(source: Source, limits: Limits) -> Extracted:
    data = source.data
    if not data.startswith(b"BM"):
        raise Damaged("bad_magic", "BMP 文件头不符")
    return Extracted("image", "", {"format": "bmp"}, [])


READERS = (
    Reader("tiff", ("tiff",), read_tiff),
    Reader("png", ("png",), read_png),
    Reader("jpeg", ("jpeg",), read_jpeg),
    Reader("gif", ("gif",), read_gif),
    Reader("bmp", ("bmp",), read_bmp),
)
