"""The `jiyao` command: parse arguments, dispatch to a subcommand, turn errors into messages."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Sequence

from core.errors import JiyaoError

#: subcommand modules under jiyao.commands (in the order `--help` lists them) and the
#: subcommands each registers, so a command imports only its own module (fast start-up)
COMMANDS: dict[str, tuple[str, ...]] = {
    "admin": ("init", "check", "audit", "backup"),
    "registers": ("register", "show", "next-number", "counts", "correct", "errors"),
    "export": ("export",),
    "classify": ("classify",),
    "items": ("items",),
    "dispatch": ("take", "void", "amend", "dispatches", "copies"),
    "deadlines": (
        "deadline", "review-secrecy", "published", "disclosure", "request", "overdue", "done",
        "stats", "digest", "sweep",
    ),
    "run": ("serve", "intake", "bot"),
}
COMMAND_MODULES = tuple(COMMANDS)

log = logging.getLogger("jiyao")


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser; with `argv` naming a known subcommand, only that module is imported."""
    parser = argparse.ArgumentParser(
        prog="jiyao",
        description="机要收发系统：收文登记、分类编号、领导推送、发文编号与公开期限提醒",
    )
    sub = parser.add_subparsers(dest="command", metavar="命令", required=True)
    first = next((a for a in argv or () if not a.startswith("-")), None)
    owners = [m for m, names in COMMANDS.items() if first in names]
    for name in owners or COMMAND_MODULES:
        importlib.import_module(f"jiyao.commands.{name}").add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # pypdf warns on every damaged PDF; intake records those as findings already
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    args_in = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(args_in)
    args = parser.parse_args(args_in)
    try:
        code: int = args.func(args)
    except JiyaoError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # output piped into `head` and the like: stop quietly, as other Unix tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    return code


if __name__ == "__main__":
    sys.exit(main())
