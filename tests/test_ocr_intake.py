"""Image faxes through real SMTP and the pipeline's ocr step: a county's 请示 sent as a
TIFF is registered as 办件 with its sender, 字号 and title and no staff; a blurred page
goes to review with the text OCR read kept; a sealed fax is never read.

The engine is the session's one (core.ocr.engine keeps one per process and settings);
three faxes of one or two pages each.
"""

from __future__ import annotations

import csv
import json
import re
import time
from collections.abc import AsyncIterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import aiosmtplib
import pytest

import core.services.decide as decide_step
from core.config import Settings
from core.ocr import Engine, get_engine
from core.services import lookup
from core.services.context import Context, open_context
from core.services.pipeline import STEPS
from core.services.receive import receive
from tests.bot_worker import WENSHU, bot_settings, running_bot
from tests.conftest import FrozenClock, run_cli, with_ocr
from tests.data.fax import FaxFile, fax_file
from tests.data.fax.documents import COUNTY_REQUEST
from tests.data.fax.render import BLURRED, FINE, STANDARD, Variant, with_variant
from tests.fake_telegram import FakeTelegram
from tests.intake_helpers import OFFICE, ServedIntake, corpus, wait_decided

FAX_GATEWAY = "fax-gateway@gzz.gov.cn"
KANGDING_FAX = "08362822001"  # 康定市人民政府's fax in the example directory


@pytest.fixture
async def ctx(settings: Settings, clock: FrozenClock) -> AsyncIterator[Context]:
    """The example office with OCR on, as its config has it."""
    c = await open_context(with_ocr(settings), clock=clock)
    try:
        yield c
    finally:
        await c.db.close()


@pytest.fixture
async def daemon(ctx: Context, ocr_engine: Engine) -> AsyncIterator[ServedIntake]:
    # the session's engine is the one the step gets: the example's [ocr] is the default
    assert get_engine(ctx.settings.ocr) is ocr_engine
    d = ServedIntake(ctx)
    await d.start()
    try:
        yield d
    finally:
        await d.stop()


def _fax(variant: Variant, *, subject: str | None = None, page: FaxFile | None = None,
         **headers: str) -> bytes:
    sample = page or fax_file(COUNTY_REQUEST, variant, "tiff")
    msg = EmailMessage()
    msg["From"] = FAX_GATEWAY
    msg["To"] = OFFICE
    msg["Subject"] = subject or f"Fax from {KANGDING_FAX}"
    msg["Message-ID"] = f"<fax.{variant.name}@fax-gateway.gzz.gov.cn>"
    msg["X-Fax-Remote-ID"] = KANGDING_FAX
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content("传真 1 份，见附件。")
    suffix = {"tiff": "tif", "png": "png", "jpeg": "jpg"}[sample.fmt]
    msg.add_attachment(sample.data, maintype="image", subtype=sample.fmt,
                       filename=f"fax-{variant.name}.{suffix}")
    return msg.as_bytes()


async def _send(port: int, raw: bytes) -> None:
    errors, text = await aiosmtplib.send(
        raw, sender=FAX_GATEWAY, recipients=[OFFICE], hostname="127.0.0.1", port=port,
        start_tls=False, timeout=60,
    )
    assert errors == {}, errors
    assert text.startswith("2.0.0"), text


async def _item(ctx: Context) -> dict[str, Any]:
    async with ctx.db.reader() as r:
        row = await r.fetchone(
            "SELECT items.*, item_text.body AS body,"
            " (SELECT number FROM register_entries e WHERE e.item_id = items.id) AS number"
            " FROM items JOIN item_text ON item_text.rowid = items.id"
            " ORDER BY items.id DESC LIMIT 1"
        )
    assert row is not None
    return dict(row)


async def _staff_notices(ctx: Context, item_id: int) -> list[dict[str, Any]]:
    async with ctx.db.reader() as r:
        rows = await r.fetchall(
            "SELECT payload FROM outbox WHERE item_id = ? AND event = 'staff_notice'",
            (item_id,),
        )
    return [json.loads(row["payload"]) for row in rows]


async def test_an_image_fax_of_a_county_request_is_registered_without_staff(
    ctx: Context, daemon: ServedIntake,
) -> None:
    """Standard resolution (204×98 dpi, G3, skewed 1.2°, speckle, a fold): 办件 from
    康定市人民政府 with its 字号 and title, numbered, and nothing asked of staff."""
    await _send(daemon.port, _fax(STANDARD))
    await wait_decided(ctx, timeout=120)
    item = await _item(ctx)
    assert (item["channel"], item["outcome"], item["kind"]) == ("fax", "register", "办件")
    assert item["sender"] == "康定市人民政府"
    assert item["doc_number"] == "康府〔2025〕17号"
    assert item["title"] == COUNTY_REQUEST.title
    assert item["doc_type"] == "请示"
    assert item["number"]  # numbered in the 办件 register
    assert await _staff_notices(ctx, item["id"]) == []
    assert "妥否，请批示。" in item["body"]  # the OCR text is the item's text (search, show)
    codes = [f["code"] for f in json.loads(item["findings"])]
    assert "ocr" in codes
    assert "ocr_illegible" not in codes
    await _search_show_and_registers_see_ocr_text(ctx, item)


async def _search_show_and_registers_see_ocr_text(ctx: Context, item: dict[str, Any]) -> None:
    """Words only the fax image holds are found; `jiyao show` says which attachment's
    text OCR read, page by page with its mean confidence, and where the image is; the
    exported 收文登记簿 marks the item as read by OCR."""
    data_dir = ctx.settings.storage.data_dir
    for word in ("防火隔离带", "扑火"):  # trigram search, and a short word's LIKE
        assert [f.number for f in await lookup.find(ctx, word)] == [item["number"]]
    shown = run_cli("show", item["number"], "--text", data_dir=data_dir, check=True).stdout
    assert "附件 1：fax-standard.tif（image/tiff，文字识别）" in shown
    means = re.findall(r"第 (\d) 页 平均置信度 (\d+)%", shown)
    assert [page for page, _ in means] == ["1", "2"]
    assert all(int(mean) >= 90 for _, mean in means)
    assert "识别存疑" not in shown
    image = Path(re.findall(r"原件：(\S+?)（图像", shown)[0])
    assert image.read_bytes()[:4] in (b"II*\x00", b"MM\x00*")  # the fax TIFF, to open
    assert "正文（文字识别自附件 fax-standard.tif，请对照原件图像核对）：" in shown
    assert "\n妥否，请批示。\n" in shown
    as_json = json.loads(run_cli("show", item["number"], "--json", data_dir=data_dir,
                                 check=True).stdout)
    (part,) = as_json["attachments"]
    assert [p["page"] for p in part["ocr"]] == [1, 2]
    out = data_dir.parent / "register.csv"
    run_cli("export", "--year", "2026", "--format", "csv", "--out", str(out),
            data_dir=data_dir, check=True)
    header, row = list(csv.reader(out.read_text(encoding="utf-8-sig").splitlines()))
    assert row[header.index("文字识别")] == "是"
    assert row[header.index("登记号")] == item["number"]


async def test_a_blurred_fax_goes_to_review_with_its_ocr_text_kept(
    ctx: Context, daemon: ServedIntake,
) -> None:
    """A page blurred past reading: review (无法识读) with the text OCR did read kept
    for staff and search, and the fax image sent with the staff notice."""
    await _send(daemon.port, _fax(BLURRED))
    await wait_decided(ctx, timeout=120)
    item = await _item(ctx)
    assert (item["outcome"], item["reason"], item["rule"]) == ("review", "unreadable",
                                                              "illegible")
    assert item["number"] is None
    assert "康定市人民政府" in item["body"]  # the large 版头 is still read
    codes = [f["code"] for f in json.loads(item["findings"])]
    assert "ocr_illegible" in codes
    notices = await _staff_notices(ctx, item["id"])
    assert notices
    assert all(n["filename"] == "fax-blurred.tif" and n["blob"] for n in notices)


async def test_the_corpus_image_fax_is_decided_by_what_it_says(
    ctx: Context, daemon: ServedIntake,
) -> None:
    """The corpus's one fax without a text layer (d034, labelled 无法识读 for intake
    without OCR, its true kind 办件): read, it is 九龙县's 请示 and registered as 办件."""
    await _send(daemon.port, corpus("d034.eml"))
    await wait_decided(ctx, timeout=120)
    item = await _item(ctx)
    assert (item["outcome"], item["kind"], item["doc_type"]) == ("register", "办件", "请示")
    assert item["sender"] == "九龙县人民政府"
    assert item["doc_number"] == "九府〔2024〕77号"
    assert item["title"] == "九龙县人民政府关于申请解决九龙县抗旱应急资金的请示"
    assert item["number"]


async def test_a_fax_whose_docno_reads_doubtfully_goes_to_staff_to_confirm(
    ctx: Context, daemon: ServedIntake,
) -> None:
    """Pen strokes across the 字号, the rest of the page clean (its first page, a PNG
    scan): OCR reads the 字号 below the threshold, so the item is not registered on it but
    goes to review (识别置信度低：字号) with the text as read and the image for staff to
    confirm against."""
    struck = with_variant(FINE, name="struck", struck_line="康府")
    await _send(daemon.port, _fax(struck, page=fax_file(COUNTY_REQUEST, struck, "png")))
    await wait_decided(ctx, timeout=120)
    item = await _item(ctx)
    assert (item["outcome"], item["reason"], item["rule"]) == ("review", "ocr_doubtful",
                                                              "ocr_doubtful")
    assert item["evidence"].startswith("识别置信度低：字号（置信度 ")
    assert "拟办件" in item["evidence"]
    assert item["number"] is None
    assert item["doc_number"] == "康府〔2025〕17号"  # as read, for staff to confirm
    assert item["sender"] == "康定市人民政府"
    assert "妥否，请批示。" in item["body"]
    findings = {f["code"]: f["detail"] for f in json.loads(item["findings"])}
    assert findings["ocr_doubtful"].startswith("识别置信度低：字号")
    assert "ocr_illegible" not in findings  # the page is legible: only the 字号 is in doubt
    notices = await _staff_notices(ctx, item["id"])
    assert notices
    assert all(n["filename"] == "fax-struck.png" and n["blob"] for n in notices)
    assert any("识别置信度低" in n["text"] for n in notices)


async def test_chat_find_sees_words_only_the_fax_image_holds(
    fake: FakeTelegram, tmp_path: Path, ocr_engine: Engine,
) -> None:
    """/find in chat, through the real bot: a word only the fax image holds (the email
    says 传真 1 份) finds the item OCR read."""
    async with running_bot(bot_settings(tmp_path / "data", fake)) as (bot_ctx, _bot):
        ocr_ctx = await open_context(with_ocr(bot_ctx.settings), clock=bot_ctx.clock)
        try:
            assert get_engine(ocr_ctx.settings.ocr) is ocr_engine
            raw = _fax(FINE, page=fax_file(COUNTY_REQUEST, FINE, "png"))
            got = await receive(ocr_ctx, raw, mail_from=FAX_GATEWAY, rcpt_tos=[OFFICE])
        finally:
            await ocr_ctx.db.close()
        assert (got.outcome, got.kind) == ("register", "办件")
        assert got.number
        since = len(fake.calls)
        fake.inject_command(WENSHU, "/find 防火隔离带")
        answer = await fake.wait_for(
            "sendMessage",
            lambda c: c.chat_id == WENSHU and not str(c.result["text"]).startswith("【"),
            since=since)
        assert got.number in str(answer.result["text"])


@pytest.mark.parametrize(
    ("subject", "headers"),
    [("李明远亲启", {}), (None, {"X_Personal": "亲启"}), ("绝密 传真", {})],
    ids=["personal-subject", "x-personal", "top-secret"],
)
async def test_a_sealed_fax_is_never_read(
    ctx: Context, daemon: ServedIntake, monkeypatch: pytest.MonkeyPatch,
    subject: str | None, headers: dict[str, str],
) -> None:
    """亲启 or 绝密 on the envelope: sealed, and OCR never looks at the image."""
    calls: list[int] = []

    def refuse(data: bytes, *_: object, **__: object) -> None:
        calls.append(len(data))
        raise AssertionError("a sealed fax was read by OCR")

    monkeypatch.setattr(decide_step, "read_image_file", refuse)
    monkeypatch.setattr(decide_step, "read_pdf", refuse)
    await _send(daemon.port, _fax(STANDARD, subject=subject, **headers))
    await wait_decided(ctx, timeout=60)
    item = await _item(ctx)
    assert item["outcome"] == "sealed"
    assert calls == []
    assert item["body"] == ""
    assert item["title"] is None
    async with ctx.db.reader() as r:  # no part kept, so nothing OCR could have read either
        parts = await r.fetchall("SELECT * FROM attachments WHERE item_id = ?", (item["id"],))
    assert parts == []


async def test_the_ocr_step_runs_between_reading_and_checks_within_its_own_limit(
    settings: Settings, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`[pipeline] step_seconds.ocr` bounds the step: an OCR that overruns it fails the
    try (and is tried again, then shunted), naming the step."""
    names = [s.name for s in STEPS]
    assert names.index("read") < names.index("ocr") < names.index("check")

    def slow(*_: object, **__: object) -> None:
        time.sleep(1.0)

    monkeypatch.setattr(decide_step, "read_image_file", slow)
    limited = with_ocr(settings).model_copy(update={"pipeline": settings.pipeline.model_copy(
        update={"step_seconds": {"ocr": 0.2}, "retry_seconds": 60.0})})
    ctx = await open_context(limited, clock=clock)
    try:
        got = await receive(ctx, _fax(STANDARD), mail_from=FAX_GATEWAY, rcpt_tos=[OFFICE])
        item_id = got.item_id
        assert got.outcome == "received"
        async with ctx.db.reader() as r:
            row = await r.fetchone("SELECT last_error FROM items WHERE id = ?", (item_id,))
        assert row is not None
        assert row["last_error"].startswith("步骤 ocr 失败：超过时限 0.2 秒")
    finally:
        await ctx.db.close()
