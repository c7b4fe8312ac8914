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
import logging
import multiprocessing
import os
import signal
import threading
import time
from multiprocessing.process import BaseProcess

from core.config import Settings
from core.services import pipeline
from core.services.context import Context
from core.services.pipeline import Worker
from jiyao import logs

log = logging.getLogger("jiyao.pipeline")


class InlinePipeline:
    """One pipeline worker on this loop."""

    name = "收文处理"

    def __init__(self, ctx: Context, *, worker: Worker | None = None) -> None:
        self.worker = worker or Worker(ctx)
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


def worker_main(settings: Settings, index: int, parent: int) -> None:
    """A pipeline worker process (multiprocessing, spawn): one inline worker on its own
    loop, stopped by SIGTERM after the item in hand."""
    from jiyao import serve
    from jiyao.memory import return_large_buffers

    logs.setup(f"%(asctime)s %(levelname)s %(name)s[w{index}]: %(message)s")
    return_large_buffers()
    # the edge first: a sender waits for its 250, a decision may wait a moment
    with contextlib.suppress(OSError):
        os.nice(WORKER_NICE)
    threading.Thread(target=_stop_with_parent, args=(parent,), daemon=True).start()
    code = asyncio.run(serve.run(settings, (inline_component,)))
    raise SystemExit(code)


#: how much lower the workers' CPU priority is than the edge's (nice(2))
WORKER_NICE = 10


def _stop_with_parent(parent: int) -> None:
    """A worker whose parent died (SIGKILL) stops as on SIGTERM instead of running on."""
    while os.getppid() == parent:
        time.sleep(1.0)
    os.kill(os.getpid(), signal.SIGTERM)


def inline_component(ctx: Context) -> InlinePipeline:
    return InlinePipeline(ctx)


#: seconds between the supervisor's looks at its workers
SUPERVISE_SECONDS = 1.0
#: seconds a worker is given after SIGTERM to finish its item before it is killed
STOP_GRACE = 30.0


class PipelineProcesses:
    """`[pipeline] workers` worker processes, supervised: a worker that died is started
    again; one that holds an item past its lease (stuck where no timeout reaches, e.g. in
    C code holding the GIL) is killed, so its item is tried again or shunted."""

    name = "收文处理进程"

    def __init__(self, ctx: Context, *, workers: int | None = None) -> None:
        self.ctx = ctx
        self.workers = workers if workers is not None else ctx.settings.pipeline.workers
        self._mp = multiprocessing.get_context("spawn")
        self._procs: list[BaseProcess | None] = [None] * self.workers
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    def _spawn(self, index: int) -> None:
        proc = self._mp.Process(
            target=worker_main, args=(self.ctx.settings, index, os.getpid()),
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
        for i, proc in enumerate(self._procs):
            if proc is not None and not proc.is_alive():
                log.error("收文处理进程 %d（pid %s）已退出（%s），重新启动", i, proc.pid,
                          proc.exitcode)
                proc.join(0)
                self._spawn(i)
        pids = {p.pid for p in self._procs if p is not None and p.is_alive()}
        for pid in await pipeline.overdue_holders(self.ctx):
            if pid in pids:
                log.error("收文处理进程 pid %d 超过时限仍未完成，强制结束", pid)
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        await pipeline.expire_dead_claims(self.ctx)

    async def stop(self) -> None:
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        live = [p for p in self._procs if p is not None and p.is_alive()]
        for p in live:
            p.terminate()  # SIGTERM: finish the item in hand, give the claims back
        deadline = time.monotonic() + STOP_GRACE
        for p in live:
            await asyncio.to_thread(p.join, max(0.0, deadline - time.monotonic()))
            if p.is_alive():
                log.error("收文处理进程 pid %s 未能按时停止，强制结束", p.pid)
                p.kill()
                await asyncio.to_thread(p.join, 5)
        await pipeline.expire_dead_claims(self.ctx)
