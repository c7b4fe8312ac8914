"""Input limits, once for every door (CLI, chat, mail): what a person may type into a field.

Services enforce them; adapters may check early for a friendlier prompt, with these constants.
"""

from __future__ import annotations

from core.errors import InvalidInputError

#: 标题, 来文单位, 文号 typed by staff
MAX_FIELD = 300
#: longest 批示 kept (a Telegram message is at most 4096 characters anyway)
MAX_INSTRUCTION = 4096
#: a subscription keyword
MAX_KEYWORD = 50
#: units, departments or extra copies in a 印数 calculation
MAX_COUNT = 100_000
#: a record id that fits SQLite's INTEGER
MAX_ID = 2**63 - 1


def required_text(value: str, label: str, *, field: str, limit: int = MAX_FIELD) -> str:
    """`value` stripped; refused when blank or longer than `limit` characters."""
    text = value.strip()
    if not text:
        raise InvalidInputError(f"{label}不能为空", field=field)
    if len(text) > limit:
        raise InvalidInputError(f"{label}过长（最多 {limit} 字）", field=field)
    return text


def optional_text(value: str | None, label: str, *, field: str,
                  limit: int = MAX_FIELD) -> str | None:
    """`value` stripped, None when blank; refused when longer than `limit` characters."""
    if value is None or not value.strip():
        return None
    return required_text(value, label, field=field, limit=limit)


def check_count(value: int | None, label: str, *, field: str, limit: int = MAX_COUNT) -> None:
    """A count from 0 to `limit` (None: not given)."""
    if value is not None and not 0 <= value <= limit:
        raise InvalidInputError(f"{label}应为 0–{limit}，收到 {value}", field=field)
