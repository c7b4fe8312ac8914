"""Deadline rules (DOMAIN §6, 《政府信息公开条例》 2019; seed part 3): pure functions.

Every period is counted in working days with `WorkCalendar`: the day an event happens
is not counted, the deadline is the N-th working day after it. Due dates of a request
are recomputed from its whole event history every time, never patched in place.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from core.calendar import WorkCalendar, WorkDate
from core.errors import ConflictError, InvalidInputError

#: Art. 26: 主动公开 within 20 working days of the information being formed or changed
PUBLISH_WORKDAYS = 20
#: Art. 33: answer within 20 working days of receipt
ANSWER_WORKDAYS = 20
#: Art. 33: one extension of at most 20 working days
MAX_EXTENSION = 20
#: Art. 30: a 补正 notice goes once, within 7 working days of receipt
SUPPLEMENT_WORKDAYS = 7
#: Art. 32: the third party answers within 15 working days
CONSULT_WORKDAYS = 15


# ------------------------------------------------------------------ 主动公开
def publication_due(base: date, cal: WorkCalendar) -> WorkDate:
    """Art. 26: the last day to publish information formed or changed on `base`."""
    return cal.add_workdays(base, PUBLISH_WORKDAYS)


# ------------------------------------------------------------------ 催办 of 办件
@dataclass(frozen=True)
class ItemDue:
    due: WorkDate
    #: "document" (the item names its own date: 于…前) or "default" (configured period)
    source: str
    workdays: int | None = None


def item_due(
    *,
    deadline: str | None,
    registered_on: date,
    urgency: str | None,
    defaults: Mapping[str, int],
    cal: WorkCalendar,
) -> ItemDue:
    """The handling deadline of a 办件: its own date if it names one, else the default period.

    The default is looked up by urgency (特提/特急/加急); other levels (平急) and ordinary
    items take the "" entry, counted in working days from the registration day.
    """
    if deadline:
        try:
            return ItemDue(WorkDate(date.fromisoformat(deadline.strip())), "document")
        except ValueError:
            pass  # an unreadable stored deadline falls back to the configured period
    days = defaults.get(urgency or "", defaults.get("", 15))
    return ItemDue(cal.add_workdays(registered_on, max(days, 1)), "default", days)


# ------------------------------------------------------------------ 依申请公开: receipt
class RequestChannel(StrEnum):
    """How an application arrived; decides its receipt date (Art. 31)."""

    IN_PERSON = "当面"
    REGISTERED = "挂号信"
    LETTER = "平信"
    ONLINE = "网络"
    FAX = "传真"


class ApplicantKind(StrEnum):
    """Who applied, as the annual report's 申请人情况 columns divide them (national format)."""

    PERSON = "自然人"
    BUSINESS = "商业企业"
    RESEARCH = "科研机构"
    CHARITY = "社会公益组织"
    LEGAL = "法律服务机构"
    OTHER = "其他"


#: channels whose receipt day is a day confirmed with the applicant (Art. 31(2) second
#: clause for 平常信函, Art. 31(3) for 互联网渠道 and 传真)
CONFIRMED_CHANNELS = frozenset({RequestChannel.LETTER, RequestChannel.ONLINE, RequestChannel.FAX})


def receipt_date(channel: RequestChannel, received: date, confirmed: date | None = None) -> date:
    """The legal receipt day of an application (Art. 31).

    - 当面: the day it is handed in (31(1)).
    - 挂号信 (mail that is signed for): the day the office signs for it (31(2)).
    - 平信 (mail not signed for): the office confirms with the applicant on the day it
      arrives; the confirmation day counts (31(2)). `confirmed` defaults to `received`.
    - 网络 / 传真: the day both sides confirm it (31(3)); defaults to `received`.
    """
    if channel not in CONFIRMED_CHANNELS:
        if confirmed is not None and confirmed != received:
            basis = "提交" if channel is RequestChannel.IN_PERSON else "签收"
            raise InvalidInputError(
                f"{channel.value}提交的申请以{basis}之日为收到日，不另设确认日期",
                field="confirmed",
            )
        return received
    day = confirmed or received
    if day < received:
        raise InvalidInputError(
            f"确认日期 {day.isoformat()} 早于收到日期 {received.isoformat()}", field="confirmed"
        )
    return day


# ------------------------------------------------------------------ 依申请公开: replies
class ReplyType(StrEnum):
    """The seven reply types of Art. 36."""

    ALREADY_PUBLIC = "已公开"  # 36(1): tell how to obtain it
    PROVIDED = "予以公开"  # 36(2): provide it, or tell how/when to obtain it
    WITHHELD = "不予公开"  # 36(3): refuse with the legal reason
    NOT_EXIST = "信息不存在"  # 36(4): nothing found after a search
    NOT_OURS = "非本机关负责"  # 36(5): not ours to disclose; name the organ that is
    REPEAT = "重复申请"  # 36(6): already answered; not handled again
    SPECIAL_REGISTER = "特殊登记资料"  # 36(7): 工商、不动产登记资料 etc. under their own laws


REPLY_TEXT: dict[ReplyType, str] = {
    ReplyType.ALREADY_PUBLIC: "所申请公开信息已经主动公开，告知申请人获取该政府信息的方式、途径",
    ReplyType.PROVIDED: "向申请人提供该政府信息，或者告知申请人获取该政府信息的方式、途径和时间",
    ReplyType.WITHHELD: "告知申请人不予公开并说明理由",
    ReplyType.NOT_EXIST: "经检索没有所申请公开信息，告知申请人该政府信息不存在",
    ReplyType.NOT_OURS: "所申请公开信息不属于本机关负责公开，告知申请人并说明理由及负责公开的机关",
    ReplyType.REPEAT: "申请人重复申请公开相同政府信息，告知申请人不予重复处理",
    ReplyType.SPECIAL_REGISTER: (
        "所申请公开信息属于工商、不动产登记资料等，告知申请人依照有关法律、行政法规的规定办理"
    ),
}


def check_reply(
    reply: ReplyType, *, reason: str | None, organ: str | None, withhold_reasons: Sequence[str]
) -> None:
    """Refuse a reply that lacks what its type requires (Art. 36(3), 36(5))."""
    choices = "、".join(withhold_reasons)
    if reply is ReplyType.WITHHELD:
        if not reason:
            raise InvalidInputError(f"不予公开须说明法定理由，可选：{choices}", field="reason")
        if reason not in withhold_reasons:
            raise InvalidInputError(
                f"不予公开的理由 {reason!r} 不在配置的法定理由中，可选：{choices}", field="reason"
            )
    if reply is ReplyType.NOT_OURS and not (organ and organ.strip()):
        raise InvalidInputError("非本机关负责公开的，须写明负责公开该信息的机关", field="organ")


# ------------------------------------------------------------------ 依申请公开: the clock
class RequestEventKind(StrEnum):
    SUPPLEMENT = "supplement"  # 补正告知 sent (Art. 30): the clock stops
    COMPLETED = "completed"  # the completed application arrived: the clock restarts
    EXTEND = "extend"  # extension (Art. 33), once, ≤ 20 working days
    CONSULT = "consult"  # third-party consultation sent (Art. 32): the clock pauses
    CONSULTED = "consulted"  # consultation over: the clock resumes
    ANSWER = "answer"  # replied (Art. 36): closed


EVENT_ZH: dict[RequestEventKind, str] = {
    RequestEventKind.SUPPLEMENT: "告知补正",
    RequestEventKind.COMPLETED: "收到补正后的申请",
    RequestEventKind.EXTEND: "延长答复期限",
    RequestEventKind.CONSULT: "征求第三方意见",
    RequestEventKind.CONSULTED: "第三方意见征求结束",
    RequestEventKind.ANSWER: "答复",
}


class RequestState(StrEnum):
    RUNNING = "running"
    SUPPLEMENT = "supplement"
    CONSULTING = "consulting"
    ANSWERED = "answered"


STATE_ZH: dict[RequestState, str] = {
    RequestState.RUNNING: "办理中",
    RequestState.SUPPLEMENT: "待补正",
    RequestState.CONSULTING: "征求意见中",
    RequestState.ANSWERED: "已答复",
}


@dataclass(frozen=True)
class RequestEvent:
    kind: RequestEventKind
    on: date
    #: working days of an extension
    workdays: int | None = None


@dataclass(frozen=True)
class RequestClock:
    """Where a request stands after its events."""

    state: RequestState
    receipt: date
    #: the day the completed application arrived (the clock restarted), if any
    restarted_on: date | None
    #: the answer deadline; None while the clock is stopped or paused with time left
    due: WorkDate | None
    #: 20 plus the extension
    budget: int
    #: working days counted in finished segments (before a pause; 0 while first running)
    used: int
    extended: int
    #: last day to send a 补正 notice; None once sent or answered
    supplement_by: WorkDate | None
    #: while consulting: the day the third party's 15 working days end (Art. 32)
    consult_until: WorkDate | None
    answered_on: date | None
    on_time: bool | None

    def overdue(self, today: date) -> bool:
        """Late: still open and past its deadline (a paused clock that ran out counts too)."""
        if self.state in (RequestState.ANSWERED, RequestState.SUPPLEMENT) or self.due is None:
            return False
        return today > self.due.date

    @property
    def remaining(self) -> int:
        return max(self.budget - self.used, 0)


#: a counting segment (start, end]: end None while the clock runs
_Segment = tuple[date, date | None]


def _locate_due(
    segments: Sequence[_Segment], budget: int, cal: WorkCalendar
) -> tuple[WorkDate | None, int]:
    """(due day, working days used in closed segments) for the given counting segments.

    The due day is where the budget-th counted working day falls; None when every
    segment is closed (paused) before the budget runs out.
    """
    remaining = budget
    provisional = False
    for start, end in segments:
        if end is None:
            due = cal.add_workdays(start, remaining)
            return WorkDate(due.date, due.provisional or provisional), budget - remaining
        counted = cal.workdays_between(start, end)
        provisional = provisional or cal.span_provisional(start, end)
        if counted >= remaining:
            due = cal.add_workdays(start, remaining)
            return WorkDate(due.date, due.provisional or provisional), budget
        remaining -= counted
    return None, budget - remaining


def _refuse(state: RequestState, allowed: set[RequestState], what: str) -> None:
    if state in allowed:
        return
    if state is RequestState.ANSWERED:
        raise ConflictError(f"该申请已答复，不能再{what}")
    raise ConflictError(f"该申请当前{STATE_ZH[state]}，不能{what}")


def request_clock(
    receipt: date, events: Sequence[RequestEvent], cal: WorkCalendar
) -> RequestClock:
    """Replay a request's events from its receipt day; raise on an event the law forbids.

    - 补正 (Art. 30): once, within 7 working days of receipt; the clock stops, and when the
      completed application arrives it restarts from zero on that day.
    - Consultation (Art. 32, 33): the days from the day after the request goes out until
      the day the consultation ends are not counted (the pause day itself still counts,
      the resume day does not — like a receipt day).
    - Extension (Art. 33): once, 1–20 working days, decided before the deadline passes.
    """
    state = RequestState.RUNNING
    segments: list[_Segment] = [(receipt, None)]
    budget = ANSWER_WORKDAYS
    extended = 0
    supplemented = False
    restarted_on: date | None = None
    consult_on: date | None = None
    answered_on: date | None = None
    on_time: bool | None = None
    last = receipt
    for ev in events:
        if ev.on < last:
            raise InvalidInputError(
                f"{EVENT_ZH[ev.kind]}日期 {ev.on.isoformat()} 早于上一步（{last.isoformat()}）",
                field="date",
            )
        if ev.kind is RequestEventKind.SUPPLEMENT:
            _refuse(state, {RequestState.RUNNING}, "告知补正")
            if supplemented:
                raise ConflictError("补正须一次性告知申请人（条例第三十条），本申请已告知过补正")
            limit = cal.add_workdays(receipt, SUPPLEMENT_WORKDAYS)
            if ev.on > limit.date:
                raise ConflictError(
                    f"补正告知须在收到申请之日起 {SUPPLEMENT_WORKDAYS} 个工作日内发出"
                    f"（最迟 {limit.label()}），已超过，不能再要求补正"
                )
            segments[-1] = (segments[-1][0], ev.on)
            supplemented = True
            state = RequestState.SUPPLEMENT
        elif ev.kind is RequestEventKind.COMPLETED:
            _refuse(state, {RequestState.SUPPLEMENT}, "登记补正后的申请（未告知补正）")
            segments = [(ev.on, None)]
            restarted_on = ev.on
            state = RequestState.RUNNING
        elif ev.kind is RequestEventKind.EXTEND:
            _refuse(state, {RequestState.RUNNING, RequestState.CONSULTING}, "延长答复期限")
            if extended:
                raise ConflictError("答复期限只能延长一次（条例第三十三条），本申请已延长过")
            n = ev.workdays or 0
            if not 1 <= n <= MAX_EXTENSION:
                raise InvalidInputError(
                    f"延长期限应为 1–{MAX_EXTENSION} 个工作日，收到 {n}", field="workdays"
                )
            due, _ = _locate_due(segments, budget, cal)
            if due is not None and ev.on > due.date:
                raise ConflictError(f"答复期限（{due.label()}）已过，不能再延长")
            budget += n
            extended = n
        elif ev.kind is RequestEventKind.CONSULT:
            _refuse(state, {RequestState.RUNNING}, "征求第三方意见")
            segments[-1] = (segments[-1][0], ev.on)
            consult_on = ev.on
            state = RequestState.CONSULTING
        elif ev.kind is RequestEventKind.CONSULTED:
            _refuse(state, {RequestState.CONSULTING}, "结束征求意见（未在征求意见中）")
            segments.append((ev.on, None))
            consult_on = None
            state = RequestState.RUNNING
        else:  # ANSWER
            if state is RequestState.SUPPLEMENT:
                raise ConflictError("申请人尚未补正，不能答复（补正后登记：request completed）")
            _refuse(state, {RequestState.RUNNING, RequestState.CONSULTING}, "答复")
            due, _ = _locate_due(segments, budget, cal)
            on_time = due is None or ev.on <= due.date
            # the running segment stays open so `due` keeps showing the deadline that applied
            answered_on = ev.on
            consult_on = None
            state = RequestState.ANSWERED
        last = ev.on

    due, used = _locate_due(segments, budget, cal)
    supplement_by = (
        cal.add_workdays(receipt, SUPPLEMENT_WORKDAYS)
        if state is RequestState.RUNNING and not supplemented
        else None
    )
    consult_until = (
        cal.add_workdays(consult_on, CONSULT_WORKDAYS) if consult_on is not None else None
    )
    if state is RequestState.SUPPLEMENT:
        due = None
    return RequestClock(
        state=state, receipt=receipt, restarted_on=restarted_on, due=due, budget=budget,
        used=used, extended=extended, supplement_by=supplement_by, consult_until=consult_until,
        answered_on=answered_on, on_time=on_time,
    )
