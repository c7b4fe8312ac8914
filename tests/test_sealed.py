"""Sealed items (亲启, 绝密) end to end: nothing from inside the envelope comes out anywhere.

The sealed corpus messages go through the real SMTP edge into a live instance whose bot
talks to the fake Bot API; then the database file (with its search index and WAL), the
log, every chat message, `jiyao show`, `jiyao items` (table and JSON) and the CSV export
are searched for each value the labels say may appear nowhere (../shared/corpus/README.md).
"""

from __future__ import annotations

import json
import logging
import sqlite3
from pathlib import Path

import aiosmtplib
import pytest

from core.reading.decide import ELEMENT_KEYS
from tests.bot_worker import WENSHU, bot_settings, running_bot, settled
from tests.conftest import run_cli
from tests.fake_telegram import FakeTelegram
from tests.intake_helpers import (
    OFFICE,
    ServedIntake,
    corpus,
    labels,
    sealed_elements,
    sealed_secrets,
    wait_decided,
)

SEALED = [d for d in labels() if d["outcome"] == "sealed"]


def _db_bytes(data_dir: Path) -> bytes:
    """Every byte of the database: the main file, its WAL and shared memory."""
    return b"".join(
        p.read_bytes() for p in sorted(data_dir.glob("jiyao.db*")) if p.is_file()
    )


async def test_nothing_from_inside_a_sealed_item_comes_out(
    tmp_path: Path, fake: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    assert SEALED, "the corpus has sealed items"
    caplog.set_level(logging.DEBUG)
    data_dir = tmp_path / "data"
    # even with the policy that lets chat show the titles of 秘密/机密 items
    settings = bot_settings(data_dir, fake, classified_titles=True)
    raws = [corpus(d["file"]) for d in SEALED]
    secrets = {d["file"]: sealed_secrets(d, raw) | sealed_elements(raw)
               for d, raw in zip(SEALED, raws, strict=True)}
    assert all(s["title"] for s in secrets.values())
    # the documents print elements the items must not keep (主送, 成文日期, a 份号)
    assert {"addressees", "date", "copy_no"} <= {k for s in secrets.values() for k in s}
    async with running_bot(settings) as (ctx, _):
        daemon = ServedIntake(ctx)
        await daemon.start()
        try:
            client = aiosmtplib.SMTP(hostname="127.0.0.1", port=daemon.port, start_tls=False)
            await client.connect()
            replies = [await client.sendmail("mta@relay.example", [OFFICE], raw)
                       for raw in raws]
            await client.quit()
            await wait_decided(ctx)
        finally:
            await daemon.stop()
        ids = [int(text.rsplit("item", 1)[1].split()[0]) for _, text in replies]
        await settled(ctx)
        for item_id, label in zip(ids, SEALED, strict=True):
            fake.inject_command(WENSHU, f"/doc {item_id}")
            fake.inject_command(WENSHU, f"/find {label['title'][-6:]}")
        await fake.wait_for(
            "sendMessage", lambda c: "没有找到" in (c.text or ""), since=0
        )
        await settled(ctx)
    chat = "\n".join(c.text or "" for c in fake.calls)
    assert "收件序号" in chat  # staff were told (envelope only)

    outputs = {"chat": chat, "log": caplog.text}
    items = run_cli("items", "--json", data_dir=data_dir, check=True).stdout
    rows = [json.loads(line) for line in items.splitlines() if line.strip()]
    assert [r["outcome"] for r in rows] == ["sealed"] * len(SEALED)
    outputs["items --json"] = items
    outputs["items"] = run_cli("items", data_dir=data_dir, check=True).stdout
    for item_id in ids:
        outputs[f"show {item_id}"] = run_cli("show", str(item_id), data_dir=data_dir,
                                             check=True).stdout
    out = tmp_path / "register.csv"
    run_cli("export", "--year", "2024", "--out", str(out), data_dir=data_dir, check=True)
    outputs["export"] = out.read_text(encoding="utf-8-sig")
    database = _db_bytes(data_dir)

    leaks = [
        f"{file} {key} {value!r} in {where}"
        for file, found in secrets.items() for key, value in found.items()
        for where, text in outputs.items() if value in text
    ] + [
        f"{file} {key} {value!r} in the database file"
        for file, found in secrets.items() for key, value in found.items()
        if value.encode() in database
    ]
    with sqlite3.connect(data_dir / "jiyao.db") as db:
        for file, found in secrets.items():
            hits = db.execute(
                "SELECT COUNT(*) FROM item_text WHERE item_text MATCH ?",
                (json.dumps(found["title"][-6:]),),
            ).fetchone()[0]
            if hits:
                leaks.append(f"{file} title in the search index")
        leaks += [f"sealed item stored title/文种 {row}"
                  for row in db.execute("SELECT title, doc_type FROM items") if any(row)]
        leaks += [f"sealed item stored an element {row}"
                  for row in db.execute(f"SELECT {', '.join(ELEMENT_KEYS)} FROM items")
                  if any(row)]
    assert not leaks, "\n".join(leaks)


# ------------------------------------------------------------------ the reader alone

_TOP_SECRET_HEAD = """绝密★10年
特急
四川省应急管理厅文件
川应急〔2024〕81号
四川省应急管理厅关于某专项行动部署的通知
甘孜藏族自治州人民政府：
专项行动方案如下，请于2024年8月1日前报送落实情况。
四川省应急管理厅
2024年7月1日
"""


def _message(body: str, *, subject: str = "来文", personal: bool = False) -> bytes:
    from email.message import EmailMessage

    m = EmailMessage()
    m["From"] = "四川省应急管理厅 <ban@yjt.sc.gov.cn>"
    m["To"] = OFFICE
    m["Subject"] = subject
    m["Message-ID"] = "<sealed-unit@yjt.sc.gov.cn>"
    if personal:
        m["X-Personal"] = "亲启"
    m.set_content("见附件。")
    m.add_attachment(body.encode(), maintype="text", subtype="plain",
                     filename="专项行动部署的通知.txt")
    return bytes(m)


def _directory():  # type: ignore[no-untyped-def]
    from core.config import load_settings
    from core.directory import Directory
    from tests.conftest import EXAMPLE

    return Directory.from_settings(load_settings(EXAMPLE))


def test_personal_item_opens_no_document(monkeypatch: pytest.MonkeyPatch) -> None:
    """亲启 on the envelope: no part is extracted, and the decision holds envelope facts."""
    import core.reading.decide as reading

    def refuse(*_a: object, **_k: object) -> None:
        raise AssertionError("a 亲启 item's document was opened")

    monkeypatch.setattr(reading, "extract", refuse)
    d = reading.decide(_message(_TOP_SECRET_HEAD, personal=True), _directory())
    assert (d.outcome.value, d.reason and d.reason.value) == ("sealed", "personal")
    assert d.sender == "四川省应急管理厅"  # the From address is on the envelope
    assert (d.title, d.doc_number, d.doc_type, d.secrecy, d.urgency) == (None,) * 5
    assert (d.text, d.attachments, d.findings, d.fields) == ("", (), (), None)


def test_top_secret_on_the_first_page_keeps_only_number_and_secrecy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """绝密 marked only in the head: the first page alone is read, and of it only the 字号
    and 密级 are kept (no title, 紧急程度, deadline, text or attachment names)."""
    import core.reading.decide as reading

    limits: list[int] = []
    real = reading.extract

    def spy(att, lim=reading.DEFAULT_LIMITS):  # type: ignore[no-untyped-def]
        limits.append(lim.max_pages)
        return real(att, lim)

    monkeypatch.setattr(reading, "extract", spy)
    d = reading.decide(_message(_TOP_SECRET_HEAD), _directory())
    assert (d.outcome.value, d.reason and d.reason.value) == ("sealed", "top_secret")
    assert limits == [1]
    assert (d.doc_number, d.secrecy) == ("川应急〔2024〕81号", "绝密")
    assert (d.title, d.doc_type, d.urgency, d.deadline) == (None,) * 4
    assert "专项行动" not in repr(d)
