"""Run a use case from a synchronous command: open the context, await, close."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from core.services.context import Context, open_context
from jiyao.commands.common import settings_from

T = TypeVar("T")


def with_context(args: argparse.Namespace, fn: Callable[[Context], Awaitable[T]]) -> T:
    settings = settings_from(args)

    async def main() -> T:
        ctx = await open_context(settings)
        try:
            return await fn(ctx)
        finally:
            await ctx.db.close()

    return asyncio.run(main())
