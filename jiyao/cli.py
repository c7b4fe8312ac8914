"""The `jiyao` command: parse arguments, dispatch to a subcommand, turn errors into messages.

Staff never see a Python traceback: bad input and known failures print one Chinese line
(exit 2 for input, 1 for the system), and an unexpected error writes its traceback to a
file named in that line.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sqlite3
import sys
import tempfile
import traceback
from collections.abc import Sequence

from core.errors import JiyaoError
from jiyao import logs

#: subcommand modules under jiyao.commands (in the order `--help` lists them) and the
#: subcommands each registers, so a command imports only its own module (fast start-up)
COMMANDS: dict[str, tuple[str, ...]] = {
    "admin": ("init", "check", "audit", "backup", "restore"),
    "registers": ("register", "show", "next-number", "counts", "correct", "errors"),
    "export": ("export",),
    "classify": ("classify",),
    "items": ("items", "queue", "reprocess"),
    "dispatch": ("take", "void", "amend", "dispatches", "copies"),
    "deadlines": (
        "deadline", "review-secrecy", "published", "disclosure", "request", "overdue", "done",
        "stats", "digest", "sweep",
    ),
    "annual": ("annual-report",),
    "handling": ("propose", "assign", "supervise", "slip"),
    "site": ("site",),
    "run": ("serve", "intake", "pipeline", "bot"),
}
COMMAND_MODULES = tuple(COMMANDS)

#: exit codes: bad input (as argparse uses), a failure of the system, interrupted (128+SIGINT)
EXIT_INPUT, EXIT_SYSTEM, EXIT_INTERRUPTED = 2, 1, 130

log = logging.getLogger("jiyao")

#: argparse's own messages (it looks each up through its module-level `_`) in Chinese
ARGPARSE_ZH = {
    "usage: ": "用法：",
    "positional arguments": "参数",
    "options": "选项",
    "show this help message and exit": "显示本帮助并退出",
    "%(prog)s: error: %(message)s\n": "%(prog)s：错误：%(message)s\n",
    "argument %(argument_name)s: %(message)s": "参数 %(argument_name)s：%(message)s",
    "the following arguments are required: %s": "缺少必填参数：%s",
    "unrecognized arguments: %s": "无法识别的参数：%s",
    "invalid choice: %(value)r (choose from %(choices)s)":
        "无效的选项 %(value)r（可选：%(choices)s）",
    "invalid %(type)s value: %(value)r": "无效的值：%(value)r",
    "expected one argument": "须给出一个值",
    "expected at most one argument": "最多给出一个值",
    "expected at least one argument": "至少给出一个值",
    "expected %s argument": "须给出 %s 个值",
    "expected %s arguments": "须给出 %s 个值",
    "ambiguous option: %(option)s could match %(matches)s":
        "选项 %(option)s 有歧义，可能是：%(matches)s",
    "not allowed with argument %s": "不能与参数 %s 同时使用",
    "ignored explicit argument %r": "多余的值 %r",
    "one of the arguments %s is required": "须给出以下参数之一：%s",
    "unexpected option string: %s": "意外的选项：%s",
}

#: SQLite's English reasons, as they reach staff inside a StorageError
SQLITE_ZH = (
    ("database is locked", "数据库正被其他程序占用，等候超时，请稍后再试"),
    ("database disk image is malformed", "数据库文件已损坏，请从备份恢复"),
    ("file is not a database", "文件不是 SQLite 数据库（已损坏或被替换），请从备份恢复"),
    ("unable to open database file", "无法打开数据库文件（路径不存在、是目录或没有权限）"),
    ("attempt to write a readonly database", "数据库只读，没有写入权限"),
    ("database or disk is full", "磁盘已满"),
    ("disk I/O error", "磁盘读写出错"),
)


def _argparse_zh(message: str) -> str:
    return ARGPARSE_ZH.get(message, message)


def _argparse_zh_n(singular: str, plural: str, n: int) -> str:
    return _argparse_zh(singular if n == 1 else plural)


def install_chinese_argparse() -> None:
    """Make argparse's usage, help headings and errors Chinese."""
    # argparse looks these module globals up each time it builds a message
    argparse._ = _argparse_zh  # type: ignore[attr-defined]
    argparse.ngettext = _argparse_zh_n  # type: ignore[attr-defined]


def command_name(argv: Sequence[str]) -> str | None:
    """The command named in `argv`: its first word that is neither an option nor the value
    of a common option given before it (`jiyao --config FILE items`)."""
    from jiyao.commands.common import takes_value

    words = iter(argv)
    for word in words:
        if word == "--":
            return next(words, None)
        if not word.startswith("-"):
            return word
        if takes_value(word):
            next(words, None)
    return None


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser; with `argv` naming a known subcommand, only that module is imported."""
    from jiyao.commands.common import add_global

    install_chinese_argparse()
    parser = argparse.ArgumentParser(
        prog="jiyao",
        description="机要收发系统：收文登记、分类编号、领导推送、发文编号与公开期限提醒",
    )
    add_global(parser)
    sub = parser.add_subparsers(dest="command", metavar="命令", required=True)
    first = command_name(argv or ())
    owners = [m for m, names in COMMANDS.items() if first in names]
    for name in owners or COMMAND_MODULES:
        importlib.import_module(f"jiyao.commands.{name}").add_parser(sub)
    return parser


def parse_args(args_in: Sequence[str]) -> argparse.Namespace:
    """The command line parsed, common options given before the command handed to it."""
    from jiyao.commands.common import apply_global

    parser = build_parser(args_in)
    args = parser.parse_args(args_in)
    refused = apply_global(args)
    if refused:
        parser.error(f"命令 {args.command} 不接受 {refused}")
    return args


def sqlite_zh(exc: sqlite3.Error) -> str:
    text = str(exc)
    for english, chinese in SQLITE_ZH:
        if english in text:
            return chinese
    return f"数据库出错（{text}）"


def staff_message(exc: JiyaoError) -> str:
    """The error's Chinese message, with an English SQLite reason inside it translated."""
    text = str(exc)
    cause = exc.__cause__
    if isinstance(cause, sqlite3.Error) and str(cause) and str(cause) in text:
        text = text.replace(str(cause), sqlite_zh(cause))
    return text


def _unexpected(exc: BaseException) -> str:
    """Keep the traceback for the administrator in a file; staff get one line naming it."""
    try:
        fd, path = tempfile.mkstemp(prefix="jiyao-error-", suffix=".txt")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(f"jiyao {' '.join(sys.argv[1:])}\n\n")
            fh.write("".join(traceback.format_exception(exc)))
    except OSError:
        return f"程序内部出错（{type(exc).__name__}），请联系管理员"
    return f"程序内部出错（{type(exc).__name__}），请联系管理员；详情已写入 {path}"


def _run(args_in: list[str]) -> int:
    args = parse_args(args_in)
    try:
        code: int = args.func(args)
        return code
    except JiyaoError as exc:
        message, code = staff_message(exc), EXIT_INPUT
    except BrokenPipeError:
        # output piped into `head` and the like: stop quietly, as other Unix tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OverflowError:
        # a date or number beyond what Python's dates or SQLite's integers hold
        message, code = "日期或数字超出范围，请检查输入", EXIT_INPUT
    except OSError as exc:
        where = f"{exc.filename}：" if exc.filename else ""
        from jiyao.commands.common import os_reason

        message, code = f"{where}{os_reason(exc)}", EXIT_SYSTEM
    except sqlite3.Error as exc:
        message, code = sqlite_zh(exc), EXIT_SYSTEM
    except Exception as exc:  # the last line of defence against a traceback
        message, code = _unexpected(exc), EXIT_SYSTEM
    print(f"错误：{message}", file=sys.stderr)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    logs.setup()
    args_in = list(sys.argv[1:] if argv is None else argv)
    try:
        return _run(args_in)
    except KeyboardInterrupt:
        print("已中断。", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
