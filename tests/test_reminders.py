"""Reminder rows: the sweeper across a restart, targets, 催办 of 办件, digest, 通报批评 drafts."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, date, datetime

import pytest

from core.calendar import WorkCalendar
from core.config import Settings
from core.model import Kind, Outcome
from core.services import dispatch, followups, overdue, registry, reminders, requests
from core.services.context import Context, open_context
from core.storage import followups as followups_repo
from core.storage import items as items_repo
from core.storage import reminders as repo
from tests.conftest import FrozenClock

PUBLIC = {"disclosure": "主动公开", "carrier": "政府网站", "column": "规范性文件"}
REGISTRY_CHATS = {"200001", "200002"}


async def take_public(ctx: Context, written: date, drafter: str = "综合科",
                      title: str = "关于做好防汛工作的通知") -> dispatch.Taken:
    return await dispatch.take(ctx, code="甘府发", title=title, section="机要室",
                               written_on=written, drafting_section=drafter, **PUBLIC)


async def chat_events(ctx: Context) -> list[dict[str, object]]:
    async with ctx.db.reader() as r:
        rows = await r.fetchall("SELECT * FROM outbox WHERE channel = 'chat' ORDER BY id")
    return [{"event": row["event"], "target": row["target"], **json.loads(row["payload"])}
            for row in rows]


async def add_ban(ctx: Context, *, title: str, sender: str = "甘孜州财政局",
                  deadline: str | None = None, urgency: str | None = None,
                  secrecy: str | None = None) -> int:
    """Register a 办件 as intake does: the item row (with its parsed deadline) and its number."""
    now = ctx.clock()
    async with ctx.db.unit_of_work() as uow:
        item_id = await items_repo.insert_item(uow, items_repo.NewItem(
            received_at=now, year=2026, month=now.month, channel="email",
            outcome=Outcome.REGISTER.value, kind=Kind.BAN.value, sender=sender, title=title,
            deadline=deadline, urgency=urgency, secrecy=secrecy, created_by="intake",
        ))
        await registry.number_item(ctx, uow, item_id=item_id, kind=Kind.BAN, year=2026, at=now,
                                   by="staff")
        await uow.commit()
    return item_id


# ------------------------------------------------------------------ restart
async def test_restart_sends_missed_reminders_once_marked_late(
    settings: Settings, clock: FrozenClock
) -> None:
    """Reminders due while the process was down go out once after restart, marked 补发."""
    ctx = await open_context(settings, clock=clock)
    await take_public(ctx, date(2026, 3, 2))
    await requests.add_request(ctx, applicant="张三", content="预算执行情况", channel="当面",
                          received=date(2026, 3, 2))
    assert (await reminders.sweep(ctx)).sent == 0
    # running normally: the 3/23 09:00 reminders go out on time
    on_time = datetime(2026, 3, 23, 1, 0, 30, tzinfo=UTC)
    first = await reminders.sweep(ctx, on_time)
    assert (first.sent, first.late) == (2, 0)
    await ctx.db.close()  # the process dies; 3/27 and 3/30 pass while it is down

    clock.now = datetime(2026, 3, 30, 2, 0, tzinfo=UTC)  # 10:00, in working hours
    for _ in range(2):  # restart twice, sweeping twice each time
        ctx = await open_context(settings, clock=clock)
        await reminders.sweep(ctx)
        await reminders.sweep(ctx)
        await ctx.db.close()

    ctx = await open_context(settings, clock=clock)
    events = await chat_events(ctx)
    ids = Counter(e["reminder_id"] for e in events)
    assert all(n == 1 for n in ids.values())  # one chat per target here: none doubled
    assert len(events) == 6  # 2 on time + 3/27 and 3/30 for both subjects
    on_time_events = [e for e in events if not e["late"]]
    late_events = [e for e in events if e["late"]]
    assert len(on_time_events) == 2
    assert len(late_events) == 4
    assert all(str(e["text"]).startswith("【补发】") for e in late_events)
    assert not any(str(e["text"]).startswith("【补发】") for e in on_time_events)
    assert {e["target"] for e in events} == {"200003", "200004"}  # 综合科, 政务公开科
    async with ctx.db.reader() as r:
        late_rows = await r.fetchall("SELECT * FROM reminders WHERE late = 1")
        pending = await r.fetchall(
            "SELECT * FROM reminders WHERE sent_at IS NULL AND cancelled_at IS NULL"
            " AND due_at <= ?", (clock.now.isoformat(),))
    assert len(late_rows) == 4
    assert pending == []
    await ctx.db.close()


def test_targets_resolve_to_chats(settings: Settings) -> None:
    """Sections go to their staff, unknown sections to the registrars, leaders to themselves."""
    assert reminders.resolve_targets(settings, "section:综合科") == (200003,)
    assert reminders.resolve_targets(settings, "section:人事科") == (200001, 200002)
    assert reminders.resolve_targets(settings, "section:机要室") == (200002,)
    assert reminders.resolve_targets(settings, "leader:州长") == (100001,)
    assert reminders.resolve_targets(settings, "registry") == (200001, 200002)
    assert reminders.resolve_targets(settings, "chat:42") == (42,)


# ------------------------------------------------------------------ 催办 of 办件
async def test_ban_followups_from_document_or_default(ctx: Context) -> None:
    """Own deadline wins; else the default by urgency; leaders hear on the due day."""
    own = await add_ban(ctx, title="关于报送预算的通知", deadline="2026-03-10", urgency="特急")
    fast = await add_ban(ctx, title="关于加急核实的函", urgency="加急")
    plain = await add_ban(ctx, title="关于下达资金的通知")
    await overdue.sync(ctx)
    async with ctx.db.reader() as r:
        rows = {f["item_id"]: f for f in await followups_repo.open_followups(r)}
        plan = await repo.reminders_of(r, f"item:{plain}")
    assert (rows[own]["due_on"], rows[own]["source"]) == ("2026-03-10", "document")
    assert (rows[fast]["due_on"], rows[fast]["source"]) == ("2026-03-09", "default")  # 5 days
    assert rows[plain]["due_on"] == "2026-03-23"  # 15 working days after 3/2
    due_targets = {x["target"] for x in plan if x["kind"] == "due"}
    before_targets = {x["target"] for x in plan if x["kind"] == "before"}
    assert due_targets == {"registry", "leader:常务副州长"}
    assert before_targets == {"registry"}


async def test_overdue_and_done(ctx: Context, clock: FrozenClock) -> None:
    """A late 办件 is listed under its leader until it is 办结; done cancels its reminders."""
    item = await add_ban(ctx, title="关于下达资金的通知")
    report = await overdue.overdue(ctx, date(2026, 3, 24))
    [entry] = report.entries
    assert (entry.kind, entry.ref, entry.owner, entry.days_late) == (
        "办件", "办2026-0001", "常务副州长", 1,
    )
    assert "【常务副州长】1 件" in report.text()
    clock.now = datetime(2026, 3, 24, 2, 0, tzinfo=UTC)
    done = await followups.close_item(ctx, ref="办2026-0001")
    assert (done["item_id"], done["on_time"]) == (item, False)
    assert not (await overdue.overdue(ctx, date(2026, 3, 24))).entries
    async with ctx.db.reader() as r:
        live = [x for x in await repo.reminders_of(r, f"item:{item}")
                if x["cancelled_at"] is None and x["sent_at"] is None]
    assert live == []


async def test_classified_titles_stay_out_of_chat(ctx: Context, clock: FrozenClock) -> None:
    """催办 reminders and the overdue list never show a 秘密 item's title in chat (§7)."""
    await add_ban(ctx, title="关于绝不外传事项的通知", secrecy="秘密")
    report = await overdue.overdue(ctx, date(2026, 3, 24))
    assert "绝不外传" not in report.text()
    assert "秘密件" in report.text()
    clock.now = datetime(2026, 4, 30, 2, 0, tzinfo=UTC)
    await reminders.sweep(ctx, clock.now)
    texts = [str(e.get("text", "")) for e in await chat_events(ctx)]
    assert any("催办" in t for t in texts)
    assert not any("绝不外传" in t for t in texts)


async def test_correction_away_from_ban_cancels_followup(ctx: Context) -> None:
    """A 办件 corrected to 阅件 is no longer chased."""
    await add_ban(ctx, title="关于下达资金的通知")
    await overdue.sync(ctx)
    await registry.correct(ctx, ref="办2026-0001", kind=Kind.YUE, reason="应为阅件",
                           actor="文书处理室")
    await overdue.sync(ctx)
    async with ctx.db.reader() as r:
        assert await followups_repo.open_followups(r) == []


# ------------------------------------------------------------------ digest, 通报批评
async def test_digest_and_its_idempotent_queueing(ctx: Context, clock: FrozenClock) -> None:
    """The digest lists what falls due today, what is late and yesterday's items; once a day."""
    await take_public(ctx, date(2026, 3, 2), title="关于甲的通知")
    clock.now = datetime(2026, 3, 23, 2, 0, tzinfo=UTC)
    await add_ban(ctx, title="关于乙的请示")  # registered 3/23
    clock.now = datetime(2026, 3, 30, 1, 0, tzinfo=UTC)
    await requests.add_request(ctx, applicant="王五", content="某事", channel="当面",
                          received=date(2026, 3, 2))
    text = await reminders.digest(ctx, date(2026, 3, 30))
    assert text.startswith("【机要日报】2026年3月30日（星期一）")
    assert "一、今日到期 2 件" in text
    assert "主动公开 甘府发〔2026〕1号《关于甲的通知》（综合科）" in text
    assert "依申请公开 第1号申请（王五，政务公开科）" in text
    assert "二、已逾期 0 件" in text
    later = await reminders.digest(ctx, date(2026, 3, 31))
    assert "二、已逾期 2 件（办件 0，主动公开 1，依申请公开 1）" in later
    assert "三、昨日（3月22日）未收到新收件" in await reminders.digest(ctx, date(2026, 3, 23))
    next_day = await reminders.digest(ctx, date(2026, 3, 24))
    assert "三、昨日（3月23日）新收 1 件：办件 1 件" in next_day

    assert await reminders.enqueue_digest(ctx) is True
    assert await reminders.enqueue_digest(ctx) is False
    digests = [e for e in await chat_events(ctx) if e["event"] == "reminder.digest"]
    assert {str(e["target"]) for e in digests} == REGISTRY_CHATS
    assert len(digests) == 2


async def test_december_digest_warns_of_missing_schedule(ctx: Context) -> None:
    """In December the digest tells staff next year's holidays are not configured."""
    if WorkCalendar.from_config().knows(2027):
        pytest.skip("this chinesecalendar release already knows 2027")
    text = await reminders.digest(ctx, date(2026, 12, 1))
    assert "2027 年的节假日安排尚未掌握" in text
    assert "[calendar.2027]" in text
    assert "节假日安排" not in await reminders.digest(ctx, date(2026, 11, 30))


async def test_three_misses_draft_a_criticism_for_registry_only(
    ctx: Context, clock: FrozenClock
) -> None:
    """A section with 3 records past due gets a 通报批评 draft, sent to registrars only, once."""
    for i in range(3):
        await take_public(ctx, date(2026, 3, 2), title=f"关于第{i + 1}项工作的通知")
    await take_public(ctx, date(2026, 3, 2), drafter="政务公开科", title="关于公开目录的通知")
    clock.now = datetime(2026, 4, 1, 2, 0, tzinfo=UTC)
    await reminders.enqueue_digest(ctx)
    await reminders.enqueue_digest(ctx)
    drafts = [e for e in await chat_events(ctx) if e["event"] == "reminder.criticism"]
    assert {str(e["target"]) for e in drafts} == REGISTRY_CHATS
    assert len(drafts) == 2  # one notice, one message per registrar
    text = str(drafts[0]["text"])
    assert "通报批评（草稿" in text
    assert "综合科有 3 件" in text
    assert all(f"甘府发〔2026〕{n}号" in text for n in (1, 2, 3))
    assert "政务公开科" not in text.split("\n", 2)[1]
