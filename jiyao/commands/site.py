"""`jiyao site`: the 政府信息公开 catalogue as a static web site (build, check, withdraw)."""

from __future__ import annotations

import argparse
from pathlib import Path

from core.services import site
from jiyao.commands.common import add_common, emit_json, emit_json_lines, operator_of
from jiyao.commands.runner import with_context


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("site", help="政府信息公开目录（静态网站）：生成、检查、撤回")
    add_common(p, json_flag=False, nested=True)
    inner = p.add_subparsers(dest="site_cmd", metavar="操作", required=True)

    q = inner.add_parser("build", help="生成（只重写有变化的页面，整体原子替换）")
    add_common(q, nested=True)
    q.add_argument("--out", required=True, metavar="DIR",
                   help="站点目录（为指向版本目录的链接，由本命令创建和替换）")
    q.set_defaults(func=cmd_build)

    q = inner.add_parser("check", help="检查失效链接和不应再公开的页面")
    add_common(q, nested=True)
    q.add_argument("dir", metavar="DIR", help="站点目录")
    q.set_defaults(func=cmd_check)

    q = inner.add_parser("withdraw", help="撤回已公开的文件（下次生成时删除其页面）")
    add_common(q, nested=True, changes=True)
    q.add_argument("number", metavar="NUMBER", help="发文字号")
    q.add_argument("--reason", required=True, help="撤回理由")
    q.set_defaults(func=cmd_withdraw)


def cmd_build(args: argparse.Namespace) -> int:
    r = with_context(args, lambda ctx: site.build(ctx, Path(args.out)))
    if args.json:
        emit_json(r.as_json())
    else:
        print(f"已生成 {args.out}：{r.items} 条政府信息，{r.pages} 个页面；"
              f"本次写入 {r.written} 个文件，沿用 {r.kept} 个，删除 {r.removed} 个")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    problems = with_context(args, lambda ctx: site.check(ctx, Path(args.dir)))
    if args.json:
        emit_json_lines({"path": p.path, "kind": p.kind, "detail": p.detail} for p in problems)
    elif problems:
        for p in problems:
            print(p.text())
        print(f"共 {len(problems)} 个问题")
    else:
        print("站点检查通过：没有失效链接，没有不应公开的页面")
    return 1 if problems else 0


def cmd_withdraw(args: argparse.Namespace) -> int:
    actor = operator_of(args)
    number = with_context(args, lambda ctx: site.withdraw(ctx, number=args.number,
                                                          reason=args.reason, actor=actor))
    if args.json:
        emit_json({"number": number, "withdrawn": True})
    else:
        print(f"已撤回 {number}：下次生成站点时删除其页面和原文")
    return 0
