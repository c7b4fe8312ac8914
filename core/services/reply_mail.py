"""办结 by reply mail: a 承办单位 without a chat is told of its 交办 by mail (Message-ID kept
with the assignment, subject tagged 【办结回复 编号】); its reply, arriving through SMTP
intake, is recognised here by In-Reply-To / References (or the tag) and, when it comes
from that unit's own address and the unit is the 主办, records 办结 with the reply's first
lines as the result. Any other reply to a notice goes to review, never registered as a new
document and never returned to its sender.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from core import handling as rules
from core import reminder_plan as plan
from core.errors import InvalidInputError, NotFoundError
from core.handling import Step
from core.limits import MAX_INSTRUCTION
from core.model import Outcome
from core.reading.decide import Decision
from core.reading.findings import Finding
from core.reading.mail import ParsedMessage
from core.services import followups
from core.services.context import Context
from core.services.handling import unit_contact
from core.services.registry import resolve_ref
from core.storage import audit
from core.storage import handling as repo
from core.storage import items as items_repo
from core.storage.db import Row, UnitOfWork

FINDING = "reply_to_notice"
#: decisions a reply may replace: a sealed or quarantined message stays so
_REPLACEABLE = frozenset({Outcome.REGISTER, Outcome.REVIEW, Outcome.RETURN})


@dataclass(frozen=True)
class ReplyMatch:
    """A message that answers a 交办 notice: `closes` it, or goes to review for `why`."""

    item: Row
    number: str
    unit: str
    from_address: str
    result: str
    why: str | None

    @property
    def closes(self) -> bool:
        return self.why is None


def _addresses(ctx: Context, unit: str) -> set[str]:
    try:
        return {a.strip().lower() for a in unit_contact(ctx.settings, unit).mail}
    except InvalidInputError:  # the unit left the directory since it was assigned
        return set()


async def _noticed(uow: UnitOfWork, ctx: Context, parsed: ParsedMessage) -> list[Row]:
    """The mailed assignments the message answers: by Message-ID, else by the tag."""
    ids = rules.referenced_ids(parsed.headers.get("In-Reply-To"),
                               parsed.headers.get("References"))
    row = await repo.assignment_by_notice(uow, ids)
    if row is not None:
        return [row]
    number = rules.tagged_number(parsed.subject)
    if number is None:
        return []
    try:
        item = await resolve_ref(uow, ctx, number)
    except (InvalidInputError, NotFoundError):
        return []
    return [a for a in await repo.assignments(uow, item["id"]) if a["notice_id"]]


async def match(uow: UnitOfWork, ctx: Context, parsed: ParsedMessage,
                decision: Decision) -> ReplyMatch | None:
    """Whether the message is a reply to a 交办 notice, and what it may do (inside `uow`)."""
    if decision.outcome not in _REPLACEABLE:
        return None
    noticed = await _noticed(uow, ctx, parsed)
    if not noticed:
        return None
    item = await items_repo.get_item(uow, noticed[0]["item_id"])
    number = await followups.ban_number(uow, noticed[0]["item_id"])
    if item is None or number is None:
        return None
    sender = (parsed.from_address or "").strip().lower()
    result = rules.reply_result(parsed.body_text)[:MAX_INSTRUCTION]
    theirs = [a for a in noticed if sender and sender in _addresses(ctx, a["unit"])]
    units = "、".join(a["unit"] for a in noticed)
    flow = await repo.get(uow, item["id"])
    why = None
    if not theirs:
        why = (f"回复 {number} 交办通知的邮件来自 {sender or '（无发件地址）'}，"
               f"不是承办单位 {units} 的地址，未作办结")
    elif theirs[0]["role"] != rules.ROLE_LEAD:
        why = f"协办单位 {theirs[0]['unit']} 回复 {number} 交办通知；办结由主办单位报告"
    elif flow is None or flow["step"] != Step.HANDLING:
        why = f"{theirs[0]['unit']} 回复 {number} 交办通知，但此件已不在承办中，未作办结"
    elif not result:
        why = f"{theirs[0]['unit']} 回复 {number} 交办通知，但回复中没有写办理结果"
    unit = theirs[0]["unit"] if theirs else noticed[0]["unit"]
    return ReplyMatch(item, number, unit, sender, result, why)


def decided(decision: Decision, reply: ReplyMatch) -> Decision:
    """The decision for a reply: 办结回复 (not numbered, not pushed), or review with why."""
    note = reply.why or f"{reply.unit} 回复 {reply.number} 交办通知，报告办结"
    return replace(
        decision,
        outcome=Outcome.REPLY if reply.closes else Outcome.REVIEW,
        kind=None, reason=None, rule=None, doc_number=None, doc_type=None,
        sender=reply.unit if reply.closes else decision.sender,
        title=decision.subject or decision.title, evidence=note,
        findings=(*decision.findings, Finding(FINDING, note)),
    )


async def close(ctx: Context, uow: UnitOfWork, reply: ReplyMatch, *, reply_item: int,
                now: datetime) -> None:
    """Record the 办结 the reply reports (inside the reply's decision transaction)."""
    actor = f"mail:{reply.from_address}"
    await followups.close_in(ctx, uow, reply.item, day=plan.local_date(ctx.settings, now),
                             result=reply.result, unit=reply.unit, actor=actor, now=now)
    await repo.set_done_reply(uow, reply.item["id"], reply_item)
    await audit.append(uow, at=now, actor=actor, action="item.done_by_mail",
                       subject=f"item:{reply.item['id']}",
                       detail={"reply_item": reply_item, "unit": reply.unit})
