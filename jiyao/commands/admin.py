"""`jiyao init`, `check`, `audit verify`, `backup`, `restore`."""

from __future__ import annotations

import argparse
import sqlite3
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from core.config import anchor_path
from core.errors import InvalidInputError, StorageError
from core.files import MissingFolderError
from core.services import admin
from core.services.context import Context
from core.storage.backup import MANIFEST
from jiyao.commands.common import (
    add_common,
    emit_json,
    os_reason,
    settings_from,
    write_failed,
)
from jiyao.commands.runner import with_context

INCREMENTAL_HELP = (
    "默认为增量校验：先确认上次校验到的那条审计记录仍是当时的哈希，再校验其后新增的审计记录、"
    "新增或改动的收件文件和记录；另外每次轮检一部分旧记录和旧文件"
    f"（各为总数的 1/{admin.SLICE_RUNS}，至少 {admin.SLICE_MIN} 条），"
    f"每天运行一次时约 {admin.SLICE_RUNS} 天轮完一遍。\n"
    "校验点保存在数据库内，改得了数据库的人也改得了它：jiyao serve 每晚在"
    " [schedule] check_time（默认 02:30）运行一次 check --full，发现问题通知登记人员；"
    "不常驻运行时请用 cron 每晚运行 jiyao check --full（见 README“Integrity checks”），"
    "并定期取审计锚点（jiyao audit anchor）另行保存。")


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("init", help="创建或升级数据目录和数据库")
    add_common(p, json_flag=False)
    p.set_defaults(func=cmd_init)

    p = sub.add_parser(
        "check", help="检查数据库和文件库的完整性（默认增量，--full 全部）",
        description=INCREMENTAL_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common(p)
    p.add_argument("--full", action="store_true",
                   help="完整检查：重算全部文件哈希、整条审计链、全部记录状态和数据库结构")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("audit", help="审计日志：校验哈希链，取锚点",
                       description=INCREMENTAL_HELP,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common(p)
    p.add_argument("--full", action="store_true",
                   help="verify：从第 1 条起校验整条哈希链"
                        "（默认只校验上次校验点之后的记录并轮检旧记录）")
    p.add_argument("action", choices=["verify", "anchor"],
                   help="verify：校验哈希链（及锚点）；anchor：输出 N:HASH 并追加到锚点文件")
    p.add_argument("--expect", metavar="N:HASH",
                   help="verify：日志须仍含此前取得的锚点（条数:末条哈希）")
    p.add_argument("--anchor", metavar="FILE",
                   help="verify：对照锚点文件中的每个锚点（默认为配置的 [storage] audit_anchor）")
    p.set_defaults(func=cmd_audit)

    p = sub.add_parser("backup", help="在线备份数据目录（数据库、文件库和校验清单）")
    add_common(p, json_flag=False)
    p.add_argument("out", metavar="OUT",
                   help="新建的备份目录（已有目录时在其中新建 jiyao-backup-<时间>）")
    p.set_defaults(func=cmd_backup)

    p = sub.add_parser("restore", help="从备份恢复到配置的数据目录（先校验清单）")
    add_common(p, json_flag=False)
    p.add_argument("backup", metavar="BACKUP", help="jiyao backup 写出的备份目录")
    p.add_argument("--replace", action="store_true",
                   help="数据目录不是空的也恢复（原目录改名为 <目录>.replaced-<时间> 保留）")
    p.set_defaults(func=cmd_restore)


def cmd_init(args: argparse.Namespace) -> int:
    settings = settings_from(args)

    async def run(ctx: Context) -> int:
        return await ctx.db.schema_version()

    version = with_context(args, run)
    print(f"数据目录已就绪：{settings.storage.data_dir.resolve()}（数据库版本 {version}）")
    return 0


def _report(
    problems: list[str], ok: str, as_json: bool, checked: Sequence[str] = ()
) -> int:
    if as_json:
        emit_json({"ok": not problems, "problems": problems, "checked": list(checked)})
        return 1 if problems else 0
    for line in checked:
        print(line)
    if problems:
        print("发现问题：")
        for p in problems:
            print(f"  - {p}")
    else:
        print(ok)
    return 1 if problems else 0


def cmd_check(args: argparse.Namespace) -> int:
    report = with_context(args, lambda ctx: admin.check_report(ctx, full=args.full))
    return _report(report.problems, "检查通过：数据库、登记簿、文件库和审计日志均完好。",
                   args.json, report.checked)


def cmd_audit(args: argparse.Namespace) -> int:
    if args.action == "anchor":
        if args.expect or args.anchor or args.full:
            raise InvalidInputError("--expect、--anchor 与 --full 只用于 jiyao audit verify")
        return _anchor(args)
    anchor_file = Path(args.anchor) if args.anchor else None
    report = with_context(args, lambda ctx: admin.verify_audit_report(
        ctx, full=args.full, expect=args.expect, anchor_file=anchor_file))
    against = "，与锚点相符" if args.expect or args.anchor else ""
    return _report(report.problems, f"审计日志校验通过：哈希链完整{against}。", args.json,
                   report.checked)


def _anchor(args: argparse.Namespace) -> int:
    path = anchor_path(settings_from(args))
    try:
        taken = with_context(args, admin.take_anchor)
    except OSError as exc:
        raise write_failed(path, exc) from exc
    if args.json:
        emit_json({"anchor": taken.anchor, "count": taken.count, "hash": taken.hash,
                   "file": str(taken.file)})
        return 0
    print(taken.anchor)
    print(f"已追加到审计锚点文件 {taken.file}；请另行抄存（如随日报发送的锚点），"
          f"日后用 jiyao audit verify --expect {taken.anchor} 核对", file=sys.stderr)
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    if not args.out.strip():  # Path("") is the current directory: never meant
        raise InvalidInputError("须指定备份目录，例如 jiyao backup /srv/backup/")
    out = Path(args.out)
    try:
        dest = with_context(args, lambda ctx: admin.backup(ctx, out))
    except MissingFolderError as exc:
        raise StorageError(
            f"无法备份到 {out}：目录 {exc.filename} 不存在（不会自动创建，请先建好该目录）"
        ) from exc
    except OSError as exc:
        where = f"（{exc.filename}：{os_reason(exc)}）" if exc.filename else f"：{os_reason(exc)}"
        raise StorageError(f"无法备份到 {out}{where}") from exc
    except sqlite3.Error as exc:
        raise StorageError(f"无法备份到 {out}：{exc}") from exc
    print(f"已备份到 {dest.path}：{dest.files} 个文件，共 {_size(dest.size)}；"
          f"校验清单 {dest.path / MANIFEST}")
    return 0


def _size(n: int) -> str:
    return f"{n / (1 << 20):.1f} MB" if n >= 1 << 20 else f"{n / 1024:.1f} KB"


def cmd_restore(args: argparse.Namespace) -> int:
    if not args.backup.strip():
        raise InvalidInputError("须指定备份目录，例如 jiyao restore /srv/backup/jiyao-backup-…")
    settings = settings_from(args)
    source = Path(args.backup)
    try:
        r = admin.restore(settings, source, replace=args.replace, now=datetime.now(UTC))
    except OSError as exc:
        where = f"（{exc.filename}：{os_reason(exc)}）" if exc.filename else f"：{os_reason(exc)}"
        raise StorageError(f"无法从 {source} 恢复{where}") from exc
    data_dir = settings.storage.data_dir
    print(f"已从 {source} 恢复 {r.files} 个文件到 {data_dir}（均与校验清单相符）")
    if r.replaced is not None:
        print(f"原数据目录已改名保留为 {r.replaced}")
    print("请运行 jiyao check 检查后再启动服务。")
    return 0
