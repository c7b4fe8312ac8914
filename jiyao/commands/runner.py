"""Run a use case from a synchronous command: open the context, await, close."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from core.config import Settings
from core.errors import StorageError
from core.services.context import Context, open_context
from core.storage.db import DB_FILE
from jiyao.commands.common import os_reason, settings_from

T = TypeVar("T")

def check_storage(settings: Settings) -> None:
    """Refuse a data directory or database path that is the wrong kind of file, before
    SQLite sees it (it would only say it cannot open the file)."""
    data_dir = settings.storage.data_dir
    if data_dir.exists() and not data_dir.is_dir():
        raise StorageError(f"数据目录 {data_dir} 不是目录（请检查 [storage] data_dir）")
    db = data_dir / DB_FILE
    if db.is_dir():
        raise StorageError(f"数据库 {db} 是一个目录，不是数据库文件")


def with_context(args: argparse.Namespace, fn: Callable[[Context], Awaitable[T]]) -> T:
    settings = settings_from(args)
    check_storage(settings)

    async def main() -> T:
        try:
            ctx = await open_context(settings)
        except OSError as exc:
            raise StorageError(
                f"无法创建或打开数据目录 {settings.storage.data_dir}：{os_reason(exc)}"
            ) from exc
        try:
            return await fn(ctx)
        finally:
            await ctx.db.close()

    return asyncio.run(main())
