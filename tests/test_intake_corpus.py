"""The whole dev corpus through the real SMTP edge: each message ends as its label says.

A real client (aiosmtplib) sends every file to the daemon on a loopback port; the result
is read back with `jiyao items --json` as staff would; return notices go out through a
second aiosmtpd (the loopback smarthost) and name the document and the reason in Chinese.
"""

from __future__ import annotations

import asyncio
import json
from email.utils import parseaddr

import aiosmtplib
import pytest

from core.config import Settings
from core.model import REASON_ZH
from core.services.context import open_context
from core.services.receive import message_id_of
from intake_daemon.mailer import ReturnMailer
from jiyao import cli
from tests.conftest import EXAMPLE, FrozenClock
from tests.intake_helpers import (
    OFFICE,
    ServedIntake,
    allowed_sealed_fields,
    corpus,
    items_json,
    labels,
    smarthost,
    wait_decided,
)

COMPARED = ("outcome", "kind", "reason", "sender", "doc_number", "title")


async def _send_all(port: int, raws: list[bytes], connections: int = 4) -> list[str]:
    """Send every message over a few persistent connections; the 250 texts in order."""
    replies: list[str] = [""] * len(raws)
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(len(raws)):
        queue.put_nowait(i)

    async def worker() -> None:
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False, timeout=60)
        await client.connect()
        while not queue.empty():
            i = queue.get_nowait()
            errors, text = await client.sendmail("mta@relay.example", [OFFICE], raws[i])
            assert errors == {}
            replies[i] = text
        await client.quit()

    await asyncio.gather(*(worker() for _ in range(connections)))
    return replies


def _is_fax(raw: bytes, settings: Settings) -> bool:
    head = raw.split(b"\n\n", 1)[0].split(b"\r\n\r\n", 1)[0].decode("utf-8", "replace")
    from_line = next(
        (ln for ln in head.splitlines() if ln.lower().startswith("from:")), "From: "
    )
    address = parseaddr(from_line[5:])[1].lower()
    return address in {a.lower() for a in settings.office.fax_gateway}


async def test_every_corpus_file_ends_as_labelled(settings: Settings, clock: FrozenClock) -> None:
    """Outcome, kind, reason, sender, 字号, title and number of every file match its label."""
    async with smarthost() as (mailbox, mail_port):
        live = settings.model_copy(update={"smarthost": settings.smarthost.model_copy(
            update={"host": "127.0.0.1", "port": mail_port, "enabled": True})})
        ctx = await open_context(live, clock=clock)
        daemon = ServedIntake(ctx)
        mailer = ReturnMailer(ctx, poll=0.1)
        await daemon.start()
        await mailer.start()
        try:
            wanted = labels()
            raws = [corpus(d["file"]) for d in wanted]
            replies = await _send_all(daemon.port, raws)
            assert all(r.startswith("2.0.0 Ok: item") for r in replies)
            await wait_decided(ctx)
            returns = [d for d in wanted if d["outcome"] == "return"]
            notices = await mailbox.wait_for(len(returns))
        finally:
            await mailer.stop()
            await daemon.stop()
            await ctx.db.close()

    rows = {row["message_id"]: row for row in items_json(settings.storage.data_dir)}
    assert len(rows) == len(wanted)
    mismatches: list[str] = []
    for label, raw in zip(wanted, raws, strict=True):
        row = rows[message_id_of(raw)]
        expected = (
            allowed_sealed_fields(label, raw) if label["outcome"] == "sealed"
            else {key: label.get(key) for key in COMPARED}
        )
        mismatches += [
            f"{label['file']} {key}: {row[key]!r} != {value!r}"
            for key, value in expected.items() if row[key] != value
        ]
        if label.get("envelope_no") and row["envelope_no"] != label["envelope_no"]:
            mismatches.append(f"{label['file']} envelope_no: {row['envelope_no']!r}")
        numbered = label["outcome"] == "register" and label["kind"] in ("办件", "阅件")
        if bool(row["number"]) != numbered:
            mismatches.append(f"{label['file']} number: {row['number']!r}")
        expected_channel = "fax" if _is_fax(raw, settings) else "email"
        if row["channel"] != expected_channel:
            mismatches.append(f"{label['file']} channel: {row['channel']}")
    assert not mismatches, "\n".join(mismatches)

    by_sender = {n.rcpt_tos[0]: n.message for n in notices}
    assert len(by_sender) == len(returns)
    for label in returns:
        row = next(r for r in rows.values() if r["title"] == label["title"]
                   and r["outcome"] == "return")
        notice = by_sender[row["from_address"]]
        body = notice.get_content()
        assert label["title"] in body
        if label["doc_number"]:
            assert label["doc_number"] in notice["Subject"]
            assert label["doc_number"] in body
        assert REASON_ZH[label["reason"]] in body
        assert REASON_ZH[label["reason"]] in notice["Subject"]
        assert "更正后重新发送" in body
        assert notice["Auto-Submitted"] == "auto-replied"
        assert notice["In-Reply-To"] == f"<{row['message_id']}>"


async def test_items_command_filters_and_prints_a_chinese_table(
    settings: Settings, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`jiyao items` filters by outcome and time and prints a Chinese table for staff."""
    ctx = await open_context(settings, clock=clock)
    daemon = ServedIntake(ctx)
    await daemon.start()
    try:
        everything = labels()
        picked = ([d for d in everything if d["outcome"] == "register"][:4]
                  + [d for d in everything if d["outcome"] == "return"][:2])
        await _send_all(daemon.port, [corpus(d["file"]) for d in picked], connections=2)
        await wait_decided(ctx)
    finally:
        await daemon.stop()
        await ctx.db.close()
    monkeypatch.setenv("JIYAO_STORAGE__DATA_DIR", str(settings.storage.data_dir))

    async def jiyao(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = await asyncio.to_thread(cli.main, [*args, "--config", str(EXAMPLE)])
        out, err = capsys.readouterr()
        return code, out, err

    def objects(out: str) -> list[dict[str, object]]:
        return [json.loads(line) for line in out.splitlines()]

    _, out, _ = await jiyao("items", "--json", "--outcome", "return")
    returned = objects(out)
    assert len(returned) == 2
    assert {r["outcome"] for r in returned} == {"return"}
    assert all(r["number"] is None for r in returned)
    assert len(objects((await jiyao("items", "--json", "--since", "2026-03-02"))[1])) == 6
    assert objects((await jiyao("items", "--json", "--since", "2026-03-03"))[1]) == []
    late = await jiyao("items", "--json", "--since", "2026-03-02T16:59:00+08:00")
    assert len(objects(late[1])) == 6
    code, table, _ = await jiyao("items")
    assert code == 0
    assert "登记号" in table
    assert "来文单位" in table
    assert "办2026-0001" in table
    assert "共 6 件" in table
    code, _, err = await jiyao("items", "--since", "yesterday")
    assert code == 2
    assert "--since" in err
