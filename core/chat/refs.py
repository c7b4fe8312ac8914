"""A 批示 sent as text that names its item: "收件序号 12 …" or "办2026-0001 …".

Platforms without replies (WeCom) take a 批示 this way when no 批示 button was pressed;
whether the named reference is an item is for core.services.registry to say.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# a leading "批示", then 收件序号 N or a register-number-like token, then the text; the
# separators are spaces or Chinese/ASCII colons and commas (no \b: it fails on Chinese)
_NAMED = re.compile(
    r"^\s*(?:批示\s*[:：]?\s*)?(?:收件序号\s*(?P<id>\d{1,12})|(?P<number>[^\s:：，,]{2,30}))"
    r"\s*[:：，,\s]\s*(?P<text>\S.*)$",
    re.DOTALL,
)


@dataclass(frozen=True)
class Named:
    ref: str
    text: str


def named_item(text: str) -> Named | None:
    """The reference a text starts with and the 批示 after it; None when it names none."""
    m = _NAMED.match(text)
    if m is None:
        return None
    ref = m.group("id") or m.group("number")
    if not m.group("id") and not any(c.isdigit() for c in ref):
        return None  # a register number always holds digits; this is just a first word
    return Named(ref, m.group("text").strip())
