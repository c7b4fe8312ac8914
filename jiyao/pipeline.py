"""The pipeline as a component of `jiyao serve` / `jiyao intake` / `jiyao pipeline`.

Reading a document is CPU-bound and holds the GIL, so the pipeline runs in worker
processes (`PipelineProcesses`, `[pipeline] workers` of them, spawned) beside the edge's
event loop. `InlinePipeline` is one worker on a loop: what each worker process runs, and
what tests run beside an in-process edge. Stopping a worker lets the item in hand finish,
then gives back every claim still held, so nothing is left half-done.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import math
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Sequence
from multiprocessing.context import BaseContext
from multiprocessing.process import BaseProcess
from typing import TYPE_CHECKING

from core.config import Settings
from core.services import claims
from core.services.context import Context
from jiyao import logs

if TYPE_CHECKING:  # the steps, and the reading stack with them, only in a worker
    from core.services.pipeline import Step, Worker

log = logging.getLogger("jiyao.pipeline")


class InlinePipeline:
    """One pipeline worker on this loop."""

    name = "收文处理"

    def __init__(self, ctx: Context, *, worker: Worker | None = None) -> None:
        if worker is None:
            from core.services.pipeline import Worker

            worker = Worker(ctx)
        self.worker = worker
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        self.worker.wake()

    async def start(self) -> None:
        self._stop.clear()
        self._task = asyncio.create_task(self.worker.run(self._stop), name="pipeline")
        log.info("收文处理已启动（%s）", self.worker.name)

    async def stop(self) -> None:
        if self._task is None:
            return
        self._stop.set()
        self.worker.wake()
        try:
            await self._task
        finally:
            self._task = None
            await self.worker.release_all()


# ------------------------------------------------------------------ worker processes


class SharedWatch:
    """The step a worker process is in and by when it must have ended (its limit plus
    `[pipeline] lease_margin`), in shared memory its supervisor reads. No lock: a worker
    can be stopped at any instruction and must never hold what its supervisor waits for
    (the deadline is cleared before the name changes, so a torn read only misses a look)."""

    NAME_BYTES = 64

    def __init__(self, mp: BaseContext) -> None:
        self._deadline = mp.Value("d", 0.0, lock=False)
        self._step = mp.Array("c", self.NAME_BYTES, lock=False)

    def __call__(self, step: str | None, deadline: float) -> None:
        """`pipeline.StepWatch`: run in the worker at each step's start and end."""
        self._deadline.value = 0.0
        if step is not None:
            self._step.value = step.encode()[: self.NAME_BYTES - 1]
            self._deadline.value = deadline

    def overdue(self, now: float) -> str | None:
        """The step the worker is still in past its deadline, if any."""
        deadline = self._deadline.value
        if deadline and now > deadline:
            return bytes(self._step.value).decode(errors="replace")
        return None

    def clear(self) -> None:
        self._deadline.value = 0.0


class SharedRate:
    """How fast the edge is accepting: a decaying average of its accepts (messages a
    second, over about `SECONDS`), in shared memory the edge's process writes and its
    workers read (`pipeline.EdgeRate`). No lock: a torn read of the two doubles costs one
    look at most."""

    SECONDS = 0.1

    def __init__(self, mp: BaseContext) -> None:
        self._at = mp.Value("d", 0.0, lock=False)
        self._rate = mp.Value("d", 0.0, lock=False)

    def _now(self, now: float) -> float:
        return float(self._rate.value) * math.exp((self._at.value - now) / self.SECONDS)

    def accepted(self) -> None:
        now = time.monotonic()
        self._rate.value = self._now(now) + 1.0 / self.SECONDS
        self._at.value = now

    def __call__(self) -> float:
        return self._now(time.monotonic())


def worker_main(
    settings: Settings, index: int, parent: int, watch: SharedWatch | None = None,
    steps: Sequence[Step] | None = None, rate: SharedRate | None = None,
) -> None:
    """A pipeline worker process (multiprocessing, spawn): one inline worker on its own
    loop, stopped by SIGTERM after the item in hand."""
    from jiyao import serve
    from jiyao.memory import return_large_buffers

    logs.setup(f"%(asctime)s %(levelname)s %(name)s[w{index}]: %(message)s")
    return_large_buffers()
    # the edge first: a sender waits for its 250, a decision may wait a moment
    if settings.pipeline.nice:
        with contextlib.suppress(OSError):
            os.nice(settings.pipeline.nice)
    threading.Thread(target=_stop_with_parent, args=(parent,), daemon=True).start()
    component = functools.partial(inline_component, steps=steps, watch=watch, rate=rate)
    code = asyncio.run(serve.run(settings, (component,)))
    raise SystemExit(code)


def _stop_with_parent(parent: int) -> None:
    """A worker whose parent died (SIGKILL) stops as on SIGTERM instead of running on."""
    while os.getppid() == parent:
        time.sleep(1.0)
    os.kill(os.getpid(), signal.SIGTERM)


def inline_component(
    ctx: Context, *, steps: Sequence[Step] | None = None, watch: SharedWatch | None = None,
    rate: SharedRate | None = None,
) -> InlinePipeline:
    """One worker on this loop running `steps` (None: the production STEPS)."""
    from core.services.pipeline import STEPS, Worker

    worker = Worker(ctx, steps=STEPS if steps is None else steps, watch=watch, edge_rate=rate)
    return InlinePipeline(ctx, worker=worker)


#: seconds between the supervisor's looks at its workers
SUPERVISE_SECONDS = 1.0
#: seconds a worker is given after SIGTERM to finish its item before it is killed
STOP_GRACE = 30.0


class PipelineProcesses:
    """`[pipeline] workers` worker processes, supervised: a worker that died is started
    again; one still in a step past the step's limit and `[pipeline] lease_margin` (stuck
    where the step's timeout cannot reach, e.g. in C code holding the GIL, or stopped), or
    holding an item past its lease, is killed, so its item is tried again or shunted.
    `steps`: what the workers run (None: the production STEPS, imported by the workers
    alone; a test adds one)."""

    name = "收文处理进程"

    def __init__(
        self, ctx: Context, *, workers: int | None = None,
        steps: Sequence[Step] | None = None,
    ) -> None:
        self.ctx = ctx
        self.workers = workers if workers is not None else ctx.settings.pipeline.workers
        self._mp = multiprocessing.get_context("spawn")
        self._steps = tuple(steps) if steps is not None else None
        self._watches = [SharedWatch(self._mp) for _ in range(self.workers)]
        self._rate = SharedRate(self._mp)
        self._procs: list[BaseProcess | None] = [None] * self.workers
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    def accepted(self) -> None:
        """The edge accepted a message (wired by serve): in a burst the workers let it go
        first (`[pipeline] edge_first_seconds`)."""
        self._rate.accepted()

    def _spawn(self, index: int) -> None:
        self._watches[index].clear()
        proc = self._mp.Process(
            target=worker_main,
            args=(self.ctx.settings, index, os.getpid(), self._watches[index], self._steps,
                  self._rate),
            name=f"jiyao-pipeline-{index}",
            daemon=False,
        )
        proc.start()
        self._procs[index] = proc
        log.info("收文处理进程 %d 已启动（pid %s）", index, proc.pid)

    async def start(self) -> None:
        for i in range(self.workers):
            self._spawn(i)
        self._task = asyncio.create_task(self._supervise(), name="pipeline-supervisor")

    async def _supervise(self) -> None:
        while not self._stopping:
            await asyncio.sleep(SUPERVISE_SECONDS)
            if self._stopping:
                return
            try:
                await self._look()
            except Exception:
                log.exception("检查收文处理进程时出错")

    async def _look(self) -> None:
        await self._kill_stuck()
        for i, proc in enumerate(self._procs):
            if proc is not None and not proc.is_alive():
                log.error("收文处理进程 %d（pid %s）已退出（%s），重新启动", i, proc.pid,
                          proc.exitcode)
                proc.join(0)
                self._spawn(i)
        pids = {p.pid for p in self._procs if p is not None and p.is_alive()}
        for pid in await claims.overdue_holders(self.ctx):
            if pid in pids:
                log.error("收文处理进程 pid %d 超过时限仍未完成，强制结束", pid)
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        await claims.expire_dead_claims(self.ctx)

    async def _kill_stuck(self) -> None:
        """Kill a worker still in a step past its deadline, and end its claim with the
        reason (the try counts): it is started again by the look that follows."""
        now = time.monotonic()
        for i, proc in enumerate(self._procs):
            step = self._watches[i].overdue(now)
            if step is None or proc is None or proc.pid is None or not proc.is_alive():
                continue
            limit = self.ctx.settings.pipeline.limit_of(step)
            log.error("收文处理进程 %d（pid %s）在步骤 %s 超过时限 %g 秒仍未结束，强制结束",
                      i, proc.pid, step, limit)
            proc.kill()
            await asyncio.to_thread(proc.join, 5)
            self._watches[i].clear()
            await claims.end_claims_of(self.ctx, proc.pid,
                                       error=claims.stuck_error(step, limit))

    async def stop(self) -> None:
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        live = [p for p in self._procs if p is not None and p.is_alive()]
        for p in live:
            p.terminate()  # SIGTERM: finish the item in hand, give the claims back
            if p.pid is not None:  # a stopped worker takes the SIGTERM once continued
                with contextlib.suppress(ProcessLookupError):
                    os.kill(p.pid, signal.SIGCONT)
        deadline = time.monotonic() + STOP_GRACE
        for p in live:
            await asyncio.to_thread(p.join, max(0.0, deadline - time.monotonic()))
            if p.is_alive():
                log.error("收文处理进程 pid %s 未能按时停止，强制结束", p.pid)
                p.kill()
                await asyncio.to_thread(p.join, 5)
        await claims.expire_dead_claims(self.ctx)
