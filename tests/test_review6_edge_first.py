"""Review of "the edge first": a worker waiting out the edge's burst still stops when told
to, and takes no new item once stopped."""

from __future__ import annotations

import asyncio
import time

from core.services.context import Context
from core.services.pipeline import Worker
from tests.intake_helpers import realistic
from tests.test_pipeline import _accept_all, _rows, _tuned


async def test_a_worker_told_to_stop_while_it_waits_out_a_burst_takes_no_new_item(
    ctx: Context,
) -> None:
    ctx.settings = _tuned(ctx.settings, edge_first_seconds=0.5)
    (item_id,) = await _accept_all(ctx, realistic(1, "stop-in-burst"))
    worker = Worker(ctx, edge_rate=lambda: 5000.0)  # a burst that goes on
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    await asyncio.sleep(0.1)  # in edge_first, holding nothing
    stop.set()
    worker.wake()
    stopped = time.monotonic()
    await asyncio.wait_for(task, 5)
    assert time.monotonic() - stopped < 0.2  # not the rest of the wait
    (row,) = await _rows(ctx, "SELECT outcome, attempts, claimed_by FROM items WHERE id = ?",
                         (item_id,))
    assert (row["outcome"], row["attempts"], row["claimed_by"]) == ("received", 0, None)
