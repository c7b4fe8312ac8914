"""Maintenance use cases: integrity check, audit verification, online backup."""

from __future__ import annotations

import asyncio
from pathlib import Path

from core.errors import StorageError
from core.files import loose_modes
from core.services import dispatch
from core.services.context import Context
from core.storage import audit, items, maintenance, registers


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


async def backup(ctx: Context, dest: Path) -> Path:
    """Copy the live database with the SQLite online backup API."""
    return await asyncio.to_thread(_backup_to, ctx.db.path, dest)


def _backup_to(src: Path, dest: Path) -> Path:
    if dest.is_dir():
        dest = dest / "jiyao-backup.db"
    if dest.exists():
        raise StorageError(f"备份目标已存在：{dest}")
    maintenance.backup(src, dest)
    return dest
