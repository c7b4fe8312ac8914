"""`jiyao items`: what came in, with its outcome and register number."""

from __future__ import annotations

import argparse
import sys
import unicodedata
from dataclasses import asdict
from datetime import date, datetime, time
from typing import Any

from core.errors import InvalidInputError
from core.localtime import minute, stored_minute
from core.model import CHANNEL_ZH, OUTCOME_ZH, REASON_ZH, Outcome
from core.services import chat_inbox, pipeline, receive
from core.services.context import Context
from jiyao.commands.common import (
    add_common,
    check_year,
    emit_json,
    emit_json_lines,
    operator_of,
    positive_arg,
    settings_from,
)
from jiyao.commands.runner import with_context

COLUMNS = (
    ("id", "序号"), ("received", "收到时间"), ("channel", "渠道"), ("outcome", "结果"),
    ("kind", "类别"), ("reason", "原因"), ("number", "登记号"), ("sender", "来文单位"),
    ("doc_number", "文号"), ("title", "标题"),
)
TITLE_WIDTH = 40


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("items", help="列出收到的邮件和传真（结果、类别、登记号）")
    add_common(p)
    p.add_argument(
        "--outcome", choices=[o.value for o in Outcome],
        help="只列出此结果：received 已收到待处理、register 登记、review 待分类、"
        "return 退回、quarantine 隔离、sealed 封存、shunted 待人工处理",
    )
    p.add_argument(
        "--since", metavar="YYYY-MM-DD|ISO|today",
        help="只列出此时间以后收到的（日期按本单位时区；today 为今天零时）",
    )
    p.add_argument("--limit", type=positive_arg, help="最多列出条数")
    p.set_defaults(func=cmd_items)
    q = sub.add_parser("queue", help="收文处理队列：待处理、处理中、待人工处理、最早等待、处理速度")
    add_common(q)
    q.set_defaults(func=cmd_queue)
    r = sub.add_parser("reprocess", help="把待人工处理（shunted）的收件交回收文处理重新处理")
    add_common(r, json_flag=False, changes=True)
    r.add_argument("item_id", type=positive_arg, metavar="ID", help="收件序号")
    r.set_defaults(func=cmd_reprocess)


#: failed chat callbacks `jiyao queue` lists
QUEUE_FAILED = 10


def cmd_queue(args: argparse.Namespace) -> int:
    settings = settings_from(args)

    async def both(ctx: Context) -> tuple[pipeline.QueueStatus, list[chat_inbox.Kept]]:
        return (await pipeline.queue_status(ctx),
                await chat_inbox.failed(ctx, limit=QUEUE_FAILED))

    state, failed = with_context(args, both)
    if args.json:
        emit_json({**asdict(state), "callbacks_failed": [
            {"channel": k.channel, "user": k.fields.get("FromUserName", ""),
             "what": chat_inbox.summary(k), "received": k.received_at.isoformat(),
             "failed": k.failed_at.isoformat() if k.failed_at else None,
             "tries": k.attempts, "error": k.error} for k in failed]})
        return 0
    sys.stdout.write(
        f"待处理：{state.received} 件（其中处理中 {state.in_progress} 件）\n"
        f"待人工处理：{state.shunted} 件（jiyao items --outcome shunted 查看）\n"
        f"最早等待：{stored_minute(state.oldest, settings.tz) or '无'}\n"
        f"处理速度：近 {pipeline.RATE_MINUTES} 分钟每分钟 {state.per_minute:.1f} 件\n"
        f"聊天回调处理失败：{len(failed)}{'+' if len(failed) >= QUEUE_FAILED else ''} 条"
        f"{'（领导的批示或按钮操作未能处理，请与其核实）' if failed else ''}\n"
    )
    for k in failed:
        at = minute(k.failed_at, settings.tz) if k.failed_at else ""
        sys.stdout.write(f"  {at}  {k.channel}:{k.fields.get('FromUserName', '')[:64]}  "
                         f"{chat_inbox.summary(k)}  试 {k.attempts} 次：{k.error or ''}\n")
    return 0


def cmd_reprocess(args: argparse.Namespace) -> int:
    actor = operator_of(args)
    with_context(args, lambda ctx: pipeline.reprocess(ctx, args.item_id, actor=actor))
    sys.stdout.write(f"收件序号 {args.item_id} 已交回收文处理，将重新读取和分类。\n")
    return 0


def parse_since(text: str, tz: Any) -> datetime:
    """`today`/`今天`, a date (local midnight in the office's zone), or an ISO time."""
    if text.strip().lower() in ("today", "今天"):
        return datetime.combine(datetime.now(tz).date(), time(0), tzinfo=tz)
    try:
        if len(text) == 10:
            dt = datetime.combine(date.fromisoformat(text), time(0), tzinfo=tz)
        else:
            dt = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInputError(
            f"--since 格式不对：{text!r}（例如 2026-03-01 或 2026-03-01T09:00+08:00）"
        ) from None
    check_year(dt, "--since ", text)
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=tz)


def cmd_items(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    since = parse_since(args.since, settings.tz) if args.since else None
    rows = with_context(
        args,
        lambda ctx: receive.list_items(ctx, outcome=args.outcome, since=since, limit=args.limit),
    )
    if args.json:
        emit_json_lines(rows)
        return 0
    if not rows:
        sys.stdout.write("没有符合条件的收件。\n")
        return 0
    sys.stdout.write(render_table([_human(row, settings.tz) for row in rows]))
    sys.stdout.write(f"共 {len(rows)} 件\n")
    return 0


def _human(row: dict[str, Any], tz: Any) -> dict[str, str]:
    title = row["title"] or ""
    if row["outcome"] == "sealed":
        title = "（封存，不显示）"
    elif row["outcome"] == "shunted":
        title = f"（处理失败：{row['last_error'] or '进程中断'}）"
    elif len(title) > TITLE_WIDTH:
        title = title[: TITLE_WIDTH - 1] + "…"
    return {
        "id": str(row["id"]),
        "received": stored_minute(row["received"], tz) or "",
        "channel": CHANNEL_ZH.get(row["channel"], row["channel"]),
        "outcome": OUTCOME_ZH.get(row["outcome"], row["outcome"]),
        "kind": row["kind"] or "",
        "reason": REASON_ZH.get(row["reason"], row["reason"] or ""),
        "number": row["number"] or "",
        "sender": row["sender"] or "",
        "doc_number": row["doc_number"] or "",
        "title": title,
    }


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def render_table(rows: list[dict[str, str]]) -> str:
    """A plain-text table whose columns line up with Chinese (double-width) text."""
    widths = {
        key: max(_width(label), *(_width(r[key]) for r in rows)) for key, label in COLUMNS
    }
    lines = ["  ".join(_pad(label, widths[key]) for key, label in COLUMNS).rstrip()]
    lines.append("  ".join("-" * widths[key] for key, _ in COLUMNS))
    lines += ["  ".join(_pad(r[key], widths[key]) for key, _ in COLUMNS).rstrip() for r in rows]
    return "\n".join(lines) + "\n"
