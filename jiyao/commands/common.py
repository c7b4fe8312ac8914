"""Helpers shared by subcommands: the --config/--json options, output, the app context."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any
from zoneinfo import ZoneInfo

from core.clock import parse_iso
from core.config import Settings, load_settings


def add_common(parser: argparse.ArgumentParser, *, json_flag: bool = True) -> None:
    """Give a subcommand `--config FILE` (and `--json`)."""
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="配置文件（默认：$JIYAO_CONFIG，否则 ./config.toml，否则示例配置）",
    )
    if json_flag:
        parser.add_argument("--json", action="store_true", help="输出 JSON（供脚本使用）")


def settings_from(args: argparse.Namespace) -> Settings:
    return load_settings(getattr(args, "config", None))


def emit_json(obj: Any) -> None:
    """Print one JSON document on one line, Chinese kept readable."""
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, default=str) + "\n")


def local_time(text: str | None, tz: ZoneInfo) -> str | None:
    """A stored UTC time as staff read it: local, to the minute."""
    return parse_iso(text).astimezone(tz).strftime("%Y-%m-%d %H:%M") if text else text
