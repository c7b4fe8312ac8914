"""Maintenance use cases: integrity check, audit verification, backup and restore."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from core.clock import iso
from core.config import Settings, anchor_path
from core.errors import InvalidInputError
from core.files import loose_modes
from core.services import dispatch
from core.services.context import Context
from core.storage import audit, audit_anchor, items, maintenance, registers
from core.storage import backup as backups
from core.storage.blobs import digest_of

#: anchors that contradict the log, named one by one before the rest are counted
_ANCHORS_NAMED = 3


async def verify_audit(
    ctx: Context, *, expect: str | None = None, anchor_file: Path | None = None
) -> list[str]:
    """The chain's own problems, and those against anchors kept outside it: `expect`
    (N:HASH), the anchor file given, else the configured `[storage] audit_anchor`."""
    wanted: list[tuple[int, str, str]] = []
    problems: list[str] = []
    if expect is not None:
        parsed = audit_anchor.parse_anchor(expect)
        if parsed is None:
            raise InvalidInputError(
                f"--expect 应为 N:HASH（jiyao audit anchor 的输出），收到 {expect!r}")
        wanted.append((*parsed, "锚点"))
    path = anchor_file or ctx.settings.storage.audit_anchor
    if path is not None:
        if await asyncio.to_thread(path.is_file):
            anchors, bad = await asyncio.to_thread(audit_anchor.read, path)
            problems += bad
            wanted += [(a.count, a.hash, f"锚点文件第 {a.line} 行（{a.at}）") for a in anchors]
        elif anchor_file is not None or ctx.settings.storage.audit_anchor is not None:
            problems.append(f"审计锚点文件不存在：{path}")
    async with ctx.db.reader() as r:
        problems += await audit.verify(r)
        against = []
        for count, head_hash, source in reversed(wanted):  # the latest first
            against += await audit.anchor_problems(r, count, head_hash, source=source)
    problems += against[:_ANCHORS_NAMED]
    if len(against) > _ANCHORS_NAMED:
        problems.append(f"另有 {len(against) - _ANCHORS_NAMED} 个较早的锚点也与审计日志不符")
    return problems


@dataclass(frozen=True)
class AnchorTaken:
    anchor: str
    count: int
    hash: str
    file: Path


async def current_anchor(ctx: Context) -> str:
    """The audit chain's head now, as N:HASH."""
    async with ctx.db.reader() as r:
        return audit_anchor.format_anchor(*await audit.head(r))


async def take_anchor(ctx: Context) -> AnchorTaken:
    """The chain's head, appended with the time to the anchor file (outside the data
    directory) so later verifications can hold the log to it."""
    path = anchor_path(ctx.settings)
    async with ctx.db.reader() as r:
        count, head_hash = await audit.head(r)
    text = audit_anchor.format_anchor(count, head_hash)
    await asyncio.to_thread(audit_anchor.append, path, iso(ctx.clock()), text)
    return AnchorTaken(text, count, head_hash, path)


async def _staged_problems(ctx: Context) -> list[str]:
    """Raw bytes still staged by the edge (`raw_staged`) must hash to their blob name."""
    problems = []
    async with ctx.db.reader() as r:
        staged = await items.staged_items(r)
        for row in staged:
            raw = await items.staged_raw(r, row["item_id"])
            if raw is not None and digest_of(raw) != row["raw_blob"]:
                problems.append(f"暂存的原件与哈希不符：收件序号 {row['item_id']}")
    return problems


async def check(ctx: Context) -> list[str]:
    """Problems in the database and blob store (empty when all is well)."""
    async with ctx.db.reader() as r:
        problems = await maintenance.integrity_problems(r)
        # every (kind, year) register must be exactly 1..n with its counter at n
        problems += await registers.sequence_problems(r)
        blobs = await items.blob_digests(r)
    for digest in blobs:
        problem = await asyncio.to_thread(ctx.blobs.verify, digest)
        if problem:
            problems.append(problem)
    problems += await _staged_problems(ctx)
    problems += await dispatch.check(ctx)
    problems += await verify_audit(ctx)
    async with ctx.db.reader() as r:
        problems += await audit.state_problems(r)
    problems += [
        f"临时文件残留：{path}（写入时进程被终止留下；下次启动 jiyao serve 时清除）"
        for path in await asyncio.to_thread(ctx.blobs.stale_temps)
    ]
    problems += await asyncio.to_thread(loose_modes, ctx.data_dir)
    return problems


async def remove_stale_temps(ctx: Context) -> list[Path]:
    """At start: the `.tmp-` files a killed writer left in the blob store, removed."""
    return await asyncio.to_thread(ctx.blobs.remove_stale_temps)


async def backup(ctx: Context, dest: Path) -> backups.BackupResult:
    """Back up the live data directory into the new directory `dest` (the database with
    the SQLite online backup API, every other file copied, a manifest of sha256 sums); an
    existing directory gets a new `jiyao-backup-<UTC time>` inside it."""
    name = f"jiyao-backup-{ctx.clock().astimezone(UTC):%Y%m%dT%H%M%SZ}"

    def run() -> backups.BackupResult:
        return backups.backup(ctx.data_dir, dest / name if dest.is_dir() else dest)

    return await asyncio.to_thread(run)


def restore(
    settings: Settings, source: Path, *, replace: bool, now: datetime
) -> backups.RestoreResult:
    """Restore the backup `source` as the configured data directory (no context: nothing
    may hold the database open while it is swapped)."""
    return backups.restore(source, settings.storage.data_dir, replace=replace,
                           stamp=f"{now.astimezone(UTC):%Y%m%dT%H%M%SZ}")
