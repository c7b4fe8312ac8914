"""依申请公开 (DOMAIN §6, 条例 Art. 29–36): applications, their receipt day by channel,
the answer clock with 补正, extension and third-party consultation, the seven reply
types, and reminders to the section that handles them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from core import deadline_rules as rules
from core import reminder_plan as plan
from core.calendar import WorkCalendar, WorkDate
from core.clock import iso
from core.config import REGISTRY_OWNER, Settings
from core.errors import InvalidInputError, NotFoundError
from core.services.context import Context
from core.services.dates import ACTOR, not_future
from core.storage import audit
from core.storage import reminders as reminders_repo
from core.storage import requests as repo
from core.storage.db import Row, UnitOfWork


def disclosure_section(settings: Settings) -> str:
    """The section that handles 依申请公开: the first staff with the disclosure role."""
    for s in settings.staff:
        if "disclosure" in s.roles:
            return s.section or s.name
    return REGISTRY_OWNER


def _sections(settings: Settings) -> set[str]:
    """The 科室 a request may be given to: the office's sections and the staff's own."""
    return set(settings.office.sections) | {s.section or s.name for s in settings.staff} | {
        disclosure_section(settings)}


@dataclass(frozen=True)
class RequestView:
    id: int
    applicant: str
    applicant_kind: str | None
    content: str
    channel: str
    received_on: date
    receipt_on: date
    section: str
    clock: rules.RequestClock
    reply_type: str | None
    reply_reason: str | None
    reply_organ: str | None
    events: list[dict[str, Any]] = field(default_factory=list)

    @property
    def state_zh(self) -> str:
        return rules.STATE_ZH[self.clock.state]

    def as_json(self) -> dict[str, Any]:
        c = self.clock

        def wd(x: WorkDate | None) -> str | None:
            return x.date.isoformat() if x else None

        return {
            "id": self.id, "applicant": self.applicant, "applicant_kind": self.applicant_kind,
            "content": self.content,
            "channel": self.channel, "received_on": self.received_on.isoformat(),
            "receipt_on": self.receipt_on.isoformat(), "section": self.section,
            "state": c.state.value, "state_zh": self.state_zh, "due": wd(c.due),
            "provisional": bool(c.due and c.due.provisional), "budget": c.budget,
            "used": c.used, "extended": c.extended, "supplement_by": wd(c.supplement_by),
            "consult_until": wd(c.consult_until),
            "restarted_on": c.restarted_on.isoformat() if c.restarted_on else None,
            "answered_on": c.answered_on.isoformat() if c.answered_on else None,
            "on_time": c.on_time, "reply_type": self.reply_type,
            "reply_reason": self.reply_reason, "reply_organ": self.reply_organ,
            "events": self.events,
        }


def _events_of(rows: Sequence[Row]) -> list[rules.RequestEvent]:
    return [
        rules.RequestEvent(rules.RequestEventKind(r["kind"]), date.fromisoformat(r["on_date"]),
                           r["workdays"])
        for r in rows
    ]


def _request_view(req: Row, events: Sequence[Row], clock: rules.RequestClock) -> RequestView:
    return RequestView(
        id=req["id"], applicant=req["applicant"], applicant_kind=req["applicant_kind"],
        content=req["content"],
        channel=req["channel"], received_on=date.fromisoformat(req["received_on"]),
        receipt_on=date.fromisoformat(req["receipt_on"]), section=req["section"], clock=clock,
        reply_type=req["reply_type"], reply_reason=req["reply_reason"],
        reply_organ=req["reply_organ"],
        events=[{"kind": e["kind"], "kind_zh": rules.EVENT_ZH[rules.RequestEventKind(e["kind"])],
                 "on": e["on_date"], "workdays": e["workdays"], "reason": e["reason"],
                 "note": e["note"], "actor": e["actor"]} for e in events],
    )


def _request_text(req: Row, cal: WorkCalendar, due: WorkDate) -> plan.TextFn:
    def text(pd: plan.PlannedDay, day: date) -> str:
        head = "【依申请公开·逾期】" if day > due.date else "【依申请公开提醒】"
        return (f"{head}第 {req['id']} 号政府信息公开申请（申请人：{req['applicant']}）"
                f"须答复（条例第三十三条）：{plan.when_text(due, day, cal)}。")

    return text


async def _plan_request(
    ctx: Context, uow: UnitOfWork, req: Row, clock: rules.RequestClock, now: datetime
) -> None:
    subject = f"request:{req['id']}"
    cal = plan.work_calendar(ctx.settings)
    target = f"section:{req['section']}"
    wanted: list[plan.Wanted] = []
    if clock.state is rules.RequestState.RUNNING and clock.due is not None:
        wanted = plan.plan_for_due(ctx.settings, cal, subject=subject, due=clock.due,
                              targets=lambda _pd: [target], text=_request_text(req, cal, clock.due),
                              now=now)
    elif clock.state is rules.RequestState.CONSULTING and clock.consult_until is not None:
        until = clock.consult_until
        at = max(plan.remind_at(ctx.settings, until.date), now)
        wanted = [plan.Wanted(
            f"{subject}|consult|{until.date.isoformat()}|{target}", at, target, "consult",
            f"【依申请公开】第 {req['id']} 号申请征求第三方意见的 15 个工作日"
            f"于 {until.label()} 届满；第三方逾期未提出意见的，"
            "由本机关依照条例决定是否公开（条例第三十二条）。",
        )]
    await reminders_repo.replan(uow, subject, wanted, now)


def _clock(ctx: Context, req: Row, events: Sequence[Row]) -> rules.RequestClock:
    return rules.request_clock(date.fromisoformat(req["receipt_on"]), _events_of(events),
                               plan.work_calendar(ctx.settings))


def _state_values(clock: rules.RequestClock, now: datetime) -> dict[str, Any]:
    return {
        "state": clock.state.value,
        "due_on": clock.due.date.isoformat() if clock.due else None,
        "provisional": int(bool(clock.due and clock.due.provisional)),
        "answered_on": clock.answered_on.isoformat() if clock.answered_on else None,
        "on_time": None if clock.on_time is None else int(clock.on_time),
        "updated_at": iso(now),
    }


def parse_applicant_kind(text: str | None) -> rules.ApplicantKind | None:
    if text is None or not text.strip():
        return None
    try:
        return rules.ApplicantKind(text.strip())
    except ValueError:
        choices = "、".join(k.value for k in rules.ApplicantKind)
        raise InvalidInputError(
            f"未知申请人类别 {text!r}，应为：{choices}", field="applicant_kind"
        ) from None


def parse_channel(text: str) -> rules.RequestChannel:
    try:
        return rules.RequestChannel(text.strip())
    except ValueError:
        choices = "、".join(c.value for c in rules.RequestChannel)
        raise InvalidInputError(
            f"未知提交方式 {text!r}，应为：{choices}", field="channel"
        ) from None


async def add_request(
    ctx: Context,
    *,
    applicant: str,
    content: str,
    channel: str,
    received: date,
    confirmed: date | None = None,
    section: str | None = None,
    applicant_kind: str | None = None,
    actor: str = ACTOR,
) -> RequestView:
    """Register a 依申请公开 application; its receipt day follows Art. 31 by channel.
    `applicant_kind` (自然人, 商业企业…) is what the annual report divides by."""
    if not applicant.strip():
        raise InvalidInputError("须填写申请人", field="applicant")
    if not content.strip():
        raise InvalidInputError("须填写申请内容", field="content")
    ch = parse_channel(channel)
    kind = parse_applicant_kind(applicant_kind)
    now = ctx.clock()
    today = plan.local_date(ctx.settings, now)
    receipt = rules.receipt_date(ch, received, confirmed)
    not_future(received, today, "收到日期")
    not_future(receipt, today, "确认日期")
    owner = (section or "").strip() or disclosure_section(ctx.settings)
    known = _sections(ctx.settings)
    if owner not in known:
        raise InvalidInputError(
            f"未知的承办科室 {owner!r}，可选：{'、'.join(sorted(known))}", field="section")
    clock = rules.request_clock(receipt, [], plan.work_calendar(ctx.settings))
    values = {
        "applicant": applicant.strip(), "applicant_kind": kind.value if kind else None,
        "content": content.strip(), "channel": ch.value,
        "received_on": received.isoformat(),
        "confirmed_on": confirmed.isoformat() if confirmed else None,
        "receipt_on": receipt.isoformat(), "section": owner,
        "created_at": iso(now),
        "created_by": actor, **_state_values(clock, now),
    }
    async with ctx.db.unit_of_work() as uow:
        request_id = await repo.insert_request(uow, values)
        req = await repo.get_request(uow, request_id)
        assert req is not None
        await _plan_request(ctx, uow, req, clock, now)
        await audit.append(uow, at=now, actor=actor, action="request.add",
                           subject=f"request:{request_id}",
                           detail={"applicant": applicant, "channel": ch.value,
                                   "receipt": receipt.isoformat(),
                                   "due": clock.due.date.isoformat() if clock.due else None})
        await uow.commit()
    return _request_view(req, [], clock)


async def request_event(
    ctx: Context,
    request_id: int,
    kind: rules.RequestEventKind,
    *,
    on: date | None = None,
    workdays: int | None = None,
    reason: str | None = None,
    note: str | None = None,
    reply: rules.ReplyType | None = None,
    organ: str | None = None,
    actor: str = ACTOR,
) -> RequestView:
    """Add an event to a request, replay the history (refusing what the law forbids),
    store the new state and due day, and replan its reminders — one transaction."""
    now = ctx.clock()
    today = plan.local_date(ctx.settings, now)
    day = on or today
    not_future(day, today, "日期")
    if kind is rules.RequestEventKind.EXTEND and not (reason and reason.strip()):
        raise InvalidInputError("延长答复期限须说明理由", field="reason")
    if kind is rules.RequestEventKind.ANSWER:
        if reply is None:
            raise InvalidInputError("须指定答复类型", field="type")
        rules.check_reply(reply, reason=reason, organ=organ,
                          withhold_reasons=ctx.settings.disclosure.withhold_reasons)
    async with ctx.db.unit_of_work() as uow:
        req = await repo.get_request(uow, request_id)
        if req is None:
            raise NotFoundError("依申请公开申请", str(request_id))
        old = await repo.request_events(uow, request_id)
        new = rules.RequestEvent(kind, day, workdays)
        clock = rules.request_clock(date.fromisoformat(req["receipt_on"]),
                                    [*_events_of(old), new], plan.work_calendar(ctx.settings))
        await repo.add_request_event(uow, request_id=request_id, kind=kind.value, on=day,
                                     workdays=workdays, reason=reason, note=note, at=now,
                                     actor=actor)
        values = _state_values(clock, now)
        if reply is not None:
            values |= {"reply_type": reply.value, "reply_reason": reason,
                       "reply_organ": organ.strip() if organ else None}
        await repo.update_request(uow, request_id, values)
        req = await repo.get_request(uow, request_id)
        assert req is not None
        await _plan_request(ctx, uow, req, clock, now)
        if kind is rules.RequestEventKind.EXTEND:
            await _extension_notice(ctx, uow, req, clock, reason or "", now)
        await audit.append(uow, at=now, actor=actor, action=f"request.{kind.value}",
                           subject=f"request:{request_id}",
                           detail={"on": day.isoformat(), "workdays": workdays, "reason": reason,
                                   "reply": reply.value if reply else None, "organ": organ,
                                   "due": clock.due.date.isoformat() if clock.due else None})
        events = await repo.request_events(uow, request_id)
        await uow.commit()
    return _request_view(req, events, clock)


async def _extension_notice(
    ctx: Context, uow: UnitOfWork, req: Row, clock: rules.RequestClock, reason: str,
    now: datetime,
) -> None:
    """Art. 33: the applicant must be told of an extension — a notice to the section."""
    due = clock.due.label() if clock.due else "征求意见结束后顺延计算的日期"
    await reminders_repo.add_notice(
        uow, dedup=f"request:{req['id']}|extend-notice", due_at=now,
        target=f"section:{req['section']}", subject=f"request:{req['id']}", kind="notice",
        text=(f"【依申请公开】第 {req['id']} 号申请（申请人：{req['applicant']}）已延长答复期限 "
              f"{clock.extended} 个工作日，至 {due}；理由：{reason}。"
              "请告知申请人（条例第三十三条）。"),
        now=now,
    )


async def show_request(ctx: Context, request_id: int) -> RequestView:
    async with ctx.db.reader() as r:
        req = await repo.get_request(r, request_id)
        if req is None:
            raise NotFoundError("依申请公开申请", str(request_id))
        events = await repo.request_events(r, request_id)
    return _request_view(req, events, _clock(ctx, req, events))


async def list_requests(ctx: Context, *, open_only: bool = False) -> list[RequestView]:
    async with ctx.db.reader() as r:
        rows = await repo.requests(r, open_only=open_only)
        out = []
        for req in rows:
            events = await repo.request_events(r, req["id"])
            out.append(_request_view(req, events, _clock(ctx, req, events)))
    return out


async def retrack(ctx: Context, uow: UnitOfWork, request_id: int, now: datetime) -> None:
    """Recompute a request's clock and reminders (its due day's year became known)."""
    req = await repo.get_request(uow, request_id)
    if req is None:
        return
    clock = _clock(ctx, req, await repo.request_events(uow, request_id))
    await repo.update_request(uow, request_id, _state_values(clock, now))
    await _plan_request(ctx, uow, req, clock, now)
