"""The handling flow: `jiyao propose` (拟办), `assign` (交办 to 主办/协办), `supervise`
(督办), `slip` (公文处理单); 办结 is `jiyao done`, the holder shows in `jiyao show`."""

from __future__ import annotations

import argparse
from datetime import date
from typing import TypeAlias

from core import slip as slip_pdf
from core.errors import InvalidInputError
from core.files import atomic_file
from core.services import handling
from jiyao.commands.common import (
    add_common,
    check_year,
    emit_json,
    operator_of,
    output_path,
    write_failed,
)
from jiyao.commands.runner import with_context

Sub: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def due_arg(text: str) -> date:
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInputError(f"办理期限格式不对：{text!r}（应为 YYYY-MM-DD）") from None
    check_year(day, "办理期限", text)
    return day


def add_parser(sub: Sub) -> None:
    p = sub.add_parser("propose", help="拟办：提出拟办意见（呈哪位领导、哪个承办单位、何时办结）")
    add_common(p, changes=True)
    p.add_argument("ref", metavar="NUMBER|ID", help="办件登记号或收件序号")
    p.add_argument("text", metavar="意见", help="拟办意见")
    p.add_argument("--leader", help="呈批领导（默认按分工）")
    p.add_argument("--to", action="append", default=[], metavar="单位",
                   help="拟承办单位（可多次给出，第一个为主办）")
    p.add_argument("--due", help="拟办理期限 YYYY-MM-DD")
    p.set_defaults(func=cmd_propose)

    p = sub.add_parser("assign", help="交办：确定承办单位（第一个主办，其余协办）和办理期限，"
                                      "并通知承办单位")
    add_common(p, changes=True)
    p.add_argument("ref", metavar="NUMBER|ID", help="办件登记号或收件序号")
    p.add_argument("--to", action="append", default=[], metavar="单位",
                   help="承办单位：本机关科室或名录中的机关（可多次给出；省略时用已同意的拟办）")
    p.add_argument("--due", help="办理期限 YYYY-MM-DD（省略时用已同意的拟办）")
    p.add_argument("--supervise", action="store_true", help="督办：催办同时发给秘书长")
    p.set_defaults(func=cmd_assign)

    p = sub.add_parser("supervise", help="督办：此件的催办同时发给秘书长（--off 取消）")
    add_common(p, changes=True)
    p.add_argument("ref", metavar="NUMBER|ID", help="办件登记号或收件序号")
    p.add_argument("--off", action="store_true", help="取消督办")
    p.set_defaults(func=cmd_supervise)

    p = sub.add_parser("slip", help="打印公文处理单（PDF，A4）")
    add_common(p, json_flag=False)
    p.add_argument("ref", metavar="NUMBER|ID", help="办件登记号或收件序号")
    p.add_argument("--out", help="输出文件（默认 公文处理单-<编号>.pdf）")
    p.set_defaults(func=cmd_slip)


def show_lines(view: handling.HandlingView) -> list[str]:
    """The flow part of `jiyao show`."""
    lines = [f"办理环节：{view.step}", f"当前经办：{view.holder_text()}"]
    p = view.proposal
    if p is not None:
        extra = "".join([f"；呈{p.leader}" if p.leader else "",
                         "；承办 " + "、".join(p.units) if p.units else "",
                         f"；期限 {p.due.isoformat()}" if p.due else ""])
        accepted = f"（{view.accepted_by}已同意）" if view.accepted_by else ""
        lines.append(f"拟办意见：{p.text}{extra}{accepted}")
    lines += [f"承办单位：{a.unit}（{a.role}），期限 {a.due}" for a in view.assignments]
    if view.supervised:
        lines.append("督办：是")
    if view.result:
        lines.append(f"办理结果：{view.result}")
    if view.reply_owed:
        lines.append(f"答复：应{view.reply_owed}，" +
                     (f"已取号 {view.reply_number}" if view.reply_number else "尚未取号"))
    return lines


def cmd_propose(args: argparse.Namespace) -> int:
    due = due_arg(args.due) if args.due else None
    view = with_context(args, lambda ctx: handling.propose(
        ctx, ref=args.ref, text=args.text, leader=args.leader, units=args.to, due=due,
        actor=operator_of(args)))
    if args.json:
        emit_json(view.as_json())
        return 0
    print(f"已拟办：{view.number}")
    print("\n".join(show_lines(view)))
    return 0


def cmd_assign(args: argparse.Namespace) -> int:
    due = due_arg(args.due) if args.due else None
    view = with_context(args, lambda ctx: handling.assign(
        ctx, ref=args.ref, units=args.to, due=due,
        supervised=True if args.supervise else None, actor=operator_of(args)))
    if args.json:
        emit_json(view.as_json())
        return 0
    print(f"已交办：{view.number}")
    print("\n".join(show_lines(view)))
    how = {"chat": "聊天", "mail": "邮件", "registry": "未找到联系方式，已请登记人员另行通知"}
    for a in view.assignments:
        print(f"已通知 {a.unit}：{how.get(a.told_how or '', a.told_how or '')}")
    return 0


def cmd_supervise(args: argparse.Namespace) -> int:
    view = with_context(args, lambda ctx: handling.supervise(
        ctx, ref=args.ref, on=not args.off, actor=operator_of(args)))
    if args.json:
        emit_json(view.as_json())
        return 0
    print(f"已{'取消督办' if args.off else '督办'}：{view.number}")
    print("\n".join(show_lines(view)))
    return 0


def cmd_slip(args: argparse.Namespace) -> int:
    data = with_context(args, lambda ctx: handling.slip(ctx, args.ref))
    path = output_path(args.out, f"公文处理单-{data.number}.pdf")
    pdf = slip_pdf.render(data)
    try:
        with atomic_file(path) as f:
            f.write(pdf)
    except OSError as exc:
        raise write_failed(path, exc) from exc
    print(f"已生成公文处理单：{path}")
    return 0
