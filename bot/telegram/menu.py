"""The bot's command menu: each command and the permission (core.permissions.Can) it needs."""

from __future__ import annotations

from core.permissions import Can, Principal

#: bot commands in menu order: (command, what it needs, Chinese description)
COMMANDS: tuple[tuple[str, Can, str], ...] = (
    ("help", Can.HELP, "我能做什么"),
    ("review", Can.REVIEW, "待分类收件：分类并编号"),
    ("register", Can.REGISTER, "登记纸质来文（逐步填写）"),
    ("find", Can.FIND, "查找收件：/find 关键词"),
    ("doc", Can.DOC, "查看收件：/doc 编号"),
    ("next", Can.NEXT, "下一个登记号：/next 办件|阅件"),
    ("counts", Can.COUNTS, "收件数量：/counts [年|年-月]"),
    ("status", Can.QUEUE, "收文处理队列：待处理、待人工处理"),
    ("correct", Can.CORRECT, "更正类别：/correct 编号 类别 理由"),
    ("errors", Can.ERRORS, "错情统计：/errors [年]"),
    ("overdue", Can.OVERDUE, "逾期事项"),
    ("done", Can.CLOSE, "办结：/done 编号 办理结果"),
    ("propose", Can.PROPOSE, "拟办：/propose 编号 意见 [领导=…] [承办=…] [期限=…]"),
    ("assign", Can.ASSIGN, "交办：/assign 编号 单位 期限"),
    ("slip", Can.SLIP, "公文处理单（PDF）：/slip 编号"),
    ("take", Can.TAKE, "取发文字号：/take 代字 标题"),
    ("copies", Can.COPIES, "印数计算：/copies 名单 [+N|-N] [传真]"),
    ("subscribe", Can.SUBSCRIBE, "订阅关键词：/subscribe 关键词"),
    ("unsubscribe", Can.SUBSCRIBE, "取消订阅：/unsubscribe [关键词]"),
)


def commands_for(principal: Principal) -> list[tuple[str, str]]:
    """(command, description) a person may use, for setMyCommands and /help."""
    return [(name, text) for name, need, text in COMMANDS if principal.can(need)]
