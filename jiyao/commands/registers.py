"""`jiyao register`, `show`, `next-number`, `counts`, `correct`, `errors`, `export`."""

from __future__ import annotations

import argparse
from datetime import date, datetime, tzinfo
from pathlib import Path
from typing import Any

from core.errors import InvalidInputError
from core.localtime import stored_day, stored_minute
from core.model import CHANNEL_ZH, OUTCOME_ZH, REASON_ZH, Kind
from core.services import handling, registry
from core.services.context import Context
from jiyao.commands.common import (
    add_common,
    emit_json,
    month_arg,
    operator_of,
    settings_from,
    year_arg,
)
from jiyao.commands.export import write_table
from jiyao.commands.handling import show_lines
from jiyao.commands.runner import with_context

KIND_CHOICES = [k.value for k in Kind]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("register", help="登记纸质收件（与电子收件同一编号）")
    add_common(p, changes=True)
    p.add_argument("--kind", required=True, choices=KIND_CHOICES, help="类别")
    p.add_argument("--sender", required=True, help="来文单位")
    p.add_argument("--title", required=True, help="标题")
    p.add_argument("--doc-number",
                   help="发文字号（[ ]、【】、（）和空格按收文同样规整为 〔年份〕 形式）")
    p.add_argument("--received", help="收文时间 ISO 8601（默认现在），如 2026-03-01T09:00+08:00")
    p.add_argument("--secrecy", choices=list(registry.PAPER_SECRECY),
                   help="密级（秘密、机密只推送封面信息；绝密封存，不编号、不记标题）")
    p.add_argument("--urgency", choices=list(registry.PAPER_URGENCY), help="紧急程度")
    p.add_argument("--envelope-no", help="信封编号（已签收过的编号不能重复登记）")
    p.add_argument("--due", help="办理期限 YYYY-MM-DD")
    p.set_defaults(func=cmd_register)

    p = sub.add_parser("show", help="查看收件（按登记号或收件序号）")
    add_common(p)
    p.add_argument("ref", metavar="NUMBER|ID")
    p.add_argument("--text", action="store_true",
                   help="同时显示正文（文字识别读出的标明来源和置信度）")
    p.set_defaults(func=cmd_show)

    p = sub.add_parser("next-number", help="查看下一个登记号（不占号）")
    add_common(p)
    p.add_argument("kind", choices=["办件", "阅件"])
    p.set_defaults(func=cmd_next)

    p = sub.add_parser("counts", help="按类别统计收件")
    add_common(p)
    p.add_argument("--year", type=year_arg)
    p.add_argument("--month", type=month_arg)
    p.set_defaults(func=cmd_counts)

    p = sub.add_parser("correct", help="更正类别（错号作废并留痕，计入错情率）")
    add_common(p, changes=True)
    p.add_argument("ref", metavar="NUMBER")
    p.add_argument("--kind", required=True, choices=KIND_CHOICES)
    p.add_argument("--reason", required=True)
    p.set_defaults(func=cmd_correct)

    p = sub.add_parser("errors", help="更正记录与年错情率")
    add_common(p)
    p.add_argument("--year", type=year_arg)
    p.set_defaults(func=cmd_errors)


def _received(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInputError(
            f"收文时间格式不对：{text!r}（例如 2026-03-01T09:00+08:00）"
        ) from None
    if dt.tzinfo is None:
        raise InvalidInputError("收文时间须带时区（例如 2026-03-01T09:00+08:00）")
    return dt


def _due(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInputError(f"办理期限格式不对：{text!r}（例如 2026-03-15）") from None


def cmd_register(args: argparse.Namespace) -> int:
    received = _received(args.received)
    due = _due(args.due)
    actor = operator_of(args)
    result = with_context(
        args,
        lambda ctx: registry.register_paper(
            ctx, kind=Kind(args.kind), sender=args.sender, title=args.title,
            doc_number=args.doc_number, received=received, secrecy=args.secrecy,
            urgency=args.urgency, envelope_no=args.envelope_no, due=due, actor=actor,
        ),
    )
    if args.json:
        emit_json(result.as_json())
    elif result.sealed:
        print(f"已登记：绝密件封存（不编号、不推送，收件序号 {result.id}）")
    elif result.number:
        print(f"已登记：{result.kind} {result.number}（收件序号 {result.id}）")
    else:
        print(f"已登记：{result.kind}（不编号，收件序号 {result.id}）")
    if not args.json:
        for warning in result.warnings:
            print(f"注意：{warning}")
    return 0


FIELD_ZH = {
    "id": "收件序号", "number": "登记号", "kind": "类别", "outcome": "结果", "reason": "原因",
    "received_at": "收文时间", "channel": "渠道", "sender": "来文单位", "doc_number": "文号",
    "doc_type": "文种", "title": "标题", "secrecy": "密级", "urgency": "紧急程度",
    "copy_no": "份号", "signer": "签发人", "addressees": "主送", "cc": "抄送",
    "written_on": "成文日期", "attachment_note": "附件说明",
    "envelope_no": "信封编号", "rule": "分类规则", "evidence": "依据", "deadline": "办理期限",
    "created_by": "登记人",
}
#: the actors that are programs, as staff read them (people are shown by name)
SYSTEM_ACTOR_ZH = {"intake": "收文系统", "pipeline": "收文系统", "staff": "工作人员（未记名）"}


def actor_zh(actor: str | None) -> str | None:
    return SYSTEM_ACTOR_ZH.get(actor or "", actor)


def cmd_show(args: argparse.Namespace) -> int:
    tz = settings_from(args).tz
    async def both(ctx: Context) -> tuple[dict[str, Any], handling.HandlingView | None]:
        return (await registry.show(ctx, args.ref, text=args.text),
                await handling.status(ctx, args.ref))

    item, flow = with_context(args, both)
    if args.json:
        emit_json({**item, "handling": flow.as_json() if flow else None})
        return 0
    shown = {
        **item,
        "outcome": OUTCOME_ZH.get(item["outcome"], item["outcome"]),
        "reason": REASON_ZH.get(item["reason"] or "", item["reason"]),
        "channel": CHANNEL_ZH.get(item["channel"], item["channel"]),
        "received_at": stored_minute(item["received_at"], tz),
        "created_by": actor_zh(item["created_by"]),
    }
    for key, label in FIELD_ZH.items():
        if shown.get(key) not in (None, ""):
            print(f"{label}：{shown[key]}")
    for e in item["entries"]:
        status = {"active": "有效", "void": "作废", "converted": "转办件"}[e["status"]]
        note = f"（{e['note']}）" if e["note"] else ""
        by = actor_zh(e["registered_by"] or item["created_by"])
        print(f"登记簿：{e['number']} {status}{note}，{stored_minute(e['registered_at'], tz)}"
              f" {by}登记")
    for n, part in enumerate(item["attachments"], 1):
        print("\n".join(part_lines(n, part)))
    if flow is not None:
        print("\n".join(show_lines(flow)))
    if args.text:
        read = [p["filename"] or "（无文件名）" for p in item["attachments"] if p["ocr"]]
        source = f"（文字识别自附件 {'、'.join(read)}，请对照原件图像核对）" if read else ""
        print(f"正文{source}：")
        print(item["text"] or "（无）")
    return 0


#: what an attachment's status says to staff
_PART_STATUS = {"ok": "可识读", "image": "图像，无文字", "damaged": "无法打开",
                "unsupported": "格式不支持"}


def part_lines(n: int, part: dict[str, Any]) -> list[str]:
    """An attachment in `jiyao show`: its name, where its text came from (OCR: each
    page's mean confidence and what was read in doubt) and where the stored file is."""
    name = part["filename"] or "（无文件名）"
    pages = part["ocr"]
    source = "文字识别" if pages else _PART_STATUS.get(part["status"], part["status"])
    lines = [f"附件 {n}：{name}（{part['content_type'] or '未知类型'}，{source}）"]
    if pages:
        lines.append("  文字识别：" + "；".join(
            f"第 {p['page']} 页 平均置信度 {p['confidence']:.0%}" for p in pages))
        doubtful = [f"第 {p['page']} 页“{text}”（{sure:.0%}）"
                    for p in pages for text, sure in p["doubtful"]]
        if doubtful:
            lines.append("  识别存疑：" + "；".join(doubtful))
    lines.append(f"  原件：{part['path']}" + ("（图像，可用看图软件打开，与识别文字对照）"
                                              if pages else ""))
    return lines


def cmd_next(args: argparse.Namespace) -> int:
    number = with_context(args, lambda ctx: registry.next_number(ctx, Kind(args.kind)))
    if args.json:
        emit_json({"kind": args.kind, "number": number})
    else:
        print(f"下一个{args.kind}编号：{number}")
    return 0


def cmd_counts(args: argparse.Namespace) -> int:
    c = with_context(args, lambda ctx: registry.counts(ctx, year=args.year, month=args.month))
    if args.json:
        emit_json(c.as_json())
        return 0
    period = f"{c.year}年" + (f"{c.month}月" if c.month else "")
    print(f"{period}收件统计")
    for kind, n in c.by_kind.items():
        print(f"  {kind}：{n}")
    from core.model import OUTCOME_ZH

    others = {k: v for k, v in c.by_outcome.items() if k != "register" and v}
    for outcome, n in others.items():
        print(f"  {OUTCOME_ZH[outcome]}：{n}")
    return 0


def cmd_correct(args: argparse.Namespace) -> int:
    actor = operator_of(args)
    r = with_context(
        args,
        lambda ctx: registry.correct(
            ctx, ref=args.ref, kind=Kind(args.kind), reason=args.reason,
            actor=actor,
        ),
    )
    if args.json:
        emit_json(r.__dict__)
    else:
        old = r.old_number or f"收件 {r.item_id}"
        new = f"，新编号 {r.new_number}" if r.new_number else "（新类别不编号）"
        print(f"已更正：{old} 由{r.old_kind}改为{r.new_kind}{new}；原登记作废留痕，计入错情率。")
    return 0


def cmd_errors(args: argparse.Namespace) -> int:
    tz = settings_from(args).tz
    rep = with_context(args, lambda ctx: registry.errors(ctx, year=args.year))
    if args.json:
        emit_json(rep.as_json())
        return 0
    print("\n".join(error_lines(rep, tz)))
    return 0


def error_lines(rep: registry.ErrorReport, tz: tzinfo) -> list[str]:
    """`jiyao errors` as staff read it: the rate, then one line per correction (local date)."""
    head = (f"{rep.year}年：登记 {rep.registrations} 件，更正 {len(rep.corrections)} 件，"
            f"错情率 {rep.rate:.2%}（上限 1%{'，已超' if rep.rate > 0.01 else ''}）")
    return [head, *(
        f"  {c['old_number'] or '收件 ' + str(c['item_id'])}：{c['from']}→{c['to']}，"
        f"{c['reason']}（{actor_zh(c['actor'])}，{stored_day(c['at'], tz)}）"
        + (f"，新编号 {c['new_number']}" if c["new_number"] else "")
        for c in rep.corrections)]


async def export_incoming(ctx: Context, year: int) -> list[dict[str, Any]]:
    """The 收文登记簿 rows, times in the office's local time."""
    rows = await registry.register_rows(ctx, year=year)
    for row in rows:
        for key in ("registered_at", "received_at"):
            row[key] = stored_minute(row[key], ctx.settings.tz)
    return rows


INCOMING_HEADERS = [
    ("number", "登记号"), ("kind", "类别"), ("status", "状态"), ("registered_at", "登记时间"),
    ("registered_by", "登记人"),
    ("received_at", "收文时间"), ("channel", "渠道"), ("ocr", "文字识别"), ("sender", "来文单位"),
    ("doc_number", "文号"), ("title", "标题"), ("secrecy", "密级"), ("urgency", "紧急程度"),
    ("copy_no", "份号"), ("signer", "签发人"), ("addressees", "主送"), ("cc", "抄送"),
    ("written_on", "成文日期"), ("attachment_note", "附件说明"),
    ("note", "备注"), ("replaced_by_number", "更正/转办后编号"),
]


def write_incoming(rows: list[dict[str, Any]], fmt: str, out: Path) -> None:
    status_zh = {"active": "有效", "void": "作废", "converted": "转办件"}
    for row in rows:
        row["status"] = status_zh.get(row["status"], row["status"])
        row["registered_by"] = actor_zh(row["registered_by"])
        row["channel"] = CHANNEL_ZH.get(row["channel"], row["channel"])
        row["ocr"] = "是" if row["ocr"] else ""  # its text was read from images by OCR
    write_table(rows, INCOMING_HEADERS, fmt, out, sheet="收文登记簿")
