"""The clock is passed in: services call it, pure code takes `now`/`today` as arguments."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from functools import lru_cache

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


@lru_cache(maxsize=64)  # a unit of work writes the same `now` several times
def iso(dt: datetime) -> str:
    """Store times as ISO 8601 in UTC; refuse naive datetimes."""
    if dt.tzinfo is None:
        raise ValueError("naive datetime")
    return dt.astimezone(UTC).isoformat(timespec="microseconds")


def parse_iso(text: str) -> datetime:
    dt = datetime.fromisoformat(text)
    if dt.tzinfo is None:
        raise ValueError(f"naive datetime: {text}")
    return dt
