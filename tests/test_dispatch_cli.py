"""`jiyao take/void/amend/dispatches/copies` as staff run them, and the 发文登记簿 export."""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime
from pathlib import Path

import openpyxl

from core.books import xlsx
from core.config import Settings
from core.copies import CopiesRequest
from core.services import books
from core.services import dispatch as svc
from core.services.context import open_context
from jiyao.commands.dispatch import export_dispatch, write_dispatch
from tests.conftest import FrozenClock, run_cli
from tests.printed import assert_printed_as_book


def _json_lines(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_take_json_void_and_list(tmp_path: Path) -> None:
    """take --json gives id/code/year/seq/number (and the print count when one was asked
    for); void keeps the number; dispatches lists both."""
    first = run_cli("take", "甘府发", "--title", "关于做好防汛工作的通知", "--date", "2026-03-01",
                    "--disclosure", "主动公开", "--carrier", "政府网站", "--column", "工作计划",
                    "--json", data_dir=tmp_path)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout) == {"id": 1, "code": "甘府发", "year": 2026, "seq": 1,
                                        "number": "甘府发〔2026〕1号", "copies": None}
    second = run_cli("take", "甘府发", "--title", "草稿", "--date", "2026-03-02",
                     data_dir=tmp_path)
    assert second.returncode == 0, second.stderr
    assert "已取号：甘府发〔2026〕2号" in second.stdout
    assert "待补：公开属性" in second.stdout

    void = run_cli("void", "甘府发[2026]第2号", "--reason", "文件撤回", data_dir=tmp_path)
    assert void.returncode == 0, void.stderr
    assert "已作废：甘府发〔2026〕2号（文件撤回）" in void.stdout

    listed = run_cli("dispatches", "--year", "2026", "--json", data_dir=tmp_path)
    assert listed.returncode == 0, listed.stderr
    rows = _json_lines(listed.stdout)
    assert [(r["number"], r["status"]) for r in rows] == [
        ("甘府发〔2026〕1号", "active"), ("甘府发〔2026〕2号", "void")]
    assert rows[0]["catalogue_column"] == "业务工作/工作计划"
    assert rows[1]["void_reason"] == "文件撤回"

    table = run_cli("dispatches", "--year", "2026", data_dir=tmp_path)
    assert table.returncode == 0, table.stderr
    assert "发文字号" in table.stdout
    assert "作废：文件撤回" in table.stdout
    assert "共 2 个文号，作废 1 个" in table.stdout


def test_pending_take_is_listed_and_completed_by_amend(tmp_path: Path) -> None:
    """A take without attributes is listed as 待补 until `jiyao amend` completes it."""
    run_cli("take", "政府会", "--title", "常务会议纪要", "--section", "综合科", "--date",
            "2026-01-02", data_dir=tmp_path, check=True)
    table = run_cli("dispatches", "--year", "2026", data_dir=tmp_path)
    assert "政府会 2026年第1期" in table.stdout
    assert "待补公开属性" in table.stdout
    # the short issue form (as printed on the document) finds the issue
    amend = run_cli("amend", "政府会 第1期", "--section", "综合科", "--disclosure", "依申请公开",
                    "--json", data_dir=tmp_path)
    assert amend.returncode == 0, amend.stderr
    assert json.loads(amend.stdout)["missing"] == []
    listed = _json_lines(run_cli("dispatches", "--year", "2026", "--code", "政府会", "--json",
                                 data_dir=tmp_path).stdout)
    assert listed[0]["disclosure"] == "依申请公开"
    assert listed[0]["short"] == "政府会 第1期"
    gone = run_cli("void", "政府会 第5期", "--reason", "撤回", data_dir=tmp_path)
    assert gone.returncode == 2
    assert "找不到发文字号：政府会 第5期" in gone.stderr


def test_refusals_are_chinese_and_exit_2(tmp_path: Path) -> None:
    """Another owner's code, unknown codes and unknown carriers are refused with exit code 2."""
    other = run_cli("take", "甘府发", "--title", "t", "--section", "综合科", data_dir=tmp_path)
    assert other.returncode == 2
    assert "错误：甘府发 由机要室编号，综合科不能取此字号" in other.stderr
    unknown = run_cli("take", "甘府令", "--title", "t", data_dir=tmp_path)
    assert unknown.returncode == 2
    assert "未知发文代字" in unknown.stderr
    carrier = run_cli("take", "甘府发", "--title", "t", "--disclosure", "主动公开", "--carrier",
                      "报纸", "--column", "法规", data_dir=tmp_path)
    assert carrier.returncode == 2
    assert "未知公开载体 '报纸'，可选：政府网站、政府公报" in carrier.stderr
    date_ = run_cli("take", "甘府发", "--title", "t", "--date", "2026/3/1", data_dir=tmp_path)
    assert date_.returncode == 2
    assert "成文日期格式不对" in date_.stderr
    missing = run_cli("void", "甘府发〔2026〕7号", "--reason", "撤回", data_dir=tmp_path)
    assert missing.returncode == 2
    assert "找不到发文字号" in missing.stderr


def test_copies_json_and_lines(tmp_path: Path) -> None:
    """copies --json gives the total and the calculation; plain output is the lines."""
    r = run_cli("copies", "--list", "州级各部门和各县", "--add-units", "2", "--json",
                data_dir=tmp_path)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["total"] == 164
    assert out["lines"][0].startswith("州级各部门和各县（适用：")
    assert out["lines"][0].endswith("：158 份")
    assert out["lines"][-1] == "合计：164 份"
    multi = run_cli("copies", "--list", "报送省政府", "--list", "省级部门", "--departments",
                    "3", "--json", data_dir=tmp_path)
    assert json.loads(multi.stdout)["total"] == 30
    fax = run_cli("copies", "--list", "州级各部门和各县", "--fax", data_dir=tmp_path)
    assert fax.stdout.splitlines()[-1] == "合计：0 份"
    bad = run_cli("copies", "--list", "全体", data_dir=tmp_path)
    assert bad.returncode == 2
    assert "未知发送名单 '全体'" in bad.stderr
    assert "报送省政府" in bad.stderr


def test_copies_names_the_seeds_lists(tmp_path: Path) -> None:
    """Without --list, `copies` names each list: its count, the documents the seed gives it
    for (四大件 and 政府令 among them) and the assumption its units rest on."""
    r = run_cli("copies", data_dir=tmp_path)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    main = next(x for x in lines if x.strip().startswith("州级各部门和各县："))
    assert "158 份" in main
    assert "四大件" in main
    assert "政府令" in main
    assert any("假定" in x and "58 个受文单位" in x for x in lines)
    assert any(x.strip().startswith("省级部门：每个部门 5 份") for x in lines)
    listed = [json.loads(x) for x in run_cli("copies", "--json", data_dir=tmp_path)
              .stdout.splitlines()]
    assert [x["name"] for x in listed][:1] == ["州级各部门和各县"]
    assert "四大件" in listed[0]["documents"]


def test_take_records_the_print_count(tmp_path: Path) -> None:
    """take --copies: the number, the calculation line by line and the 分发, kept together."""
    r = run_cli("take", "甘府发", "--title", "关于做好防汛工作的通知", "--copies",
                "州级各部门和各县", "--add-units", "2", "--copies", "报送省政府",
                data_dir=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "印数（已随文号记录）：" in r.stdout
    assert "合计：179 份" in r.stdout
    assert "分发：州级各部门和各县 158 份；报送省政府 15 份；增加的受文单位 6 份" in r.stdout
    rows = [json.loads(x) for x in run_cli("dispatches", "--year", "2026", "--json",
                                           data_dir=tmp_path).stdout.splitlines()]
    assert rows[0]["copies"]["total"] == 179
    fax = run_cli("take", "甘府发", "--title", "传真件", "--copies", "州级各部门和各县", "--fax",
                  "--json", data_dir=tmp_path)
    assert json.loads(fax.stdout)["copies"]["total"] == 0
    alone = run_cli("take", "甘府发", "--title", "t", "--add-units", "2", data_dir=tmp_path)
    assert alone.returncode == 2
    assert "须与 --copies" in alone.stderr
    unknown = run_cli("take", "甘府发", "--title", "t", "--copies", "全体", data_dir=tmp_path)
    assert unknown.returncode == 2
    assert "未知发送名单" in unknown.stderr


async def test_dispatch_register_exports_to_xlsx_and_csv(
    settings: Settings, tmp_path: Path
) -> None:
    """The 发文登记簿 as an office prints it: one sheet per 发文代字 with its title line and
    print layout, every number (voided ones included) with 印数 and 分送; CSV flat."""
    ctx = await open_context(settings, clock=FrozenClock(datetime(2026, 5, 6, 2, 0, tzinfo=UTC)))
    try:
        await svc.take(ctx, code="甘府发", title="关于印发某办法的通知",
                       written_on=date(2026, 5, 5), disclosure="主动公开", carrier="政府公报",
                       column="规范性文件",
                       copies=CopiesRequest(["州级各部门和各县", "报送省政府"], add_units=2))
        await svc.take(ctx, code="甘府发", title="撤回的文件")
        await svc.void(ctx, number="甘府发〔2026〕2号", reason="文件撤回")
        await svc.take(ctx, code="政府会", title="常务会议纪要", section="综合科",
                       copies=CopiesRequest(["报送省政府"], fax=True))
        rows = await export_dispatch(ctx, 2026)
        book = await books.outgoing(ctx, 2026)
    finally:
        await ctx.db.close()
    wb = openpyxl.load_workbook(io.BytesIO(xlsx.render(book)))
    assert wb.sheetnames == [c.code for c in settings.dispatch_code]
    for ws in wb:
        assert ws.cell(1, 1).value == f"甘孜藏族自治州人民政府2026年发文登记簿（{ws.title}）"
        assert_printed_as_book(ws)
    table = [list(r) for r in wb["甘府发"].iter_rows(values_only=True)]
    head = table[1]
    assert head == ["发文字号", "成文日期", "标题", "密级", "拟稿科室", "印数", "分送", "公开属性",
                    "公开载体", "取号时间", "取号人", "状态"]
    col = {h: i for i, h in enumerate(head)}
    body = {r[0]: r for r in table[2:]}
    assert set(body) == {"甘府发〔2026〕1号", "甘府发〔2026〕2号"}
    first = body["甘府发〔2026〕1号"]
    assert first[col["成文日期"]] == "2026-05-05"
    assert first[col["公开属性"]] == "主动公开"
    assert first[col["公开载体"]] == "政府公报"
    assert first[col["印数"]] == "179"
    assert first[col["分送"]] == "州级各部门和各县 158 份；报送省政府 15 份；增加的受文单位 6 份"
    assert first[col["状态"]] == "有效"
    assert first[col["取号时间"]] == "2026-05-06 10:00"
    voided = body["甘府发〔2026〕2号"]
    assert voided[col["状态"]] == "作废：文件撤回"
    assert voided[col["印数"]] is None
    minutes = [list(r) for r in wb["政府会"].iter_rows(values_only=True)][2]
    assert minutes[0] == "政府会 第1期"
    assert (minutes[col["印数"]], minutes[col["分送"]]) == ("0（传真）", "报送省政府（传真）")
    assert minutes[col["状态"]] == "待补公开属性、成文日期"
    assert [list(r) for r in wb["甘府函"].iter_rows(values_only=True)][2:] == []

    csv_out = tmp_path / "dispatch-2026.csv"
    write_dispatch(rows, "csv", csv_out)
    text = csv_out.read_text(encoding="utf-8-sig")
    assert text.splitlines()[0].startswith("发文字号,发文代字,年份,序号,标题")
    assert "甘府发〔2026〕2号" in text
