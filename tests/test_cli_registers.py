"""The register commands as staff run them: Chinese output, --json for scripts, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl

from tests.conftest import run_cli
from tests.printed import assert_printed_as_book


def test_register_show_counts_export(tmp_path: Path) -> None:
    """A paper item is numbered, shown, counted and exported in number order."""
    assert run_cli("init", data_dir=tmp_path).returncode == 0
    r = run_cli("register", "--kind", "办件", "--sender", "康定市人民政府", "--title",
                "关于申请资金的请示", "--received", "2026-03-01T09:00:00+08:00", "--json",
                data_dir=tmp_path)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == {"id": 1, "kind": "办件", "number": "办2026-0001", "year": 2026}
    r = run_cli("register", "--kind", "抄件", "--sender", "甘孜州交通运输局", "--title", "通知",
                "--received", "2026-03-02T09:00:00+08:00", "--json", data_dir=tmp_path)
    assert json.loads(r.stdout)["number"] is None
    shown = run_cli("show", "办2026-0001", data_dir=tmp_path)
    assert "关于申请资金的请示" in shown.stdout
    assert "登记号：办2026-0001" in shown.stdout
    counts = json.loads(run_cli("counts", "--year", "2026", "--json", data_dir=tmp_path).stdout)
    assert counts["year"] == 2026
    assert counts["month"] is None
    assert counts["counts"]["办件"] == 1
    assert counts["counts"]["抄件"] == 1
    march = json.loads(run_cli("counts", "--year", "2026", "--month", "3", "--json",
                               data_dir=tmp_path).stdout)
    assert march["month"] == 3
    nxt = run_cli("next-number", "办件", "--json", data_dir=tmp_path)
    assert json.loads(nxt.stdout)["number"] == "办2026-0002"
    out = tmp_path / "reg.xlsx"
    assert run_cli("export", "--year", "2026", "--out", str(out), data_dir=tmp_path).returncode == 0
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["办件", "阅件", "抄件", "内刊", "简报", "封存件"]
    ws = wb["办件"]
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][0] == "甘孜藏族自治州人民政府2026年收文登记簿（办件）"
    assert rows[1][0] == "编号"
    assert rows[2][0] == "办2026-0001"
    assert len(rows) == 3
    assert [r[2] for r in list(wb["抄件"].iter_rows(values_only=True))[2:]] == ["甘孜州交通运输局"]
    # printed as an office prints it: landscape A4, one page wide, header on every page
    assert_printed_as_book(ws)
    title_col = rows[1].index("标题")
    letter = ws.cell(row=2, column=title_col + 1).column_letter
    assert ws.column_dimensions[letter].width >= 2 * len("关于申请资金的请示")
    printed = tmp_path / "reg.pdf"  # the format from the extension
    r = run_cli("export", "--year", "2026", "--out", str(printed), data_dir=tmp_path)
    assert r.returncode == 0, r.stderr
    assert printed.read_bytes().startswith(b"%PDF")
    assert printed.stat().st_mode & 0o077 == 0
    (tmp_path / "d").mkdir()
    r = run_cli("export", "--register", "dispatch", "--year", "2026", "--format", "pdf",
                "--out", str(tmp_path / "d"), data_dir=tmp_path)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "d" / "dispatch-2026.pdf").read_bytes().startswith(b"%PDF")
    flat = tmp_path / "reg.csv"  # the flat list for scripts
    r = run_cli("export", "--year", "2026", "--out", str(flat), data_dir=tmp_path)
    assert r.returncode == 0, r.stderr
    assert flat.read_text(encoding="utf-8-sig").splitlines()[1].startswith("办2026-0001,")


def test_correct_and_errors(tmp_path: Path) -> None:
    """A correction is reported by `errors` with the rate."""
    run_cli("register", "--kind", "办件", "--sender", "国务院", "--title", "t", "--received",
            "2026-05-01T09:00:00+08:00", data_dir=tmp_path, check=True)
    r = run_cli("correct", "办2026-0001", "--kind", "阅件", "--reason", "无办理要求",
                data_dir=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "阅2026-0001" in r.stdout
    rep = json.loads(run_cli("errors", "--year", "2026", "--json", data_dir=tmp_path).stdout)
    assert rep["errors"] == 1
    assert rep["registrations"] == 1
    assert rep["corrections"][0]["old_number"] == "办2026-0001"


def test_bad_input_is_a_clear_message(tmp_path: Path) -> None:
    """Bad arguments exit non-zero with a Chinese message and no traceback."""
    for args in (
        ("register", "--kind", "办件", "--sender", "x", "--title", "t", "--received", "yesterday"),
        ("register", "--kind", "办件", "--sender", "x", "--title", "t", "--received",
         "2026-01-01T09:00"),
        ("show", "办2026-9999"),
        ("counts", "--month", "13"),
        ("correct", "abc", "--kind", "阅件", "--reason", "x"),
    ):
        r = run_cli(*args, data_dir=tmp_path)
        assert r.returncode == 2, args
        assert "错误" in r.stderr
        assert "Traceback" not in r.stderr


def test_backup_and_check(tmp_path: Path) -> None:
    """An online backup restores to a working data directory that passes the check."""
    data = tmp_path / "d"
    run_cli("register", "--kind", "阅件", "--sender", "国务院", "--title", "t", data_dir=data,
            check=True)
    dest = tmp_path / "backup"
    assert run_cli("backup", str(dest), data_dir=data).returncode == 0
    restored = tmp_path / "restored"
    assert run_cli("restore", str(dest), data_dir=restored).returncode == 0
    assert run_cli("check", data_dir=restored).returncode == 0
    r = run_cli("counts", "--json", data_dir=restored)
    assert json.loads(r.stdout)["counts"]["阅件"] == 1
    assert run_cli("check", data_dir=data).returncode == 0
