"""Deadline commands: working days, 主动公开 (保密审查, 公开), 依申请公开 requests, 催办,
overdue list, statistics, the digest and a manual reminder sweep."""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path
from typing import Any, TypeAlias

from core import deadline_rules as rules
from core import reminder_plan as plan
from core.errors import InvalidInputError
from core.files import atomic_file
from core.limits import MAX_COUNT
from core.services import disclosure, followups, overdue, reminders, requests, site, stats
from core.services.context import Context
from jiyao.commands.common import (
    add_common,
    check_year,
    emit_json,
    emit_json_lines,
    id_arg,
    integer_arg,
    operator_of,
    os_reason,
    output_path,
    settings_from,
    write_failed,
)
from jiyao.commands.runner import with_context

Sub: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"

REPLY_CHOICES = [t.value for t in rules.ReplyType]
CHANNEL_CHOICES = [c.value for c in rules.RequestChannel]
APPLICANT_KINDS = [k.value for k in rules.ApplicantKind]


def _day(text: str | None, what: str = "日期") -> date | None:
    if text is None:
        return None
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInputError(f"{what}格式不对：{text!r}（应为 YYYY-MM-DD）") from None
    check_year(day, what, text)  # a typo such as 9999 would walk the calendar for ages
    return day


def _req_day(text: str, what: str) -> date:
    day = _day(text, what)
    assert day is not None
    return day


# ------------------------------------------------------------------ parsers
def add_parser(sub: Sub) -> None:
    _add_deadline(sub)
    _add_disclosure(sub)
    _add_request(sub)

    p = sub.add_parser("overdue", help="列出逾期事项（办件、主动公开、依申请公开），按科室/领导")
    add_common(p)
    p.add_argument("--date", help="以该日为准（YYYY-MM-DD，默认今天）")
    p.set_defaults(func=cmd_overdue)

    p = sub.add_parser("done", help="办结：办件办理完毕，停止催办")
    add_common(p, changes=True)
    p.add_argument("ref", metavar="NUMBER|ID", help="办件登记号或收件序号")
    p.add_argument("--date", help="办结日期（默认今天）")
    p.add_argument("--result", help="办理结果（写入公文处理单）")
    p.set_defaults(func=cmd_done)

    p = sub.add_parser("stats", help="政务公开信息提供和录用情况（按月、季、年）")
    add_common(p, json_flag=False)
    p.add_argument("--period", required=True, help="统计期间：2026-07、2026-Q3 或 2026")
    p.add_argument("--format", choices=["text", "json", "xlsx", "png"], default="text")
    p.add_argument("--out", help="输出文件（xlsx/png，默认 政务公开统计-<期间>.<格式>）")
    p.add_argument("--date", help="统计截至日期（默认今天）")
    p.set_defaults(func=cmd_stats)

    p = sub.add_parser("digest", help="显示每日提醒摘要（到期、逾期、昨日新收）")
    add_common(p, json_flag=False)
    p.add_argument("--date", help="日期（默认今天）")
    p.set_defaults(func=cmd_digest)

    p = sub.add_parser("sweep", help="立即发送到期的提醒（写入待发队列）")
    add_common(p)
    p.set_defaults(func=cmd_sweep)


def _add_deadline(sub: Sub) -> None:
    p = sub.add_parser("deadline", help="工作日计算")
    add_common(p, json_flag=False, nested=True)
    inner = p.add_subparsers(dest="deadline_cmd", metavar="操作", required=True)
    q = inner.add_parser("add-workdays", help="START 之后第 N 个工作日（START 当天不计）")
    add_common(q, nested=True)
    q.add_argument("start", metavar="START", help="起算日 YYYY-MM-DD")
    q.add_argument("n", metavar="N", type=integer_arg, help="工作日数（≥1）")
    q.set_defaults(func=cmd_add_workdays)


def _add_disclosure(sub: Sub) -> None:
    p = sub.add_parser("review-secrecy", help="登记保密审查（公开前必须通过）")
    add_common(p, changes=True)
    p.add_argument("number", metavar="NUMBER", help="发文字号，例如 甘府发〔2026〕12号")
    p.add_argument("--reviewer", required=True, help="审查人")
    p.add_argument("--result", required=True, choices=list(disclosure.REVIEW_RESULTS))
    p.add_argument("--date", help="审查日期（默认今天）")
    p.add_argument("--note", help="备注")
    p.set_defaults(func=cmd_review)

    p = sub.add_parser("published", help="登记主动公开（须先通过保密审查）")
    add_common(p, changes=True)
    p.add_argument("number", metavar="NUMBER", help="发文字号")
    p.add_argument("--url", required=True, help="公开网址（或载体中的位置）")
    p.add_argument("--date", help="公开日期（默认今天）")
    p.add_argument("--file", metavar="PATH", help="公开的原文（PDF 或 OFD），放入政府信息公开目录")
    p.add_argument("--topic", help="主题分类（见配置 [site] topics；默认 default_topic）")
    p.set_defaults(func=cmd_published)

    p = sub.add_parser("disclosure", help="主动公开期限：列表、登记信息变更")
    add_common(p, json_flag=False, nested=True)
    inner = p.add_subparsers(dest="disclosure_cmd", metavar="操作", required=True)
    q = inner.add_parser("list", help="待公开（--all 含已公开）")
    add_common(q, nested=True)
    q.add_argument("--all", action="store_true", help="包括已公开和已取消的")
    q.set_defaults(func=cmd_disclosure_list)
    q = inner.add_parser("changed", help="信息变更：已公开的重新计 20 个工作日")
    add_common(q, nested=True, changes=True)
    q.add_argument("number", metavar="NUMBER")
    q.add_argument("--date", help="变更日期（默认今天）")
    q.add_argument("--note", help="变更说明")
    q.set_defaults(func=cmd_disclosure_changed)


def _add_request(sub: Sub) -> None:
    p = sub.add_parser("request", help="依申请公开：登记、补正、延期、征求意见、答复")
    add_common(p, json_flag=False, nested=True)
    inner = p.add_subparsers(dest="request_cmd", metavar="操作", required=True)

    q = inner.add_parser("add", help="登记申请（收到日期按提交方式确定，条例第三十一条）")
    add_common(q, nested=True, changes=True)
    q.add_argument("--applicant", required=True, help="申请人")
    q.add_argument("--applicant-kind", choices=APPLICANT_KINDS,
                   help="申请人类别（年度报告按此分列；不填则年报中该栏待填）")
    q.add_argument("--content", required=True, help="申请公开的内容")
    q.add_argument("--received", required=True, help="提交/签收/到达日期 YYYY-MM-DD")
    q.add_argument("--channel", required=True, choices=CHANNEL_CHOICES, help="提交方式")
    q.add_argument("--confirmed", help="平信、网络、传真：与申请人确认之日（默认同收到日期）")
    q.add_argument("--section", help="承办科室（默认政务公开科）")
    q.set_defaults(func=cmd_request_add)

    def event(name: str, help_: str, kind: rules.RequestEventKind) -> argparse.ArgumentParser:
        q = inner.add_parser(name, help=help_)
        add_common(q, nested=True, changes=True)
        q.add_argument("id", metavar="ID", type=id_arg, help="申请编号")
        q.add_argument("--date", help="日期（默认今天）")
        q.add_argument("--note", help="备注")
        q.set_defaults(func=cmd_request_event, event=kind)
        return q

    event("supplement", "告知补正（收到之日起 7 个工作日内，一次性；计时停止）",
          rules.RequestEventKind.SUPPLEMENT)
    event("completed", "收到补正后的申请（重新计时）", rules.RequestEventKind.COMPLETED)
    q = event("extend", "延长答复期限（一次，最长 20 个工作日）", rules.RequestEventKind.EXTEND)
    q.add_argument("--reason", required=True, help="延期理由")
    q.add_argument("--days", type=int, default=rules.MAX_EXTENSION, help="延长的工作日数（≤20）")
    event("consult", "征求第三方意见（暂停计时）", rules.RequestEventKind.CONSULT)
    event("consulted", "征求意见结束（恢复计时）", rules.RequestEventKind.CONSULTED)
    q = event("answer", "答复（条例第三十六条的七种答复之一）", rules.RequestEventKind.ANSWER)
    q.add_argument("--type", required=True, choices=REPLY_CHOICES, help="答复类型")
    q.add_argument("--reason", help="不予公开的法定理由")
    q.add_argument("--organ", help="非本机关负责时：负责公开的机关")

    q = inner.add_parser("list", help="申请列表")
    add_common(q, nested=True)
    q.add_argument("--open", action="store_true", help="只列未答复的")
    q.set_defaults(func=cmd_request_list)

    q = inner.add_parser("show", help="查看申请及其经过")
    add_common(q, nested=True)
    q.add_argument("id", metavar="ID", type=id_arg)
    q.set_defaults(func=cmd_request_show)


# ------------------------------------------------------------------ handlers
def cmd_add_workdays(args: argparse.Namespace) -> int:
    start = _req_day(args.start, "起算日")
    if args.n < 1:
        raise InvalidInputError(f"工作日数须至少为 1，收到 {args.n}")
    if args.n > MAX_COUNT:
        raise InvalidInputError(f"工作日数最多 {MAX_COUNT}，收到 {args.n}")
    cal = plan.work_calendar(settings_from(args))
    result = cal.add_workdays(start, args.n)
    if args.json:
        emit_json({"start": start.isoformat(), "n": args.n, "date": result.date.isoformat(),
                   "provisional": result.provisional})
    else:
        note = "（暂定：该年放假安排未公布，按周末和法定节假日推算）" if result.provisional else ""
        print(f"{start.isoformat()} 之后第 {args.n} 个工作日：{result.date.isoformat()}"
              f"{' 暂定' if result.provisional else ''}{note}")
    return 0


def cmd_review(args: argparse.Namespace) -> int:
    actor = operator_of(args)
    r = with_context(args, lambda ctx: disclosure.review_secrecy(
        ctx, number=args.number, reviewer=args.reviewer, result=args.result,
        on=_day(args.date, "审查日期"), note=args.note, actor=actor,
    ))
    if args.json:
        emit_json(r)
    else:
        print(f"已登记保密审查：{r['number']}，审查人 {r['reviewer']}，{r['reviewed_on']}，"
              f"结果：{r['result']}")
    return 0


def _disclosure_line(v: disclosure.DisclosureView) -> str:
    status = {"open": "待公开", "published": "已公开", "cancelled": "已取消"}[v.status]
    extra = ""
    if v.published_on is not None:
        extra = f"，{v.published_on.isoformat()} 公开（{'按时' if v.on_time else '超限'}）"
    review = f"，保密审查{v.review}" if v.review else "，未保密审查"
    return (f"{v.number}《{v.title}》{v.section}：{v.base_kind} {v.base_on.isoformat()}，"
            f"期限 {v.due.label()}，{status}{extra}{review}")


def cmd_published(args: argparse.Namespace) -> int:
    actor = operator_of(args)
    file = None
    if args.file:
        path = Path(args.file)
        try:
            file = (path.name, path.read_bytes())
        except OSError as exc:
            raise InvalidInputError(f"无法读取文件 {path}：{os_reason(exc)}", field="file") from exc
    v = with_context(args, lambda ctx: site.publish(
        ctx, number=args.number, url=args.url, on=_day(args.date, "公开日期"), file=file,
        topic=args.topic, actor=actor,
    ))
    if args.json:
        emit_json(v.as_json())
    else:
        print(f"已登记公开：{_disclosure_line(v)}")
    return 0


def cmd_disclosure_list(args: argparse.Namespace) -> int:
    views = with_context(args, lambda ctx: _synced(ctx, disclosure.disclosure_list,
                                                   open_only=not args.all))
    if args.json:
        emit_json_lines(v.as_json() for v in views)
        return 0
    if not views:
        print("没有待公开的主动公开事项。")
    for v in views:
        print(_disclosure_line(v))
    return 0


async def _synced(ctx: Context, fn: Any, **kwargs: Any) -> Any:
    await overdue.sync(ctx)
    return await fn(ctx, **kwargs)


def cmd_disclosure_changed(args: argparse.Namespace) -> int:
    actor = operator_of(args)
    v = with_context(args, lambda ctx: disclosure.record_change(
        ctx, number=args.number, on=_day(args.date, "变更日期"), note=args.note, actor=actor,
    ))
    if args.json:
        emit_json(v.as_json())
    else:
        print(f"已登记信息变更：{_disclosure_line(v)}")
    return 0


def _request_text(v: requests.RequestView) -> list[str]:
    c = v.clock
    lines = [
        f"第 {v.id} 号政府信息公开申请（{v.state_zh}）",
        f"申请人：{v.applicant}（{v.applicant_kind or '类别未登记'}）",
        f"内容：{v.content}",
        (f"提交方式：{v.channel}；收到：{v.received_on.isoformat()}；"
         f"收到申请之日：{v.receipt_on.isoformat()}"),
        f"承办：{v.section}",
    ]
    if c.due is not None:
        ext = f"（已延长 {c.extended} 个工作日）" if c.extended else ""
        lines.append(f"答复期限：{c.due.label()}{ext}")
    elif c.state is rules.RequestState.CONSULTING:
        lines.append(f"答复期限：征求意见期间暂停计时，尚余 {c.remaining} 个工作日")
    elif c.state is rules.RequestState.SUPPLEMENT:
        lines.append("答复期限：待申请人补正，收到补正后的申请之日起重新计算 20 个工作日")
    if c.supplement_by is not None:
        lines.append(f"补正告知最迟：{c.supplement_by.label()}")
    if c.consult_until is not None:
        lines.append(f"第三方意见期限：{c.consult_until.label()}")
    if c.answered_on is not None:
        reply = v.reply_type or ""
        if v.reply_reason:
            reply += f"（{v.reply_reason}）"
        if v.reply_organ:
            reply += f"（负责机关：{v.reply_organ}）"
        timely = "按时" if c.on_time else "超期"
        lines.append(f"答复：{reply}，{c.answered_on.isoformat()}（{timely}）")
    for e in v.events:
        detail = "".join(f"，{x}" for x in (
            f"{e['workdays']} 个工作日" if e["workdays"] else None, e["reason"], e["note"],
        ) if x)
        lines.append(f"  {e['on']} {e['kind_zh']}{detail}")
    return lines


def cmd_request_add(args: argparse.Namespace) -> int:
    actor = operator_of(args)
    v = with_context(args, lambda ctx: requests.add_request(
        ctx, applicant=args.applicant, content=args.content, channel=args.channel,
        received=_req_day(args.received, "收到日期"),
        confirmed=_day(args.confirmed, "确认日期"), section=args.section, actor=actor,
        applicant_kind=args.applicant_kind,
    ))
    if args.json:
        emit_json(v.as_json())
    else:
        due = v.clock.due.label() if v.clock.due else "—"
        print(f"已登记第 {v.id} 号申请：收到申请之日 {v.receipt_on.isoformat()}，答复期限 {due}")
    return 0


def cmd_request_event(args: argparse.Namespace) -> int:
    kind: rules.RequestEventKind = args.event
    reply = rules.ReplyType(args.type) if kind is rules.RequestEventKind.ANSWER else None
    actor = operator_of(args)
    v = with_context(args, lambda ctx: requests.request_event(
        ctx, args.id, kind, on=_day(args.date, f"{rules.EVENT_ZH[kind]}日期"), note=args.note,
        workdays=args.days if kind is rules.RequestEventKind.EXTEND else None,
        reason=getattr(args, "reason", None), reply=reply, organ=getattr(args, "organ", None),
        actor=actor,
    ))
    if args.json:
        emit_json(v.as_json())
    else:
        print(f"已登记：{rules.EVENT_ZH[kind]}")
        print("\n".join(_request_text(v)))
    return 0


def cmd_request_list(args: argparse.Namespace) -> int:
    views = with_context(args, lambda ctx: requests.list_requests(ctx, open_only=args.open))
    if args.json:
        emit_json_lines(v.as_json() for v in views)
        return 0
    if not views:
        print("没有依申请公开申请。")
    for v in views:
        due = v.clock.due.label() if v.clock.due else "暂停计时"
        print(f"第 {v.id} 号 {v.applicant}：{v.state_zh}，期限 {due}，{v.content[:30]}")
    return 0


def cmd_request_show(args: argparse.Namespace) -> int:
    v = with_context(args, lambda ctx: requests.show_request(ctx, args.id))
    if args.json:
        emit_json(v.as_json())
    else:
        print("\n".join(_request_text(v)))
    return 0


def cmd_overdue(args: argparse.Namespace) -> int:
    report = with_context(args, lambda ctx: overdue.overdue(ctx, _day(args.date)))
    if args.json:
        emit_json(report.as_json())
    else:
        print(report.text())
    return 0


def cmd_done(args: argparse.Namespace) -> int:
    actor = operator_of(args)
    r = with_context(args, lambda ctx: followups.close_item(
        ctx, ref=args.ref, on=_day(args.date, "办结日期"), result=args.result, actor=actor,
    ))
    if args.json:
        emit_json(r)
    else:
        print(f"已办结：收件 {r['item_id']}，{r['done_on']}（期限 {r['due']}，"
              f"{'按时' if r['on_time'] else '超期'}）")
        if r["reply_owed"]:
            print(f"来文请求答复：请拟{r['reply_owed']}，取号时加 --reply-to {r['item_id']}")
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    period = stats.parse_period(args.period)
    report = with_context(args, lambda ctx: stats.section_stats(
        ctx, period, today=_day(args.date, "统计截至日期"),
    ))
    if args.format == "text":
        print(report.text())
        return 0
    if args.format == "json":
        emit_json(report.as_json())
        return 0
    data = stats.render_png(report) if args.format == "png" else stats.render_xlsx(report)
    out = output_path(args.out, f"政务公开统计-{period.key}.{args.format}")
    try:
        with atomic_file(out) as fh:
            fh.write(data)
    except OSError as exc:
        raise write_failed(out, exc) from exc
    print(f"已输出 {period.label}统计到 {out}")
    return 0


def cmd_digest(args: argparse.Namespace) -> int:
    print(with_context(args, lambda ctx: reminders.digest(ctx, _day(args.date))))
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    r = with_context(args, reminders.sweep)
    if args.json:
        emit_json({"sent": r.sent, "late": r.late, "messages": r.messages})
    else:
        print(f"已发送提醒 {r.sent} 条（其中补发 {r.late} 条），写入待发消息 {r.messages} 条。")
    return 0
