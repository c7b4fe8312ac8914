"""Who did it: a CLI change is recorded by its operator (--operator, or the OS login mapped
in the config), never as a bare "staff"; an unmapped login is recorded, marked 未验证."""

from __future__ import annotations

import argparse
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest

from core.config import Staff
from core.errors import InvalidInputError
from core.operator import identify
from jiyao.cli import build_parser
from jiyao.commands.common import os_login
from tests.conftest import EXAMPLE, NO_OCR_ENV, ROOT, run_cli

DESK = [Staff(name="文书处理室", chat_id=1, roles=["registrar"], os_users=["wenshu"]),
        Staff(name="机要室", chat_id=2, roles=["registrar"])]


def test_identify() -> None:
    assert identify(DESK, given="机要室", os_user="root").actor == "机要室"
    assert identify(DESK, given=None, os_user="wenshu").actor == "文书处理室"
    nobody = identify(DESK, given=None, os_user="guest")
    assert not nobody.verified
    assert nobody.actor == "guest（未验证）"
    assert "guest" in (nobody.warning() or "")
    assert identify(DESK, given=None, os_user="wenshu").warning() is None
    with pytest.raises(InvalidInputError, match="不是配置中的工作人员"):
        identify(DESK, given="张三", os_user="wenshu")


def _actors(data: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(data / "jiyao.db") as db:
        return [(r[0], r[1]) for r in db.execute("SELECT actor, action FROM audit ORDER BY id")]


def test_operator_is_recorded_and_shown(tmp_path: Path) -> None:
    r = run_cli("register", "--kind", "办件", "--sender", "康定市人民政府", "--title",
                "关于申请资金的请示", "--received", "2026-03-02T09:00+08:00",
                "--operator", "机要室", data_dir=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "警告" not in r.stderr
    assert ("机要室", "register") in _actors(tmp_path)
    shown = run_cli("show", "办2026-0001", data_dir=tmp_path).stdout
    assert "登记人：机要室" in shown
    assert "机要室登记" in shown
    out = tmp_path / "reg.xlsx"
    assert run_cli("export", "--year", "2026", "--out", str(out), data_dir=tmp_path).returncode == 0
    rows = list(openpyxl.load_workbook(out)["办件"].iter_rows(values_only=True))
    header = next(i for i, row in enumerate(rows) if "签收人" in row)
    assert rows[header + 1][rows[header].index("签收人")] == "机要室"

    # no --operator, and this login is mapped to nobody: recorded by name, unverified, warned
    r = run_cli("correct", "办2026-0001", "--kind", "阅件", "--reason", "无办理要求",
                data_dir=tmp_path)
    assert r.returncode == 0, r.stderr
    unverified = f"{os_login()}（未验证）"
    assert "警告" in r.stderr
    assert unverified in r.stderr
    assert (unverified, "correct") in _actors(tmp_path)
    errors = run_cli("errors", "--year", "2026", data_dir=tmp_path).stdout
    assert unverified in errors
    shown = run_cli("show", "阅2026-0001", data_dir=tmp_path).stdout
    assert f"{unverified}登记" in shown


def test_unknown_operator_is_refused_and_nothing_changes(tmp_path: Path) -> None:
    r = run_cli("register", "--kind", "办件", "--sender", "康定市人民政府", "--title", "t",
                "--operator", "张三", data_dir=tmp_path)
    assert r.returncode != 0
    assert "张三" in r.stderr
    assert "不是配置中的工作人员" in r.stderr
    assert "Traceback" not in r.stderr
    counts = run_cli("counts", "--json", data_dir=tmp_path).stdout
    assert '"办件": 0' in counts


def test_os_login_mapped_in_config(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    text = EXAMPLE.read_text(encoding="utf-8").replace(
        '# os_users = ["wenshu"]', f'os_users = ["{os_login()}"]', 1)
    config.write_text(text, encoding="utf-8")
    env = {**os.environ, "JIYAO_STORAGE__DATA_DIR": str(tmp_path / "data"), **NO_OCR_ENV}
    env.pop("JIYAO_CONFIG", None)
    r = subprocess.run(
        [sys.executable, "-m", "jiyao.cli", "register", "--kind", "阅件", "--sender",
         "康定市人民政府", "--title", "t", "--config", str(config)],
        capture_output=True, text=True, env=env, cwd=ROOT, check=False, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "警告" not in r.stderr
    assert ("文书处理室", "register") in _actors(tmp_path / "data")


#: every command that changes a record (the read-only ones need no operator)
CHANGING = [
    ["register"], ["correct"], ["propose"], ["assign"], ["supervise"], ["done"], ["take"],
    ["void"],
    ["amend"], ["review-secrecy"], ["published"], ["disclosure", "changed"],
    ["request", "add"], ["request", "supplement"], ["request", "completed"],
    ["request", "extend"], ["request", "consult"], ["request", "consulted"],
    ["request", "answer"], ["reprocess"], ["site", "withdraw"],
]


def _subparser(parser: argparse.ArgumentParser, path: list[str]) -> argparse.ArgumentParser:
    for name in path:
        action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = action.choices[name]
    return parser


@pytest.mark.parametrize("path", CHANGING, ids=" ".join)
def test_every_changing_command_takes_operator(path: list[str]) -> None:
    parser = _subparser(build_parser(), path)
    assert any("--operator" in a.option_strings for a in parser._actions)
