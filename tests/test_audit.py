"""The audit log: appended with every change; edits and deletions are detected."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from core.model import Kind
from core.services import admin, registry
from core.services.context import Context
from core.storage import row_state
from tests.conftest import run_cli


async def _three(ctx: Context) -> None:
    for kind in (Kind.BAN, Kind.YUE, Kind.BAN):
        await registry.register_paper(ctx, kind=kind, sender="国务院", title="通知")


def _tamper(db: Path, sql: str) -> None:
    with sqlite3.connect(db) as conn:
        conn.execute("DROP TRIGGER audit_no_update")
        conn.execute("DROP TRIGGER audit_no_delete")
        conn.execute(sql)


async def test_intact_chain_verifies(ctx: Context) -> None:
    """An untouched log verifies and holds one entry per change (register, route)."""
    await _three(ctx)
    assert await admin.verify_audit(ctx) == []
    async with ctx.db.reader() as r:
        row = await r.fetchone("SELECT COUNT(*) AS n FROM audit")
    assert row is not None
    assert row["n"] == 6


async def test_append_only_in_sql(ctx: Context) -> None:
    """UPDATE and DELETE on the audit table are refused by the database."""
    await _three(ctx)
    async with ctx.db.unit_of_work() as uow:
        with pytest.raises(sqlite3.IntegrityError):
            await uow.execute("DELETE FROM audit")


@pytest.mark.parametrize(
    ("sql", "words"),
    [
        ("UPDATE audit SET actor = 'someone' WHERE id = 2", "内容被改动"),
        ("DELETE FROM audit WHERE id = 2", "缺失"),
        ("DELETE FROM audit WHERE id = 3", "末尾不符"),
    ],
)
async def test_tampering_detected(ctx: Context, sql: str, words: str) -> None:
    """An edited row, a deleted middle row and a deleted last row are each detected."""
    await _three(ctx)
    await ctx.db.close()
    _tamper(ctx.db.path, sql)
    await ctx.db.open()
    problems = await admin.verify_audit(ctx)
    assert any(words in p for p in problems), problems


def test_cli_audit_verify_fails_on_tamper(tmp_path: Path) -> None:
    """`jiyao audit verify` exits non-zero with a Chinese report after tampering."""
    run_cli("register", "--kind", "办件", "--sender", "国务院", "--title", "t", data_dir=tmp_path,
            check=True)
    assert run_cli("audit", "verify", data_dir=tmp_path).returncode == 0
    _tamper(tmp_path / "jiyao.db", "UPDATE audit SET detail = '{}'")
    r = run_cli("audit", "verify", data_dir=tmp_path)
    assert r.returncode == 1
    assert "审计记录" in r.stdout


async def test_the_state_an_entry_logs_is_the_record_check_compares(ctx: Context) -> None:
    """`state_of` reads one item by itself; what it logs is the state `jiyao check`
    computes from the same item read with others (`records_of`), entries and all."""
    await _three(ctx)
    fixed = await registry.correct(ctx, ref="办2026-0001", kind=Kind.YUE, reason="应为阅件",
                                   actor="文书处理室")
    assert fixed.new_number
    async with ctx.db.reader() as r:
        records = await row_state.records_of(r, ["item:1", "item:2", "item:3"])
        states = {s: await row_state.state_of(r, s) for s in records}
        assert await row_state.state_of(r, "item:99") is None
        assert await row_state.state_of(r, "outbox:1") is None
        logged = await r.fetchone("SELECT state FROM audit WHERE subject = 'item:1'"
                                  " ORDER BY id DESC LIMIT 1")
    assert len(records["item:1"]["entries"]) == 2
    for subject, record in records.items():
        assert states[subject] == row_state._encode_state(row_state.fingerprint(record))
        assert row_state.changed(str(states[subject]), record) == []
    assert logged is not None
    assert logged["state"] == states["item:1"]
