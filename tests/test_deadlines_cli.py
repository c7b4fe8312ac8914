"""The deadline commands as staff run them (subprocess): Chinese output, --json, clear refusals."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
from PIL import Image

from core.calendar import WorkCalendar
from tests.conftest import run_cli


def _json(*args: str, data_dir: Path) -> object:
    r = run_cli(*args, "--json", data_dir=data_dir)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_add_workdays(tmp_path: Path) -> None:
    """Across 春节 2026; into 2027 marked 暂定 (unless the package knows 2027); N < 1 refused."""
    r = run_cli("deadline", "add-workdays", "2026-02-13", "2", data_dir=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "2026-02-24" in r.stdout
    assert "暂定" not in r.stdout
    unknown = not WorkCalendar.from_config().knows(2027)
    out = _json("deadline", "add-workdays", "2026-12-25", "10", data_dir=tmp_path)
    assert isinstance(out, dict)
    assert out == {"start": "2026-12-25", "n": 10,
                   "date": "2027-01-11" if unknown else out["date"], "provisional": unknown}
    bad = run_cli("deadline", "add-workdays", "2026-02-13", "0", data_dir=tmp_path)
    assert bad.returncode == 2
    assert bad.stderr.startswith("错误：")


def test_request_lifecycle(tmp_path: Path) -> None:
    """add → supplement → completed (clock restarts) → answer; a second 补正 is refused."""
    v = _json("request", "add", "--applicant", "张三", "--content", "2025年预算执行情况",
              "--received", "2026-03-02", "--channel", "挂号信", data_dir=tmp_path)
    assert isinstance(v, dict)
    assert (v["id"], v["receipt_on"], v["due"], v["state"]) == (
        1, "2026-03-02", "2026-03-30", "running",
    )
    v = _json("request", "supplement", "1", "--date", "2026-03-06", data_dir=tmp_path)
    assert isinstance(v, dict)
    assert (v["state"], v["due"]) == ("supplement", None)
    v = _json("request", "completed", "1", "--date", "2026-03-20", data_dir=tmp_path)
    assert isinstance(v, dict)
    assert (v["state"], v["due"]) == ("running", "2026-04-20")
    again = run_cli("request", "supplement", "1", "--date", "2026-03-23", data_dir=tmp_path)
    assert again.returncode == 2
    assert "一次性" in again.stderr
    shown = run_cli("request", "show", "1", data_dir=tmp_path)
    assert "答复期限：2026-04-20" in shown.stdout
    assert "2026-03-06 告知补正" in shown.stdout
    v = _json("request", "answer", "1", "--type", "予以公开", "--date", "2026-04-15",
              data_dir=tmp_path)
    assert isinstance(v, dict)
    assert (v["state"], v["on_time"], v["reply_type"]) == ("answered", True, "予以公开")


def test_publish_needs_review_then_overdue_and_stats(tmp_path: Path) -> None:
    """published is refused before a 保密审查; late records show in overdue and stats files."""
    take = ("take", "甘府发", "--section", "机要室", "--drafter", "综合科", "--date",
            "2026-03-02", "--disclosure", "主动公开", "--carrier", "政府网站", "--column",
            "规范性文件")
    first = _json(*take, "--title", "关于甲的通知", data_dir=tmp_path)
    _json(*take, "--title", "关于乙的通知", data_dir=tmp_path)
    assert isinstance(first, dict)
    number = first["number"]
    refused = run_cli("published", number, "--url", "https://www.gzz.gov.cn/1",
                      "--date", "2026-03-20", data_dir=tmp_path)
    assert refused.returncode == 2
    assert "尚未进行保密审查" in refused.stderr
    ok = run_cli("review-secrecy", number, "--reviewer", "李审", "--result", "通过",
                 "--date", "2026-03-19", data_dir=tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert "结果：通过" in ok.stdout
    pub = _json("published", "甘府发（2026）1号", "--url", "https://www.gzz.gov.cn/1",
                "--date", "2026-03-20", data_dir=tmp_path)
    assert isinstance(pub, dict)
    assert (pub["status"], pub["on_time"], pub["due"]) == ("published", True, "2026-03-30")

    overdue = _json("overdue", "--date", "2026-04-01", data_dir=tmp_path)
    assert isinstance(overdue, dict)
    assert overdue["counts"] == {"办件": 0, "主动公开": 1, "依申请公开": 0}
    assert overdue["by_owner"] == {"综合科": ["甘府发〔2026〕2号"]}

    r = run_cli("stats", "--period", "2026-Q1", "--format", "json", data_dir=tmp_path)
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    row = next(s for s in report["sections"] if s["section"] == "综合科")
    assert (row["provided"], row["published"], row["on_time"], row["overdue"]) == (2, 1, 1, 1)
    xlsx = tmp_path / "q1.xlsx"
    assert run_cli("stats", "--period", "2026-Q1", "--format", "xlsx", "--out", str(xlsx),
                   data_dir=tmp_path).returncode == 0
    sheet = openpyxl.load_workbook(xlsx).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert ("综合科", 2, 1, 1, 1, 1) in rows
    png = tmp_path / "q1.png"
    assert run_cli("stats", "--period", "2026-Q1", "--format", "png", "--out", str(png),
                   data_dir=tmp_path).returncode == 0
    assert Image.open(png).format == "PNG"


def test_digest_and_sweep(tmp_path: Path) -> None:
    """digest prints the daily summary; sweep reports what it queued."""
    r = run_cli("digest", "--date", "2026-03-02", data_dir=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("【机要日报】2026年3月2日（星期一）")
    out = _json("sweep", data_dir=tmp_path)
    assert out == {"sent": 0, "late": 0, "messages": 0}
