"""The WeCom API client against the loopback fake WeCom server (tests/fake_wecom.py)."""

from __future__ import annotations

import asyncio
import logging

import pytest

from bot.telegram import render
from bot.wecom.client import (
    CONTENT_LIMIT,
    BusyError,
    Button,
    Card,
    ContentError,
    CredentialsError,
    Pacer,
    RateLimitedError,
    UnknownUserError,
    WeComClient,
    split_text,
)
from tests.fake_wecom import FakeWeCom

LEADER = "zhangsan"


def client_of(fake: FakeWeCom, *, pacer: Pacer | None = None,
              secret: str | None = None) -> WeComClient:
    return WeComClient(corp_id=fake.corp_id, agent_id=fake.agent_id,
                       secret=fake.secret if secret is None else secret,
                       base_url=fake.base_url, pacer=pacer or Pacer(((1000, 1.0),)))


# ------------------------------------------------------------------ splitting
def test_split_keeps_text_and_respects_the_byte_limit() -> None:
    text = "".join(f"第{i}行：关于做好防汛抗旱工作的通知，请各单位认真落实。\n" for i in range(200))
    parts = split_text(text)
    assert len(parts) > 1
    assert "".join(parts) == text
    assert all(len(p.encode("utf-8")) <= CONTENT_LIMIT for p in parts)
    assert all(p.endswith("\n") for p in parts)  # cut at line ends


def test_split_of_one_long_line_never_cuts_a_character() -> None:
    text = "批" * 1000 + "😀" * 300  # 3-byte and 4-byte characters, no line end
    parts = split_text(text)
    assert "".join(parts) == text
    for p in parts:
        assert len(p.encode("utf-8")) <= CONTENT_LIMIT
        p.encode("utf-8").decode("utf-8")  # each part is whole UTF-8


# ------------------------------------------------------------------ sending
async def test_long_text_arrives_in_parts_under_the_limit() -> None:
    text = "\n".join(f"（{i}）市政府办公室关于印发重点工作任务分工方案的通知" for i in range(150))
    async with FakeWeCom(users={LEADER}) as fake, client_of(fake) as client:
        sent = await client.send_text(LEADER, text)
    shown = fake.shown(LEADER)
    assert len(sent) == len(shown) > 1
    assert "".join(m.content for m in shown) == text
    assert not fake.refusals  # the fake refuses (45002) what is over 2,048 bytes


async def test_fake_refuses_content_over_the_limit() -> None:
    async with FakeWeCom(users={LEADER}) as fake, client_of(fake) as client:
        with pytest.raises(ContentError) as caught:
            await client.call("message/send", body={
                "touser": LEADER, "msgtype": "text", "agentid": fake.agent_id,
                "text": {"content": "阅" * 700}})
    assert caught.value.errcode == 45002


async def test_token_expiring_mid_burst_is_replaced_and_nothing_lost() -> None:
    # the fake says 7200 s but kills tokens after 0.3 s: each send then meets 42001
    async with FakeWeCom(users={LEADER}, token_lifetime=0.3) as fake, \
            client_of(fake) as client:
        for i in range(12):
            await client.send_text(LEADER, f"第{i}件")
            await asyncio.sleep(0.05)
    assert [m.content for m in fake.shown(LEADER)] == [f"第{i}件" for i in range(12)]
    assert ("message/send", 42001) in fake.refusals
    assert client.tokens_fetched == fake.tokens_issued >= 2


async def test_token_refreshed_before_expires_in_without_refusals() -> None:
    async with FakeWeCom(users={LEADER}, expires_in=1) as fake, client_of(fake) as client:
        for i in range(8):
            await client.send_text(LEADER, f"第{i}件")
            await asyncio.sleep(0.2)
    assert len(fake.shown(LEADER)) == 8
    assert fake.refusals == []
    assert fake.tokens_issued >= 2


async def test_concurrent_senders_share_one_token_fetch() -> None:
    async with FakeWeCom(users={LEADER, "lisi"}) as fake, client_of(fake) as client:
        await asyncio.gather(*(client.send_text(u, "请阅") for u in (LEADER, "lisi") * 5))
    assert fake.tokens_issued == 1


async def test_revoked_token_is_retried_once() -> None:
    async with FakeWeCom(users={LEADER}) as fake, client_of(fake) as client:
        await client.send_text(LEADER, "一")
        fake.revoke_tokens()
        await client.send_text(LEADER, "二")
    assert ("message/send", 40014) in fake.refusals
    assert [m.content for m in fake.shown(LEADER)] == ["一", "二"]


async def test_errors_are_specific() -> None:
    async with FakeWeCom(users={LEADER}) as fake, client_of(fake) as client:
        with pytest.raises(UnknownUserError) as unknown:
            await client.send_text("nobody", "请阅")
        assert (unknown.value.errcode, unknown.value.user) == (81013, "nobody")
        assert not unknown.value.retryable
        fake.fail_next.extend([45009, -1])
        with pytest.raises(RateLimitedError) as limited:
            await client.send_text(LEADER, "请阅")
        assert limited.value.retryable
        with pytest.raises(BusyError):
            await client.send_text(LEADER, "请阅")
    async with FakeWeCom(users={LEADER}) as fake, \
            client_of(fake, secret="wrong-secret") as client:
        with pytest.raises(CredentialsError) as bad:
            await client.send_text(LEADER, "请阅")
    assert bad.value.errcode == 40001
    assert "wrong-secret" not in str(bad.value)


async def test_secret_and_token_never_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    async with FakeWeCom(users={LEADER}) as fake, client_of(fake) as client:
        await client.send_text(LEADER, "请阅")
        token = await client.access_token()
    assert fake.secret not in caplog.text
    assert token not in caplog.text
    assert fake.secret not in repr(client)


async def test_resend_after_lost_answer_is_shown_once() -> None:
    """A send whose answer was lost (or in flight at a crash) is resent unchanged; the
    duplicate check WeCom applies to the identical request keeps it single."""
    async with FakeWeCom(users={LEADER}) as fake, client_of(fake) as client:
        await client.send_text(LEADER, "关于报送年度工作总结的通知（收件序号 17）")
        await client.send_text(LEADER, "关于报送年度工作总结的通知（收件序号 17）")
    assert len(fake.messages) == 2
    assert len(fake.shown(LEADER)) == 1
    assert fake.messages[1].why_hidden == "duplicate"


# ------------------------------------------------------------------ pacing
LIMIT = ((5, 1.0),)


async def test_paced_burst_to_one_member_loses_nothing() -> None:
    async with FakeWeCom(users={LEADER}, member_limits=LIMIT) as fake, \
            client_of(fake, pacer=Pacer(LIMIT, margin=0.2)) as client:
        for i in range(12):
            await client.send_text(LEADER, f"第{i}件")
    assert fake.dropped() == []
    assert len(fake.shown(LEADER)) == 12
    assert client.pacer.sent(LEADER) == 12


async def test_unpaced_burst_is_silently_dropped_by_the_fake() -> None:
    """The baseline: without pacing the fake (like WeCom) answers ok and drops."""
    async with FakeWeCom(users={LEADER}, member_limits=LIMIT) as fake, \
            client_of(fake, pacer=Pacer(((1000, 1.0),), margin=0)) as client:
        for i in range(12):
            await client.send_text(LEADER, f"第{i}件")
    assert len(fake.dropped(LEADER)) == 7
    assert len(fake.shown(LEADER)) == 5


def test_pacer_windows_and_max_wait() -> None:
    now = [100.0]
    pacer = Pacer(((2, 10.0), (3, 100.0)), margin=0, clock=lambda: now[0])
    assert [pacer.reserve("a") for _ in range(3)] == [0, 0, 10.0]
    assert pacer.delay("b") == 0  # members are paced apart
    now[0] = 200.0
    assert pacer.delay("a") == 0
    assert pacer.sent("a") == 3


async def test_acquire_refuses_a_wait_beyond_max_wait() -> None:
    from bot.wecom.client import PacedError

    pacer = Pacer(((1, 60.0),), margin=0)
    await pacer.acquire("a")
    with pytest.raises(PacedError) as paced:
        await pacer.acquire("a", max_wait=1.0)
    assert paced.value.retry_after > 50
    assert pacer.sent("a") == 1  # nothing booked


# ------------------------------------------------------------------ files and cards
async def test_file_is_uploaded_then_sent() -> None:
    data = "关于印发《2026年重点工作》的通知\n".encode() * 50
    async with FakeWeCom(users={LEADER}) as fake, client_of(fake) as client:
        await client.send_file(LEADER, data, "重点工作.docx")
    (message,) = fake.shown(LEADER)
    assert message.msgtype == "file"
    assert fake.media[message.body["file"]["media_id"]] == ("重点工作.docx", data)


async def test_card_keys_carry_the_callback_data_and_update_once() -> None:
    card = Card(task_id="item-17-d3", title="阅件 2026-0017",
                text="关于做好安全生产工作的通知",
                fields=(("来文单位", "市应急管理局"),),
                buttons=(Button("已阅", render.callback(render.READ, 17)),
                         Button("批示", render.callback(render.INSTRUCT, 17), style=2)))
    async with FakeWeCom(users={LEADER}) as fake, client_of(fake) as client:
        sent = await client.send_card(LEADER, card)
        assert sent.response_code
        await client.update_card([LEADER], sent.response_code, "已阅")
        with pytest.raises(Exception, match="40127"):
            await client.update_card([LEADER], sent.response_code, "已阅")
    (message,) = fake.shown(LEADER)
    keys = [b["key"] for b in message.body["template_card"]["button_list"]]
    assert keys == ["r:17", "i:17"]
    assert fake.updated[sent.response_code] == ([LEADER], "已阅")


def test_card_shape_is_checked() -> None:
    with pytest.raises(ValueError, match="differ"):
        Card("t1", "标题", (Button("已阅", "r:1"), Button("已阅", "r:1")))
    with pytest.raises(ValueError, match="task_id"):
        Card("有 空格", "标题", (Button("已阅", "r:1"),))
