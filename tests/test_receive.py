"""services.receive on a real database: one transaction per item, idempotent, events written."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from core.directory import Directory
from core.reading.decide import decide
from core.services import admin
from core.services.context import Context
from core.services.receive import (
    REUSED_MESSAGE_ID,
    content_hash,
    list_items,
    message_id_of,
    receive,
)
from tests.intake_helpers import OFFICE, corpus, first, with_message_id


async def _rows(ctx: Context, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    async with ctx.db.reader() as r:
        return [dict(x) for x in await r.fetchall(sql, params)]


async def _take(ctx: Context, raw: bytes) -> Any:
    return await receive(ctx, raw, mail_from="sender@example.org", rcpt_tos=[OFFICE],
                         peer="127.0.0.1:1")


def _label(**want: Any) -> dict[str, Any]:
    return first(lambda d: all(d.get(k) == v for k, v in want.items()))


async def test_register_writes_item_number_audit_and_route(ctx: Context) -> None:
    """A 办件 is stored with its raw blob, numbered, audited and queued for routing at once."""
    label = _label(outcome="register", kind="办件")
    raw = corpus(label["file"])
    got = await _take(ctx, raw)
    assert got.outcome == "register"
    assert got.kind == "办件"
    assert got.number == "办2026-0001"
    item = (await _rows(ctx, "SELECT * FROM items"))[0]
    assert item["title"] == label["title"]
    assert item["sender"] == label["sender"]
    assert item["year"] == 2026
    assert item["month"] == 3
    assert ctx.blobs.get(item["raw_blob"]) == raw
    assert item["content_sha256"] == content_hash(raw)
    assert item["message_id"] == message_id_of(raw)
    audit = await _rows(ctx, "SELECT * FROM audit")
    assert [a["action"] for a in audit] == ["receive", "route"]
    assert json.loads(audit[0]["detail"])["number"] == "办2026-0001"
    events = await _rows(ctx, "SELECT * FROM outbox")
    # routed in the same transaction: one push per chat, nothing left for an adapter to expand
    assert events
    assert {(e["channel"], e["event"], e["item_id"]) for e in events} == {
        ("chat", "push", got.item_id)}
    assert all(json.loads(e["payload"])["item_id"] == got.item_id for e in events)
    for att in await _rows(ctx, "SELECT * FROM attachments"):
        assert ctx.blobs.verify(att["sha256"]) is None
    assert await admin.check(ctx) == []


async def test_same_message_twice_is_one_item(ctx: Context) -> None:
    """A redelivery, even relayed again with new trace headers, answers the first item."""
    raw = corpus(_label(outcome="register", kind="阅件")["file"])
    one = await _take(ctx, raw)
    queued = await _rows(ctx, "SELECT id FROM outbox")
    assert queued
    relayed = b"Received: from relay.example by mx.gzz.gov.cn; Mon, 2 Mar 2026\r\n" + raw
    two = await _take(ctx, relayed)
    assert two.duplicate
    assert two.item_id == one.item_id
    assert two.number == one.number
    assert len(await _rows(ctx, "SELECT id FROM items")) == 1
    assert len(await _rows(ctx, "SELECT id FROM register_entries")) == 1
    assert await _rows(ctx, "SELECT id FROM outbox") == queued


async def test_reused_message_id_with_other_content_is_registered_and_flagged(
    ctx: Context,
) -> None:
    """Same Message-ID, different content: a second item, flagged reused_message_id."""
    raw = corpus(_label(outcome="register", kind="办件")["file"])
    other = corpus(_label(outcome="register", kind="阅件")["file"])
    first_item = await _take(ctx, raw)
    second = await _take(ctx, with_message_id(other, message_id_of(raw) or "x"))
    assert not second.duplicate
    assert second.item_id != first_item.item_id
    assert second.flags == (REUSED_MESSAGE_ID,)
    listed = await list_items(ctx)
    assert [x["flags"] for x in listed] == [[], [REUSED_MESSAGE_ID]]


async def test_envelope_number_used_twice_is_a_manifest_mismatch(ctx: Context) -> None:
    """A second message carrying an envelope number already received is returned."""
    label = first(lambda d: bool(d.get("envelope_no")) and d["outcome"] == "register")
    raw = corpus(label["file"])
    await _take(ctx, raw)
    again = await _take(ctx, with_message_id(raw, "replayed.1@example.org"))
    assert again.outcome == "return"
    assert again.reason == "manifest_mismatch"
    mails = await _rows(ctx, "SELECT * FROM outbox WHERE channel = 'mail'")
    assert len(mails) == 1


def _damaged_copy(raw: bytes) -> bytes:
    """The message with one line of its PDF attachment changed (no longer the manifest's)."""
    lines = raw.replace(b"\r\n", b"\n").split(b"\n")
    pdf = next(i for i, ln in enumerate(lines)
               if ln.lower().startswith(b"content-type: application/pdf"))
    body = lines.index(b"", pdf) + 1
    lines[body + 2] = b"A" * len(lines[body + 2])
    return b"\n".join(lines)


async def test_returned_envelope_may_come_again_corrected(ctx: Context) -> None:
    """An envelope returned as damaged was never signed for: its corrected resend is taken."""
    label = first(lambda d: bool(d.get("envelope_no")) and d["outcome"] == "register")
    raw = corpus(label["file"])
    damaged = await _take(ctx, with_message_id(_damaged_copy(raw), "damaged.1@example.org"))
    assert (damaged.outcome, damaged.reason) == ("return", "damaged")
    corrected = await _take(ctx, raw)
    assert corrected.outcome == "register"
    assert corrected.number is not None


async def test_concurrent_envelope_replays_take_it_once(ctx: Context) -> None:
    """Five copies of one envelope arriving together: exactly one is accepted."""
    label = first(lambda d: bool(d.get("envelope_no")) and d["outcome"] == "register")
    raw = corpus(label["file"])
    copies = [with_message_id(raw, f"copy.{i}@example.org") for i in range(5)]
    results = await asyncio.gather(*(_take(ctx, c) for c in copies))
    assert sorted(r.outcome for r in results) == ["register"] + ["return"] * 4


async def test_return_mails_the_sender_in_chinese(ctx: Context) -> None:
    """A returned item keeps its raw bytes, gets no number, and a 退回通知 is queued."""
    label = _label(outcome="return", reason="misdirected")
    raw = corpus(label["file"])
    got = await _take(ctx, raw)
    assert got.outcome == "return"
    assert got.number is None
    item = (await _rows(ctx, "SELECT * FROM items"))[0]
    assert ctx.blobs.get(item["raw_blob"]) == raw
    mail = (await _rows(ctx, "SELECT * FROM outbox WHERE channel = 'mail'"))[0]
    payload = json.loads(mail["payload"])
    assert mail["target"] == payload["to"] == item["from_address"]
    assert label["doc_number"] in payload["body"]
    assert label["title"] in payload["body"]
    assert "错投" in payload["body"]
    assert "更正后重新发送" in payload["body"]
    staff = await _rows(ctx, "SELECT * FROM outbox WHERE event = 'staff_notice'")
    assert sorted(int(s["target"]) for s in staff) == [200001, 200002]
    assert not await _rows(ctx, "SELECT * FROM register_entries")


async def test_sealed_notice_names_only_the_envelope(ctx: Context) -> None:
    """Staff hear of a 亲启/绝密 item by sender, addressee and time — never its title."""
    for label in (_label(outcome="sealed", reason="personal"),
                  _label(outcome="sealed", reason="top_secret")):
        got = await _take(ctx, corpus(label["file"]))
        assert got.outcome == "sealed"
        notes = await _rows(
            ctx, "SELECT payload FROM outbox WHERE item_id = ? AND event = 'staff_notice'",
            (got.item_id,),
        )
        assert len(notes) == 2
        text = json.loads(notes[0]["payload"])["text"]
        assert "封存" in text
        assert f"收件序号 {got.item_id}" in text
        assert label["title"] not in text
        assert (label["doc_number"] or "@@") not in text
        assert not await _rows(
            ctx, "SELECT * FROM item_text WHERE body != ''"
        )
    assert not await _rows(ctx, "SELECT * FROM outbox WHERE event IN ('route', 'push')")


async def test_fax_is_channel_fax_and_keeps_the_image(ctx: Context) -> None:
    """An image-only fax waits for review, attributed by station id, with the image stored."""
    label = first(lambda d: d["outcome"] == "review")
    got = await _take(ctx, corpus(label["file"]))
    item = (await _rows(ctx, "SELECT * FROM items"))[0]
    assert item["channel"] == "fax"
    assert item["fax_remote_id"]
    assert item["sender"] == label["sender"]
    assert got.outcome == "review"
    attachments = await _rows(ctx, "SELECT * FROM attachments")
    assert attachments
    assert all(ctx.blobs.verify(a["sha256"]) is None for a in attachments)
    note = json.loads(
        (await _rows(ctx, "SELECT payload FROM outbox WHERE event = 'staff_notice'"))[0]["payload"]
    )
    assert note["blob"] == attachments[0]["sha256"]
    assert "待分类" in note["text"]


async def test_quarantine_of_garbage_keeps_the_bytes(ctx: Context) -> None:
    """Bytes that are no message at all are stored and quarantined, with a notice to staff."""
    raw = b"\x00\x01binary garbage\xff\xfe\r\n\r\n\x80\x81" * 20
    got = await _take(ctx, raw)
    assert got.outcome == "quarantine"
    item = (await _rows(ctx, "SELECT * FROM items"))[0]
    assert ctx.blobs.get(item["raw_blob"]) == raw
    assert json.loads(item["findings"])
    again = await _take(ctx, raw)
    assert again.duplicate


async def test_concurrent_receives_number_without_gaps(ctx: Context) -> None:
    """Twenty deliveries at once: every one committed, registers gap-free, audit intact."""
    raws = [
        with_message_id(corpus(d["file"]), f"c{i}@example.org")
        for i, d in enumerate([_label(outcome="register", kind="办件")] * 20)
    ]
    await asyncio.gather(*(_take(ctx, r) for r in raws))
    # decided out of order, numbered in the order received (the last decision numbers
    # the items that waited for it)
    entries = await _rows(ctx, "SELECT item_id, number FROM register_entries ORDER BY item_id")
    assert [e["number"] for e in entries] == [f"办2026-{i:04d}" for i in range(1, 21)]
    assert await admin.check(ctx) == []


async def test_decision_fields_are_stored_as_decided(ctx: Context) -> None:
    """Deadline, 期号, rule, evidence and findings reach the item row as decided."""
    directory = Directory.from_settings(ctx.settings)
    for label in (_label(outcome="register", kind="办件"), _label(outcome="register", kind="内刊")):
        raw = corpus(label["file"])
        decision = decide(raw, directory)
        got = await _take(ctx, raw)
        item = (await _rows(ctx, "SELECT * FROM items WHERE id = ?", (got.item_id,)))[0]
        assert item["deadline"] == (decision.deadline.isoformat() if decision.deadline else None)
        assert item["issue_no"] == (str(decision.issue_no) if decision.issue_no else None)
        assert (item["rule"], item["evidence"]) == (decision.rule, decision.evidence)
        assert item["doc_type"] == decision.doc_type
        assert json.loads(item["findings"]) == [
            {"code": f.code, "detail": f.detail} for f in decision.findings
        ]
        assert item["channel"] == decision.channel.value == "email"


def test_identity_ignores_transport_but_not_content() -> None:
    """Relay trace headers, CRLF/LF and trailing blank lines do not change the content hash."""
    base = b"From: a@b\r\nMessage-ID:\r\n <m1@example.org>\r\nSubject: s\r\n\r\nbody\r\n"
    relayed = (b"Return-Path: <a@b>\r\nReceived: from x\r\n\tby y; Mon, 2 Mar 2026\r\n"
               + base.replace(b"\r\n", b"\n") + b"\n\n")
    assert content_hash(relayed) == content_hash(base)
    assert content_hash(base.replace(b"body", b"bodx")) != content_hash(base)
    assert content_hash(base.replace(b"Subject: s", b"Subject: t")) != content_hash(base)
    assert message_id_of(base) == message_id_of(relayed) == "m1@example.org"
    assert message_id_of(b"Subject: none\r\n\r\nMessage-ID: <in-body@x>\r\n") is None
