"""The handling flow as staff run it (subprocess): propose, assign, show, done, take
--reply-to, slip; Chinese output and clear refusals."""

from __future__ import annotations

import io
import json
from datetime import date, timedelta
from pathlib import Path

from pypdf import PdfReader

from tests.conftest import run_cli


def ok(*args: str, data_dir: Path) -> str:
    r = run_cli(*args, data_dir=data_dir)
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_flow_from_the_command_line(tmp_path: Path) -> None:
    due = (date.today() + timedelta(days=30)).isoformat()
    ok("register", "--kind", "办件", "--sender", "康定市人民政府",
       "--title", "关于修缮康定城区防洪堤的请示", "--doc-number", "康府〔2026〕8号",
       data_dir=tmp_path)
    number = f"办{date.today().year}-0001"
    shown = ok("show", number, data_dir=tmp_path)
    assert "办理环节：待拟办" in shown
    assert "当前经办：文书处理室" in shown

    out = ok("propose", number, "拟请综合科研究办理", "--leader", "常务副州长", "--to", "综合科",
             "--due", due, data_dir=tmp_path)
    assert "已拟办" in out
    assert "办理环节：待批示" in out
    assert "当前经办：常务副州长" in out

    bad = run_cli("assign", number, "--to", "无此单位", "--due", due, data_dir=tmp_path)
    assert bad.returncode == 2
    assert "既不是本机关的科室" in bad.stderr
    assert "Traceback" not in bad.stderr

    out = ok("assign", number, "--to", "综合科", "--to", "甘孜军分区", "--due", due,
             "--supervise", data_dir=tmp_path)
    assert f"承办单位：综合科（主办），期限 {due}" in out
    assert f"承办单位：甘孜军分区（协办），期限 {due}" in out
    assert "已通知 综合科：聊天" in out
    assert "已通知 甘孜军分区：邮件" in out
    flow = json.loads(ok("show", number, "--json", data_dir=tmp_path))["handling"]
    assert (flow["step"], flow["holder"], flow["supervised"]) == ("承办中", "综合科", True)

    out = ok("done", number, "--result", "已拨付修缮资金", data_dir=tmp_path)
    assert "请拟批复" in out
    assert "--reply-to 1" in out
    shown = ok("show", number, data_dir=tmp_path)
    assert "办理环节：已办结" in shown
    assert "当前经办：文书处理室（待批复）" in shown
    assert "办理结果：已拨付修缮资金" in shown

    out = ok("take", "甘府函", "--title", "关于修缮康定城区防洪堤的批复", "--section", "机要室",
             "--reply-to", number, data_dir=tmp_path)
    reply = out.splitlines()[0].removeprefix("已取号：").split("（")[0]
    assert reply.startswith("甘府函")
    assert f"答复：应批复，已取号 {reply}" in ok("show", number, data_dir=tmp_path)
    again = run_cli("take", "甘府函", "--title", "重复", "--section", "机要室",
                    "--reply-to", number, data_dir=tmp_path)
    assert again.returncode != 0
    assert "已关联答复文号" in again.stderr

    pdf = tmp_path / "slip.pdf"
    assert "已生成公文处理单" in ok("slip", number, "--out", str(pdf), data_dir=tmp_path)
    reader = PdfReader(io.BytesIO(pdf.read_bytes()))
    assert reader.pages[0].mediabox.width == 595.2756  # A4
    text = "".join(p.extract_text() for p in reader.pages).replace("\n", "")
    for want in ("公文处理单", number, "康定市人民政府", "康府〔2026〕8号",
                 "关于修缮康定城区防洪堤的请示", "拟请综合科研究办理", "综合科（主办）",
                 "甘孜军分区（协办）", due, "已拨付修缮资金", reply, "收文日期", "密级",
                 "紧急程度", "领导批示"):
        assert want in text, want
    assert pdf.stat().st_mode & 0o077 == 0


def test_supervise_from_the_command_line(tmp_path: Path) -> None:
    ok("register", "--kind", "办件", "--sender", "康定市人民政府",
       "--title", "关于修缮道路的请示", data_dir=tmp_path)
    number = f"办{date.today().year}-0001"
    out = ok("supervise", number, data_dir=tmp_path)
    assert f"已督办：{number}" in out
    assert "督办：是" in out
    assert json.loads(ok("show", number, "--json", data_dir=tmp_path))["handling"]["supervised"]
    out = ok("supervise", number, "--off", data_dir=tmp_path)
    assert "已取消督办" in out
    assert "督办：是" not in ok("show", number, data_dir=tmp_path)
    ok("register", "--kind", "阅件", "--sender", "康定市人民政府", "--title", "情况通报",
       data_dir=tmp_path)
    bad = run_cli("supervise", f"阅{date.today().year}-0001", data_dir=tmp_path)
    assert bad.returncode != 0
    assert "不是已登记的办件" in bad.stderr
    assert "Traceback" not in bad.stderr
