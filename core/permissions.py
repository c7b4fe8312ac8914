"""Who may do what (DOMAIN §7): configured leaders, staff and duty chats only, by chat id.

A chat is known by its id (a private chat's id is its user's id). Leaders read and instruct
items routed to them; registrars (and admins) classify, correct and register; other staff
see counts and deadlines; duty chats acknowledge urgent items. Anyone else is refused.
Services check the finer rules (a 批示 only on an item routed to that leader) themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from core.chat.address import Address, person_of
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
    CLOSE = "close"  # 办结 (registrars; a 承办单位's section chat for items assigned to it)
    PROPOSE = "propose"  # 拟办
    ASSIGN = "assign"  # 交办 to 承办单位
    SLIP = "slip"  # the 公文处理单 as a file (core.visibility decides for which items)
    QUEUE = "queue"  # the intake queue's state (/status)


_LEADER = frozenset({Can.HELP, Can.READ, Can.INSTRUCT, Can.DOC, Can.SUBSCRIBE})
_REGISTRAR = frozenset({
    Can.HELP, Can.READ, Can.DOC, Can.FIND, Can.NEXT, Can.COUNTS, Can.ERRORS, Can.REVIEW,
    Can.CORRECT, Can.REGISTER, Can.OVERDUE, Can.SUBSCRIBE, Can.QUEUE,
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
        allowed |= (_REGISTRAR | {Can.CLOSE, Can.COPIES, Can.PROPOSE, Can.ASSIGN, Can.SLIP}
                    if registrar else _STAFF)
        if staff.section and "section" in staff.roles:
            allowed.add(Can.CLOSE)  # the 承办单位 reports 办结 (only its own: core.services)
        if {"dispatch", "section"} & set(staff.roles):
            allowed |= _NUMBERING
    for duty in settings.duty:
        if duty.chat_id == chat_id:
            name = name or duty.name
            allowed |= _DUTY
    if not allowed:
        return None
    return Principal(chat_id, name, frozenset(allowed), leader)


def principal_at(settings: Settings, address: Address) -> Principal | None:
    """The configured person behind a chat address (a Telegram chat, a WeCom userid)."""
    return principal_for(settings, person_of(settings, address))


def leader_by_chat(settings: Settings, chat_id: int) -> Leader | None:
    return next((x for x in settings.leader if x.chat_id == chat_id), None)


def chat_name(settings: Settings, chat_id: int) -> str:
    """A person's name for records and notices: leader, staff, duty, else the chat id."""
    for leader in settings.leader:
        if leader.chat_id == chat_id:
            return leader.name
    for staff in settings.staff:
        if staff.chat_id == chat_id:
            return staff.name
    for duty in settings.duty:
        if duty.chat_id == chat_id:
            return duty.name
    return f"chat:{chat_id}"


def known_chats(settings: Settings) -> list[int]:
    """Every configured chat, each once."""
    ids = [x.chat_id for x in settings.leader]
    ids += [x.chat_id for x in settings.staff]
    ids += [x.chat_id for x in settings.duty]
    return list(dict.fromkeys(ids))
