"""The handling flow after 签收: 拟办 → 批示/同意拟办 → 交办 → 催办 → 办结 → 答复."""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime
from pathlib import Path

import aiosqlite
import pytest
from pypdf import PdfReader

from core import slip
from core.errors import ConflictError, InvalidInputError
from core.handling import proposal_summary, reply_owed, roles
from core.model import Kind, Outcome
from core.services import dispatch, followups, handling, instructions, push, registry, reminders
from core.services.context import Context
from core.storage import items as items_repo
from core.storage import migrate, outbox
from tests.conftest import FrozenClock

REGISTRARS = {"200001", "200002"}


async def add_item(ctx: Context, *, title: str, doc_type: str | None, sender: str,
                   secrecy: str | None = None) -> int:
    """A registered 办件 routed to its leaders, as intake leaves it."""
    now = ctx.clock()
    async with ctx.db.unit_of_work() as uow:
        item_id = await items_repo.insert_item(uow, items_repo.NewItem(
            received_at=now, year=2026, month=now.month, channel="email",
            outcome=Outcome.REGISTER.value, kind=Kind.BAN.value, sender=sender, title=title,
            doc_type=doc_type, secrecy=secrecy, created_by="intake",
        ))
        await registry.number_item(ctx, uow, item_id=item_id, kind=Kind.BAN, year=2026, at=now,
                                   by="staff")
        await push.route_item(ctx, uow, item_id=item_id, at=now)
        await uow.commit()
    return item_id


async def events(ctx: Context, channel: str, event: str | None = None) -> list[dict[str, object]]:
    async with ctx.db.reader() as r:
        rows = await r.fetchall("SELECT * FROM outbox WHERE channel = ? ORDER BY id", (channel,))
    return [{"event": x["event"], "target": x["target"], **json.loads(x["payload"])}
            for x in rows if event is None or x["event"] == event]


async def leader_chat(ctx: Context, item_id: int) -> int:
    async with ctx.db.reader() as r:
        targets = await outbox.push_targets(r, item_id, push.ROLE_LEADER)
    assert targets
    return targets[0]


def test_rules() -> None:
    assert reply_owed("请示", "关于修缮康定城区防洪堤的请示") == "批复"
    assert reply_owed("函", "关于商请支持防汛物资的函") == "复函"
    assert reply_owed("函", "关于召开会议的函") is None  # telling, not asking
    assert reply_owed("通知", "关于做好防汛工作的通知") is None
    assert reply_owed("函", "关于有关事项的函", rule="letter_request") == "复函"  # read in text
    assert roles(["综合科", "甘孜军分区", "综合科"]) == [("主办", "综合科"),
                                                      ("协办", "甘孜军分区")]
    assert proposal_summary("拟请综合科办理", ["综合科", "甘孜军分区"], date(2026, 3, 13)) == (
        "拟请综合科办理（承办：综合科（主办）、甘孜军分区（协办）；期限：2026-03-13）")
    assert proposal_summary("拟请州长阅示", [], None) == "拟请州长阅示"


async def test_end_to_end(ctx: Context, clock: FrozenClock) -> None:
    """A county 请示: 拟办 → 同意拟办 → 交办 → 催办 at the due day's morning → 办结 →
    批复 owed and linked to a taken 甘府函 number."""
    item_id = await add_item(ctx, title="关于修缮康定城区防洪堤的请示", doc_type="请示",
                             sender="康定市人民政府")
    number = "办2026-0001"
    start = await handling.status(ctx, number)
    assert start is not None
    assert (start.step, start.holder) == ("待拟办", "文书处理室")

    chat = await leader_chat(ctx, item_id)
    leader = next(x.name for x in ctx.settings.leader if x.chat_id == chat)
    view = await handling.propose(
        ctx, ref=number, text="拟请综合科会同甘孜军分区研究办理", leader=leader,
        units=["综合科", "甘孜军分区"], due=date(2026, 3, 13))
    assert (view.step, view.holder) == ("待批示", leader)

    done = await instructions.accept_proposal(ctx, item_id=item_id, chat_id=chat)
    assert done.leader == leader
    view = await handling.status(ctx, number)
    assert view is not None
    assert (view.step, view.holder, view.accepted_by) == ("待交办", "文书处理室", leader)

    view = await handling.assign(ctx, ref=number)  # the accepted 拟办's units and due
    assert (view.step, view.holder) == ("承办中", "综合科")
    assert [(a.role, a.unit, a.due, a.told_how) for a in view.assignments] == [
        ("主办", "综合科", "2026-03-13", "chat"), ("协办", "甘孜军分区", "2026-03-13", "mail")]
    told = await events(ctx, "chat", handling.EVENT_ASSIGNED)
    assert [e["target"] for e in told] == ["200003"]
    text = str(told[0]["text"])
    assert "关于修缮康定城区防洪堤的请示" in text
    assert "主办" in text
    assert f"{leader}批示" in text
    assert "同意拟办意见：拟请综合科会同甘孜军分区研究办理" in text
    mail = await events(ctx, "mail", handling.EVENT_ASSIGNED)
    assert [m["to"] for m in mail] == ["jfq@gzz.gov.cn"]
    assert "协办" in str(mail[0]["body"])
    assert "/done" not in str(mail[0]["body"])

    # the due day (Fri 13 March) at the digest time, 09:00 local = 01:00 UTC
    async def due_day() -> list[dict[str, object]]:
        return [e for e in await events(ctx, "chat")
                if "今天（2026-03-13）是最后期限" in str(e.get("text"))]

    await reminders.sweep(ctx, datetime(2026, 3, 13, 0, 59, tzinfo=UTC))
    assert await due_day() == []
    await reminders.sweep(ctx, datetime(2026, 3, 13, 1, 0, 30, tzinfo=UTC))
    sent = await due_day()
    # 综合科 in its chat; the 协办 organ has no chat, so the registry is reminded for it
    assert {e["target"] for e in sent} == {"200003", *REGISTRARS}
    assert "承办单位 综合科（主办）、甘孜军分区（协办）" in str(sent[0]["text"])

    clock.now = datetime(2026, 3, 12, 8, 0, tzinfo=UTC)  # 办结 before the overdue day
    closed = await followups.close_item(ctx, ref=number, result="已拨付修缮资金，防洪堤已修复")
    assert closed["reply_owed"] == "批复"
    view = await handling.status(ctx, number)
    assert view is not None
    assert (view.step, view.result, view.reply_owed) == ("已办结", "已拨付修缮资金，防洪堤已修复",
                                                         "批复")
    assert view.holder_text() == "文书处理室（待批复）"
    owed = await handling.replies_owed(ctx)
    assert [x["item_id"] for x in owed] == [item_id]
    notice = [e for e in await events(ctx, "chat") if str(e.get("text")).startswith("【办结】")]
    assert {e["target"] for e in notice} == REGISTRARS
    assert "--reply-to" in str(notice[0]["text"])

    taken = await dispatch.take(ctx, code="甘府函", title="关于修缮康定城区防洪堤的批复",
                                section="机要室", reply_to=number)
    view = await handling.status(ctx, number)
    assert view is not None
    assert view.reply_number == taken.number
    assert view.holder_text() == "—"
    assert await handling.replies_owed(ctx) == []
    async with ctx.db.reader() as r:
        actions = [x["action"] for x in await r.fetchall(
            "SELECT action FROM audit WHERE subject = ?", (f"item:{item_id}",))]
    for action in ("item.proposed", "instruct", "item.assigned", "item.done",
                   "item.reply_linked"):
        assert action in actions
    # the 公文处理单 carries every field, the 批示 verbatim with its leader and time
    data = await handling.slip(ctx, number)
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(slip.render(data))).pages)
    text = text.replace("\n", "")
    for want in (number, "康定市人民政府", "关于修缮康定城区防洪堤的请示", "平件", "无",
                 "2026年3月2日 17:00",
                 f"{leader}（2026年3月2日 17:00）：同意拟办意见：拟请综合科会同",
                 "综合科（主办）、甘孜军分区（协办）", "2026-03-13", "已拨付修缮资金",
                 f"应批复：{taken.number}", f"{leader}已同意"):
        assert want in text, want
    # no later reminder: 办结 cancelled them
    late = await reminders.sweep(ctx, datetime(2026, 3, 30, 2, 0, tzinfo=UTC))
    assert late.sent == 0


async def test_refusals(ctx: Context) -> None:
    item_id = await add_item(ctx, title="关于商请支持防汛物资的函", doc_type="函",
                             sender="康定市人民政府")
    with pytest.raises(InvalidInputError, match="既不是本机关的科室"):
        await handling.assign(ctx, ref=str(item_id), units=["不存在局"], due=date(2026, 3, 20))
    with pytest.raises(InvalidInputError, match="早于今天"):
        await handling.assign(ctx, ref=str(item_id), units=["综合科"], due=date(2026, 3, 1))
    with pytest.raises(InvalidInputError, match="--due"):
        await handling.assign(ctx, ref=str(item_id), units=["综合科"])
    with pytest.raises(InvalidInputError, match="没有名为"):
        await handling.propose(ctx, ref=str(item_id), text="拟办", leader="无此人")
    with pytest.raises(ConflictError, match="不能关联"):
        await dispatch.take(ctx, code="甘府函", title="复函", section="机要室",
                            reply_to=str(item_id))
    await handling.assign(ctx, ref=str(item_id), units=["综合科"], due=date(2026, 3, 20))
    await followups.close_item(ctx, ref=str(item_id), result="已复函")
    with pytest.raises(ConflictError, match="已办结"):
        await handling.assign(ctx, ref=str(item_id), units=["综合科"], due=date(2026, 3, 20))


async def test_classified_notice_has_no_title_or_instruction(ctx: Context) -> None:
    """A 秘密 item: the unit is told to come to the 机要室; neither title nor 批示 in chat."""
    item_id = await add_item(ctx, title="关于边境防务部署的请示", doc_type="请示",
                             sender="康定市人民政府", secrecy="秘密")
    chat = await leader_chat(ctx, item_id)
    await instructions.instruct(ctx, item_id=item_id, chat_id=chat, text="同意，请综合科办理部署")
    await handling.assign(ctx, ref=str(item_id), units=["综合科"], due=date(2026, 3, 20))
    told = await events(ctx, "chat", handling.EVENT_ASSIGNED)
    text = str(told[0]["text"])
    assert "边境防务" not in text
    assert "部署" not in text
    assert "涉密件" in text


async def test_escalation_and_supervision(ctx: Context) -> None:
    """Overdue 承办: the unit, then the registry after 2 working days, the leader after 5;
    a 督办 item's reminders go to the 秘书长 as well."""
    item_id = await add_item(ctx, title="关于修缮道路的请示", doc_type="请示",
                             sender="康定市人民政府")
    await handling.assign(ctx, ref=str(item_id), units=["综合科"], due=date(2026, 3, 13),
                          supervised=True)
    async with ctx.db.reader() as r:
        rows = await r.fetchall(
            "SELECT kind, due_at, target FROM reminders WHERE subject = ?"
            " AND cancelled_at IS NULL", (f"item:{item_id}",))
    by_kind: dict[str, set[str]] = {}
    for x in rows:
        by_kind.setdefault(f"{x['kind']}@{x['due_at'][:10]}", set()).add(x["target"])
    secretary = f"leader:{ctx.settings.deadlines.supervisor}"
    assert by_kind["due@2026-03-13"] == {"section:综合科", secretary}
    assert by_kind["overdue@2026-03-16"] == {"section:综合科", secretary}
    assert by_kind["escalate@2026-03-17"] == {"section:综合科", "registry", secretary}
    leaders = {f"leader:{n}" for n in followups.item_leaders(
        ctx.settings, {"sender": "康定市人民政府", "title": "关于修缮道路的请示"})}  # type: ignore[arg-type]
    assert by_kind["escalate@2026-03-20"] == {"section:综合科", "registry", secretary, *leaders}


async def test_held_copy_is_reminded_once_in_working_hours(ctx: Context,
                                                          clock: FrozenClock) -> None:
    """A 内刊 held by its first reader past `circulation_hold_hours` (48): that leader and
    the registry are reminded once, at the next working morning when it falls at night."""
    now = ctx.clock()  # Mon 2 March 17:00 local
    async with ctx.db.unit_of_work() as uow:
        item_id = await items_repo.insert_item(uow, items_repo.NewItem(
            received_at=now, year=2026, month=3, channel="email",
            outcome=Outcome.REGISTER.value, kind=Kind.NEIKAN.value, sender="四川省人民政府办公厅",
            title="政务信息（第12期）", issue_no="第12期", created_by="intake"))
        await registry.number_item(ctx, uow, item_id=item_id, kind=Kind.NEIKAN, year=2026,
                                   at=now, by="staff")
        await push.route_item(ctx, uow, item_id=item_id, at=now)
        await uow.commit()
    first = await leader_chat(ctx, item_id)

    def held(rows: list[dict[str, object]]) -> list[dict[str, object]]:
        return [e for e in rows if str(e.get("text")).startswith("【传阅催还】")]

    await reminders.sweep(ctx, datetime(2026, 3, 4, 8, 0, tzinfo=UTC))  # 47 hours: not yet
    assert held(await events(ctx, "chat")) == []
    # Wed 4 March 18:00 local (49 hours): evening, so it waits for Thu 08:30 (working hours)
    await reminders.sweep(ctx, datetime(2026, 3, 4, 10, 0, tzinfo=UTC))
    await reminders.sweep(ctx, datetime(2026, 3, 5, 0, 29, tzinfo=UTC))
    assert held(await events(ctx, "chat")) == []
    await reminders.sweep(ctx, datetime(2026, 3, 5, 0, 30, 30, tzinfo=UTC))
    await reminders.sweep(ctx, datetime(2026, 3, 5, 0, 35, tzinfo=UTC))
    sent = held(await events(ctx, "chat"))
    assert sorted(str(e["target"]) for e in sent) == sorted({str(first), *REGISTRARS})
    assert "政务信息（第12期）" in str(sent[0]["text"])
    assert "3月2日 17:00" in str(sent[0]["text"])


async def test_migration_keeps_followups(tmp_path: Path) -> None:
    """008 rebuilds item_followups (source 'assigned' allowed) keeping every row."""
    async with aiosqlite.connect(tmp_path / "old.db") as conn:
        for number, _, sql in migrate.available():
            if number >= 8:
                break
            for statement in migrate._statements(sql):
                await conn.execute(statement)
            await conn.execute(f"PRAGMA user_version={number}")
        await conn.execute(
            "INSERT INTO items (id, received_at, year, month, channel, outcome, created_by)"
            " VALUES (1, '2026-03-02T01:00:00+00:00', 2026, 3, 'email', 'register', 'intake')")
        await conn.execute(
            "INSERT INTO item_followups (item_id, registered_on, due_on, source, created_at,"
            " updated_at) VALUES (1, '2026-03-02', '2026-03-20', 'default', 'x', 'x')")
        await conn.commit()
        assert await migrate.migrate(conn) >= 8
        async with conn.execute("SELECT item_id, due_on, source FROM item_followups") as cur:
            assert list(await cur.fetchall()) == [(1, "2026-03-20", "default")]
        await conn.execute("UPDATE item_followups SET source = 'assigned'")


async def test_escalation_and_supervision_are_sent(ctx: Context) -> None:
    """The reminders as chat gets them: on the due day (Fri 13 March) the 承办单位; from 2
    working days overdue (Tue 17) the registrars too; from 5 (Fri 20) the item's leaders
    too; `supervise` (jiyao supervise) adds the 秘书长 from the due day, and off again
    takes him out of what is left."""
    item_id = await add_item(ctx, title="关于防汛应急物资的请示", doc_type="请示",
                             sender="康定市人民政府")
    await handling.assign(ctx, ref=str(item_id), units=["综合科"], due=date(2026, 3, 13))
    view = await handling.supervise(ctx, ref="办2026-0001")
    assert view.supervised
    settings = ctx.settings
    chat_of = {x.name: x.chat_id for x in settings.leader}
    secretary = str(chat_of[settings.deadlines.supervisor])
    routed = {str(chat_of[n]) for n in followups.item_leaders(
        settings, {"sender": "康定市人民政府", "title": "关于防汛应急物资的请示"})}  # type: ignore[arg-type]
    assert secretary not in routed

    async def sent_on(day: int) -> set[str]:
        before = len(await events(ctx, "chat"))
        await reminders.sweep(ctx, datetime(2026, 3, day, 1, 0, 30, tzinfo=UTC))
        new = (await events(ctx, "chat"))[before:]
        assert all("关于防汛应急物资的请示" in str(e["text"]) for e in new)
        return {str(e["target"]) for e in new}

    assert await sent_on(13) == {"200003", secretary}
    assert await sent_on(16) == {"200003", secretary}
    assert await sent_on(17) == {"200003", secretary, *REGISTRARS}
    off = await handling.supervise(ctx, ref="办2026-0001", on=False)
    assert not off.supervised
    assert await sent_on(20) == {"200003", *REGISTRARS, *routed}
    async with ctx.db.reader() as r:
        audited = await r.fetchall("SELECT detail FROM audit WHERE action = 'item.supervised'")
    assert [json.loads(x["detail"])["on"] for x in audited] == [True, False]
    await followups.close_item(ctx, ref="办2026-0001", result="已修缮")
    with pytest.raises(ConflictError, match="已办结，无需督办"):
        await handling.supervise(ctx, ref="办2026-0001")
