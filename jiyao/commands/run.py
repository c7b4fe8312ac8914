"""`jiyao serve`, `jiyao intake`, `jiyao bot`: run the long-lived parts."""

from __future__ import annotations

import argparse
import logging

from core.config import MAX_WORKERS
from jiyao.commands.common import add_common, settings_from

HELP = {
    "serve": "运行全部服务：收文（SMTP）、退回通知、机器人与定时提醒",
    "intake": "只运行收文守护进程（SMTP）、收文处理和退回通知",
    "pipeline": "只运行收文处理（读取、签收、分类、编号），可与 intake 分开多开",
    "bot": "只运行机器人（推送、批示、命令、定时提醒）",
}


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    for name, text in HELP.items():
        p = sub.add_parser(name, help=text)
        add_common(p, json_flag=False)
        if name != "bot":
            p.add_argument("--workers", type=workers_arg, default=None,
                           help="收文处理进程数（覆盖配置 [pipeline] workers）")
        p.set_defaults(func=cmd_run, part=name)


def workers_arg(text: str) -> int:
    """0–64 worker processes, refused in Chinese otherwise."""
    try:
        n = int(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"进程数应为整数：{text}") from None
    if not 0 <= n <= MAX_WORKERS:
        raise argparse.ArgumentTypeError(f"进程数应在 0 到 {MAX_WORKERS} 之间：{text}")
    return n



def cmd_run(args: argparse.Namespace) -> int:
    from jiyao import serve
    from jiyao.memory import return_large_buffers

    settings = settings_from(args)
    if getattr(args, "workers", None) is not None:
        settings = settings.model_copy(update={
            "pipeline": settings.pipeline.model_copy(update={"workers": args.workers}),
        })
    return_large_buffers()
    # httpx logs request URLs, which carry the bot token
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    return serve.run_forever(settings, serve.PARTS[args.part])
