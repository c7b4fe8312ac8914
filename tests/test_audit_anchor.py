"""The audit chain anchored outside the database it protects (`jiyao audit anchor`,
`audit verify --expect N:HASH` / `--anchor FILE`), and the record state each entry
carries, compared by `jiyao check`. Each attack of issue 16 passes the old checks (shown
first) and is caught by the new one."""

from __future__ import annotations

import asyncio
import re
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from core.config import Settings, Storage, load_settings
from core.errors import ConfigError
from core.services import admin, reminders
from core.services.context import Context
from core.storage import row_state
from core.storage.audit_hash import GENESIS, entry_hash
from tests.conftest import EXAMPLE, run_cli

ANCHOR = re.compile(r"(\d+):([0-9a-f]{64})")


def _env(anchor: Path) -> dict[str, str]:
    return {"JIYAO_STORAGE__AUDIT_ANCHOR": str(anchor)}


def _office(tmp_path: Path) -> tuple[Path, Path]:
    """A data directory with a few audited changes: paper items, a correction, a dispatch."""
    data, anchor = tmp_path / "data", tmp_path / "outside" / "anchor.txt"
    anchor.parent.mkdir()
    for kind, title in (("办件", "关于申请资金的请示"), ("阅件", "情况通报"), ("办件", "第三件")):
        run_cli("register", "--kind", kind, "--sender", "康定市人民政府", "--title", title,
                data_dir=data, check=True)
    run_cli("correct", "办2026-0002", "--kind", "阅件", "--reason", "无办理要求",
            data_dir=data, check=True)
    run_cli("take", "甘府发", "--title", "关于……的通知", "--disclosure", "主动公开",
            "--column", "政策法规/规范性文件", "--carrier", "政府网站", data_dir=data, check=True)
    return data, anchor


def _take_anchor(data: Path, anchor: Path) -> str:
    r = run_cli("audit", "anchor", data_dir=data, env=_env(anchor))
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def _untriggered(db: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    conn.execute("DROP TRIGGER IF EXISTS audit_no_update")
    conn.execute("DROP TRIGGER IF EXISTS audit_no_delete")
    return conn


def _rechain(conn: sqlite3.Connection) -> None:
    """What an attacker who knows the code does: every hash recomputed, the head too."""
    prev = GENESIS
    rows = conn.execute("SELECT * FROM audit ORDER BY id").fetchall()
    for row in rows:
        h = entry_hash(prev, row["at"], row["actor"], row["action"], row["subject"],
                       row["detail"], row["state"])
        conn.execute("UPDATE audit SET prev_hash = ?, hash = ? WHERE id = ?", (prev, h, row["id"]))
        prev = h
    conn.execute("UPDATE meta SET value = ? WHERE key = 'audit_head'", (f"{len(rows)}:{prev}",))


class _Sync:
    """row_state's queries on a plain sqlite3 connection (the attacker's)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[Any]:
        return self.conn.execute(sql, tuple(params)).fetchall()


def test_anchor_prints_n_hash_and_appends_it_outside(tmp_path: Path) -> None:
    data, anchor = _office(tmp_path)
    first = _take_anchor(data, anchor)
    m = ANCHOR.fullmatch(first)
    assert m is not None, first
    with sqlite3.connect(data / "jiyao.db") as conn:
        n, last = conn.execute("SELECT COUNT(*), (SELECT hash FROM audit ORDER BY id DESC"
                               " LIMIT 1) FROM audit").fetchone()
    assert (int(m.group(1)), m.group(2)) == (n, last)
    run_cli("register", "--kind", "阅件", "--sender", "国务院", "--title", "又一件",
            data_dir=data, check=True)
    second = _take_anchor(data, anchor)
    assert second != first
    lines = anchor.read_text().splitlines()
    assert [line.rsplit(" ", 1)[1] for line in lines] == [first, second]
    assert all(re.match(r"\d{4}-\d\d-\d\dT", line) for line in lines)  # with its time
    assert anchor.stat().st_mode & 0o777 == 0o600
    ok = run_cli("audit", "verify", "--expect", first, data_dir=data)
    assert ok.returncode == 0, ok.stdout
    assert "与锚点相符" in ok.stdout
    assert run_cli("audit", "verify", "--anchor", str(anchor), data_dir=data).returncode == 0
    assert run_cli("check", data_dir=data, env=_env(anchor)).returncode == 0


def test_deleting_the_last_rows_and_the_head_is_caught_by_the_anchor(tmp_path: Path) -> None:
    data, anchor = _office(tmp_path)
    taken = _take_anchor(data, anchor)
    with _untriggered(data / "jiyao.db") as conn:
        top = conn.execute("SELECT MAX(id) FROM audit").fetchone()[0]
        conn.execute("DELETE FROM audit WHERE id > ?", (top - 2,))
        n, last = conn.execute("SELECT COUNT(*), (SELECT hash FROM audit ORDER BY id DESC"
                               " LIMIT 1) FROM audit").fetchone()
        conn.execute("UPDATE meta SET value = ? WHERE key = 'audit_head'", (f"{n}:{last}",))
    assert run_cli("audit", "verify", data_dir=data).returncode == 0  # the database alone
    r = run_cli("audit", "verify", "--expect", taken, data_dir=data)
    assert r.returncode == 1
    assert f"审计日志被截断：锚点记录共 {taken.split(':')[0]} 条，现只有 {n} 条" in r.stdout
    r = run_cli("audit", "verify", "--anchor", str(anchor), data_dir=data)
    assert r.returncode == 1
    assert "审计日志被截断：锚点文件第 1 行" in r.stdout
    # with the anchor file configured, `check` holds the log to it by itself
    r = run_cli("check", data_dir=data, env=_env(anchor))
    assert r.returncode == 1
    assert "审计日志被截断" in r.stdout


def test_an_edit_with_every_hash_recomputed_is_caught_by_the_anchor(tmp_path: Path) -> None:
    """The title of an item changed, the states its entries logged rewritten to match,
    every hash and the head recomputed: the database is self-consistent again."""
    data, anchor = _office(tmp_path)
    taken = _take_anchor(data, anchor)
    with _untriggered(data / "jiyao.db") as conn:
        conn.execute("UPDATE items SET title = '另一个标题' WHERE id = 1")
        conn.execute("UPDATE item_text SET title = '另一个标题' WHERE rowid = 1")
        state = asyncio.run(row_state.state_of(_Sync(conn), "item:1"))
        conn.execute("UPDATE audit SET state = ? WHERE subject = 'item:1' AND state IS NOT NULL",
                     (state,))
        _rechain(conn)
    assert run_cli("audit", "verify", data_dir=data).returncode == 0
    assert run_cli("check", data_dir=data).returncode == 0  # consistent without the anchor
    r = run_cli("audit", "verify", "--expect", taken, data_dir=data)
    assert r.returncode == 1
    assert f"审计日志被改写：锚点记录第 {taken.split(':')[0]} 条的哈希为 " in r.stdout
    r = run_cli("check", data_dir=data, env=_env(anchor))
    assert r.returncode == 1
    assert "审计日志被改写：锚点文件第 1 行" in r.stdout


@pytest.mark.parametrize(("sql", "what"), [
    ("UPDATE items SET title = '关于拨付资金的请示' WHERE id = 1", "标题"),
    ("UPDATE items SET sender = '国务院' WHERE id = 1", "来文单位"),
    ("UPDATE items SET kind = '阅件' WHERE id = 1", "类别"),
    ("UPDATE register_entries SET number = '办2026-0009' WHERE item_id = 1", "登记编号记录被改动"),
    ("UPDATE dispatches SET title = '改过的标题' WHERE id = 1", "标题"),
])
def test_a_direct_edit_of_a_record_is_found_by_check(sql: str, what: str, tmp_path: Path) -> None:
    data, _ = _office(tmp_path)
    assert run_cli("check", data_dir=data).returncode == 0
    with sqlite3.connect(data / "jiyao.db") as conn:
        conn.execute(sql)
    assert run_cli("audit", "verify", data_dir=data).returncode == 0  # the chain is intact
    r = run_cli("check", data_dir=data)
    assert r.returncode == 1
    record = "发文 甘府发〔2026〕1号" if "dispatches" in sql else "收件 1"
    line = next((x for x in r.stdout.splitlines() if "未经 jiyao 留痕" in x), "")
    assert record in line, r.stdout
    assert f"（{what}" in line or f"、{what}" in line, r.stdout


def test_bad_anchors_are_refused_in_chinese(tmp_path: Path) -> None:
    data, _ = _office(tmp_path)
    r = run_cli("audit", "verify", "--expect", "12:abc", data_dir=data)
    assert r.returncode != 0
    assert "--expect 应为 N:HASH" in r.stderr
    r = run_cli("audit", "verify", "--anchor", str(tmp_path / "nope.txt"), data_dir=data)
    assert r.returncode == 1
    assert "审计锚点文件不存在" in r.stdout
    r = run_cli("audit", "anchor", data_dir=data,
                env=_env(tmp_path / "missing" / "anchor.txt"))
    assert r.returncode != 0
    assert "不存在" in r.stderr
    assert "Traceback" not in r.stderr


def test_an_anchor_file_inside_the_data_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="不得位于数据目录"):
        load_settings(EXAMPLE, storage={"data_dir": str(tmp_path / "d"),
                                        "audit_anchor": str(tmp_path / "d" / "a.txt")})


async def test_the_daily_digest_carries_the_anchor_and_keeps_it_outside(
    settings: Settings, tmp_path: Path
) -> None:
    anchor = tmp_path / "anchor.txt"
    settings = settings.model_copy(update={"storage": Storage(
        data_dir=settings.storage.data_dir, audit_anchor=anchor)})
    from core.model import Kind
    from core.services import registry
    from core.services.context import open_context

    ctx: Context = await open_context(settings)
    try:
        await registry.register_paper(ctx, kind=Kind.BAN, sender="国务院", title="通知")
        text = await reminders.digest(ctx)
        head = await admin.current_anchor(ctx)  # the digest's own sync may log first
        assert f"审计锚点 {head}" in text
        assert f"jiyao audit verify --expect {head}" in text
        assert await reminders.enqueue_digest(ctx)
        head = await admin.current_anchor(ctx)
        assert anchor.read_text().splitlines()[-1].endswith(f" {head}")
    finally:
        await ctx.db.close()


@pytest.mark.parametrize("value", [
    None, 0, 7, -12, 2**70, True, False, "", "甘孜州财政局", 'quote " and \\ and \n', 1.5,
    float("nan"), {"b": 1, "a": [None, "中"]}, [1, "二"],
])
def test_a_column_fingerprint_is_the_json_it_always_was(value: Any) -> None:
    """States logged before the encoder was built once (and scalars skipped it) still
    match: each column's hash is sha256 of json.dumps(value, ensure_ascii=False,
    sort_keys=True, default=str), cut to 16 hex digits."""
    import hashlib
    import json

    text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    assert row_state._h(value) == hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


@pytest.mark.parametrize("fields", [
    ("0" * 64, "2026-03-02T09:00:00.000000+00:00", "staff", "register", "item:1",
     '{"kind": "办件", "title": "关于\\"测试\\"的请示"}', None),
    ("a" * 64, "t", "文书处理室", "route", "item:2", "{}", '{"title": "0123456789abcdef"}'),
    ("h", "t", 'quote " back \\ nl \n tab \t nul \x00 \u2028', "x", "dispatch:3", "{}", None),
    ("h", "t", "a", "b", "c", None, None),  # a NULL read back from a damaged row
    ("h", 5, "a", "b", "c", "{}", "s"),
])
def test_an_entry_hash_is_the_json_it_always_was(fields: tuple[Any, ...]) -> None:
    """Entries hashed before the fields' JSON was written without the encoder still
    verify: the hash is sha256 of json.dumps([prev, at, actor, action, subject, detail,
    (state)], ensure_ascii=False)."""
    import hashlib
    import json

    listed = list(fields[:6]) + ([fields[6]] if fields[6] is not None else [])
    text = json.dumps(listed, ensure_ascii=False)
    assert entry_hash(*fields) == hashlib.sha256(text.encode("utf-8")).hexdigest()
