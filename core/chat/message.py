"""The neutral chat message every adapter turns into its own form.

A message is lines of spans (a span may be strong: Telegram shows it bold, WeCom as a
card's title or plain text), actions (a label and the callback key the bot already uses,
e.g. ``r:17`` for 已阅 on item 17) and an optional file. What it may say of an item was
decided by core.visibility before it was built.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from core.model import Kind

RESEND_MARK = "【重发】"

# ------------------------------------------------------------------ callback keys
READ, INSTRUCT, PASS_ON, KIND, ACCEPT = "r", "i", "n", "k", "a"
KIND_CODES: dict[str, Kind] = {
    "b": Kind.BAN, "y": Kind.YUE, "c": Kind.CHAO, "n": Kind.NEIKAN, "j": Kind.JIANBAO,
}
CODE_OF_KIND = {k: c for c, k in KIND_CODES.items()}
_CALLBACK = re.compile(r"^([rinka]):(\d{1,12})(?::([bycnj]))?$")
#: Telegram's callback data limit, the tighter of the two platforms
CALLBACK_LIMIT = 64


@dataclass(frozen=True)
class Callback:
    action: str
    item_id: int
    kind: Kind | None = None


def callback(action: str, item_id: int, kind: Kind | None = None) -> str:
    """Short prefixed callback data (well under Telegram's 64 bytes)."""
    data = f"{action}:{item_id}" + (f":{CODE_OF_KIND[kind]}" if kind else "")
    assert len(data.encode()) <= CALLBACK_LIMIT
    return data


def parse_callback(data: str | None) -> Callback | None:
    """The button pressed, or None for data this bot never made (stale or forged)."""
    m = _CALLBACK.match(data or "")
    if m is None:
        return None
    action, item, code = m.groups()
    if (action == KIND) != (code is not None):
        return None
    return Callback(action, int(item), KIND_CODES[code] if code else None)


# ------------------------------------------------------------------ the message
@dataclass(frozen=True)
class Span:
    text: str
    strong: bool = False


Line = tuple[Span, ...]


def line(*parts: str | Span) -> Line:
    """A line from plain strings and strong spans."""
    return tuple(p if isinstance(p, Span) else Span(p) for p in parts if p)


def strong(text: str) -> Span:
    return Span(text, strong=True)


def plain(row: Line) -> str:
    return "".join(s.text for s in row)


@dataclass(frozen=True)
class Action:
    """A button: its label and the callback key it sends back."""

    label: str
    key: str


@dataclass(frozen=True)
class Attachment:
    """A stored file that goes with the message (blob sha256, name, size in bytes)."""

    blob: str
    filename: str
    size: int = 0


@dataclass(frozen=True)
class Message:
    lines: tuple[Line, ...]
    #: rows of buttons
    actions: tuple[tuple[Action, ...], ...] = ()
    file: Attachment | None = None
    #: the item it is about (a card's task id, a 批示's way back)
    item_id: int | None = None
    urgent: bool = False
    #: the head line's index, when one line names the item (a card's title)
    head: int | None = field(default=None, compare=False)
    #: the lines that stand for it in a batch listing several items (None: all of them)
    brief: tuple[Line, ...] | None = field(default=None, compare=False)

    @property
    def rich(self) -> bool:
        """Some span is strong: Telegram sends it as HTML."""
        return any(s.strong for row in self.lines for s in row)

    def text(self) -> str:
        return "\n".join(plain(row) for row in self.lines)

    def all_actions(self) -> tuple[Action, ...]:
        return tuple(a for row in self.actions for a in row)


def text_message(
    text: str, actions: Sequence[Sequence[Action]] = (), file: Attachment | None = None,
    *, urgent: bool = False, item_id: int | None = None,
) -> Message:
    """A plain message: each line of `text` one line, nothing strong."""
    return Message(tuple(line(t) for t in text.split("\n")),
                   tuple(tuple(row) for row in actions if row), file, item_id, urgent)


def actions_from_payload(rows: object) -> tuple[tuple[Action, ...], ...]:
    """Button rows of a plain outbox event ([[{"text", "data"}]]); anything malformed is
    dropped."""
    if not isinstance(rows, list):
        return ()
    out = []
    for row in rows:
        if not isinstance(row, list):
            continue
        actions = tuple(
            Action(str(b["text"]), str(b["data"])) for b in row
            if isinstance(b, dict) and b.get("text") and b.get("data")
            and len(str(b["data"]).encode()) <= CALLBACK_LIMIT
        )
        if actions:
            out.append(actions)
    return tuple(out)
