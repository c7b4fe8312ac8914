"""`jiyao site …` and `jiyao published --file` as staff run them (subprocesses)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from core.site.catalogue import pager
from tests.conftest import run_cli
from tests.data.reading.builders import make_pdf


def test_pager_windows_long_lists() -> None:
    assert pager(1, 1) == [1]
    assert pager(1, 5) == [1, 2, 3, 4, 5]
    assert pager(10, 40) == [1, None, 7, 8, 9, 10, 11, 12, 13, None, 40]
    assert pager(40, 40) == [1, None, 37, 38, 39, 40]


def test_publish_with_file_then_build_check_withdraw(tmp_path: Path) -> None:
    data = tmp_path / "data"
    today = date.today().isoformat()
    pdf = tmp_path / "通知.pdf"
    pdf.write_bytes(make_pdf(["关于做好防汛工作的通知", "现将有关事项通知如下。"]))
    (tmp_path / "x.txt").write_text("not a pdf")
    r = run_cli("take", "甘府发", "--title", "关于做好防汛工作的通知", "--section", "机要室",
                "--date", today, "--disclosure", "主动公开", "--carrier", "政府网站",
                "--column", "规范性文件", "--json", data_dir=data, check=True)
    number = json.loads(r.stdout)["number"]
    run_cli("review-secrecy", number, "--reviewer", "李审", "--result", "通过",
            data_dir=data, check=True)
    bad = run_cli("published", number, "--url", "https://x/1", "--file", str(tmp_path / "x.txt"),
                  data_dir=data)
    assert bad.returncode == 2
    assert "PDF 或 OFD" in bad.stderr
    assert "Traceback" not in bad.stderr
    run_cli("published", number, "--url", "https://x/1", "--file", str(pdf), "--topic", "综合政务",
            data_dir=data, check=True)
    out = tmp_path / "www"
    built = run_cli("site", "build", "--out", str(out), data_dir=data, check=True)
    assert "1 条政府信息" in built.stdout
    assert len(list((out / "files").glob("*.pdf"))) == 1
    ok = run_cli("site", "check", str(out), data_dir=data)
    assert ok.returncode == 0
    assert "站点检查通过" in ok.stdout
    run_cli("site", "withdraw", number, "--reason", "内容已失效", data_dir=data, check=True)
    stale = run_cli("site", "check", str(out), "--json", data_dir=data)
    assert stale.returncode == 1
    found = [json.loads(line) for line in stale.stdout.splitlines()]
    assert {p["path"].split("/")[0] for p in found} == {"doc", "files"}
    again = run_cli("site", "build", "--out", str(out), "--json", data_dir=data, check=True)
    assert json.loads(again.stdout)["items"] == 0
    assert not list((out / "files").glob("*.pdf"))
