"""The `jiyao` command: parse arguments, dispatch to a subcommand, turn errors into messages."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from core.errors import JiyaoError

#: subcommand modules under jiyao.commands, in the order `--help` lists them
COMMAND_MODULES = (
    "admin",
    "registers",
    "export",
    "classify",
    "items",
    "dispatch",
    "deadlines",
    "run",
)

log = logging.getLogger("jiyao")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="jiyao",
        description="机要收发系统：收文登记、分类编号、领导推送、发文编号与公开期限提醒",
    )
    sub = parser.add_subparsers(dest="command", metavar="命令", required=True)
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"jiyao.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"jiyao.commands.{name}":
                raise
            continue
        module.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # pypdf warns on every damaged PDF; intake records those as findings already
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
    except JiyaoError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
