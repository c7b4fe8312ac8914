"""`jiyao annual-report YEAR --out DIR`: the 政府信息公开工作年度报告 draft (xlsx and DOCX)."""

from __future__ import annotations

import argparse
from pathlib import Path

from core.annual_report import BLANK
from core.files import atomic_file, private_dir


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from jiyao.commands.common import add_common, year_arg

    p = sub.add_parser(
        "annual-report",
        help="生成政府信息公开工作年度报告初稿（xlsx 和 DOCX，条例第四十九、五十条）")
    add_common(p, json_flag=False)
    p.add_argument("year", type=year_arg, metavar="YEAR", help="报告年度，例如 2026")
    p.add_argument("--out", required=True, metavar="DIR",
                   help="输出目录（可新建一层，其上级目录须已存在）")
    p.set_defaults(func=cmd_annual_report)


def cmd_annual_report(args: argparse.Namespace) -> int:
    from core.annual_render import to_docx, to_xlsx
    from core.errors import InvalidInputError
    from core.services import annual
    from jiyao.commands.common import write_failed
    from jiyao.commands.runner import with_context

    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise InvalidInputError(f"--out {out} 不是目录")
    try:
        private_dir(out, parents=False)
    except OSError as exc:
        raise write_failed(out, exc) from exc
    report = with_context(args, lambda ctx: annual.annual_report(ctx, args.year))
    name = f"政府信息公开工作年度报告-{args.year}"
    written = []
    for suffix, data in (("xlsx", to_xlsx(report)), ("docx", to_docx(report))):
        path = out / f"{name}.{suffix}"
        try:
            with atomic_file(path) as fh:
                fh.write(data)
        except OSError as exc:
            raise write_failed(path, exc) from exc
        written.append(path)
    print(f"已生成《{report.title}》初稿：")
    for path in written:
        print(f"  {path}")
    print(f"以下各项登记簿无从统计，已标为“{BLANK}”，请人工填写：")
    for i, text in enumerate(report.blanks, start=1):
        print(f"  {i}. {text}")
    return 0
