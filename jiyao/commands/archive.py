"""`jiyao export --register archive --year YEAR --out DIR`: the year's archive hand-over
package (归档, DA/T 22-2015), written by core.services.archive."""

from __future__ import annotations

import argparse
from pathlib import Path


def cmd_archive(args: argparse.Namespace) -> int:
    from core.errors import InvalidInputError
    from core.services import archive
    from jiyao.commands.common import write_failed
    from jiyao.commands.runner import with_context

    if args.format:
        raise InvalidInputError("归档导出写一个目录，不接受 --format")
    out = Path(args.out) if args.out else Path()
    if out.exists() and not out.is_dir():
        raise InvalidInputError(f"--out {out} 不是目录（归档导出写入一个目录）")
    try:
        result = with_context(args, lambda ctx: archive.export_year(
            ctx, args.year, out, replace=args.replace))
    except OSError as exc:
        raise write_failed(out, exc) from exc
    print(f"已导出 {args.year} 年度归档包：{result.root}")
    print(f"共 {result.count} 件、{result.files} 个文件；目录：{archive.CATALOGUE}.xlsx、"
          f"{archive.CATALOGUE}.xml；校验：在该目录中运行 sha256sum -c {archive.MANIFEST}")
    if result.manual:
        print("以下各项须人工处理：")
        for line in result.manual:
            print(f"  {line}")
    return 0
