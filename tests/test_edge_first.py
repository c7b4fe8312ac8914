"""The edge first: in a burst of mail the pipeline's workers wait (at most `[pipeline]
edge_first_seconds`) before their next item, so the edge's commits have the write lock
and the CPU; at a sustained office rate they do not wait at all."""

from __future__ import annotations

import multiprocessing
import time

from core.services.context import Context
from core.services.pipeline import EDGE_BURST_RATE, Worker
from intake_daemon.app import IntakeDaemon
from jiyao import serve
from jiyao.jobs import Jobs
from jiyao.pipeline import PipelineProcesses, SharedRate
from tests.test_pipeline import _tuned


def test_the_shared_rate_tells_a_burst_from_a_steady_office_rate() -> None:
    rate = SharedRate(multiprocessing.get_context("spawn"))
    assert rate() == 0.0
    for _ in range(10):  # 50 a second: not a burst, right after each accept either
        rate.accepted()
        assert rate() < EDGE_BURST_RATE
        time.sleep(0.02)
    for _ in range(60):  # sixty at once
        rate.accepted()
    assert rate() > EDGE_BURST_RATE
    time.sleep(6 * SharedRate.SECONDS)
    assert rate() < EDGE_BURST_RATE  # the burst is over


async def test_a_worker_waits_out_a_burst_but_not_longer_than_configured(
    ctx: Context,
) -> None:
    ctx.settings = _tuned(ctx.settings, edge_first_seconds=0.3)
    start = time.monotonic()
    await Worker(ctx, edge_rate=lambda: 5000.0).edge_first()  # a burst that goes on
    assert 0.3 <= time.monotonic() - start < 2.0

    ends = time.monotonic() + 0.1
    start = time.monotonic()
    await Worker(ctx, edge_rate=lambda: 5000.0 if time.monotonic() < ends else 0.0).edge_first()
    assert 0.1 <= time.monotonic() - start < 0.3  # the burst ended first

    start = time.monotonic()
    await Worker(ctx, edge_rate=lambda: 50.0).edge_first()  # a steady rate
    await Worker(ctx).edge_first()  # a worker nobody's edge tells (jiyao pipeline)
    ctx.settings = _tuned(ctx.settings, edge_first_seconds=0)
    await Worker(ctx, edge_rate=lambda: 5000.0).edge_first()  # switched off
    assert time.monotonic() - start < 0.05


async def test_the_edge_tells_the_worker_processes_it_started_of_each_accept(
    ctx: Context,
) -> None:
    processes, edge = PipelineProcesses(ctx, workers=0), IntakeDaemon(ctx)
    jobs = Jobs(ctx)
    serve._wire([processes, edge, jobs])  # as serve wires what it started
    for _ in range(40):
        for wake in jobs.wakes:  # the scheduled jobs queued something: no accept
            wake()
    assert processes._rate() == 0.0
    for _ in range(40):
        edge.handler.on_accepted()
    assert processes._rate() > EDGE_BURST_RATE
