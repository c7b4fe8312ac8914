"""依申请公开 requests with a frozen clock: receipt by channel (Art. 31), 补正 (Art. 30),
consultation pause (Art. 32), extension (Art. 33), the seven replies (Art. 36)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from core import deadline_rules as rules
from core.calendar import WorkCalendar
from core.errors import ConflictError, InvalidInputError
from core.services import overdue, requests
from core.services.context import Context
from core.storage import reminders as repo
from tests.conftest import FrozenClock

E = rules.RequestEventKind
CH = rules.RequestChannel


def at(month: int, day: int) -> datetime:
    """10:00 local (02:00 UTC) on a day of 2026."""
    return datetime(2026, month, day, 2, 0, tzinfo=UTC)


async def new_request(ctx: Context, received: date = date(2026, 3, 2),
                      channel: str = "当面") -> requests.RequestView:
    return await requests.add_request(ctx, applicant="张三", content="2025年财政预算执行情况",
                                 channel=channel, received=received)


async def live_reminders(ctx: Context, request_id: int) -> list[tuple[str, str]]:
    async with ctx.db.reader() as r:
        rows = await repo.reminders_of(r, f"request:{request_id}")
    return [(row["kind"], row["due_at"][:10]) for row in rows if row["cancelled_at"] is None]


# ------------------------------------------------------------------ Art. 31
def test_receipt_day_by_channel() -> None:
    """当面: handed in; 挂号信: signed for; 平信/网络/传真: the day confirmed with the applicant."""
    d1, d2 = date(2026, 3, 2), date(2026, 3, 3)
    assert rules.receipt_date(CH.IN_PERSON, d1) == d1
    assert rules.receipt_date(CH.REGISTERED, d2) == d2
    assert rules.receipt_date(CH.LETTER, d1) == d1
    assert rules.receipt_date(CH.LETTER, d1, d2) == d2
    assert rules.receipt_date(CH.ONLINE, date(2026, 2, 27), d1) == d1
    assert rules.receipt_date(CH.FAX, d1, d2) == d2
    with pytest.raises(InvalidInputError, match="提交之日"):
        rules.receipt_date(CH.IN_PERSON, d1, d2)
    with pytest.raises(InvalidInputError, match="早于"):
        rules.receipt_date(CH.ONLINE, d2, d1)


async def test_online_request_counts_from_confirmation(ctx: Context) -> None:
    """An online request sent Friday 2/27 and confirmed Monday 3/2 is due 3/30."""
    v = await requests.add_request(ctx, applicant="李四", content="某项目批复", channel="网络",
                              received=date(2026, 2, 27), confirmed=date(2026, 3, 2))
    assert v.receipt_on == date(2026, 3, 2)
    assert v.clock.due is not None
    assert v.clock.due.date == date(2026, 3, 30)
    with pytest.raises(InvalidInputError, match="未知提交方式"):
        await new_request(ctx, channel="电邮")


# ------------------------------------------------------------------ Art. 33 base + reminders
async def test_due_twenty_working_days_with_reminders(ctx: Context) -> None:
    """Received 3/2 in person: due 3/30, reminders to 政务公开科 on 3/23, 3/27, 3/30, 3/31."""
    v = await new_request(ctx)
    assert v.section == "政务公开科"
    assert v.clock.due is not None
    assert v.clock.due.date == date(2026, 3, 30)
    assert v.clock.supplement_by is not None
    assert v.clock.supplement_by.date == date(2026, 3, 11)
    assert await live_reminders(ctx, v.id) == [
        ("before", "2026-03-23"), ("before", "2026-03-27"), ("due", "2026-03-30"),
        ("overdue", "2026-03-31"),
    ]


# ------------------------------------------------------------------ Art. 30
async def test_supplement_stops_and_completion_restarts(ctx: Context, clock: FrozenClock) -> None:
    """补正 on 3/6 stops the clock; the completed application on 3/20 restarts 20 days: 4/20."""
    v = await new_request(ctx)
    clock.now = at(3, 6)
    v = await requests.request_event(ctx, v.id, E.SUPPLEMENT, note="请补充申请内容的具体描述")
    assert v.clock.state is rules.RequestState.SUPPLEMENT
    assert v.clock.due is None
    assert await live_reminders(ctx, v.id) == []
    with pytest.raises(ConflictError, match="尚未补正"):
        await requests.request_event(ctx, v.id, E.ANSWER, reply=rules.ReplyType.PROVIDED)
    clock.now = at(3, 20)
    v = await requests.request_event(ctx, v.id, E.COMPLETED)
    # 3/23–27 | 3/30–4/3 | 清明 4/4–4/6 | 4/7–10 | 4/13–17 | 4/20
    assert v.clock.due is not None
    assert v.clock.due.date == date(2026, 4, 20)
    assert v.clock.restarted_on == date(2026, 3, 20)
    with pytest.raises(ConflictError, match="一次性"):
        await requests.request_event(ctx, v.id, E.SUPPLEMENT)
    assert ("due", "2026-04-20") in await live_reminders(ctx, v.id)


async def test_supplement_after_seven_working_days_is_refused(
    ctx: Context, clock: FrozenClock
) -> None:
    """Received 3/2: the 补正 notice must go by 3/11; on 3/12 it is refused, clearly."""
    v = await new_request(ctx)
    clock.now = at(3, 12)
    with pytest.raises(ConflictError, match="最迟 2026-03-11"):
        await requests.request_event(ctx, v.id, E.SUPPLEMENT)
    clock.now = at(3, 11)
    v = await requests.request_event(ctx, v.id, E.SUPPLEMENT)
    assert v.clock.state is rules.RequestState.SUPPLEMENT


# ------------------------------------------------------------------ Art. 33 extension
async def test_extension_once_at_most_twenty_days(ctx: Context, clock: FrozenClock) -> None:
    """Extended by 10 on 3/25: due 4/14; the applicant-notice row goes to the section."""
    v = await new_request(ctx)
    clock.now = at(3, 25)
    with pytest.raises(InvalidInputError, match="1–20 个工作日"):
        await requests.request_event(ctx, v.id, E.EXTEND, workdays=21, reason="需调取档案")
    with pytest.raises(InvalidInputError, match="理由"):
        await requests.request_event(ctx, v.id, E.EXTEND, workdays=10)
    v = await requests.request_event(ctx, v.id, E.EXTEND, workdays=10, reason="需调取档案")
    # 3/30 is day 20; 3/31 4/1 4/2 4/3 | 4/7 4/8 4/9 4/10 | 4/13 4/14 → day 30
    assert v.clock.due is not None
    assert v.clock.due.date == date(2026, 4, 14)
    assert v.clock.extended == 10
    with pytest.raises(ConflictError, match="只能延长一次"):
        await requests.request_event(ctx, v.id, E.EXTEND, workdays=5, reason="再延")
    async with ctx.db.reader() as r:
        rows = await repo.reminders_of(r, f"request:{v.id}")
    [notice] = [x for x in rows if x["kind"] == "notice"]
    assert notice["target"] == "section:政务公开科"
    assert "请告知申请人" in notice["text"]
    assert "2026-04-14" in notice["text"]
    assert ("due", "2026-04-14") in await live_reminders(ctx, v.id)
    assert ("due", "2026-03-30") not in await live_reminders(ctx, v.id)


async def test_extension_after_the_deadline_is_refused(ctx: Context, clock: FrozenClock) -> None:
    """An extension decided after the deadline passed is refused."""
    v = await new_request(ctx)
    clock.now = at(3, 31)
    with pytest.raises(ConflictError, match="已过"):
        await requests.request_event(ctx, v.id, E.EXTEND, workdays=10, reason="迟了")


# ------------------------------------------------------------------ Art. 32
async def test_consultation_time_is_not_counted(ctx: Context, clock: FrozenClock) -> None:
    """5 days used by 3/9; paused until 3/25; the remaining 15 run to 4/16."""
    v = await new_request(ctx)
    clock.now = at(3, 9)
    v = await requests.request_event(ctx, v.id, E.CONSULT, note="涉及第三方商业秘密")
    assert v.clock.state is rules.RequestState.CONSULTING
    assert v.clock.due is None
    assert v.clock.used == 5
    assert v.clock.consult_until is not None
    assert v.clock.consult_until.date == date(2026, 3, 30)
    assert await live_reminders(ctx, v.id) == [("consult", "2026-03-30")]
    clock.now = at(3, 25)
    v = await requests.request_event(ctx, v.id, E.CONSULTED)
    # 3/26 3/27 | 3/30–4/3 | 4/7–10 | 4/13–16 → 15
    assert v.clock.due is not None
    assert v.clock.due.date == date(2026, 4, 16)
    assert ("consult", "2026-03-30") not in await live_reminders(ctx, v.id)
    clock.now = at(4, 16)
    v = await requests.request_event(ctx, v.id, E.ANSWER, reply=rules.ReplyType.PROVIDED)
    assert v.clock.on_time is True
    assert v.clock.state is rules.RequestState.ANSWERED
    assert await live_reminders(ctx, v.id) == []


# ------------------------------------------------------------------ Art. 36
async def test_replies_need_what_their_type_requires(ctx: Context, clock: FrozenClock) -> None:
    """不予公开 needs a configured legal reason; 非本机关负责 names the organ."""
    v = await new_request(ctx)
    clock.now = at(3, 10)
    with pytest.raises(InvalidInputError, match="法定理由"):
        await requests.request_event(ctx, v.id, E.ANSWER, reply=rules.ReplyType.WITHHELD)
    with pytest.raises(InvalidInputError, match="不在配置"):
        await requests.request_event(ctx, v.id, E.ANSWER, reply=rules.ReplyType.WITHHELD,
                                reason="不想公开")
    with pytest.raises(InvalidInputError, match="负责公开"):
        await requests.request_event(ctx, v.id, E.ANSWER, reply=rules.ReplyType.NOT_OURS)
    v = await requests.request_event(ctx, v.id, E.ANSWER, reply=rules.ReplyType.NOT_OURS,
                                organ="甘孜州财政局")
    assert (v.reply_type, v.reply_organ, v.clock.on_time) == ("非本机关负责", "甘孜州财政局", True)
    with pytest.raises(ConflictError, match="已答复"):
        await requests.request_event(ctx, v.id, E.CONSULT)
    assert {t.value for t in rules.ReplyType} == {
        "已公开", "予以公开", "不予公开", "信息不存在", "非本机关负责", "重复申请", "特殊登记资料",
    }


async def test_late_answer_and_overdue_list(ctx: Context, clock: FrozenClock) -> None:
    """Unanswered after 3/30 it is overdue for 政务公开科; answered on 4/1 it is late."""
    v = await new_request(ctx)
    report = await overdue.overdue(ctx, date(2026, 3, 31))
    [entry] = report.entries
    assert (entry.kind, entry.owner, entry.days_late) == ("依申请公开", "政务公开科", 1)
    assert not (await overdue.overdue(ctx, date(2026, 3, 30))).entries
    clock.now = at(4, 1)
    v = await requests.request_event(ctx, v.id, E.ANSWER, reply=rules.ReplyType.WITHHELD,
                                reason="商业秘密")
    assert v.clock.on_time is False
    assert not (await overdue.overdue(ctx, date(2026, 4, 1))).entries


async def test_dates_cannot_go_back_or_ahead(ctx: Context, clock: FrozenClock) -> None:
    """An event dated before the previous one, or after today, is refused."""
    v = await new_request(ctx)
    clock.now = at(3, 9)
    await requests.request_event(ctx, v.id, E.CONSULT)
    with pytest.raises(InvalidInputError, match="早于上一步"):
        await requests.request_event(ctx, v.id, E.CONSULTED, on=date(2026, 3, 5))
    with pytest.raises(InvalidInputError, match="晚于今天"):
        await requests.request_event(ctx, v.id, E.CONSULTED, on=date(2026, 3, 10))


async def test_request_goes_to_a_known_section(ctx: Context) -> None:
    """A request is handled by a configured 科室; a made-up one is refused with the choices."""
    v = await requests.add_request(ctx, applicant="张三", content="内容", channel="当面",
                              received=date(2026, 3, 2), section="综合科")
    assert v.section == "综合科"
    with pytest.raises(InvalidInputError, match=r"未知的承办科室 '乱科'.*政务公开科"):
        await requests.add_request(ctx, applicant="张三", content="内容", channel="当面",
                              received=date(2026, 3, 2), section="乱科")


def test_clock_is_a_pure_replay() -> None:
    """The same events give the same clock; consultation then extension add up."""
    cal = WorkCalendar.from_config()
    events = [
        rules.RequestEvent(E.CONSULT, date(2026, 3, 9)),
        rules.RequestEvent(E.CONSULTED, date(2026, 3, 25)),
        rules.RequestEvent(E.EXTEND, date(2026, 4, 10), 5),
    ]
    clock = rules.request_clock(date(2026, 3, 2), events, cal)
    assert clock.due is not None
    assert clock.due.date == date(2026, 4, 23)  # 4/16 + 5: 4/17 | 4/20 … 4/23
    assert clock == rules.request_clock(date(2026, 3, 2), events, cal)
