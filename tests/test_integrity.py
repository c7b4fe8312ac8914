"""Incremental `check` and `audit verify`: from the last verified point on, with a rotating
slice of the older entries and blobs, and `--full` for everything (issue 18 item 5)."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from core.config import Settings
from core.model import Kind
from core.services import admin, registry
from core.services.context import Context
from core.services.receive import receive
from core.storage import audit, integrity
from core.storage.audit_hash import GENESIS, entry_hash
from jiyao.nightly import NightlyCheck
from tests.conftest import run_cli
from tests.intake_helpers import OFFICE, corpus, first, with_message_id


async def _register(ctx: Context, n: int) -> None:
    for i in range(n):
        await registry.register_paper(ctx, kind=Kind.BAN if i % 2 else Kind.YUE,
                                      sender="国务院", title=f"通知 {i}")


async def _mail(ctx: Context, tag: str) -> str:
    """Receive a message with a raw blob of its own; its digest."""
    raw = with_message_id(corpus(first(lambda d: d.get("outcome") == "register")["file"]),
                          f"{tag}@integrity.test")
    await receive(ctx, raw, mail_from="sender@example.org", rcpt_tos=[OFFICE], peer="127.0.0.1:1")
    async with ctx.db.reader() as r:
        row = await r.fetchone("SELECT raw_blob FROM items ORDER BY id DESC LIMIT 1")
    assert row is not None
    return str(row["raw_blob"])


async def _sql(ctx: Context, *statements: str) -> None:
    """Edits behind jiyao's back, with the append-only triggers dropped."""
    await ctx.db.close()
    with sqlite3.connect(ctx.db.path) as conn:
        conn.execute("DROP TRIGGER IF EXISTS audit_no_update")
        conn.execute("DROP TRIGGER IF EXISTS audit_no_delete")
        for sql in statements:
            conn.execute(sql)
    await ctx.db.open()


async def _point(ctx: Context) -> integrity.Point:
    async with ctx.db.reader() as r:
        return (await integrity.points(r))[integrity.AUDIT]


def _small_slices(monkeypatch: pytest.MonkeyPatch) -> None:
    """One old entry and one old blob per incremental run (the bound a small office's
    whole history otherwise falls under)."""
    monkeypatch.setattr(admin, "SLICE_MIN", 1)
    monkeypatch.setattr(admin, "SLICE_RUNS", 1000)


async def test_first_check_is_full_and_later_ones_incremental(ctx: Context) -> None:
    await _register(ctx, 3)
    first_run = await admin.check_report(ctx)
    assert first_run.problems == []
    assert any("完整校验审计日志" in line for line in first_run.checked)
    assert "数据库结构与外键检查" in first_run.checked
    point = await _point(ctx)
    assert point.full_at is not None
    assert point.count == point.upto  # 3 registrations, 2 entries each (register, route)
    await _register(ctx, 2)
    later = await admin.check_report(ctx)
    assert later.problems == []
    assert f"增量校验审计日志：第 {point.upto + 1}–{point.upto + 4} 条" in later.checked
    assert "数据库结构与外键检查" not in later.checked
    assert any(line.startswith("上次完整校验审计日志：") for line in later.checked)


async def test_incremental_catches_a_tampered_new_entry(ctx: Context) -> None:
    """(a) An entry appended after the verified point, then edited: found, and found
    again next time (the point does not move over a problem)."""
    await _register(ctx, 3)
    assert await admin.check(ctx) == []
    upto = (await _point(ctx)).upto
    await _register(ctx, 2)
    await _sql(ctx, f"UPDATE audit SET actor = 'someone' WHERE id = {upto + 2}")
    for _ in range(2):
        assert any(f"审计记录 {upto + 2} 内容被改动" in p for p in await admin.check(ctx))
        assert any(f"审计记录 {upto + 2} 内容被改动" in p for p in await admin.verify_audit(ctx))
    assert (await _point(ctx)).upto == upto


async def test_incremental_catches_a_tampered_new_blob(ctx: Context) -> None:
    """(b) A blob stored after the verified point, then overwritten on disk."""
    await _mail(ctx, "one")
    assert await admin.check(ctx) == []
    digest = await _mail(ctx, "two")
    ctx.blobs.path_of(digest).write_bytes(b"forged")
    problems = await admin.check(ctx)
    assert f"文件内容与哈希不符 {digest}" in problems


@pytest.mark.parametrize("rechain", [False, True])
async def test_incremental_catches_the_verified_points_own_entry(
    ctx: Context, rechain: bool
) -> None:
    """(c) The entry the point was recorded at, edited: alone, or with every hash after it
    recomputed (and the head) so the chain is consistent again by itself."""
    await _register(ctx, 3)
    assert await admin.verify_audit(ctx) == []
    point = await _point(ctx)
    await _register(ctx, 1)
    statements = [f"UPDATE audit SET detail = '{{}}' WHERE id = {point.upto}"]
    await _sql(ctx, *statements)
    if rechain:
        await ctx.db.close()
        with sqlite3.connect(ctx.db.path) as conn:
            conn.row_factory = sqlite3.Row
            prev = GENESIS
            rows = conn.execute("SELECT * FROM audit ORDER BY id").fetchall()
            for row in rows:
                h = entry_hash(prev, row["at"], row["actor"], row["action"], row["subject"],
                               row["detail"], row["state"])
                conn.execute("UPDATE audit SET prev_hash = ?, hash = ? WHERE id = ?",
                             (prev, h, row["id"]))
                prev = h
            conn.execute("UPDATE meta SET value = ? WHERE key = 'audit_head'",
                         (f"{len(rows)}:{prev}",))
        await ctx.db.open()
        async with ctx.db.reader() as r:  # consistent from the start by itself
            assert await audit.verify(r) == []
    problems = await admin.verify_audit(ctx)
    assert any(f"审计记录 {point.upto}（上次校验到的一条）被改动" in p for p in problems), problems


async def test_full_finds_old_tampering_the_incremental_skips_until_its_slice(
    ctx: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An old entry edited (its hash left, so the next one's link still holds): the
    incremental run does not read it until the rotating slice gets there; --full does."""
    _small_slices(monkeypatch)
    await _register(ctx, 4)  # 8 entries
    assert await admin.verify_audit(ctx) == []
    await _sql(ctx, "UPDATE audit SET actor = 'someone' WHERE id = 5")
    assert await admin.verify_audit(ctx) == []  # the slice re-verifies entry 1 first
    full = await admin.verify_audit(ctx, full=True)
    assert any("审计记录 5 内容被改动" in p for p in full), full
    runs = 1
    while not any("审计记录 5 内容被改动" in p for p in await admin.verify_audit(ctx)):
        runs += 1
        assert runs <= 8, "the rotating slice never reached entry 5"
    assert runs == 4  # entries 1, 2, 3, 4, then 5 on the fifth incremental run


async def test_rotating_slice_goes_over_every_old_entry_and_starts_over(
    ctx: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    _small_slices(monkeypatch)
    await _register(ctx, 2)  # 4 entries
    assert await admin.verify_audit(ctx) == []
    seen = []
    for _ in range(6):
        report = await admin.verify_audit_report(ctx)
        assert report.problems == []
        seen += [line for line in report.checked if line.startswith("轮检")]
    assert seen == [f"轮检旧审计记录 1 条（第 {i}–{i} 条）" for i in (1, 2, 3, 4, 1, 2)]


async def test_old_blob_is_found_by_full_and_eventually_by_the_slice(
    ctx: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    _small_slices(monkeypatch)
    digests = [await _mail(ctx, f"m{i}") for i in range(3)]
    assert await admin.check(ctx) == []
    ctx.blobs.path_of(digests[2]).write_bytes(b"forged")
    problem = f"文件内容与哈希不符 {digests[2]}"
    assert problem in await admin.check(ctx, full=True)
    runs = 1
    while problem not in await admin.check(ctx):
        runs += 1
        assert runs <= 4, "the rotating slice never reached the blob"
    assert runs == 3  # the items' raw blobs one per run: 1, 2, then 3


async def test_a_record_edited_behind_the_log_is_found_incrementally(ctx: Context) -> None:
    """The record-state comparison covers the records whose rows changed since the last
    check (triggers note them), however old: an old item retitled by direct SQL."""
    await _register(ctx, 3)
    assert await admin.check(ctx) == []
    await _sql(ctx, "UPDATE items SET title = '改过的标题' WHERE id = 1")
    for _ in range(2):  # and again until mended: the record stays noted
        report = await admin.check_report(ctx)
        assert any("收件 1" in p and "标题" in p for p in report.problems), report.problems
        assert any("（其中上次检查后新增或改动的 1 件）" in line for line in report.checked)
    await _sql(ctx, "UPDATE items SET title = '通知 0' WHERE id = 1")
    assert await admin.check(ctx) == []
    async with ctx.db.reader() as r:
        assert await integrity.dirty(r) == []


def test_cli_says_what_it_checked(tmp_path: Path) -> None:
    for title in ("一", "二"):
        run_cli("register", "--kind", "办件", "--sender", "国务院", "--title", title,
                data_dir=tmp_path, check=True)
    r = run_cli("check", data_dir=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "完整校验审计日志：共 4 条" in r.stdout
    run_cli("register", "--kind", "办件", "--sender", "国务院", "--title", "三",
            data_dir=tmp_path, check=True)
    r = run_cli("check", data_dir=tmp_path)
    assert "增量校验审计日志：第 5–6 条" in r.stdout
    assert "轮检旧审计记录 4 条（第 1–4 条）" in r.stdout
    assert "上次完整校验审计日志：" in r.stdout
    assert "检查通过" in r.stdout
    r = run_cli("audit", "verify", "--full", data_dir=tmp_path)
    assert r.returncode == 0
    assert "完整校验审计日志：共 6 条" in r.stdout
    r = run_cli("check", "--full", "--json", data_dir=tmp_path)
    assert '"checked"' in r.stdout
    assert "完整校验文件库" in r.stdout
    r = run_cli("check", "--help", data_dir=tmp_path)
    assert f"1/{admin.SLICE_RUNS}" in r.stdout
    assert "--full" in r.stdout
    r = run_cli("audit", "anchor", "--full", data_dir=tmp_path)
    assert r.returncode != 0


async def test_nightly_full_check_runs_at_check_time_and_tells_registry_staff(
    ctx: Context,
) -> None:
    nightly = NightlyCheck(ctx)
    now = datetime(2026, 3, 2, 17, 0, tzinfo=UTC)  # 01:00 in Asia/Shanghai
    assert nightly.next_run(now) == datetime(2026, 3, 2, 18, 30, tzinfo=UTC)
    assert nightly.next_run(datetime(2026, 3, 2, 18, 30, tzinfo=UTC)) == datetime(
        2026, 3, 3, 18, 30, tzinfo=UTC)
    await _register(ctx, 2)
    await nightly.run_once()
    assert await _notices(ctx) == []
    await _sql(ctx, "UPDATE audit SET actor = 'someone' WHERE id = 1")
    await nightly.run_once()  # a full run: the old entry is read
    await nightly.run_once()  # once a day
    notices = await _notices(ctx)
    assert len(notices) == 1
    assert notices[0]["target"] == "registry"
    assert "夜间完整性检查（jiyao check --full）发现" in notices[0]["text"]
    assert "审计记录 1 内容被改动" in notices[0]["text"]


async def _notices(ctx: Context) -> list[dict[str, str]]:
    async with ctx.db.reader() as r:
        rows = await r.fetchall("SELECT target, text FROM reminders WHERE kind = 'integrity'")
    return [dict(row) for row in rows]


def test_check_time_is_validated(settings: Settings) -> None:
    data = settings.model_dump()
    for good in ("02:30", ""):
        Settings.model_validate({**data, "schedule": {**data["schedule"], "check_time": good}})
    with pytest.raises(ValueError, match="HH:MM"):
        Settings.model_validate({**data, "schedule": {**data["schedule"], "check_time": "2:30"}})


async def test_incremental_looks_at_the_modes_of_the_blobs_it_hashes(
    ctx: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The shards' files are listed by a full run only; an incremental one looks at the
    blobs it re-hashed (new, changed, its slice)."""
    _small_slices(monkeypatch)
    old = [await _mail(ctx, f"m{i}") for i in range(3)]
    assert await admin.check(ctx) == []
    new = await _mail(ctx, "new")
    for digest in (old[2], new):
        ctx.blobs.path_of(digest).chmod(0o644)
    problems = [p for p in await admin.check(ctx) if "权限过宽：文件" in p]
    assert problems == [
        f"权限过宽：文件 {ctx.blobs.path_of(new)} 为 0644，其他用户可访问（应为 0600）"]
    full = [p for p in await admin.check(ctx, full=True) if "权限过宽：文件" in p]
    assert len(full) == 2
