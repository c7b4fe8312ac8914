"""The built site on disk: manifest of content hashes, incremental writes, atomic swap.

`DIR` is a symbolic link to a versioned folder beside it (`.DIR.<stamp>`). A build makes a
new folder, hard-links every file whose fingerprint did not change from the current one,
writes the rest, then replaces the link in one rename: a reader sees the old site or the
new one, never half of either.
"""

from __future__ import annotations

import html.parser
import json
import os
import re
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from core.errors import InvalidInputError, StorageError

MANIFEST = ".jiyao-manifest.json"
#: files and folders a web server may read
_FILE_MODE = 0o644
_DIR_MODE = 0o755


@dataclass(frozen=True)
class Output:
    """One file of the site: its fingerprint and how to make its bytes."""

    path: str
    fingerprint: str
    make: Callable[[], bytes]
    owner: int | None = None  # the dispatch record a document page or file shows


@dataclass(frozen=True)
class Written:
    root: Path
    written: int
    kept: int
    removed: int


def read_manifest(site: Path) -> dict[str, dict[str, object]]:
    """{path: {"fp": fingerprint, "owner": dispatch id or None}} of a built site, or {}."""
    try:
        data = json.loads((site / MANIFEST).read_text("utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise StorageError(f"站点清单无法读取：{exc}") from exc
    files = data.get("files") if isinstance(data, dict) else None
    return files if isinstance(files, dict) else {}


def _current(out: Path) -> Path | None:
    """The folder `out` now shows, or None on the first build."""
    if out.is_symlink():
        target = out.parent / os.readlink(out)
        return target if target.is_dir() else None
    if not out.exists():
        return None
    if out.is_dir() and not any(out.iterdir()):
        out.rmdir()  # an empty folder made beforehand becomes the link
        return None
    raise InvalidInputError(
        f"{out} 已存在且不是 jiyao 生成的站点（应为指向站点版本目录的链接）；请换一个目录",
        field="out",
    )


def write_site(out: Path, outputs: list[Output]) -> Written:
    """Write `outputs` as the new version of the site at `out` and swap it in."""
    out = out.absolute()
    out.parent.mkdir(parents=True, exist_ok=True)
    old = _current(out)
    before = read_manifest(old) if old is not None else {}
    stamp = f"{time.time_ns():x}"
    new = out.parent / f".{out.name}.{stamp}"
    new.mkdir(mode=_DIR_MODE)
    written = kept = 0
    manifest: dict[str, dict[str, object]] = {}
    made_dirs: set[Path] = set()
    try:
        for o in outputs:
            target = new / o.path
            if target.parent not in made_dirs:
                target.parent.mkdir(mode=_DIR_MODE, parents=True, exist_ok=True)
                made_dirs.add(target.parent)
            prior = before.get(o.path)
            if old is not None and prior is not None and prior.get("fp") == o.fingerprint:
                try:
                    os.link(old / o.path, target)
                    kept += 1
                    manifest[o.path] = {"fp": o.fingerprint, "owner": o.owner}
                    continue
                except OSError:
                    pass  # gone or another file system: write it again
            target.write_bytes(o.make())
            os.chmod(target, _FILE_MODE)
            written += 1
            manifest[o.path] = {"fp": o.fingerprint, "owner": o.owner}
        (new / MANIFEST).write_text(
            json.dumps({"files": manifest}, ensure_ascii=False, sort_keys=True), "utf-8")
        link = out.parent / f".{out.name}.link-{stamp}"
        link.symlink_to(new.name)
        os.replace(link, out)
    except BaseException:
        shutil.rmtree(new, ignore_errors=True)
        raise
    if old is not None and old != new:
        shutil.rmtree(old, ignore_errors=True)
    removed = len(set(before) - set(manifest))
    return Written(new, written, kept, removed)


class _Links(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.links += [v for k, v in attrs if k in ("href", "src") and v]


_EXTERNAL = re.compile(r"^(?:[a-z][a-z0-9+.-]*:|//|#)", re.IGNORECASE)


@dataclass(frozen=True)
class Scan:
    broken: list[tuple[str, str]]  # (page, href) of internal links to nothing
    owners: dict[str, int]  # files of the site that show a dispatch record, by path


def scan(out: Path) -> Scan:
    """Read a built site: its internal links that lead nowhere, and what each file shows."""
    if not out.exists():
        raise InvalidInputError(f"站点目录不存在：{out}", field="out")
    site = out.resolve()
    broken: list[tuple[str, str]] = []
    for page in sorted(site.rglob("*.html")):
        parser = _Links()
        parser.feed(page.read_text("utf-8", errors="replace"))
        for href in parser.links:
            clean = href.split("#", 1)[0].split("?", 1)[0]
            if _EXTERNAL.match(href) or not clean:
                continue
            target = (page.parent / clean).resolve()
            if not target.is_relative_to(site) or not target.is_file():
                broken.append((page.relative_to(site).as_posix(), href))
    owners = {path: int(str(v["owner"])) for path, v in read_manifest(site).items()
              if v.get("owner") is not None and (site / path).is_file()}
    return Scan(broken, owners)
