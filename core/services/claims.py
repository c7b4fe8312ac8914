"""Who holds which item: the claims of pipeline workers, as their supervisor sees them.

A claim is named `host:pid:tag` (`worker_name`), so a process of this host that died or
is stuck can be found from the claims alone. Kept apart from the pipeline's steps so the
edge's process, which supervises the workers, never imports the reading stack.
"""

from __future__ import annotations

import logging
import os
import socket

from core.clock import system_clock
from core.errors import StepFailedError
from core.services.context import Context
from core.storage import queue

log = logging.getLogger("jiyao.pipeline")

#: leases and retry times are real time shared by processes, not the domain's clock
#: (`ctx.clock`, which tests freeze): a lease must run out while the clock is frozen
lease_clock = system_clock


def stuck_error(step: str, limit: float) -> str:
    """The reason kept on an item whose worker was killed stuck in `step`."""
    return str(StepFailedError(step, f"超过时限 {limit:g} 秒仍未结束，处理进程无响应，已强制结束"))


def worker_name(tag: str) -> str:
    """`host:pid:tag`: whose claim it is, so that a dead process's claims can be found."""
    return f"{socket.gethostname()}:{os.getpid()}:{tag}"


def _pid_of(name: str) -> int | None:
    """The pid of a claim's worker if it is a process of this host."""
    host, _, rest = name.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return None
    return int(pid_text)


def _dead(name: str) -> bool:
    """A claim of a process of this host that no longer runs."""
    pid = _pid_of(name)
    if pid is None:
        return False  # another host's worker: its lease runs out on its own
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


async def overdue_holders(ctx: Context) -> list[int]:
    """Pids of this host's workers holding an item past its lease (stuck)."""
    async with ctx.db.reader() as r:
        names = await queue.overdue_claimers(r, now=lease_clock())
    return [pid for pid in map(_pid_of, names) if pid is not None]


async def end_claims_of(ctx: Context, pid: int, *, error: str) -> int:
    """End the claims of this host's worker process `pid`, killed by its supervisor, with
    the reason kept on the item: the try stays counted, the item is claimed again at once
    (or shunted when its tries are used up)."""
    async with ctx.db.reader() as r:
        names = [name for name in await queue.claimers(r) if _pid_of(name) == pid]
    if not names:
        return 0
    n = 0
    async with ctx.db.unit_of_work() as uow:
        for name in names:
            n += await queue.expire_claims(uow, name, error=error)
        await uow.commit()
    return n


async def expire_dead_claims(ctx: Context) -> int:
    """End the leases of workers of this host that died (SIGKILL, a crash): their items
    are claimed again at once instead of after the lease."""
    async with ctx.db.reader() as r:
        dead = [name for name in await queue.claimers(r) if _dead(name)]
    if not dead:
        return 0
    n = 0
    async with ctx.db.unit_of_work() as uow:
        for name in dead:
            n += await queue.expire_claims(uow, name)
        await uow.commit()
    if n:
        log.warning("%d 件收件的处理进程已中断，重新排队", n)
    return n
