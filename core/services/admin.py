"""Maintenance use cases: integrity check, audit verification, backup and restore."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from core import reminder_plan as plan
from core.clock import iso
from core.config import Settings, anchor_path
from core.errors import InvalidInputError
from core.files import loose_modes
from core.services.context import Context
from core.storage import audit, audit_anchor, integrity, items, maintenance, registers
from core.storage import backup as backups
from core.storage import dispatch as dispatch_repo
from core.storage import reminders as reminders_repo
from core.storage.blobs import digest_of
from core.storage.db import Reader, UnitOfWork

#: anchors that contradict the log, named one by one before the rest are counted
_ANCHORS_NAMED = 3


#: each incremental run re-verifies this share of the old audit entries and blobs, so a
#: month of nightly runs has gone over all of them (`--full` does it at once) …
SLICE_RUNS = 30
#: … and at least this many of each (a small office's whole history every time)
SLICE_MIN = 1000
#: blobs re-hashed per hop to a worker thread
_BLOB_BATCH = 256


@dataclass
class Verification:
    """What a check found, and what it covered (staff-facing lines, in Chinese)."""

    problems: list[str] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)


def _slice(upto: int) -> int:
    return max(-(-upto // SLICE_RUNS), SLICE_MIN)


def _when(ctx: Context, at: str | None) -> str:
    if at is None:
        return "从未"
    return f"{datetime.fromisoformat(at).astimezone(ctx.settings.tz):%Y-%m-%d %H:%M}"


async def _anchors(
    ctx: Context, r: Reader, expect: str | None, anchor_file: Path | None
) -> list[str]:
    """What contradicts `expect` (N:HASH), the anchor file given, else the configured
    `[storage] audit_anchor`: anchors kept outside the chain."""
    wanted: list[tuple[int, str, str]] = []
    problems: list[str] = []
    if expect is not None:
        parsed = audit_anchor.parse_anchor(expect)
        if parsed is None:
            raise InvalidInputError(
                f"--expect 应为 N:HASH（jiyao audit anchor 的输出），收到 {expect!r}")
        wanted.append((*parsed, "锚点"))
    path = anchor_file or ctx.settings.storage.audit_anchor
    if path is not None:
        if await asyncio.to_thread(path.is_file):
            anchors, bad = await asyncio.to_thread(audit_anchor.read, path)
            problems += bad
            wanted += [(a.count, a.hash, f"锚点文件第 {a.line} 行（{a.at}）") for a in anchors]
        elif anchor_file is not None or ctx.settings.storage.audit_anchor is not None:
            problems.append(f"审计锚点文件不存在：{path}")
    against = []
    for count, head_hash, source in reversed(wanted):  # the latest first
        against += await audit.anchor_problems(r, count, head_hash, source=source)
    problems += against[:_ANCHORS_NAMED]
    if len(against) > _ANCHORS_NAMED:
        problems.append(f"另有 {len(against) - _ANCHORS_NAMED} 个较早的锚点也与审计日志不符")
    return problems


async def _audit_chain(ctx: Context, r: Reader, full: bool, out: Verification) -> tuple[
        set[str], Callable[[UnitOfWork], Awaitable[None]] | None]:
    """The chain, whole or from its verified point on (with a rotating slice before it):
    the records its entries read carry a state of, and the step that moves the point
    (None when a problem keeps it where it is)."""
    point = (await integrity.points(r)).get(integrity.AUDIT)
    now = ctx.clock()
    if full or point is None or point.hash is None:
        problems, reached = await audit.verify_full(r)
        out.checked.append(f"完整校验审计日志：共 {reached.count} 条")
        sweep, whole = (point.sweep if point else 0), True
        subjects = reached.subjects
    else:
        since = audit.Verified(point.upto, point.hash, point.count or 0)
        problems, reached = await audit.verify_since(r, since)
        out.checked.append(
            f"增量校验审计日志：第 {point.upto + 1}–{reached.upto} 条"
            if reached.upto > point.upto else f"增量校验审计日志：第 {point.upto} 条之后无新记录")
        old = await audit.verify_slice(r, point.sweep, point.upto, _slice(point.upto))
        problems += old.problems
        if old.count:
            out.checked.append(f"轮检旧审计记录 {old.count} 条（第 {old.first}–{old.last} 条）")
        sweep = old.last if old.count and old.last < point.upto else 0
        whole = False
        subjects = reached.subjects | old.subjects
        out.checked.append(f"上次完整校验审计日志：{_when(ctx, point.full_at)}")
    out.problems += problems
    if problems:
        return subjects, None

    async def move(uow: UnitOfWork) -> None:
        await integrity.record(uow, integrity.AUDIT, upto=reached.upto, hash=reached.hash,
                               count=reached.count, sweep=sweep, at=now, full=whole)

    return subjects, move


async def _moved(ctx: Context, steps: list[Callable[[UnitOfWork], Awaitable[None]] | None]) -> None:
    todo = [step for step in steps if step is not None]
    if not todo:
        return
    async with ctx.db.unit_of_work() as uow:
        for step in todo:
            await step(uow)
        await uow.commit()


async def verify_audit_report(
    ctx: Context, *, full: bool = False, expect: str | None = None,
    anchor_file: Path | None = None,
) -> Verification:
    """The chain from its last verified point on (`full`: from its start), a rotating
    slice of the entries before it, and the anchors (`_anchors`)."""
    out = Verification()
    async with ctx.db.reader() as r:
        anchors = await _anchors(ctx, r, expect, anchor_file)
        _, move = await _audit_chain(ctx, r, full, out)
    out.problems += anchors
    await _moved(ctx, [move])
    return out


async def verify_audit(
    ctx: Context, *, full: bool = False, expect: str | None = None,
    anchor_file: Path | None = None,
) -> list[str]:
    """The problems `verify_audit_report` finds (empty when the chain is intact)."""
    report = await verify_audit_report(ctx, full=full, expect=expect, anchor_file=anchor_file)
    return report.problems


@dataclass(frozen=True)
class AnchorTaken:
    anchor: str
    count: int
    hash: str
    file: Path


async def current_anchor(ctx: Context) -> str:
    """The audit chain's head now, as N:HASH."""
    async with ctx.db.reader() as r:
        return audit_anchor.format_anchor(*await audit.head(r))


async def take_anchor(ctx: Context) -> AnchorTaken:
    """The chain's head, appended with the time to the anchor file (outside the data
    directory) so later verifications can hold the log to it."""
    path = anchor_path(ctx.settings)
    async with ctx.db.reader() as r:
        count, head_hash = await audit.head(r)
    text = audit_anchor.format_anchor(count, head_hash)
    await asyncio.to_thread(audit_anchor.append, path, iso(ctx.clock()), text)
    return AnchorTaken(text, count, head_hash, path)


async def _staged_problems(ctx: Context) -> list[str]:
    """Raw bytes still staged by the edge (`raw_staged`) must hash to their blob name."""
    problems = []
    async with ctx.db.reader() as r:
        staged = await items.staged_items(r)
        for row in staged:
            raw = await items.staged_raw(r, row["item_id"])
            if raw is not None and digest_of(raw) != row["raw_blob"]:
                problems.append(f"暂存的原件与哈希不符：收件序号 {row['item_id']}")
    return problems


async def _blobs(ctx: Context, r: Reader, full: bool, dirty: list[int], out: Verification
                 ) -> tuple[list[str], Callable[[UnitOfWork], Awaitable[None]] | None]:
    """The blobs of the items and attachments after their verified points and of the
    items changed since (`full`: every blob), and a rotating slice of the older ones."""
    pts = await integrity.points(r)
    last_item, last_attachment = await items.blob_ids(r)
    p_item, p_att = pts.get(integrity.ITEM_BLOBS), pts.get(integrity.ATTACHMENT_BLOBS)
    whole = full or p_item is None or p_att is None
    sweeps = (0, 0)
    if whole:
        digests = set(await items.blob_digests(r))
        out.checked.append(f"完整校验文件库：{len(digests)} 个文件")
    else:
        assert p_item is not None
        assert p_att is not None
        new = [d for _, d in await items.item_blobs(r, p_item.upto)]
        new += [d for _, d in await items.attachment_blobs(r, p_att.upto)]
        new += await items.blobs_of(r, dirty)
        old_items = await items.item_blobs(r, p_item.sweep, p_item.upto, _slice(p_item.upto))
        old_atts = await items.attachment_blobs(r, p_att.sweep, p_att.upto, _slice(p_att.upto))
        digests = set(new) | {d for _, d in old_items} | {d for _, d in old_atts}
        out.checked.append(f"增量校验文件库：新增或改动的收件文件 {len(set(new))} 个")
        if old_items or old_atts:
            out.checked.append(f"轮检旧文件 {len(old_items) + len(old_atts)} 个")

        def after(old: list[tuple[int, str]], upto: int) -> int:
            return old[-1][0] if old and old[-1][0] < upto else 0

        sweeps = (after(old_items, p_item.upto), after(old_atts, p_att.upto))
        out.checked.append(f"上次完整校验文件库：{_when(ctx, p_item.full_at)}")
    ordered = sorted(digests)
    problems: list[str] = []
    for n in range(0, len(ordered), _BLOB_BATCH):
        problems += await asyncio.to_thread(ctx.blobs.verify_many, ordered[n:n + _BLOB_BATCH])
    out.problems += problems
    if problems:
        return ordered, None
    now = ctx.clock()

    async def move(uow: UnitOfWork) -> None:
        await integrity.record(uow, integrity.ITEM_BLOBS, upto=last_item, sweep=sweeps[0],
                               at=now, full=whole)
        await integrity.record(uow, integrity.ATTACHMENT_BLOBS, upto=last_attachment,
                               sweep=sweeps[1], at=now, full=whole)

    return ordered, move


async def check_report(ctx: Context, *, full: bool = False) -> Verification:
    """Problems in the database and blob store, and what was covered.

    Incremental (the default): the audit chain and the blobs after their last verified
    points, a rotating slice of the older ones (1/SLICE_RUNS, at least SLICE_MIN), and the
    records changed since the last check against their logged state. `full` (and the
    first run) covers everything, SQLite's page-level integrity check included."""
    out = Verification()
    async with ctx.db.reader() as r:
        # the first run (and the first after an upgrade) has nothing to start from
        whole = full or len(await integrity.points(r)) < len(integrity.PARTS)
        if whole:
            out.problems += await maintenance.integrity_problems(r)
            out.checked.append("数据库结构与外键检查")
        # every (kind, year) register must be exactly 1..n with its counter at n
        out.problems += await registers.sequence_problems(r)
        out.problems += await dispatch_repo.sequence_problems(r)
        anchors = await _anchors(ctx, r, None, None)
        subjects, move_audit = await _audit_chain(ctx, r, whole, out)
        dirty = await integrity.dirty(r)
        dirty_items = [int(s.partition(":")[2]) for s in dirty if s.startswith("item:")]
        hashed, move_blobs = await _blobs(ctx, r, whole, dirty_items, out)
        state = await audit.state_problems(r, None if whole else subjects | set(dirty))
        if not whole:
            out.checked.append(f"核对记录与审计日志所记状态：{len(subjects | set(dirty))} 件"
                               f"（其中上次检查后新增或改动的 {len(dirty)} 件）")
        else:
            out.checked.append("核对全部记录与审计日志所记状态")
    out.problems += anchors + state + await _staged_problems(ctx)
    forget = None
    if not state:
        async def forget_step(uow: UnitOfWork) -> None:
            await integrity.forget_dirty(uow, dirty)

        forget = forget_step
    await _moved(ctx, [move_audit, move_blobs, forget])
    # the blob store's shards are listed by a full run; an incremental one looks at the
    # files it re-hashed (the walk alone costs seconds at a million files)
    out.problems += [
        f"临时文件残留：{path}（写入时进程被终止留下；下次启动 jiyao serve 时清除）"
        for path in await asyncio.to_thread(ctx.blobs.stale_temps, shallow=not whole)
    ]
    out.problems += await asyncio.to_thread(
        loose_modes, ctx.data_dir, shallow=None if whole else ctx.blobs.root,
        also=[] if whole else [ctx.blobs.file_of(d) for d in hashed])
    return out


async def check(ctx: Context, *, full: bool = False) -> list[str]:
    """The problems `check_report` finds (empty when all is well)."""
    return (await check_report(ctx, full=full)).problems


#: problems a nightly notice names before it counts the rest
_NOTICE_NAMED = 10


async def nightly_check(ctx: Context) -> Verification:
    """The full check `jiyao serve` runs each night (`[schedule] check_time`); what it
    finds also goes to registry staff, once a day, when office hours open."""
    report = await check_report(ctx, full=True)
    if not report.problems:
        return report
    now = ctx.clock()
    day = plan.local_date(ctx.settings, now).isoformat()
    lines = [f"夜间完整性检查（jiyao check --full）发现 {len(report.problems)} 个问题："]
    lines += [f"  · {p}" for p in report.problems[:_NOTICE_NAMED]]
    if len(report.problems) > _NOTICE_NAMED:
        lines.append(f"  另有 {len(report.problems) - _NOTICE_NAMED} 个")
    lines.append("请运行 jiyao check --full 查看全部，并从备份核对受影响的记录。")
    async with ctx.db.unit_of_work() as uow:
        await reminders_repo.add_notice(
            uow, dedup=f"integrity:{day}", due_at=now, target=plan.REGISTRY,
            subject=f"integrity:{day}", kind="integrity", text="\n".join(lines), now=now)
        await uow.commit()
    return report


async def backup(ctx: Context, dest: Path) -> backups.BackupResult:
    """Back up the live data directory into the new directory `dest` (the database with
    the SQLite online backup API, every other file copied, a manifest of sha256 sums); an
    existing directory gets a new `jiyao-backup-<UTC time>` inside it."""
    name = f"jiyao-backup-{ctx.clock().astimezone(UTC):%Y%m%dT%H%M%SZ}"

    def run() -> backups.BackupResult:
        return backups.backup(ctx.data_dir, dest / name if dest.is_dir() else dest)

    return await asyncio.to_thread(run)


def restore(
    settings: Settings, source: Path, *, replace: bool, now: datetime
) -> backups.RestoreResult:
    """Restore the backup `source` as the configured data directory (no context: nothing
    may hold the database open while it is swapped)."""
    return backups.restore(source, settings.storage.data_dir, replace=replace,
                           stamp=f"{now.astimezone(UTC):%Y%m%dT%H%M%SZ}")
