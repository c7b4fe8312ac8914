"""What is late, and the reconciliation behind it: `sync` brings dispatch records and
registered 办件 in line with their deadlines and reminders (run by the sweeper, so nothing
depends on a hook), and `overdue` lists everything past its deadline by owner.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from core import reminder_plan as plan
from core.calendar import WorkDate
from core.services import disclosure, followups, requests
from core.services.context import Context
from core.services.dates import today_of
from core.storage import disclosure as disclosure_repo
from core.storage import followups as followups_repo
from core.storage import requests as requests_repo
from core.storage.db import Reader, Row


@dataclass(frozen=True)
class SyncResult:
    dispatches: int
    items: int
    recomputed: int


async def _provisional_now_known(ctx: Context, r: Reader) -> tuple[list[int], list[int], list[int]]:
    """Provisional due days whose year the calendar now knows (a year added in config)."""
    cal = plan.work_calendar(ctx.settings)
    tasks = await disclosure_repo.provisional_tasks(r)
    items = await followups_repo.provisional_followups(r)
    reqs = await requests_repo.provisional_requests(r)

    def known(row: Row) -> bool:
        return cal.knows(date.fromisoformat(row["due_on"]).year)

    return ([row["dispatch_id"] for row in tasks if known(row)],
            [row["item_id"] for row in items if known(row)],
            [row["id"] for row in reqs if known(row)])


async def sync(ctx: Context, now: datetime | None = None) -> SyncResult:
    """Reconcile dispatch records and registered 办件 with their deadlines and reminders,
    and recompute provisional due days whose year has become known."""
    at = now or ctx.clock()
    async with ctx.db.reader() as r:
        dispatch_ids = [row["id"] for row in await disclosure_repo.dispatches_to_sync(r)]
        item_ids = [row["id"] for row in await followups_repo.items_to_follow(r)]
        item_ids += [row["item_id"] for row in await followups_repo.followups_orphaned(r)]
        known_tasks, known_items, known_reqs = await _provisional_now_known(ctx, r)
    recomputed = len(known_tasks) + len(known_items) + len(known_reqs)
    if not (dispatch_ids or item_ids or recomputed):
        return SyncResult(0, 0, 0)
    async with ctx.db.unit_of_work() as uow:
        for dispatch_id in dict.fromkeys([*dispatch_ids, *known_tasks]):
            await disclosure.track_dispatch(ctx, uow, dispatch_id, at)
        for item_id in dict.fromkeys([*item_ids, *known_items]):
            await followups.track_item(ctx, uow, item_id, at)
        for request_id in known_reqs:
            await requests.retrack(ctx, uow, request_id, at)
        await uow.commit()
    return SyncResult(len(dispatch_ids), len(item_ids), recomputed)


# ------------------------------------------------------------------ overdue
@dataclass(frozen=True)
class OverdueEntry:
    """Something late: a 办件, a 主动公开 record or a 依申请公开 request."""

    kind: str  # "办件" | "主动公开" | "依申请公开"
    ref: str
    title: str
    due: WorkDate
    days_late: int
    owner: str  # section, or the leaders of a 办件
    subject: str

    def as_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "ref": self.ref, "title": self.title,
                "due": self.due.date.isoformat(), "provisional": self.due.provisional,
                "days_late": self.days_late, "owner": self.owner, "subject": self.subject}


@dataclass(frozen=True)
class OverdueReport:
    today: date
    entries: list[OverdueEntry]

    def by_owner(self) -> dict[str, list[OverdueEntry]]:
        groups: dict[str, list[OverdueEntry]] = {}
        for e in self.entries:
            groups.setdefault(e.owner, []).append(e)
        return groups

    def count(self, kind: str) -> int:
        return sum(1 for e in self.entries if e.kind == kind)

    def as_json(self) -> dict[str, Any]:
        return {
            "today": self.today.isoformat(), "total": len(self.entries),
            "counts": {k: self.count(k) for k in ("办件", "主动公开", "依申请公开")},
            "entries": [e.as_json() for e in self.entries],
            "by_owner": {k: [e.ref for e in v] for k, v in self.by_owner().items()},
        }

    def text(self) -> str:
        """Chinese text for staff (CLI and /overdue)."""
        if not self.entries:
            return f"截至 {self.today.isoformat()}，没有逾期事项。"
        head = (f"截至 {self.today.isoformat()}，逾期事项 {len(self.entries)} 件"
                f"（办件 {self.count('办件')}，主动公开 {self.count('主动公开')}，"
                f"依申请公开 {self.count('依申请公开')}）：")
        lines = [head]
        for owner, entries in self.by_owner().items():
            lines.append(f"【{owner}】{len(entries)} 件")
            lines.extend(
                f"  · {e.kind} {e.ref}《{e.title}》期限 {e.due.label()}，"
                f"逾期 {e.days_late} 个工作日"
                for e in entries
            )
        return "\n".join(lines)


async def overdue(ctx: Context, today: date | None = None) -> OverdueReport:
    """Everything past its deadline on `today` (default: the office's today), by owner."""
    await sync(ctx)
    day = today or today_of(ctx)
    cal = plan.work_calendar(ctx.settings)
    entries: list[OverdueEntry] = []

    def late(due: WorkDate) -> int:
        return cal.workdays_between(due.date, day)

    async with ctx.db.reader() as r:
        open_items = await followups_repo.open_followups(r)
        tasks = await disclosure_repo.tasks(r, open_only=True)
        reqs = await requests_repo.requests(r, open_only=True)
    for f in open_items:
        due = plan.work_date(f["due_on"], f["provisional"])
        if due is None or due.date >= day:
            continue
        leaders = "、".join(followups.item_leaders(ctx.settings, f)) or "未分工"
        entries.append(OverdueEntry("办件", f["number"] or f"收件{f['item_id']}",
                                    followups.item_title(ctx.settings, f), due, late(due), leaders,
                                    f"item:{f['item_id']}"))
    for t in tasks:
        due = plan.work_date(t["due_on"], t["provisional"])
        if due is None or due.date >= day:
            continue
        entries.append(OverdueEntry("主动公开", t["number"], t["title"], due, late(due),
                                    t["section"], f"disclosure:{t['id']}"))
    for q in reqs:
        due = plan.work_date(q["due_on"], q["provisional"])
        if due is None or due.date >= day or q["state"] == "supplement":
            continue
        entries.append(OverdueEntry("依申请公开", f"第{q['id']}号申请",
                                    f"{q['applicant']}：{q['content'][:30]}", due, late(due),
                                    q["section"], f"request:{q['id']}"))
    entries.sort(key=lambda e: (e.owner, e.due.date, e.ref))
    return OverdueReport(day, entries)
