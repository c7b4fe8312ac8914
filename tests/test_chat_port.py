"""The chat port in core: text addresses and refs, channels per person, one neutral push."""

from __future__ import annotations

import dataclasses
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import aiosqlite
import pytest

from core.chat import address
from core.chat import push as chat_push
from core.chat.message import INSTRUCT, READ, Action, callback
from core.config import Settings, load_settings
from core.services import push
from core.services.context import open_context
from core.services.push import ROLE_LEADER, ROLE_STAFF, PushView
from core.storage import migrate, outbox
from tests.conftest import EXAMPLE, FrozenClock
from tests.wecom_helpers import with_wecom


def _view(**kw: object) -> PushView:
    base = PushView(
        item_id=7, kind="办件", outcome="register", number="办2026-0007", sender="甘孜州财政局",
        doc_number="甘财〔2024〕57号", title="关于预备费资金的请示", secrecy=None, urgency=None,
        channel="email", received_at=datetime(2026, 3, 2, 1, 30, tzinfo=UTC),
        deadline="2026-03-20", blob="ab" * 32, filename="请示.docx", blob_size=1000,
    )
    return dataclasses.replace(base, **kw)  # type: ignore[arg-type]


async def test_migration_keeps_old_deliveries_as_telegram(tmp_path: Path) -> None:
    """Rows written with integer chat and message ids stay, as channel 'telegram' with text
    address and ref; a WeCom row for the same item and purpose then fits beside them."""
    async with aiosqlite.connect(tmp_path / "old.db") as conn:
        port = next(n for n, name, _ in migrate.available() if name.endswith("_chat_port.sql"))
        for number, _, sql in migrate.available():
            if number >= port:
                break
            for statement in migrate._statements(sql):
                await conn.execute(statement)
            await conn.execute(f"PRAGMA user_version={number}")
        await conn.execute(
            "INSERT INTO items (id, received_at, year, month, channel, outcome, created_by)"
            " VALUES (1, '2026-03-02T01:00:00+00:00', 2026, 3, 'email', 'register', 'intake')")
        await conn.execute(
            "INSERT INTO deliveries (item_id, chat_id, purpose, outbox_id, message_id, sent_at,"
            " resend) VALUES (1, -100200, 'push', NULL, 4711, 'x', 1),"
            " (1, 100002, 'prompt:12', NULL, 12, 'y', 0)")
        await conn.commit()
        assert await migrate.migrate(conn) >= port
        async with conn.execute(
            "SELECT item_id, channel, address, purpose, message_ref, sent_at, resend"
            " FROM deliveries ORDER BY id") as cur:
            rows = list(await cur.fetchall())
        assert rows == [(1, "telegram", "-100200", "push", "4711", "x", 1),
                        (1, "telegram", "100002", "prompt:12", "12", "y", 0)]
        await conn.execute(
            "INSERT INTO deliveries (item_id, channel, address, purpose, message_ref, sent_at)"
            " VALUES (1, 'wecom', 'ChangWu', 'push', 'msgid-abc', 'z')")
        with pytest.raises(sqlite3.IntegrityError):
            await conn.execute(
                "INSERT INTO deliveries (item_id, channel, address, purpose, message_ref,"
                " sent_at) VALUES (1, 'wecom', 'ChangWu', 'push', 'again', 'z')")


def test_each_person_is_reached_on_their_channels() -> None:
    plain = load_settings(EXAMPLE)
    both = with_wecom(plain, {100002: "ChangWu"})
    assert address.addresses_of(plain, 100002) == (address.telegram(100002),)
    assert address.addresses_of(both, 100002) == (address.telegram(100002),
                                                  address.wecom("ChangWu"))
    assert address.addresses_of(both, 100001) == (address.telegram(100001),)
    # userids compare as WeCom compares them; strangers are nobody
    assert address.person_of(both, address.wecom("changwu")) == 100002
    assert address.person_of(both, address.wecom("lisi")) is None
    off = both.model_copy(update={"wecom": both.wecom.model_copy(update={"enabled": False})})
    assert address.addresses_of(off, 100002) == (address.telegram(100002),)


@pytest.mark.parametrize("target", ["100002", "-100200", "wecom:ChangWu"])
def test_outbox_targets_round_trip(target: str) -> None:
    found = address.of_target(target)
    assert found is not None
    assert found.target == target
    assert address.of_target("wecom:") is None
    assert address.of_target("somebody") is None


def test_the_push_is_rendered_once_with_its_actions_and_file() -> None:
    s = load_settings(EXAMPLE)
    msg = chat_push.push_message(_view(), s, chat_id=100002, role=ROLE_LEADER, purpose="push",
                                 leader=True, instruct_hint=chat_push.INSTRUCT_BY_BUTTON)
    text = msg.text()
    assert "标题：关于预备费资金的请示" in text
    assert "文号：甘财〔2024〕57号" in text
    assert chat_push.INSTRUCT_BY_BUTTON in text
    assert msg.rich
    assert msg.lines[msg.head or 0][0].text == "办件"
    assert msg.all_actions() == (Action("已阅", callback(READ, 7)),
                                 Action("批示", callback(INSTRUCT, 7)))
    assert msg.file is not None
    assert msg.file.filename == "请示.docx"
    # a file too large for the platform stays behind
    small = chat_push.push_message(_view(), s, chat_id=100002, role=ROLE_LEADER,
                                   purpose="push", leader=True, upload_limit=999)
    assert small.file is None
    assert "原件请在收文系统中查看。" in small.text()


def test_a_classified_push_is_envelope_only_in_the_neutral_message() -> None:
    s = load_settings(EXAMPLE)
    msg = chat_push.push_message(_view(secrecy="机密"), s, chat_id=100002, role=ROLE_LEADER,
                                 purpose="push", leader=True)
    text = msg.text()
    assert "【涉密件·机密】" in text
    assert "预备费" not in text
    assert "甘财" not in text
    assert msg.file is None
    staff = chat_push.push_message(_view(), s, chat_id=200001, role=ROLE_STAFF,
                                   purpose="push", leader=False)
    assert staff.actions == ()


async def test_a_push_is_queued_for_every_channel_of_the_person(
    settings: Settings, clock: FrozenClock,
) -> None:
    s = with_wecom(settings, {100002: "ChangWu"})
    ctx = await open_context(s, clock=clock)
    try:
        at = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
        async with ctx.db.unit_of_work() as uow:
            await uow.execute(
                "INSERT INTO items (id, received_at, year, month, channel, outcome, created_by)"
                " VALUES (1, '2026-03-02T01:00:00+00:00', 2026, 3, 'email', 'register', 'x')")
            for _ in range(2):  # queued once per address, however often it is asked
                for chat_id in (100002, 100001):
                    await push.queue_push(s, uow, item_id=1, chat_id=chat_id, role=ROLE_LEADER,
                                          purpose="push", urgent=False, at=at)
            await uow.commit()
        async with ctx.db.reader() as r:
            events = await outbox.sendable_events(r, at, 10, 10)
            wecom = await outbox.sendable_events(r, at, 10, 10, wecom=True)
        assert sorted(e.target for e in events) == ["100001", "100002"]
        assert [e.target for e in wecom] == ["wecom:ChangWu"]
    finally:
        await ctx.db.close()


def test_both_adapters_implement_the_port() -> None:
    from bot.telegram.port import TelegramPort
    from bot.wecom.client import WeComClient
    from bot.wecom.port import WeComPort
    from core.chat.port import ChatPort

    async def load(_sha: str) -> bytes:
        return b""

    client = WeComClient(corp_id="ww1", agent_id=1, secret="s")
    ports = [TelegramPort(None, load), WeComPort(client, load)]  # type: ignore[arg-type]
    assert all(isinstance(p, ChatPort) for p in ports)
    assert [p.channel for p in ports] == [address.TELEGRAM, address.WECOM]


@pytest.mark.parametrize(("text", "ref", "body"), [
    ("收件序号 12 同意", "12", "同意"),
    ("收件序号12：请财政局研办", "12", "请财政局研办"),
    ("办2026-0001：请抓紧办理。", "办2026-0001", "请抓紧办理。"),
    ("批示 收件序号 5，同意", "5", "同意"),
])
def test_a_text_naming_its_item(text: str, ref: str, body: str) -> None:
    from core.chat.refs import Named, named_item

    assert named_item(text) == Named(ref, body)


@pytest.mark.parametrize("text", ["好的 谢谢", "同意", "收件序号 12", ""])
def test_a_text_naming_no_item(text: str) -> None:
    from core.chat.refs import named_item

    assert named_item(text) is None


def test_batches_keep_each_items_buttons_within_a_card() -> None:
    from core.chat.batch import batch_message, batches

    s = load_settings(EXAMPLE)
    pushes = [chat_push.push_message(_view(item_id=i), s, chat_id=100002, role=ROLE_LEADER,
                                     purpose="push", leader=True) for i in range(1, 8)]
    groups = batches(pushes, max_actions=6)
    assert [len(g) for g in groups] == [3, 3, 1]
    listing = batch_message(groups[0])
    assert listing.file is None
    assert [a.key for a in listing.all_actions()] == ["r:1", "i:1", "r:2", "i:2", "r:3", "i:3"]
    assert [a.label for a in listing.actions[1]] == ["已阅 #2", "批示 #2"]
    assert listing.text().count("收件序号") == 3
    assert "原件未随批量推送发送" in listing.text()
    assert [len(g) for g in batches(pushes, max_items=5)] == [5, 2]
