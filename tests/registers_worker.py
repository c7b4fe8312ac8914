"""A worker process for the concurrency and crash tests: registers items in a loop."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from core.config import Storage, load_settings
from core.model import Kind
from core.services import registry
from core.services.context import open_context


async def main(data_dir: str, count: int, tag: str) -> None:
    base = load_settings(Path(__file__).resolve().parents[1] / "config.example.toml")
    s = base.model_copy(update={"storage": Storage(data_dir=Path(data_dir))})
    ctx = await open_context(s)
    try:
        for i in range(count):
            r = await registry.register_paper(ctx, kind=Kind.BAN, sender="康定市人民政府",
                                              title=f"{tag}-{i}")
            print(r.number, flush=True)
    finally:
        await ctx.db.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), sys.argv[3]))
