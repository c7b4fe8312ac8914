"""Maintenance use cases: integrity check, audit verification, backup and restore."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from core.config import Settings
from core.files import loose_modes
from core.services import dispatch
from core.services.context import Context
from core.storage import audit, items, maintenance, registers
from core.storage import backup as backups


async def verify_audit(ctx: Context) -> list[str]:
    async with ctx.db.reader() as r:
        return await audit.verify(r)


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
    problems += await dispatch.check(ctx)
    problems += await verify_audit(ctx)
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
