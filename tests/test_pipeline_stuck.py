"""The supervisor of the pipeline's worker processes against a worker stuck in a step.

A step's own timeout (`asyncio.timeout`) cannot reach a worker stuck in C code holding
the GIL, or a stopped process: the supervisor (jiyao.pipeline.PipelineProcesses) kills a
worker still in a step past the step's limit plus `[pipeline] lease_margin`, starts it
again, and the item counts a try. Here a step added to the real worker processes stops
its own process (SIGSTOP) on one message, every time: after its tries the item is
shunted with the reason, and the items received behind it are decided and numbered.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import signal
from pathlib import Path

import pytest

from core.config import Settings
from core.services import admin
from core.services.context import Context, open_context
from core.services.decide import Work
from core.services.pipeline import Step
from jiyao.pipeline import PipelineProcesses
from tests.conftest import run_cli
from tests.test_pipeline import _accept_all, _ban_messages, _rows, _tuned, _until, _with_step

FREEZE = b"X-Test-Freeze: yes"


async def _freeze(ctx: Context, work: Work) -> None:
    """Stop this worker process on the marked message (no timeout reaches it then)."""
    raw = await asyncio.to_thread(ctx.blobs.get, work.item["raw_blob"])
    if FREEZE in raw:
        assert multiprocessing.parent_process() is not None, "only in a worker process"
        os.kill(os.getpid(), signal.SIGSTOP)


def _stopped(pid: int | None) -> bool:
    """A process in state T (stopped), Linux /proc."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] == "T"


async def test_a_worker_stopped_in_a_step_is_killed_restarted_and_its_item_shunted(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    """One worker process, a message that stops it in the `freeze` step each time: the
    supervisor kills it past the step's limit + lease_margin and starts it again, twice;
    the item is shunted with the step and the reason (`jiyao items --outcome shunted`);
    the three items behind it — held for it in receipt order — are decided and numbered
    1, 2, 3 by the restarted worker."""
    tuned = _tuned(settings, workers=1, max_attempts=2, step_seconds={"freeze": 0.5},
                   lease_margin=1.0, number_hold_seconds=3600, poll_seconds=0.1)
    ctx = await open_context(tuned)  # the workers' clock: real time
    raws = _ban_messages(4, "stuck")
    raws[0] = FREEZE + b"\r\n" + raws[0]
    ids = await _accept_all(ctx, raws)
    procs = PipelineProcesses(ctx, steps=_with_step(Step("freeze", _freeze), before="check"))
    caplog.set_level(logging.ERROR, logger="jiyao.pipeline")
    await procs.start()
    first_pid = procs._procs[0].pid if procs._procs[0] else None
    try:
        async def all_decided() -> bool:
            rows = await _rows(
                ctx, "SELECT i.outcome, e.seq FROM items i LEFT JOIN register_entries e"
                " ON e.item_id = i.id AND e.status = 'active' ORDER BY i.id")
            return rows[0]["outcome"] == "shunted" and None not in [r["seq"] for r in rows[1:]]

        await _until(all_decided, timeout=90)
        (stuck,) = await _rows(ctx, "SELECT * FROM items WHERE id = ?", (ids[0],))
        assert stuck["outcome"] == "shunted"
        assert stuck["attempts"] == 2
        assert "freeze" in stuck["last_error"]
        assert "强制结束" in stuck["last_error"]
        assert ctx.blobs.get(stuck["raw_blob"]) == raws[0]  # kept for staff
        behind = await _rows(
            ctx, "SELECT i.outcome, e.seq FROM items i JOIN register_entries e"
            " ON e.item_id = i.id WHERE i.id > ? ORDER BY i.id", (ids[0],))
        assert [(r["outcome"], r["seq"]) for r in behind] == [("register", n) for n in (1, 2, 3)]
        kills = [r for r in caplog.records if "强制结束" in r.getMessage()]
        assert len(kills) == 2, [r.getMessage() for r in caplog.records]
        worker = procs._procs[0]
        assert worker is not None
        assert worker.is_alive()
        assert worker.pid != first_pid  # started again
        assert not _stopped(worker.pid)

        shown = run_cli("items", "--outcome", "shunted", data_dir=tuned.storage.data_dir)
        assert shown.returncode == 0, shown.stderr
        assert "freeze" in shown.stdout
        assert "强制结束" in shown.stdout
        assert await admin.check(ctx) == []
    finally:
        for proc in procs._procs:  # a worker left stopped (a failed run) cannot stop itself
            if proc is not None and _stopped(proc.pid):
                proc.kill()
        await procs.stop()
        await ctx.db.close()


async def test_stopping_continues_a_stopped_worker_so_it_finishes_its_item(
    settings: Settings,
) -> None:
    """SIGTERM of the workers comes with SIGCONT (as systemd sends it): a worker stopped
    mid-item (here within its limits: not yet killed) goes on, decides the item in hand
    and exits cleanly, instead of waiting out the stop grace to be killed."""
    tuned = _tuned(settings, workers=1, step_seconds={"freeze": 60.0}, poll_seconds=0.1)
    ctx = await open_context(tuned)
    (raw,) = _ban_messages(1, "cont")
    (item_id,) = await _accept_all(ctx, [FREEZE + b"\r\n" + raw])
    procs = PipelineProcesses(ctx, steps=_with_step(Step("freeze", _freeze), before="check"))
    await procs.start()
    worker = procs._procs[0]
    assert worker is not None
    try:
        async def stopped() -> bool:
            return _stopped(worker.pid)

        await _until(stopped, timeout=60)
        await asyncio.wait_for(procs.stop(), 20)  # STOP_GRACE is 30 s
        assert worker.exitcode == 0
        (row,) = await _rows(ctx, "SELECT outcome, claimed_by FROM items WHERE id = ?",
                             (item_id,))
        assert row["outcome"] == "register"
        assert row["claimed_by"] is None
    finally:
        if _stopped(worker.pid):
            worker.kill()
        await procs.stop()
        await ctx.db.close()



def _nice(pid: int) -> int:
    """The nice value of a process: field 19 of /proc/PID/stat."""
    return int(Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[16])


@pytest.mark.parametrize(("nice", "workers"), [(7, 2), (0, 1)])
async def test_workers_run_at_the_configured_lower_priority(
    settings: Settings, nice: int, workers: int
) -> None:
    """`[pipeline] nice`: each started worker process runs that much lower in CPU priority
    than the edge that started it (here 7, not the default 10), so during a burst the
    edge's 250s come first; 0 leaves a worker at the edge's own priority (checked once
    the worker has decided an item, so it is past its start)."""
    expected = min(19, os.getpriority(os.PRIO_PROCESS, 0) + nice)
    tuned = _tuned(settings, workers=workers, nice=nice, poll_seconds=0.1)
    ctx = await open_context(tuned)
    (raw,) = _ban_messages(1, f"nice{nice}")
    (item_id,) = await _accept_all(ctx, [raw])
    procs = PipelineProcesses(ctx)
    await procs.start()
    try:
        pids = [p.pid for p in procs._procs if p is not None and p.pid is not None]
        assert len(pids) == workers

        async def decided() -> bool:
            (row,) = await _rows(ctx, "SELECT outcome FROM items WHERE id = ?", (item_id,))
            return bool(row["outcome"] != "received")

        async def niced() -> bool:
            return all(_nice(pid) == expected for pid in pids)

        await _until(decided, timeout=60)
        await _until(niced, timeout=60)  # a worker still importing is not yet niced
        assert [os.getpriority(os.PRIO_PROCESS, pid) for pid in pids] == [expected] * workers
    finally:
        await procs.stop()
        await ctx.db.close()
