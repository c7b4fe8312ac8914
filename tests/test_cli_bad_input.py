"""Bad input and broken surroundings give staff one Chinese line and a non-zero exit code,
never a Python traceback or an English message."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest

from core.errors import StorageError
from jiyao import cli
from jiyao.commands import registers
from tests.conftest import EXAMPLE, run_cli

#: words of Python's or argparse's English that must never reach staff
ENGLISH = re.compile(r"Traceback|usage:|error:|invalid|Error\b|required|argument")


def jiyao(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, data_dir: Path,
    *args: str,
) -> tuple[int, str, str]:
    """Run `jiyao ARGS --config example` in this process; (exit code, stdout, stderr)."""
    monkeypatch.setenv("JIYAO_STORAGE__DATA_DIR", str(data_dir))
    monkeypatch.delenv("JIYAO_CONFIG", raising=False)
    capsys.readouterr()
    try:
        code = cli.main([*args, "--config", str(EXAMPLE)])
    except SystemExit as exc:  # argparse's own exit on bad arguments
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def assert_refused(result: tuple[int, str, str], *expected: str) -> None:
    code, out, err = result
    assert code != 0, out
    assert "错误：" in err
    assert not ENGLISH.search(err), err
    for text in expected:
        assert text in err, err


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("counts", "--year", "abc"), "应为整数"),
        (("counts", "--year", "0"), "年份应在"),
        (("counts", "--month", "13"), "月份应为 1–12"),
        (("errors", "--year", "20266"), "年份应在"),
        (("export", "--year", "0"), "年份应在"),
        (("dispatches", "--year", "99999999999999999999"), "年份应在"),
        (("register", "--kind", "公函", "--sender", "x", "--title", "t"), "无效的选项 '公函'"),
        (("register", "--sender", "x"), "缺少必填参数"),
        (("items", "--limit", "0"), "--limit"),
        (("copies", "--list", "省级部门", "--add-units", "-5"), "--add-units"),
        (("request", "show", "99999999999999999999"), "编号应为正整数"),
        (("deadline", "add-workdays", "2026-03-01", "99999999"), "工作日数最多"),
        (("deadline", "add-workdays", "2026-03-01", "五"), "应为整数"),
        (("nosuch",), "无效的选项 'nosuch'"),
        (("backup", ""), "须指定备份目录"),
        (("restore", ""), "须指定备份目录"),
        (("request", "add", "--applicant", "张三", "--content", "c", "--channel", "当面",
          "--received", "2026-03-02", "--section", "乱科"), "未知的承办科室"),
    ],
)
def test_bad_arguments_are_refused_in_chinese(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
    args: tuple[str, ...], expected: str,
) -> None:
    """Wrong kinds, impossible years and months, numbers out of range: a Chinese refusal."""
    assert_refused(jiyao(capsys, monkeypatch, tmp_path, *args), expected)


@pytest.mark.parametrize(
    "args",
    [
        ("register", "--kind", "办件", "--sender", "x", "--title", "t",
         "--received", "0001-01-01T00:00+08:00"),
        ("register", "--kind", "办件", "--sender", "x", "--title", "t",
         "--received", "2999-03-01T09:00+08:00"),
        ("take", "甘府发", "--title", "t", "--date", "0001-01-01"),
        ("overdue", "--date", "9999-12-31"),
        ("digest", "--date", "0001-01-01"),
        ("items", "--since", "0001-01-01T00:00+14:00"),
    ],
)
def test_dates_no_register_can_hold_are_refused(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
    args: tuple[str, ...],
) -> None:
    """A year typed as 0001 or 9999 is refused before it opens a register or walks the
    calendar for millennia."""
    assert_refused(jiyao(capsys, monkeypatch, tmp_path, *args), "年份应在")
    code, out, _ = jiyao(capsys, monkeypatch, tmp_path, "items", "--json")
    assert code == 0
    assert out == ""  # nothing was registered


def test_a_received_time_in_the_future_is_refused(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    """A paper item cannot have arrived after now."""
    assert_refused(
        jiyao(capsys, monkeypatch, tmp_path, "register", "--kind", "办件", "--sender", "x",
              "--title", "t", "--received", "2099-01-01T09:00+08:00"),
        "晚于现在",
    )


@pytest.mark.parametrize("command", [("show",), ("done",), ("correct", "--kind", "阅件",
                                                               "--reason", "错")])
@pytest.mark.parametrize("ref", ["99999999999999999999", "²"])
def test_item_numbers_that_cannot_exist_are_refused(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
    command: tuple[str, ...], ref: str,
) -> None:
    """A 收件序号 too long for the database, or a digit that is no number, is a typo."""
    name, *rest = command
    assert_refused(jiyao(capsys, monkeypatch, tmp_path, name, ref, *rest), "无法识别的收件序号")


def test_group_commands_take_config_before_the_operation(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    """`jiyao request --config F list` works like `jiyao request list --config F`."""
    monkeypatch.setenv("JIYAO_STORAGE__DATA_DIR", str(tmp_path))
    assert cli.main(["request", "--config", str(EXAMPLE), "list"]) == 0
    assert "没有依申请公开申请" in capsys.readouterr().out
    assert cli.main(["request", "--config", str(tmp_path / "missing.toml"), "list"]) == 2
    assert "配置文件不存在" in capsys.readouterr().err


def test_a_data_directory_that_is_a_file_is_named(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    """A data_dir that is a file, or lies below one, is reported, not a NotADirectoryError."""
    plain = tmp_path / "plain"
    plain.write_text("x")
    assert_refused(jiyao(capsys, monkeypatch, plain, "counts"), "不是目录")
    assert_refused(jiyao(capsys, monkeypatch, plain / "sub", "init"),
                   "无法创建或打开数据目录", "路径中有一段不是目录")


def test_a_database_directory_is_named(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    """jiyao.db being a directory is reported as such."""
    (tmp_path / "jiyao.db").mkdir()
    assert_refused(jiyao(capsys, monkeypatch, tmp_path, "counts"), "是一个目录")


def _damaged(data_dir: Path) -> Path:
    """A real database whose schema pages are overwritten."""
    data_dir.mkdir()
    db = data_dir / "jiyao.db"
    conn = sqlite3.connect(db)
    conn.executescript("".join(f"CREATE TABLE t{i}(a, b, c);" for i in range(200)))
    conn.close()
    raw = bytearray(db.read_bytes())
    raw[200:4096 * 3] = b"\xde\xad" * ((4096 * 3 - 200) // 2)
    db.write_bytes(bytes(raw))
    return db


@pytest.mark.parametrize("content", ["not-sqlite", "damaged"])
def test_a_foreign_or_damaged_database_ends_with_a_message(tmp_path: Path, content: str) -> None:
    """A file that is not SQLite, or a damaged one, is reported and the process exits
    (a half-opened database used to keep it running for ever)."""
    data = tmp_path / "data"
    if content == "damaged":
        _damaged(data)
    else:
        data.mkdir()
        (data / "jiyao.db").write_text("这不是数据库")
    r = run_cli("counts", data_dir=data)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    assert "从备份恢复" in r.stderr


def test_export_into_a_directory_and_to_an_unwritable_path(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    """--out naming a directory writes the default name inside it; a path below a file is
    refused in Chinese; the format follows the extension unless it contradicts it."""
    data = tmp_path / "data"
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    code, _, _ = jiyao(capsys, monkeypatch, data, "export", "--year", "2026",
                       "--out", str(out_dir))
    assert code == 0
    assert (out_dir / "incoming-2026.xlsx").is_file()
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert_refused(jiyao(capsys, monkeypatch, data, "export", "--year", "2026",
                         "--out", str(blocker / "x.xlsx")), "无法写入")
    code, _, _ = jiyao(capsys, monkeypatch, data, "export", "--year", "2026",
                       "--out", str(tmp_path / "r.csv"))
    assert code == 0
    assert (tmp_path / "r.csv").read_bytes().startswith("\ufeff登记号".encode())
    assert_refused(jiyao(capsys, monkeypatch, data, "export", "--year", "2026", "--format",
                         "xlsx", "--out", str(tmp_path / "r.csv")), "不符")


def test_an_unreadable_file_to_classify_is_named(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    """A file that cannot be read is reported with its name and a Chinese reason."""
    eml = tmp_path / "a.eml"
    eml.write_bytes(b"")

    def refuse(self: Path) -> bytes:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_bytes", refuse)
    assert_refused(jiyao(capsys, monkeypatch, tmp_path, "classify", str(eml)),
                   str(eml), "没有权限")


def test_an_unexpected_error_is_one_line_with_the_details_in_a_file(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    """A bug shows staff one Chinese line naming a file that holds the traceback."""

    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(registers.registry, "next_number", broken)
    code, _, err = jiyao(capsys, monkeypatch, tmp_path, "next-number", "办件")
    assert code == 1
    assert "Traceback" not in err
    m = re.search(r"程序内部出错（RuntimeError），请联系管理员；详情已写入 (\S+)", err)
    assert m is not None, err
    details = Path(m.group(1))
    try:
        assert "RuntimeError: boom" in details.read_text(encoding="utf-8")
    finally:
        details.unlink()


def test_ctrl_c_says_interrupted(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    """Ctrl-C ends with 已中断 and exit code 130, without a traceback."""

    def interrupted(*_: object, **__: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(registers.registry, "next_number", interrupted)
    code, _, err = jiyao(capsys, monkeypatch, tmp_path, "next-number", "办件")
    assert code == 130
    assert err.strip().endswith("已中断。")


def test_sqlite_reasons_reach_staff_in_chinese() -> None:
    """A StorageError carrying SQLite's English reason is shown with a Chinese one."""
    cause = sqlite3.OperationalError("database is locked")
    try:
        raise StorageError(f"数据库写入失败：{cause}") from cause
    except StorageError as exc:
        text = cli.staff_message(exc)
    assert text == "数据库写入失败：数据库正被其他程序占用，等候超时，请稍后再试"
