"""Subcommands of `jiyao`; each module exposes `add_parser(subparsers)`.

Every module registers its own subparser and sets `func` to a handler
`handler(args: argparse.Namespace) -> int`. Handlers print Chinese for people and
one JSON document (or one object per line) with `--json`.
"""
