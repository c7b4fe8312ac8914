"""`jiyao take`, `void`, `amend`, `dispatches`, `copies`; the 发文登记簿 export."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from core.books import clip, display_width
from core.config import REGISTRY_OWNER
from core.copies import CopiesRequest
from core.errors import InvalidInputError
from core.services import dispatch
from core.services.context import Context
from jiyao.commands.common import (
    add_common,
    count_arg,
    emit_json,
    emit_json_lines,
    operator_of,
    positive_arg,
    settings_from,
    year_arg,
)
from jiyao.commands.export import write_table
from jiyao.commands.runner import with_context

CHOICES = "|".join(dispatch.DISCLOSURE_CHOICES)


def say(text: str = "") -> None:
    """One line of output for staff (the command line prints by design)."""
    sys.stdout.write(text + "\n")


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("take", help="发文取号（只有该字号的编号科室能取）")
    add_common(p, changes=True)
    p.add_argument("code", metavar="CODE", help="发文代字，例如 甘府发、政府会")
    p.add_argument("--title", required=True, help="文件标题")
    _add_section(p, "取号科室")
    p.add_argument("--drafter", help="拟稿科室（默认为取号科室）")
    p.add_argument("--reply-to", metavar="NUMBER|ID",
                   help="此文是对该收件的答复（批复、复函），取号时关联")
    _add_attributes(p)
    p.add_argument("--copies", dest="lists", action="append", metavar="LIST",
                   help="计算印数并随文号记录：发送名单（可重复），见 jiyao copies")
    _add_count_options(p)
    p.set_defaults(func=cmd_take)

    p = sub.add_parser("void", help="作废发文字号（留痕，不再重发）")
    add_common(p, changes=True)
    p.add_argument("number", metavar="NUMBER", help="发文字号，例如 甘府发〔2026〕12号")
    p.add_argument("--reason", required=True, help="作废理由")
    _add_section(p, "操作科室（编号科室或机要室）")
    p.set_defaults(func=cmd_void)

    p = sub.add_parser("amend", help="补录或修改发文的成文日期、公开属性")
    add_common(p, changes=True)
    p.add_argument("number", metavar="NUMBER", help="发文字号")
    _add_section(p, "操作科室（编号科室或机要室）")
    _add_attributes(p)
    p.set_defaults(func=cmd_amend)

    p = sub.add_parser("dispatches", help="发文登记簿（按年、按字号）")
    add_common(p)
    p.add_argument("--year", type=year_arg, help="年份（默认今年）")
    p.add_argument("--code", help="只列此发文代字")
    p.set_defaults(func=cmd_dispatches)

    p = sub.add_parser("copies", help="计算发文印数（逐行列出算式）；不给名单则列出各名单")
    add_common(p)
    p.add_argument("--list", dest="lists", action="append", metavar="NAME",
                   help="发送名单（可重复），见配置 [[distribution]]")
    _add_count_options(p)
    p.set_defaults(func=cmd_copies)


def _add_count_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--departments", type=positive_arg,
                   help="按部门计份的名单所发部门数（如 省级部门）")
    p.add_argument("--add-units", type=count_arg, default=0, help="增加的受文单位数（按比例加印）")
    p.add_argument("--remove-units", type=count_arg, default=0,
                   help="减少的受文单位数（按比例减印）")
    p.add_argument("--extra", type=count_arg, default=0, help="另加份数（存档等）")
    p.add_argument("--fax", action="store_true", help="传真发出（不印纸质文件）")


def _copies_request(args: argparse.Namespace) -> CopiesRequest | None:
    """The print count asked for with a take; count options without a list are an error."""
    if not args.lists:
        given = [flag for flag, value in (
            ("--departments", args.departments), ("--add-units", args.add_units),
            ("--remove-units", args.remove_units), ("--extra", args.extra), ("--fax", args.fax),
        ) if value]
        if given:
            raise InvalidInputError(f"{'、'.join(given)} 须与 --copies 名单 一起使用")
        return None
    return CopiesRequest(list(args.lists), args.departments, args.add_units,
                         args.remove_units, args.extra, args.fax)


def _add_section(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument("--section", default=REGISTRY_OWNER,
                   help=f"{what}（默认 {REGISTRY_OWNER}）")


def _add_attributes(p: argparse.ArgumentParser) -> None:
    p.add_argument("--date", help="成文日期 YYYY-MM-DD（决定文号年份，起算主动公开期限）")
    p.add_argument("--disclosure", metavar=CHOICES, help="公开属性（不填则记为待定，须补录）")
    p.add_argument("--reason", dest="withhold", metavar="R", help="不予公开的理由（见配置）")
    p.add_argument("--carrier", help="公开载体（见配置 [disclosure] carriers）")
    p.add_argument("--column", help="公开栏目：栏目/子栏目，或唯一的子栏目名")
    p.add_argument("--secrecy", metavar="|".join((*dispatch.SECRECY_LEVELS, dispatch.UNCLASSIFIED)),
                   help="密级（涉密文件只能不予公开；非密：解除密级）")


def _written_on(text: str | None) -> Any:
    if not text:
        return None
    return dispatch.parse_date(text)


def _attributes(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "written_on": _written_on(args.date),
        "disclosure": args.disclosure, "reason": args.withhold, "carrier": args.carrier,
        "column": args.column, "secrecy": args.secrecy,
    }


def _missing_note(number: str, missing: Sequence[str]) -> str:
    return f"待补：{'、'.join(missing)}（用 jiyao amend {number} 补录）"


def cmd_take(args: argparse.Namespace) -> int:
    attrs = _attributes(args)
    copies = _copies_request(args)
    actor = operator_of(args)
    taken = with_context(
        args,
        lambda ctx: dispatch.take(
            ctx, code=args.code, title=args.title, section=args.section,
            drafting_section=args.drafter, reply_to=args.reply_to, copies=copies, actor=actor,
            **attrs,
        ),
    )
    if args.json:
        emit_json(taken.as_json())
        return 0
    shown = "" if taken.short == taken.number else f"（文件上印 {taken.short}）"
    say(f"已取号：{taken.number}{shown}")
    if taken.copies is not None:
        say("印数（已随文号记录）：")
        for line in taken.copies.lines:
            say(f"  {line}")
        say(f"分发：{taken.copies.shares_text()}")
    if args.reply_to:
        say(f"已关联为收件 {args.reply_to} 的答复")
    if taken.missing:
        say(_missing_note(taken.number, taken.missing))
    return 0


def cmd_void(args: argparse.Namespace) -> int:
    actor = operator_of(args)
    voided = with_context(
        args,
        lambda ctx: dispatch.void(ctx, number=args.number, reason=args.reason,
                                  section=args.section, actor=actor),
    )
    if args.json:
        emit_json(voided.as_json())
    else:
        say(f"已作废：{voided.number}（{voided.reason}）；此号留档，不再使用。")
    return 0


def cmd_amend(args: argparse.Namespace) -> int:
    attrs = _attributes(args)
    actor = operator_of(args)
    rec = with_context(
        args, lambda ctx: dispatch.amend(ctx, number=args.number, section=args.section,
                                         actor=actor, **attrs)
    )
    if args.json:
        emit_json(rec)
        return 0
    say(f"已更新：{rec['number']}")
    for line in _detail_lines(rec):
        say(f"  {line}")
    if rec["missing"]:
        say(_missing_note(rec["number"], rec["missing"]))
    return 0


def _detail_lines(rec: dict[str, Any]) -> list[str]:
    lines = [f"成文日期：{rec['written_on'] or '未填'}",
             f"公开属性：{rec['disclosure'] or dispatch.PENDING}"]
    if rec["secrecy"]:
        lines.append(f"密级：{rec['secrecy']}")
    if rec["withhold_reason"]:
        lines.append(f"不予公开理由：{rec['withhold_reason']}")
    if rec["carrier"]:
        lines.append(f"公开载体：{rec['carrier']}")
    if rec["catalogue_column"]:
        lines.append(f"公开栏目：{rec['catalogue_column']}")
    return lines


TABLE = [("number", "发文字号"), ("title", "标题"), ("owner", "编号"), ("section", "拟稿"),
         ("written_on", "成文日期"), ("disclosure", "公开属性"), ("state", "状态")]


def _state(rec: dict[str, Any]) -> str:
    if rec["status"] == "void":
        return f"作废：{rec['void_reason']}"
    if rec["missing"]:
        return f"待补{'、'.join(rec['missing'])}"
    return "有效"


def cmd_dispatches(args: argparse.Namespace) -> int:
    rows = with_context(args, lambda ctx: dispatch.dispatches(ctx, year=args.year, code=args.code))
    if args.json:
        emit_json_lines(rows)
        return 0
    if not rows:
        say("（无发文记录）")
        return 0
    cells = [
        {**rec, "title": clip(rec["title"], 24), "section": rec["section"] or "",
         "written_on": rec["written_on"] or "", "disclosure": rec["disclosure"] or dispatch.PENDING,
         "state": _state(rec)}
        for rec in rows
    ]
    for line in _table(cells, TABLE):
        say(line)
    pending = sum(1 for rec in rows if rec["missing"])
    voided = sum(1 for rec in rows if rec["status"] == "void")
    say(f"共 {len(rows)} 个文号，作废 {voided} 个，待补公开属性或成文日期 {pending} 个")
    return 0


def cmd_copies(args: argparse.Namespace) -> int:
    if not args.lists:
        lines = dispatch.distribution_lists(settings_from(args))
        if args.json:
            emit_json_lines([{"name": d.name, "copies": d.copies, "units": d.units,
                              "per_unit": d.per_unit, "documents": d.documents,
                              "basis": d.basis} for d in settings_from(args).distribution])
            return 0
        say("发送名单（种子：发文的份数计算；用 --list 名单 计算印数）：")
        for line in lines:
            say(f"  {line}")
        return 0
    result = dispatch.print_count(
        settings_from(args), args.lists, departments=args.departments,
        add_units=args.add_units, remove_units=args.remove_units, extra=args.extra,
        fax=args.fax,
    )
    if args.json:
        emit_json(result.as_json())
    else:
        for line in result.lines:
            say(line)
    return 0


# ------------------------------------------------------------------ table helpers
def _table(rows: list[dict[str, Any]], headers: Sequence[tuple[str, str]]) -> list[str]:
    widths = [max(display_width(h), *(display_width(str(r[k])) for r in rows)) for k, h in headers]

    def line(values: Sequence[str]) -> str:
        return "  ".join(v + " " * (w - display_width(v))
                         for v, w in zip(values, widths, strict=True))

    out = [line([h for _, h in headers]).rstrip()]
    out += [line([str(r[k]) for k, _ in headers]).rstrip() for r in rows]
    return out


# ------------------------------------------------------------------- 发文登记簿
DISPATCH_HEADERS = [
    ("number", "发文字号"), ("code", "发文代字"), ("year", "年份"), ("seq", "序号"),
    ("title", "标题"), ("owner", "编号科室"), ("section", "拟稿科室"), ("written_on", "成文日期"),
    ("disclosure", "公开属性"), ("withhold_reason", "不予公开理由"), ("carrier", "公开载体"),
    ("catalogue_column", "公开栏目"), ("status", "状态"), ("void_reason", "作废理由"),
    ("taken_at_local", "取号时间"), ("taken_by", "取号人"), ("missing", "待补"),
]


async def export_dispatch(ctx: Context, year: int) -> list[dict[str, Any]]:
    """The rows of the year's 发文登记簿 (for `jiyao export --register dispatch`)."""
    return await dispatch.register_rows(ctx, year=year)


def write_dispatch(rows: list[dict[str, Any]], fmt: str, out: Path) -> None:
    """Write the 发文登记簿 as xlsx or csv with Chinese headers."""
    shown = [
        {**row, "status": dispatch.STATUS_ZH.get(row["status"], row["status"]),
         "disclosure": row["disclosure"] or dispatch.PENDING,
         "missing": "、".join(row["missing"])}
        for row in rows
    ]
    write_table(shown, DISPATCH_HEADERS, fmt, out, sheet="发文登记簿")
