"""主动公开 (Art. 26): due 20 working days after 成文日期 or a change; 保密审查 first."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from core.errors import ConflictError, NotFoundError
from core.services import disclosure, dispatch, overdue
from core.services.context import Context
from core.storage import reminders as repo
from tests.conftest import FrozenClock

PUBLIC = {"disclosure": "主动公开", "carrier": "政府网站", "column": "规范性文件"}


async def take_public(ctx: Context, written: date | None, *, drafter: str = "综合科",
                      title: str = "关于做好防汛工作的通知") -> dispatch.Taken:
    """A 甘府发 number marked 主动公开, drafted by `drafter` (as the dispatch CLI would)."""
    return await dispatch.take(ctx, code="甘府发", title=title, section="机要室",
                               written_on=written, drafting_section=drafter, **PUBLIC)


async def planned(ctx: Context, subject: str) -> list[tuple[str, str, str]]:
    async with ctx.db.reader() as r:
        rows = await repo.reminders_of(r, subject)
    return [(row["kind"], row["due_at"][:16], row["target"]) for row in rows
            if row["cancelled_at"] is None]


async def test_due_twenty_working_days_after_written_date(ctx: Context) -> None:
    """成文 2026-03-02 → due 2026-03-30; reminders 5 and 1 working days before, on it, after."""
    t = await take_public(ctx, date(2026, 3, 2))
    await overdue.sync(ctx)
    [view] = await disclosure.disclosure_list(ctx)
    assert (view.number, view.section, view.due.date, view.due.provisional) == (
        t.number, "综合科", date(2026, 3, 30), False,
    )
    # 09:00 Asia/Shanghai is 01:00 UTC
    assert await planned(ctx, "disclosure:1") == [
        ("before", "2026-03-23T01:00", "section:综合科"),
        ("before", "2026-03-27T01:00", "section:综合科"),
        ("due", "2026-03-30T01:00", "section:综合科"),
        ("overdue", "2026-03-31T01:00", "section:综合科"),
    ]
    await overdue.sync(ctx)  # idempotent
    assert len(await planned(ctx, "disclosure:1")) == 4


async def test_records_without_date_or_not_public_are_not_tracked(ctx: Context) -> None:
    """No 成文日期 yet, or 依申请公开: nothing to publish on a clock."""
    await take_public(ctx, None)
    await dispatch.take(ctx, code="甘府发", title="关于某事的批复", section="机要室",
                        written_on=date(2026, 3, 2), disclosure="依申请公开")
    await overdue.sync(ctx)
    assert await disclosure.disclosure_list(ctx) == []


async def test_publishing_needs_a_passed_secrecy_review(ctx: Context, clock: FrozenClock) -> None:
    """Refused with no review and after 不通过; accepted after 通过; closes the reminders."""
    t = await take_public(ctx, date(2026, 3, 2))
    await overdue.sync(ctx)
    clock.now = datetime(2026, 3, 20, 2, 0, tzinfo=UTC)
    with pytest.raises(ConflictError, match="尚未进行保密审查"):
        await disclosure.mark_published(ctx, number=t.number, url="https://www.gzz.gov.cn/a/1.html")
    await disclosure.review_secrecy(ctx, number=t.number, reviewer="李审", result="不通过")
    with pytest.raises(ConflictError, match="保密审查未通过"):
        await disclosure.mark_published(ctx, number=t.number, url="https://www.gzz.gov.cn/a/1.html")
    await disclosure.review_secrecy(ctx, number=t.number, reviewer="李审", result="通过",
                             on=date(2026, 3, 19))
    # a variant spelling of the number is accepted
    view = await disclosure.mark_published(ctx, number="甘府发[2026]1号",
                                    url="https://www.gzz.gov.cn/a/1.html")
    assert (view.status, view.published_on, view.on_time) == (
        "published", date(2026, 3, 20), True,
    )
    assert await planned(ctx, "disclosure:1") == []
    assert await disclosure.disclosure_list(ctx) == []
    with pytest.raises(ConflictError, match="已于 2026-03-20 登记公开"):
        await disclosure.mark_published(ctx, number=t.number, url="https://x")


async def test_review_after_publication_date_is_refused(ctx: Context, clock: FrozenClock) -> None:
    """The review must come first: a review dated after the publication day is refused."""
    t = await take_public(ctx, date(2026, 3, 2))
    clock.now = datetime(2026, 3, 20, 2, 0, tzinfo=UTC)
    await disclosure.review_secrecy(ctx, number=t.number, reviewer="李审", result="通过",
                             on=date(2026, 3, 20))
    with pytest.raises(ConflictError, match="须先审查后公开"):
        await disclosure.mark_published(ctx, number=t.number, url="https://x", on=date(2026, 3, 19))


async def test_late_publication_is_not_on_time(ctx: Context, clock: FrozenClock) -> None:
    """Published after the due day: recorded, flagged late."""
    t = await take_public(ctx, date(2026, 3, 2))
    clock.now = datetime(2026, 4, 2, 2, 0, tzinfo=UTC)
    await disclosure.review_secrecy(ctx, number=t.number, reviewer="李审", result="通过")
    view = await disclosure.mark_published(ctx, number=t.number, url="https://x")
    assert view.on_time is False


async def test_only_public_records_can_be_published(ctx: Context) -> None:
    """A 依申请公开 record and an unknown number are refused with clear messages."""
    other = await dispatch.take(ctx, code="甘府函", title="关于某事的函", section="机要室",
                                written_on=date(2026, 3, 2), disclosure="依申请公开")
    await disclosure.review_secrecy(ctx, number=other.number, reviewer="李审", result="通过")
    with pytest.raises(ConflictError, match="不是主动公开"):
        await disclosure.mark_published(ctx, number=other.number, url="https://x")
    with pytest.raises(NotFoundError):
        await disclosure.mark_published(ctx, number="甘府发〔2026〕99号", url="https://x")


async def test_change_after_publication_opens_a_new_cycle(ctx: Context, clock: FrozenClock) -> None:
    """A change recorded after publishing is due 20 working days after the change."""
    t = await take_public(ctx, date(2026, 3, 2))
    clock.now = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)
    await disclosure.review_secrecy(ctx, number=t.number, reviewer="李审", result="通过")
    await disclosure.mark_published(ctx, number=t.number, url="https://x")
    clock.now = datetime(2026, 4, 1, 2, 0, tzinfo=UTC)
    view = await disclosure.record_change(ctx, number=t.number, note="附件更新")
    # 4/1 + 20 working days; 清明 4/4–4/6 off: 4/2 4/3 | 4/7 … 4/10 | 13–17 | 20–24 | 27–30
    assert (view.cycle, view.base_kind, view.base_on, view.due.date) == (
        2, "变更", date(2026, 4, 1), date(2026, 4, 30),
    )
    # the review of 3/10 predates the change: a new review is required
    with pytest.raises(ConflictError, match="重新进行保密审查"):
        await disclosure.mark_published(ctx, number=t.number, url="https://y")
    await disclosure.review_secrecy(ctx, number=t.number, reviewer="李审", result="通过")
    view = await disclosure.mark_published(ctx, number=t.number, url="https://y")
    assert (view.cycle, view.status, view.on_time) == (2, "published", True)
    assert [v.cycle for v in await disclosure.disclosure_list(ctx, open_only=False)] == [1, 2]


async def test_amended_date_and_void_recompute(ctx: Context, clock: FrozenClock) -> None:
    """Amending 成文日期 moves the due day and replans; voiding cancels the cycle."""
    t = await take_public(ctx, date(2026, 3, 2))
    await overdue.sync(ctx)
    await dispatch.amend(ctx, number=t.number, written_on=date(2026, 3, 9))
    await overdue.sync(ctx)
    [view] = await disclosure.disclosure_list(ctx)
    # 3/10–13 | 16–20 | 23–27 | 3/30–4/3 (19) | 清明 4/4–4/6 | 4/7 (20)
    assert view.due.date == date(2026, 4, 7)
    kinds = await planned(ctx, "disclosure:1")
    assert [k for k, _, _ in kinds] == ["before", "before", "due", "overdue"]
    assert kinds[2][1] == "2026-04-07T01:00"
    await dispatch.void(ctx, number=t.number, reason="文件撤回")
    await overdue.sync(ctx)
    assert await disclosure.disclosure_list(ctx) == []
    assert await planned(ctx, "disclosure:1") == []


async def test_record_created_late_gets_one_notice_now(ctx: Context, clock: FrozenClock) -> None:
    """A record entered after its due day gets a single overdue notice at once."""
    clock.now = datetime(2026, 4, 15, 2, 0, tzinfo=UTC)
    await take_public(ctx, date(2026, 3, 2))
    await overdue.sync(ctx)
    rows = await planned(ctx, "disclosure:1")
    assert rows == [("overdue", "2026-04-15T02:00", "section:综合科")]
    async with ctx.db.reader() as r:
        [row] = [x for x in await repo.reminders_of(r, "disclosure:1") if x["cancelled_at"] is None]
    assert "已过 11 个工作日" in row["text"]
    assert "【政务公开逾期】" in row["text"]
