"""What may be shown of an item, to whom (DOMAIN §2, §7): one pure decision.

- A sealed (封存: 亲启, 绝密, 科室) or quarantined (隔离) item shows only its outside in
  chat: sender, addressee, time, item id, envelope number; its 文号 and title were read
  from content chat never sees, and it is never a search hit.
- A classified (秘密/机密) item is an envelope-only notice in chat: marked 涉密件, no 文号,
  no text quoted from it, no file; its title only when `[bot] classified_titles` allows.
- Files go to chat only when `[bot] send_documents` allows (registry staff classifying a
  review item always get it: a fax image has no text) and the chat can carry their size.
- The 公文处理单 (handling slip) goes to chat as a file only for an item neither sealed
  nor classified; the registry's terminal prints any but a sealed item's title.
- The registry's own terminal (the CLI) is inside the 机要室: it shows everything but
  the title of a sealed item. The archive hand-over (归档) sees the same: a sealed item is
  handed over sealed, with its outside and its untouched raw file only.

Every text that shows an item asks `shown()`; the texts decide only the wording.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from core.config import Settings
from core.model import Outcome


class Viewer(StrEnum):
    """Who looks: a chat recipient by role, or the registry's own terminal."""

    LEADER = "leader"
    DUTY = "duty"
    STAFF = "staff"  # registry staff (文书处理室, 机要室) and section chats
    SUBSCRIBER = "subscriber"
    DESK = "desk"  # the CLI on the registry's machine
    ARCHIVE = "archive"  # the archive hand-over package (归档)


#: viewers that read in chat
CHAT_VIEWERS = frozenset({Viewer.LEADER, Viewer.DUTY, Viewer.STAFF, Viewer.SUBSCRIBER})
#: outcomes whose content never reaches chat: only their outside is shown (an item not
#: read yet, or whose reading failed, may be sealed)
_ENVELOPE_ONLY = frozenset(
    {Outcome.SEALED, Outcome.QUARANTINE, Outcome.RECEIVED, Outcome.SHUNTED}
)


@dataclass(frozen=True)
class Facts:
    """The plain facts of an item the decision looks at."""

    outcome: str
    secrecy: str | None = None
    #: size of the document that could go with it; None when it has none
    file_size: int | None = None


@dataclass(frozen=True)
class Policy:
    """The settings that widen or narrow what chat shows."""

    classified_titles: bool = False
    send_documents: bool = True
    #: the largest file the chat can carry; None: no limit known
    upload_limit: int | None = None

    @classmethod
    def of(cls, settings: Settings, *, upload_limit: int | None = None) -> Policy:
        return cls(settings.bot.classified_titles, settings.bot.send_documents, upload_limit)


@dataclass(frozen=True)
class Shown:
    """What may be shown. `envelope_only`: nothing but the outside."""

    envelope_only: bool
    classified: bool
    title: bool
    doc_number: bool
    #: text quoted from the item (evidence lines), or a search hit on its text
    quotes: bool
    file: bool

    @property
    def slip(self) -> bool:
        """The 公文处理单 as a file: it carries the title, 文号 and the 批示 verbatim, so only
        where all of them may be shown (never a classified or sealed item's in chat)."""
        return not (self.envelope_only or self.classified) and self.title and self.quotes


def is_classified(secrecy: str | None) -> bool:
    """秘密/机密/绝密: any secrecy level marks the item classified."""
    return bool(secrecy)


def shown(facts: Facts, viewer: Viewer, policy: Policy) -> Shown:
    """What `viewer` may be shown of an item with `facts` under `policy`."""
    classified = is_classified(facts.secrecy)
    if viewer in (Viewer.DESK, Viewer.ARCHIVE):
        sealed = facts.outcome == Outcome.SEALED
        return Shown(envelope_only=False, classified=classified, title=not sealed,
                     doc_number=True, quotes=not sealed, file=not sealed)
    envelope = facts.outcome in _ENVELOPE_ONLY
    closed = envelope or classified
    size = facts.file_size or 0
    reviewing = viewer is Viewer.STAFF and facts.outcome == Outcome.REVIEW
    fits = size > 0 and (policy.upload_limit is None or size <= policy.upload_limit)
    return Shown(
        envelope_only=envelope,
        classified=classified,
        title=not envelope and (not classified or policy.classified_titles),
        doc_number=not closed,
        quotes=not closed,
        file=not closed and fits and (policy.send_documents or reviewing),
    )


def label(ref: str, title: str | None, seen: Shown) -> str:
    """办2026-0001《标题》 for a notice; a classified item's title only when shown."""
    if seen.classified and not seen.title:
        return f"{ref}（涉密件）"
    return f"{ref}《{title}》" if title and seen.title else ref


def chat_title(title: str | None, secrecy: str | None, seen: Shown) -> str:
    """An item's title in a reminder or list line; a hidden one says why."""
    if not seen.title and seen.classified:
        return f"{secrecy}件，标题不在聊天中显示"
    return str(title or "无标题") if seen.title else "无标题"
