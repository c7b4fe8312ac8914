"""The WeCom callback server, driven by the fake WeCom server's encrypted callbacks."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import pytest

from bot.wecom.callback import (
    ButtonPressed,
    CallbackServer,
    OtherReceived,
    Received,
    Refusal,
    TextReceived,
)
from tests.fake_wecom import FakeWeCom

LEADER = "zhangsan"


class Recorder:
    """The handler: records what arrived; `delay` makes it slow."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.events: list[Received] = []
        self.refusals: list[Refusal] = []
        self.arrived = asyncio.Event()

    async def on_event(self, event: Received) -> None:
        await asyncio.sleep(self.delay)
        self.events.append(event)
        self.arrived.set()

    async def on_refused(self, refusal: Refusal) -> None:
        self.refusals.append(refusal)
        self.arrived.set()


@asynccontextmanager
async def running(handler: Recorder, *, clock: Callable[[], float] = time.time,
                  callback_timeout: float = 5.0,
                  ) -> AsyncIterator[tuple[FakeWeCom, CallbackServer]]:
    async with FakeWeCom(users={LEADER}, callback_timeout=callback_timeout) as fake:
        server = CallbackServer(fake.crypt, handler, port=0, agent_id=fake.agent_id,
                                clock=clock)
        async with server:
            yield fake, server


async def settled(handler: Recorder) -> None:
    await asyncio.wait_for(handler.arrived.wait(), 5)
    await asyncio.sleep(0.05)


async def test_url_verification_answers_the_echostr() -> None:
    handler = Recorder()
    async with running(handler) as (fake, server):
        status, answer, plain = await fake.verify(server.url)
        assert (status, answer) == (200, plain)
        status, answer, plain = await fake.verify(server.url, forge=True)
        assert status == 403
        assert answer != plain
        await settled(handler)
    assert [r.reason for r in handler.refusals] == ["signature"]


async def test_text_and_button_press_become_typed_events() -> None:
    handler = Recorder()
    async with running(handler) as (fake, server):
        sent = await fake.deliver(server.url, fake.text_xml(LEADER, "同意，请办公室落实。", "9001"))
        assert sent.accepted
        assert len(sent.attempts) == 1
        pressed = fake.card_event_xml(LEADER, "r:17", "item-17-d3", "rc42")
        assert (await fake.deliver(server.url, pressed)).accepted
        await settled(handler)
    text, button = handler.events
    assert isinstance(text, TextReceived)
    assert (text.user, text.text, text.msg_id) == (LEADER, "同意，请办公室落实。", "9001")
    assert isinstance(button, ButtonPressed)
    assert (button.user, button.key, button.task_id, button.response_code) == (
        LEADER, "r:17", "item-17-d3", "rc42")


async def test_other_messages_are_passed_on_as_such() -> None:
    handler = Recorder()
    async with running(handler) as (fake, server):
        xml = fake._xml(LEADER, None, MsgType="event", Event="enter_agent", EventKey="")
        assert (await fake.deliver(server.url, xml)).accepted
        await settled(handler)
    (event,) = handler.events
    assert isinstance(event, OtherReceived)
    assert event.event == "enter_agent"


async def test_forged_callback_is_refused_and_audited() -> None:
    handler = Recorder()
    async with running(handler) as (fake, server):
        sent = await fake.deliver(server.url, fake.text_xml(LEADER, "伪造的批示", "666"),
                                  forge=True)
        await settled(handler)
    assert [a.status for a in sent.attempts] == [403]
    assert handler.events == []
    (refusal,) = handler.refusals
    assert refusal.reason == "signature"
    assert refusal.remote == "127.0.0.1"
    assert server.refused == 1


async def test_retried_callback_is_handled_once() -> None:
    handler = Recorder()
    async with running(handler) as (fake, server):
        xml = fake.card_event_xml(LEADER, "i:17", "item-17-d3", "rc43")
        sent = await fake.deliver(server.url, xml, lose_answers=2)
        text = await fake.deliver(server.url, fake.text_xml(LEADER, "阅", "77"),
                                  lose_answers=3)
        await settled(handler)
    assert [a.status for a in sent.attempts] == [None, None, 200]
    assert len(text.attempts) == 4
    assert [type(e) for e in handler.events] == [ButtonPressed, TextReceived]
    assert server.duplicates == 2 + 3


async def test_events_without_msgid_are_told_apart_by_sender_time_key_task_and_choice() -> None:
    """Card events carry no MsgId: a retry is known by (FromUserName, CreateTime, EventKey,
    TaskId, the drop-down's choice); the same button on another item chosen, or the same
    second on another card, is a press of its own."""
    handler = Recorder()
    async with running(handler) as (fake, server):
        at = int(time.time())
        presses = [fake.card_event_xml(LEADER, "r:0", "jy-b1-9-10", "rc1", at, selected="3"),
                   fake.card_event_xml(LEADER, "r:0", "jy-b1-9-10", "rc2", at, selected="4"),
                   fake.card_event_xml(LEADER, "r:0", "jy-b11-12-2", "rc3", at, selected="3"),
                   fake.card_event_xml(LEADER, "i:0", "jy-b1-9-10", "rc4", at, selected="3")]
        sent = [await fake.deliver(server.url, xml, lose_answers=2) for xml in presses]
        await settled(handler)
    assert all(len(s.attempts) == 3 for s in sent)
    pressed = [e for e in handler.events if isinstance(e, ButtonPressed)]
    assert [(e.key, e.task_id, e.selected) for e in pressed] == [
        ("r:0", "jy-b1-9-10", "3"), ("r:0", "jy-b1-9-10", "4"), ("r:0", "jy-b11-12-2", "3"),
        ("i:0", "jy-b1-9-10", "3")]
    assert server.duplicates == 4 * 2


async def test_slow_handler_does_not_delay_the_answer() -> None:
    """WeCom waits 5 s (1 s here) and retries; the answer comes before the handler ends."""
    handler = Recorder(delay=1.5)
    async with running(handler, callback_timeout=1.0) as (fake, server):
        sent = await fake.deliver(server.url, fake.text_xml(LEADER, "阅", "78"))
        assert [a.status for a in sent.attempts] == [200]
        assert sent.attempts[0].seconds < 1.0
        assert handler.events == []  # still being handled
        await settled(handler)
    assert len(handler.events) == 1


async def test_stale_callback_is_refused_as_replay() -> None:
    handler = Recorder()
    async with running(handler, clock=lambda: time.time() + 3600) as (fake, server):
        sent = await fake.deliver(server.url, fake.text_xml(LEADER, "阅", "79"))
        await settled(handler)
    assert [a.status for a in sent.attempts] == [403]
    assert [r.reason for r in handler.refusals] == ["stale"]


BOMB = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
    "<xml><Encrypt>&lol2;</Encrypt></xml>"
)


async def test_dtd_is_refused_outside_and_inside_the_encryption() -> None:
    handler = Recorder()
    async with running(handler) as (fake, server):
        async with aiohttp.ClientSession() as http, http.post(
                server.url, params=fake.signed_query("x"), data=BOMB.encode()) as response:
            assert response.status == 400
        inner = BOMB.replace("<xml><Encrypt>&lol2;</Encrypt></xml>",
                             f"<xml><FromUserName>{LEADER}</FromUserName>"
                             "<MsgType>text</MsgType><Content>&lol2;</Content></xml>")
        sent = await fake.deliver(server.url, inner)
        await settled(handler)
    assert [a.status for a in sent.attempts] == [400]
    assert handler.events == []
    assert [r.reason for r in handler.refusals] == ["xml", "xml"]


async def test_message_of_another_app_is_refused() -> None:
    handler = Recorder()
    async with running(handler) as (fake, server):
        xml = fake.text_xml(LEADER, "阅", "80").replace(
            f"<AgentID><![CDATA[{fake.agent_id}]]>", "<AgentID><![CDATA[1000099]]>")
        sent = await fake.deliver(server.url, xml)
        await settled(handler)
    assert [a.status for a in sent.attempts] == [403]
    assert [r.reason for r in handler.refusals] == ["agent"]


@pytest.mark.parametrize("params", [{}, {"msg_signature": "a", "timestamp": "1"}])
async def test_unsigned_request_is_refused(params: dict[str, str]) -> None:
    handler = Recorder()
    async with running(handler) as (_fake, server), aiohttp.ClientSession() as http:
        async with http.post(server.url, params=params, data=b"<xml/>") as response:
            assert response.status == 400
        await settled(handler)
    assert [r.reason for r in handler.refusals] == ["missing"]


class Blocked(Recorder):
    """A handler stuck until `release` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.release = asyncio.Event()

    async def on_refused(self, refusal: Refusal) -> None:
        await self.release.wait()
        await super().on_refused(refusal)


async def test_forged_flood_does_not_crowd_out_genuine_callbacks() -> None:
    handler = Blocked()
    async with FakeWeCom(users={LEADER}) as fake:
        server = CallbackServer(fake.crypt, handler, port=0, agent_id=fake.agent_id,
                                queue_size=4)
        async with server:
            for i in range(8):
                forged = await fake.deliver(server.url, fake.text_xml(LEADER, "伪", str(i)),
                                            forge=True)
                assert [a.status for a in forged.attempts] == [403]
            genuine = await fake.deliver(server.url, fake.text_xml(LEADER, "阅", "81"))
            assert [a.status for a in genuine.attempts] == [200]
            handler.release.set()
            await settled(handler)
            await asyncio.wait_for(server._queue.join(), 5)
    assert [e.fields["MsgId"] for e in handler.events] == ["81"]
    assert server.refused == 8
    assert len(handler.refusals) + server.unreported == 8
    assert server.unreported >= 5


async def test_a_callback_a_stop_left_unhandled_is_handled_at_the_next_start_once(
    tmp_path: Path,
) -> None:
    """A 批示 text answered 200 and kept, whose handling a stop cut short, is handed over
    at the next start; WeCom's retry of it after the restart is recognised (the inbox is
    in the database, not in memory); a third start hands over nothing."""
    from core.config import Storage, load_settings
    from core.services.chat_inbox import Inbox
    from core.services.context import open_context
    from tests.conftest import EXAMPLE

    settings = load_settings(EXAMPLE).model_copy(
        update={"storage": Storage(data_dir=tmp_path / "data")})
    ctx = await open_context(settings)
    try:
        async with FakeWeCom(users={LEADER}) as fake:
            stuck = Recorder(delay=60)  # still handling when the stop comes
            first = CallbackServer(fake.crypt, stuck, port=0, agent_id=fake.agent_id,
                                   journal=Inbox(ctx, "wecom"))
            await first.start()
            xml = fake.text_xml(LEADER, "同意，请财政局办理。", "9001")
            sent = await fake.deliver(first.url, xml)
            assert [a.status for a in sent.attempts] == [200]
            await first.stop(grace=0.2)
            assert stuck.events == []

            handler = Recorder()
            again = CallbackServer(fake.crypt, handler, port=0, agent_id=fake.agent_id,
                                   journal=Inbox(ctx, "wecom"))
            async with again:
                await settled(handler)
                retry = await fake.deliver(again.url, xml)  # WeCom's late retry
                assert [a.status for a in retry.attempts] == [200]
                await asyncio.sleep(0.1)
            assert [(type(e), e.fields["Content"]) for e in handler.events] == [
                (TextReceived, "同意，请财政局办理。")]
            assert again.duplicates == 1
        assert await Inbox(ctx, "wecom").waiting() == []
    finally:
        await ctx.db.close()
