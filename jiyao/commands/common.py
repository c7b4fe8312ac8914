"""Helpers shared by subcommands: the --config/--json options, output, the app context,
and the checks that turn a clerk's typo into a Chinese message before it reaches core."""

from __future__ import annotations

import argparse
import errno
import json
import os
import pwd
import sys
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any

from core import operator
from core.config import Settings, load_settings
from core.errors import InvalidInputError
from core.files import MissingFolderError
from core.limits import MAX_COUNT, MAX_ID
from core.registers import FIRST_YEAR, LAST_YEAR

#: options every command shares (`--json`: every command that prints data), taken before
#: the command's name as well as after it: name → argparse keywords
COMMON_OPTIONS: dict[str, dict[str, Any]] = {
    "config": {
        "metavar": "FILE",
        "help": "配置文件（默认：$JIYAO_CONFIG，否则 ./config.toml，否则示例配置）",
    },
    "json": {"action": "store_true", "help": "输出 JSON，每个对象一行（供脚本使用）"},
}
#: where the top-level parser keeps an option given before the command's name
_GLOBAL = "global_"


def add_common(
    parser: argparse.ArgumentParser, *, json_flag: bool = True, nested: bool = False,
    changes: bool = False,
) -> None:
    """Give a subcommand `--config FILE` (and `--json`). `nested`: the parser is a group
    (`jiyao request`) or one of its operations; --config is then accepted on either, and
    an operation that was not given one keeps the group's. `changes`: the command changes
    something, so it takes `--operator NAME` (see `operator_of`)."""
    if changes:
        parser.add_argument("--operator", metavar="NAME",
                            help="操作人：配置中 [[staff]] 的名称（默认按本机登录名对应）")
    names = [name for name in COMMON_OPTIONS if json_flag or name != "json"]
    for name in names:
        keywords = dict(COMMON_OPTIONS[name])
        if nested and name == "config":
            keywords["default"] = argparse.SUPPRESS
        parser.add_argument(f"--{name}", **keywords)
    # the innermost parser's set wins: an operation's options include its group's
    parser.set_defaults(common_options=frozenset(names))


def add_global(parser: argparse.ArgumentParser) -> None:
    """The common options on the top-level parser, before any command's name."""
    for name, keywords in COMMON_OPTIONS.items():
        parser.add_argument(
            f"--{name}", dest=_GLOBAL + name, **keywords, default=argparse.SUPPRESS
        )


def apply_global(args: argparse.Namespace) -> str | None:
    """Hand the options given before the command's name to the command (one given after
    it wins). The option the command does not take, if any, else None."""
    for name in COMMON_OPTIONS:
        if not hasattr(args, _GLOBAL + name):
            continue
        value = getattr(args, _GLOBAL + name)
        delattr(args, _GLOBAL + name)
        if name not in getattr(args, "common_options", ()):
            return f"--{name}"
        if getattr(args, name, None) in (None, False):
            setattr(args, name, value)
    return None


def takes_value(option: str) -> bool:
    """Whether a common option (or an abbreviation of one) is followed by its value."""
    return option.startswith("--") and "=" not in option and any(
        f"--{name}".startswith(option) and "action" not in keywords
        for name, keywords in COMMON_OPTIONS.items()
    ) and len(option) > 2


def settings_from(args: argparse.Namespace) -> Settings:
    return load_settings(getattr(args, "config", None))


def operator_of(args: argparse.Namespace) -> str:
    """The actor a change is recorded by (core.operator); warns on stderr when unverified."""
    op = operator.identify(settings_from(args).staff, given=args.operator, os_user=os_login())
    if (warning := op.warning()) is not None:
        print(f"警告：{warning}", file=sys.stderr)
    return op.actor


def os_login() -> str:
    """The login of the process's real user (from the password database, not $USER)."""
    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        return f"uid{os.getuid()}"


def emit_json(obj: Mapping[str, Any]) -> None:
    """Print one JSON object on one line, Chinese kept readable. Every `--json` output is
    such lines, one per record (JSON Lines), never an array."""
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, default=str) + "\n")


def emit_json_lines(rows: Iterable[Mapping[str, Any]]) -> None:
    """A list as one JSON object per line (nothing at all for an empty list)."""
    for row in rows:
        emit_json(row)


# ------------------------------------------------------------ argument types
def integer_arg(text: str) -> int:
    """Any integer, refused in Chinese when it is none."""
    try:
        return int(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"应为整数，收到 {text!r}") from None


def _bounded(lo: int, hi: int, what: str) -> Callable[[str], int]:
    """An argument type: an integer from `lo` to `hi`, refused as `what` otherwise."""

    def parse(text: str) -> int:
        n = integer_arg(text)
        if not lo <= n <= hi:
            raise argparse.ArgumentTypeError(f"{what}，收到 {text!r}")
        return n

    return parse


#: `--year`: a year a register can be for
year_arg = _bounded(FIRST_YEAR, LAST_YEAR, f"年份应在 {FIRST_YEAR}–{LAST_YEAR} 之间")
month_arg = _bounded(1, 12, "月份应为 1–12")
#: a number of units or copies
count_arg = _bounded(0, MAX_COUNT, f"应为 0–{MAX_COUNT} 的整数")
#: a number that must be at least 1 (a limit, a number of departments)
positive_arg = _bounded(1, MAX_COUNT, f"应为 1–{MAX_COUNT} 的整数")
#: a record id (申请编号) that fits the database
id_arg = _bounded(1, MAX_ID, "编号应为正整数")


# ------------------------------------------------------------ value checks
def check_year(day: date | datetime, what: str, text: str) -> None:
    """Refuse a date whose year no register can hold (see FIRST_YEAR, LAST_YEAR)."""
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise InvalidInputError(f"{what}的年份应在 {FIRST_YEAR}–{LAST_YEAR} 之间，收到 {text!r}")


# ------------------------------------------------------------ files
_ERRNO_ZH = {
    errno.ENOENT: "文件或目录不存在",
    errno.EACCES: "没有权限",
    errno.EPERM: "不允许此操作",
    errno.ENOTDIR: "路径中有一段不是目录",
    errno.EISDIR: "这是一个目录",
    errno.EEXIST: "已存在",
    errno.EROFS: "文件系统只读",
    errno.ENOSPC: "磁盘空间不足",
    errno.EDQUOT: "超出磁盘配额",
    errno.EIO: "磁盘读写出错",
    errno.ENAMETOOLONG: "文件名过长",
}


def os_reason(exc: OSError) -> str:
    """Why a file operation failed, in Chinese (the errno, not Python's English text)."""
    if exc.errno in _ERRNO_ZH:
        return _ERRNO_ZH[exc.errno]
    return f"系统错误 {exc.errno}" if exc.errno else "系统错误"


def output_path(out: str | None, default_name: str) -> Path:
    """Where to write a report: `--out` as given, inside it when it is a directory, or the
    default name in the current directory."""
    if not out:
        return Path(default_name)
    path = Path(out)
    return path / default_name if path.is_dir() else path


def write_failed(path: Path, exc: OSError) -> InvalidInputError:
    if isinstance(exc, MissingFolderError):
        return InvalidInputError(
            f"无法写入 {path}：目录 {exc.filename} 不存在（不会自动创建，请先建好该目录）")
    return InvalidInputError(f"无法写入 {path}：{os_reason(exc)}")
