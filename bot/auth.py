"""Who may use the bot and do what (DOMAIN §7): configured leaders, staff and duty chats only.

A chat is known by its id (a private chat's id is its user's id). Leaders read and instruct
items routed to them; registrars (and admins) classify, correct and register; other staff
see counts and deadlines; duty chats acknowledge urgent items. Anyone else is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from core.config import Leader, Settings


class Can(StrEnum):
    """Things one may do through the bot."""

    HELP = "help"
    READ = "read"  # 已阅 on a push routed to them
    INSTRUCT = "instruct"  # 批示
    DOC = "doc"
    FIND = "find"
    NEXT = "next"
    COUNTS = "counts"
    ERRORS = "errors"
    REVIEW = "review"  # classify the review queue
    CORRECT = "correct"
    REGISTER = "register"  # paper items
    OVERDUE = "overdue"
    SUBSCRIBE = "subscribe"
    TAKE = "take"  # a section takes its own codes' dispatch numbers
    COPIES = "copies"  # 印数
    CLOSE = "close"  # 办结


_LEADER = frozenset({Can.HELP, Can.READ, Can.INSTRUCT, Can.DOC, Can.SUBSCRIBE})
_REGISTRAR = frozenset({
    Can.HELP, Can.READ, Can.DOC, Can.FIND, Can.NEXT, Can.COUNTS, Can.ERRORS, Can.REVIEW,
    Can.CORRECT, Can.REGISTER, Can.OVERDUE, Can.SUBSCRIBE,
})
_STAFF = frozenset({Can.HELP, Can.READ, Can.COUNTS, Can.OVERDUE, Can.SUBSCRIBE})
_DUTY = frozenset({Can.HELP, Can.READ})
#: sections that number outgoing documents (role dispatch or section)
_NUMBERING = frozenset({Can.TAKE, Can.COPIES})


@dataclass(frozen=True)
class Principal:
    """A known chat and what it may do."""

    chat_id: int
    name: str
    allowed: frozenset[Can]
    leader: Leader | None = None

    def can(self, what: Can) -> bool:
        return what in self.allowed

    @property
    def is_leader(self) -> bool:
        return self.leader is not None

    @property
    def actor(self) -> str:
        """How the audit log names this person."""
        return f"leader:{self.name}" if self.leader else f"staff:{self.name}"


def principal_for(settings: Settings, chat_id: int | None) -> Principal | None:
    """The configured person (or section chat) behind a chat, None for strangers."""
    if chat_id is None:
        return None
    allowed: set[Can] = set()
    name = ""
    leader = next((x for x in settings.leader if x.chat_id == chat_id), None)
    if leader is not None:
        allowed |= _LEADER
        name = leader.name
    for staff in settings.staff:
        if staff.chat_id != chat_id:
            continue
        name = name or staff.name
        registrar = "registrar" in staff.roles or "admin" in staff.roles
        allowed |= _REGISTRAR | {Can.CLOSE, Can.COPIES} if registrar else _STAFF
        if {"dispatch", "section"} & set(staff.roles):
            allowed |= _NUMBERING
    for duty in settings.duty:
        if duty.chat_id == chat_id:
            name = name or duty.name
            allowed |= _DUTY
    if not allowed:
        return None
    return Principal(chat_id, name, frozenset(allowed), leader)


#: bot commands in menu order: (command, what it needs, Chinese description)
COMMANDS: tuple[tuple[str, Can, str], ...] = (
    ("help", Can.HELP, "我能做什么"),
    ("review", Can.REVIEW, "待分类收件：分类并编号"),
    ("register", Can.REGISTER, "登记纸质来文（逐步填写）"),
    ("find", Can.FIND, "查找收件：/find 关键词"),
    ("doc", Can.DOC, "查看收件：/doc 编号"),
    ("next", Can.NEXT, "下一个登记号：/next 办件|阅件"),
    ("counts", Can.COUNTS, "收件数量：/counts [年|年-月]"),
    ("correct", Can.CORRECT, "更正类别：/correct 编号 类别 理由"),
    ("errors", Can.ERRORS, "错情统计：/errors [年]"),
    ("overdue", Can.OVERDUE, "逾期事项"),
    ("done", Can.CLOSE, "办结：/done 编号"),
    ("take", Can.TAKE, "取发文字号：/take 代字 标题"),
    ("copies", Can.COPIES, "印数计算：/copies 名单 [+N|-N] [传真]"),
    ("subscribe", Can.SUBSCRIBE, "订阅关键词：/subscribe 关键词"),
    ("unsubscribe", Can.SUBSCRIBE, "取消订阅：/unsubscribe [关键词]"),
)


def commands_for(principal: Principal) -> list[tuple[str, str]]:
    """(command, description) a person may use, for setMyCommands and /help."""
    return [(name, text) for name, need, text in COMMANDS if principal.can(need)]


def known_chats(settings: Settings) -> list[int]:
    """Every configured chat, each once."""
    ids = [x.chat_id for x in settings.leader]
    ids += [x.chat_id for x in settings.staff]
    ids += [x.chat_id for x in settings.duty]
    return list(dict.fromkeys(ids))
