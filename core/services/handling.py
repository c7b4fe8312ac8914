"""The handling flow after 签收 (条例 Art. 24): 拟办, 交办 to the 承办单位, the holder of
each item, and the 答复 owed after 办结. 批示 is core.services.instructions; 办结 and 催办 are
core.services.followups; the rules are core.handling.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from core import handling as rules
from core import localtime
from core import reminder_plan as plan
from core.chat.address import addresses_of
from core.config import Settings
from core.errors import ConflictError, InvalidInputError, PermissionDeniedError
from core.handling import Step
from core.limits import MAX_INSTRUCTION, required_text
from core.model import Kind, Outcome
from core.services import followups, push
from core.services.context import Context
from core.services.dates import ACTOR
from core.services.notify import (
    chat_payload,
    item_label,
    local_time,
    notify_staff,
    registry_name,
)
from core.services.registry import resolve_ref
from core.slip import Slip
from core.storage import audit, outbox
from core.storage import chat as chat_repo
from core.storage import handling as repo
from core.storage import reminders as reminders_repo
from core.storage.db import Reader, Row, UnitOfWork
from core.visibility import Facts, Policy, Viewer, label, shown

EVENT_ASSIGNED = "assigned_notice"


# ------------------------------------------------------------------ who is who
@dataclass(frozen=True)
class Contact:
    """How a 承办单位 is told: its section chats, else the directory's mail addresses."""

    unit: str
    chats: tuple[int, ...]
    mail: tuple[str, ...]

    @property
    def how(self) -> str:
        return "chat" if self.chats else "mail" if self.mail else "registry"


def unit_contact(settings: Settings, unit: str) -> Contact:
    """A 承办单位 — a 科室 of the office or an organ of the directory — and its contact."""
    name = unit.strip()
    chats = tuple(dict.fromkeys(s.chat_id for s in settings.staff if s.section == name))
    if chats or name in settings.office.sections:
        return Contact(name, chats, ())
    org = next((o for o in settings.org if o.name == name), None)
    if org is None:
        raise InvalidInputError(
            f"承办单位 {name!r} 既不是本机关的科室，也不在机关名录中", field="unit")
    return Contact(name, (), tuple(org.addresses))


def _leader_name(settings: Settings, name: str | None) -> str | None:
    if name is None or not name.strip():
        return None
    leader = next((x for x in settings.leader if x.name == name.strip()), None)
    if leader is None:
        known = "、".join(x.name for x in settings.leader)
        raise InvalidInputError(f"没有名为 {name!r} 的领导（可选：{known}）", field="leader")
    return leader.name


def _handled_item(item: Row, number: str | None) -> None:
    """Only a registered 办件 goes through the flow."""
    if item["kind"] != Kind.BAN.value or item["outcome"] != Outcome.REGISTER.value or not number:
        raise ConflictError(f"收件 {item['id']} 不是已登记的办件，不走拟办、承办流程")


# ------------------------------------------------------------------ view
@dataclass(frozen=True)
class AssignmentView:
    role: str
    unit: str
    due: str
    told_at: str | None
    told_how: str | None


@dataclass(frozen=True)
class HandlingView:
    """Where an item stands in the flow and who holds it."""

    item_id: int
    number: str | None
    step: str
    holder: str | None
    proposal: repo.Proposal | None = None
    proposed_by: str | None = None
    accepted_by: str | None = None
    assignments: list[AssignmentView] = field(default_factory=list)
    result: str | None = None
    done_at: str | None = None
    reply_owed: str | None = None
    reply_number: str | None = None
    supervised: bool = False

    def as_json(self) -> dict[str, Any]:
        p = self.proposal
        return {
            "item_id": self.item_id, "number": self.number, "step": self.step,
            "holder": self.holder,
            "proposal": None if p is None else {
                "text": p.text, "leader": p.leader, "units": list(p.units),
                "due": p.due.isoformat() if p.due else None, "by": self.proposed_by,
                "accepted_by": self.accepted_by},
            "assignments": [a.__dict__ for a in self.assignments],
            "result": self.result, "done_at": self.done_at, "reply_owed": self.reply_owed,
            "reply_number": self.reply_number, "supervised": self.supervised,
        }

    def holder_text(self) -> str:
        if self.step == Step.DONE:
            if self.reply_owed and not self.reply_number:
                return f"{self.holder or '收文登记'}（待{self.reply_owed}）"
            return "—"
        return self.holder or "—"


async def view_in(conn: Reader | UnitOfWork, settings: Settings, item: Row,
                  number: str | None) -> HandlingView | None:
    """The flow of a registered 办件 (None for other items): stored, else derived — a 办件
    nobody has proposed for waits for 拟办, one with a 批示 waits to be handed on."""
    if item["kind"] != Kind.BAN.value or item["outcome"] != Outcome.REGISTER.value:
        return None
    row = await repo.get(conn, item["id"])
    instructed = row is None and bool(await chat_repo.instructions_of(conn, item["id"]))
    assigned = [] if row is None else await repo.assignments(conn, item["id"])
    return view_of(settings, item["id"], number, row, assigned, instructed=instructed)


def view_of(settings: Settings, item_id: int, number: str | None, row: Row | None,
            assigned: Sequence[Row], *, instructed: bool) -> HandlingView:
    """The view from an item's stored flow (`row`, its active assignments), else derived:
    a 办件 nobody has proposed for waits for 拟办, one with a 批示 waits to be handed on."""
    if row is None:
        step = Step.ASSIGN if instructed else Step.PROPOSE
        return HandlingView(item_id, number, step, registry_name(settings))
    views = [AssignmentView(a["role"], a["unit"], a["due_on"], a["told_at"], a["told_how"])
             for a in assigned]
    return HandlingView(
        item_id, number, row["step"], row["holder"], repo.proposal_of(row),
        row["proposed_by"], row["accepted_by"], views, row["result"], row["done_at"],
        row["reply_owed"], row["reply_number"], bool(row["supervised"]),
    )


async def status(ctx: Context, ref: str) -> HandlingView | None:
    async with ctx.db.reader() as r:
        item = await resolve_ref(r, ctx, ref)
        number = await followups.ban_number(r, item["id"])
        return await view_in(r, ctx.settings, item, number)


# ------------------------------------------------------------------ 拟办
async def propose(
    ctx: Context, *, ref: str, text: str, leader: str | None = None,
    units: Sequence[str] = (), due: date | None = None, actor: str = ACTOR,
) -> HandlingView:
    """拟办: the registry proposes who instructs, which 承办单位 and by when; the item then
    waits for the leader's 批示 (the push shows the proposal and a 同意拟办 button)."""
    body = required_text(text, "拟办意见", field="text", limit=MAX_INSTRUCTION)
    who = _leader_name(ctx.settings, leader)
    named = [u for _, u in rules.roles(list(units))]
    for u in named:
        unit_contact(ctx.settings, u)
    now = ctx.clock()
    today = plan.local_date(ctx.settings, now)
    if due is not None and due < today:
        raise InvalidInputError(f"办理期限 {due.isoformat()} 早于今天", field="due")
    async with ctx.db.unit_of_work() as uow:
        item = await resolve_ref(uow, ctx, ref)
        number = await followups.ban_number(uow, item["id"])
        _handled_item(item, number)
        current = await view_in(uow, ctx.settings, item, number)
        assert current is not None
        if current.step in (Step.HANDLING, Step.DONE):
            raise ConflictError(f"{number} 已{current.step}，不能再拟办")
        chosen = [who] if who else followups.item_leaders(ctx.settings, item)
        holder = "、".join(chosen) or None
        await repo.ensure(uow, item["id"], step=Step.INSTRUCT, holder=holder, at=now)
        await repo.set_proposal(uow, item["id"], repo.Proposal(body, who, tuple(named), due),
                                by=actor, at=now)
        await repo.set_step(uow, item["id"], step=Step.INSTRUCT, holder=holder, at=now)
        await audit.append(uow, at=now, actor=actor, action="item.proposed",
                           subject=f"item:{item['id']}",
                           detail={"text": body, "leader": who, "units": named,
                                   "due": due.isoformat() if due else None})
        await followups.track_item(ctx, uow, item["id"], now)
        for leader_ in ctx.settings.leader:
            if leader_.name in chosen:
                await push.queue_push(ctx.settings, uow, item_id=item["id"],
                                      chat_id=leader_.chat_id, role=push.ROLE_LEADER,
                                      purpose=push.PURPOSE_PROPOSAL, urgent=False, at=now)
        view = await view_in(uow, ctx.settings, item, number)
        await uow.commit()
    assert view is not None
    return view


async def instructed(uow: UnitOfWork, settings: Settings, item: Row, *, leader: str,
                     accepted: bool, at: datetime) -> None:
    """After a 批示 (or 同意拟办) a 办件 waits for the registry to hand it on (inside `uow`)."""
    if item["kind"] != Kind.BAN.value or item["outcome"] != Outcome.REGISTER.value:
        return
    row = await repo.get(uow, item["id"])
    if row is not None and row["step"] in (Step.HANDLING, Step.DONE):
        return  # a later 批示 on an item already handed on changes no step
    holder = registry_name(settings)
    await repo.ensure(uow, item["id"], step=Step.ASSIGN, holder=holder, at=at)
    await repo.set_step(uow, item["id"], step=Step.ASSIGN, holder=holder, at=at)
    if accepted:
        await repo.accept_proposal(uow, item["id"], by=leader, at=at)


async def proposal_of(conn: Reader | UnitOfWork, item_id: int) -> repo.Proposal | None:
    row = await repo.get(conn, item_id)
    return repo.proposal_of(row) if row is not None else None


# ------------------------------------------------------------------ 交办 / 承办
def _assigned_text(
    settings: Settings, item: Row, number: str, role: str, due: date,
    instructions: list[Row], others: list[str],
) -> str:
    """The notice a 承办单位 gets: the item and the 批示 verbatim, as far as chat may show."""
    seen = shown(Facts(item["outcome"], item["secrecy"]), Viewer.STAFF, Policy.of(settings))
    lines = [f"【交办】{item_label(settings, item, number)}",
             f"请贵单位{role}，办理期限 {due.isoformat()}。"]
    if item["sender"]:
        lines.append(f"来文单位：{item['sender']}")
    if others:
        lines.append(f"{'协办' if role == rules.ROLE_LEAD else '主办及其他'}单位："
                     + "、".join(others))
    if seen.quotes:
        lines.extend(f"{x['leader']}批示（{local_time(settings, _at(x['at']))}）：{x['text']}"
                     for x in instructions)
    else:
        lines.append("涉密件：文件和领导批示请到机要室阅办，不在此显示。")
    lines.append(f"办结后请回复：/done {number} 办理结果")
    return "\n".join(lines)


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text)


async def assign(
    ctx: Context, *, ref: str, units: Sequence[str] = (), due: date | None = None,
    supervised: bool | None = None, actor: str = ACTOR,
) -> HandlingView:
    """交办: the registry confirms the 承办单位 (first 主办, others 协办) and the 办理期限;
    each unit's contact is told with the item and the 批示 verbatim (one transaction).
    Without units or due, those of an accepted 拟办 are taken."""
    now = ctx.clock()
    today = plan.local_date(ctx.settings, now)
    async with ctx.db.unit_of_work() as uow:
        item = await resolve_ref(uow, ctx, ref)
        number = await followups.ban_number(uow, item["id"])
        _handled_item(item, number)
        assert number is not None
        current = await view_in(uow, ctx.settings, item, number)
        assert current is not None
        if current.step == Step.DONE:
            raise ConflictError(f"{number} 已办结，不能再交办")
        proposal = current.proposal
        names = list(units) or list(proposal.units if proposal else ())
        day = due or (proposal.due if proposal else None)
        if not names:
            raise InvalidInputError("请用 --to 给出承办单位（第一个为主办）", field="unit")
        if day is None:
            raise InvalidInputError("请用 --due 给出办理期限（YYYY-MM-DD）", field="due")
        if day < today:
            raise InvalidInputError(f"办理期限 {day.isoformat()} 早于今天", field="due")
        pairs = rules.roles(names)
        contacts = [unit_contact(ctx.settings, u) for _, u in pairs]
        instructions = await chat_repo.instructions_of(uow, item["id"])
        await repo.ensure(uow, item["id"], step=Step.HANDLING, holder=pairs[0][1], at=now)
        ids = await repo.replace_assignments(
            uow, item["id"], [repo.Assignment(r, u, day) for r, u in pairs], by=actor, at=now)
        await repo.set_step(uow, item["id"], step=Step.HANDLING, holder=pairs[0][1], at=now)
        if supervised is not None:
            await repo.set_supervised(uow, item["id"], supervised, now)
        for aid, (role, unit), contact in zip(ids, pairs, contacts, strict=True):
            others = [u for _, u in pairs if u != unit]
            text = _assigned_text(ctx.settings, item, number, role, day, instructions, others)
            await _tell(ctx, uow, contact, text=text, item_id=item["id"], number=number,
                        assignment_id=aid, at=now)
            await repo.mark_told(uow, aid, how=contact.how, at=now)
        await audit.append(uow, at=now, actor=actor, action="item.assigned",
                           subject=f"item:{item['id']}",
                           detail={"units": [{"role": r, "unit": u} for r, u in pairs],
                                   "due": day.isoformat()})
        await followups.track_item(ctx, uow, item["id"], now)
        view = await view_in(uow, ctx.settings, item, number)
        await uow.commit()
    assert view is not None
    return view


async def supervise(ctx: Context, *, ref: str, on: bool = True,
                    actor: str = ACTOR) -> HandlingView:
    """督办 on (or off): the item's reminders go to `[deadlines] supervisor` (秘书长) as
    well, from its due day; replanned at once."""
    now = ctx.clock()
    async with ctx.db.unit_of_work() as uow:
        item = await resolve_ref(uow, ctx, ref)
        number = await followups.ban_number(uow, item["id"])
        _handled_item(item, number)
        current = await view_in(uow, ctx.settings, item, number)
        assert current is not None
        if current.step == Step.DONE:
            raise ConflictError(f"{number} 已办结，无需督办")
        await repo.ensure(uow, item["id"], step=current.step, holder=current.holder, at=now)
        await repo.set_supervised(uow, item["id"], on, now)
        await audit.append(uow, at=now, actor=actor, action="item.supervised",
                           subject=f"item:{item['id']}",
                           detail={"on": on, "supervisor": ctx.settings.deadlines.supervisor})
        await followups.track_item(ctx, uow, item["id"], now)
        view = await view_in(uow, ctx.settings, item, number)
        await uow.commit()
    assert view is not None
    return view


async def _tell(ctx: Context, uow: UnitOfWork, contact: Contact, *, text: str, item_id: int,
                number: str, assignment_id: int, at: datetime) -> None:
    """Chat to the unit's section chats, else mail through the smarthost, else the registry
    is asked to tell the unit itself. A mailed notice gets its Message-ID here, kept with
    the assignment: the unit's reply names it and reports 办结 (core.services.reply_mail)."""
    if contact.chats:
        for chat_id in contact.chats:
            for to in addresses_of(ctx.settings, chat_id):
                await outbox.enqueue(uow, channel=outbox.CHAT, event=EVENT_ASSIGNED,
                                     target=to.target, payload=chat_payload(text), at=at,
                                     item_id=item_id)
        return
    if contact.mail:
        body = text.replace(f"/done {number} 办理结果",
                            "办结后请直接回复本邮件，正文开头几行写明办理结果（主题请保留）")
        message_id = _notice_id(ctx.settings, assignment_id)
        await repo.set_notice_id(uow, assignment_id, message_id)
        await outbox.enqueue(uow, channel=outbox.MAIL, event=EVENT_ASSIGNED,
                             target=contact.mail[0],
                             payload={"to": contact.mail[0],
                                      "subject": rules.notice_subject(number),
                                      "body": body, "message_id": message_id},
                             at=at, item_id=item_id)
        return
    await notify_staff(ctx, uow, at=at, item_id=item_id,
                       text=f"{contact.unit} 没有聊天或邮箱联系方式，请另行通知：\n{text}")


def _notice_id(settings: Settings, assignment_id: int) -> str:
    """A Message-ID nobody can guess (a reply naming it is a reply to this notice)."""
    sender = settings.smarthost.from_address or settings.office.addresses[0]
    domain = sender.rpartition("@")[2] or "jiyao.invalid"
    return f"jiyao.assign.{assignment_id}.{secrets.token_hex(8)}@{domain}"


async def reminder_mail(uow: UnitOfWork, settings: Settings, *, target: str, subject: str,
                        text: str) -> dict[str, Any] | None:
    """A 催办 to a 承办单位 that was told by mail goes to it by mail as well (the registry
    still gets it in chat): threaded under the 交办 notice and tagged like it, so a reply
    to the reminder reports 办结 too. None for any other reminder."""
    kind, _, unit = target.partition(":")
    what, _, ident = subject.partition(":")
    if kind != "section" or what != "item" or not ident.isdecimal():
        return None
    told = [a for a in await repo.assignments(uow, int(ident))
            if a["unit"] == unit and a["notice_id"]]
    number = await followups.ban_number(uow, int(ident))
    if not told or number is None:
        return None
    try:
        mail = unit_contact(settings, unit).mail
    except InvalidInputError:  # the unit left the directory since
        return None
    if not mail:
        return None
    return {"to": mail[0], "subject": "催办：" + rules.notice_subject(number),
            "body": f"{text}\n\n办结后请直接回复本邮件，正文开头几行写明办理结果（主题请保留）。",
            "in_reply_to": told[0]["notice_id"]}


# ------------------------------------------------------------------ 答复
async def link_reply(uow: UnitOfWork, ctx: Context, *, ref: str, number: str,
                     actor: str, at: datetime) -> int:
    """Link the outgoing 批复/复函 number to the item it answers (inside `uow`)."""
    item = await resolve_ref(uow, ctx, ref)
    row = await repo.get(uow, item["id"])
    if row is None or row["step"] != Step.DONE or row["reply_owed"] is None:
        raise ConflictError(f"收件 {item['id']} 未办结或无需答复，不能关联答复文号")
    if row["reply_number"]:
        raise ConflictError(f"收件 {item['id']} 已关联答复文号 {row['reply_number']}")
    await repo.link_reply(uow, item["id"], number, at)
    await audit.append(uow, at=at, actor=actor, action="item.reply_linked",
                       subject=f"item:{item['id']}", detail={"number": number})
    return int(item["id"])


async def replies_owed(ctx: Context) -> list[dict[str, Any]]:
    async with ctx.db.reader() as r:
        return [dict(x) for x in await repo.replies_owed(r)]


# ------------------------------------------------------------------ 传阅
async def remind_held_copies(ctx: Context, now: datetime) -> int:
    """A 内刊 copy one leader has held longer than `deadlines.circulation_hold_hours` is
    reminded to that leader, and the registry told who has it since when — once per turn,
    in working hours. Returns how many were reminded."""
    hold = timedelta(hours=ctx.settings.deadlines.circulation_hold_hours)
    cal = plan.work_calendar(ctx.settings)
    at = plan.next_working_time(ctx.settings, cal, now)
    added = 0
    async with ctx.db.unit_of_work() as uow:
        for row in await repo.held_copies(uow, now - hold):
            since = _at(row["sent_at"])
            seen = shown(Facts(row["outcome"], row["secrecy"]), Viewer.LEADER,
                         Policy.of(ctx.settings))
            name = label(f"内刊{row['issue_no'] or ''}", row["title"], seen)
            text = (f"【传阅催还】{name}自 {local_time(ctx.settings, since)} 起在"
                    f"{row['leader']}处传阅，已超过 {hold.total_seconds() / 3600:.0f} 小时，"
                    "请阅后点“已阅，传下一位”。")
            key = f"circulation:{row['item_id']}:{row['position']}"
            for target in (f"chat:{row['chat_id']}", "registry"):
                added += await reminders_repo.add_notice(
                    uow, dedup=f"{key}:{target}", due_at=at, target=target,
                    subject=f"item:{row['item_id']}", kind="circulation", text=text, now=now)
        await uow.commit()
    return added


# ------------------------------------------------------------------ 公文处理单
def _full_time(settings: Settings, at: datetime) -> str:
    """2026年3月2日 17:05 (the slip is filed for years: it carries the year)."""
    return localtime.full_zh(at, settings.tz)


async def slip(ctx: Context, ref: str, *, viewer: Viewer = Viewer.DESK) -> Slip:
    """The 公文处理单 of a 办件 as the registry's desk may print it (core.visibility: the
    desk sees all but a sealed item's title); for a chat `viewer` only when chat may carry
    it (never a classified item's: its envelope is all chat shows)."""
    async with ctx.db.reader() as r:
        item = await resolve_ref(r, ctx, ref)
        number = await followups.ban_number(r, item["id"])
        _handled_item(item, number)
        facts = Facts(item["outcome"], item["secrecy"])
        if viewer is not Viewer.DESK and not shown(facts, viewer,
                                                   Policy.of(ctx.settings)).slip:
            raise PermissionDeniedError(
                f"{number} 是涉密件，公文处理单不在聊天中发送，请在机要室用 jiyao slip 打印",
                actor=viewer.value)
        return await slip_of(r, ctx, item, number, Viewer.DESK)


async def slip_sent(ctx: Context, number: str, *, actor: str, to: str) -> None:
    """A 公文处理单 left the registry as a file in chat: who asked, and where it went, are
    recorded (a printed slip stays in the office; a sent one may be forwarded)."""
    async with ctx.db.unit_of_work() as uow:
        item = await resolve_ref(uow, ctx, number)
        await audit.append(uow, at=ctx.clock(), actor=actor, action="slip.sent",
                           subject=f"item:{item['id']}", detail={"number": number, "to": to})
        await uow.commit()


async def slip_of(conn: Reader | UnitOfWork, ctx: Context, item: Row, number: str | None,
                  viewer: Viewer) -> Slip:
    """The 公文处理单 of any registered item as `viewer` may see it: a 办件's flow fills it,
    another item's handling rows stay blank."""
    view = await view_in(conn, ctx.settings, item, number)
    instructions = await chat_repo.instructions_of(conn, item["id"])
    seen = shown(Facts(item["outcome"], item["secrecy"]), viewer, Policy.of(ctx.settings))
    p = view.proposal if view else None
    proposal = ""
    if view is not None and p is not None:
        extra = [f"呈{p.leader}" if p.leader else "",
                 "承办：" + "、".join(p.units) if p.units else "",
                 f"期限：{p.due.isoformat()}" if p.due else ""]
        proposal = p.text + "".join(f"\n{x}" for x in extra if x)
        if view.accepted_by:
            proposal += f"\n（{view.accepted_by}已同意）"
    reply = ""
    if view is not None and view.reply_owed:
        reply = f"应{view.reply_owed}：" + (view.reply_number or "尚未取号")
    assignments = view.assignments if view else []
    return Slip(
        office=ctx.settings.office.name, number=number or "",
        received=_full_time(ctx.settings, _at(item["received_at"])),
        sender=item["sender"] or "", doc_number=item["doc_number"] or "",
        secrecy=item["secrecy"] or "无", urgency=item["urgency"] or "平件",
        title=(item["title"] or "") if seen.title else "（封存件，标题不显示）",
        proposal=proposal,
        instructions="\n".join(
            f"{x['leader']}（{_full_time(ctx.settings, _at(x['at']))}）：{x['text']}"
            for x in instructions),
        units="、".join(f"{a.unit}（{a.role}）" for a in assignments),
        due=assignments[0].due if assignments else "",
        result="" if view is None else (view.result or "") + (
            f"\n（办结于 {_full_time(ctx.settings, _at(view.done_at))}）" if view.done_at else ""),
        reply=reply,
    )
