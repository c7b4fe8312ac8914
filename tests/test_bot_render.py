"""Pure parts of the bot: who may do what, callback data, push texts under §7."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.telegram import render
from bot.telegram.handlers.common import split_text
from bot.telegram.menu import commands_for
from core.config import Settings, load_settings
from core.model import Kind
from core.permissions import Can, principal_for
from core.services.push import ROLE_LEADER, ROLE_STAFF, PushView
from tests.conftest import EXAMPLE
from tests.fake_telegram import html_to_text


@pytest.fixture(scope="module")
def example() -> Settings:
    return load_settings(EXAMPLE)


def _view(**kw: object) -> PushView:
    base = PushView(
        item_id=7, kind="办件", outcome="register", number="办2026-0007", sender="甘孜州财政局",
        doc_number="甘财〔2024〕57号", title="关于<预备费>&资金的请示", secrecy=None, urgency=None,
        channel="email", received_at=datetime(2026, 3, 2, 1, 30, tzinfo=UTC),
        deadline="2026-03-20", blob="ab" * 32, filename="请示.docx", blob_size=1000,
    )
    return dataclasses.replace(base, **kw)  # type: ignore[arg-type]


def test_principals_follow_the_configuration(example: Settings) -> None:
    """Leaders, registrars, sections and duty chats get their own rights; strangers none."""
    leader = principal_for(example, 100001)
    registrar = principal_for(example, 200001)
    section = principal_for(example, 200003)
    duty = principal_for(example, 200010)
    assert principal_for(example, 424242) is None
    assert principal_for(example, None) is None
    assert leader is not None
    assert leader.is_leader
    assert leader.can(Can.INSTRUCT)
    assert not leader.can(Can.REVIEW)
    assert registrar is not None
    assert registrar.can(Can.REVIEW)
    assert not registrar.can(Can.INSTRUCT)
    assert section is not None
    assert section.can(Can.OVERDUE)
    assert not section.can(Can.CORRECT)
    assert duty is not None
    assert [c for c, _ in commands_for(duty)] == ["help"]
    # 秘书长 is a leader and on the duty list: a leader's rights
    secretary = principal_for(example, 100006)
    assert secretary is not None
    assert secretary.can(Can.INSTRUCT)


@given(st.text(max_size=70))
def test_callback_parser_accepts_only_what_the_bot_makes(data: str) -> None:
    """Arbitrary callback data never crashes the parser; what it accepts round-trips."""
    parsed = render.parse_callback(data)
    if parsed is not None:
        assert render.callback(parsed.action, parsed.item_id, parsed.kind) == data


def test_callback_data_round_trips_and_stays_short() -> None:
    """Callback data is short, prefixed and parsed back; malformed data is stale."""
    for action in ("r", "i", "n"):
        data = render.callback(action, 123456789012)
        assert len(data.encode()) <= 64
        assert render.parse_callback(data) == render.Callback(action, 123456789012)
    assert render.parse_callback("k:5:y") == render.Callback("k", 5, Kind.YUE)
    for bad in ("k:5", "r:5:b", "r:x", "x:1", "", None, "r:1234567890123"):
        assert render.parse_callback(bad) is None


def test_push_shows_the_facts_as_valid_telegram_html(example: Settings) -> None:
    """Kind, number, sender, 字号, escaped title, local time, deadline — in Telegram's HTML."""
    text = render.push_text(_view(), example, chat_id=100002, role=ROLE_LEADER, purpose="push")
    shown = html_to_text(text)
    assert shown.splitlines()[0] == "办件 办2026-0007"
    assert "标题：关于<预备费>&资金的请示" in shown
    assert "文号：甘财〔2024〕57号" in shown
    assert "收到时间：2026年3月2日 09:30" in shown  # Asia/Shanghai
    assert "办理期限：2026年3月20日" in shown
    assert shown.endswith("收件序号 7")
    assert render.attaches_file(_view(), example)


def test_classified_push_holds_no_title_number_of_document_or_file(example: Settings) -> None:
    """§7: a 机密 item's push names kind, number, sender and that it is classified — only."""
    view = _view(secrecy="机密")
    shown = html_to_text(render.push_text(view, example, chat_id=100002, role=ROLE_LEADER,
                                          purpose="push"))
    assert "涉密件·机密" in shown
    assert "办件 办2026-0007" in shown
    assert "甘孜州财政局" in shown
    assert "预备费" not in shown
    assert "甘财〔2024〕57号" not in shown
    assert not render.attaches_file(view, example)
    allowed = example.model_copy(update={
        "bot": example.bot.model_copy(update={"classified_titles": True})})
    assert "预备费" in html_to_text(render.push_text(view, allowed, chat_id=1, role=ROLE_STAFF,
                                                    purpose="push"))
    assert not render.attaches_file(view, allowed)


def test_urgent_and_resend_marks_come_first(example: Settings) -> None:
    """A resend says so on its first line; 特急 is marked at the top; reminders count."""
    view = _view(urgency="特急")
    lines = html_to_text(render.push_text(view, example, chat_id=1, role=ROLE_LEADER,
                                          purpose="urgent:2", escalation=2,
                                          resend=True)).splitlines()
    assert lines[0].startswith("【重发】")
    assert lines[1] == "‼️【特急】"
    assert lines[2].startswith("【第2次提醒】")


def test_buttons_by_role_and_circulation() -> None:
    """Leaders get 已阅 and 批示, the current 内刊 holder also 传下一位; staff only on urgent."""
    circulating = _view(kind="内刊", number=None,
                        circulation=(("州长", 1, "read"), ("常务副州长", 2, "current")))

    def labels(view: PushView, chat_id: int, role: str, leader: bool) -> list[str]:
        markup = render.push_buttons(view, chat_id=chat_id, role=role, leader=leader)
        return [] if markup is None else [b.text for row in markup.inline_keyboard for b in row]

    assert labels(circulating, 2, ROLE_LEADER, True) == ["已阅", "批示", "传下一位"]
    assert labels(circulating, 1, ROLE_LEADER, True) == ["已阅", "批示"]
    assert labels(_view(), 9, ROLE_STAFF, False) == []
    assert labels(_view(urgency="特提"), 9, ROLE_STAFF, False) == ["已阅"]


@given(st.text(alphabet=st.sampled_from("甲乙\n ab"), max_size=300), st.integers(5, 40))
def test_split_text_keeps_every_character_within_the_limit(text: str, limit: int) -> None:
    """Long answers are cut into chunks no longer than the limit, losing nothing but the
    line breaks they were cut at."""
    chunks = split_text(text, limit)
    assert all(len(c) <= limit for c in chunks)
    assert "".join(chunks).replace("\n", "") == text.replace("\n", "") or text.strip() == ""
