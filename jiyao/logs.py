"""Log lines carry the office's local time with its offset; the first line names the zone."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, tzinfo

from core import localtime

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class ZoneFormatter(logging.Formatter):
    """`asctime` as 2026-03-02 17:05:03.123+08:00 in `tz` (UTC until the config is read)."""

    def __init__(self, fmt: str, tz: tzinfo = UTC) -> None:
        super().__init__(fmt)
        self.tz = tz

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        return localtime.log_stamp(datetime.fromtimestamp(record.created, UTC), self.tz)


def setup(fmt: str = FORMAT) -> None:
    """Log INFO and above to stderr with zoned times (before the config is known)."""
    handler = logging.StreamHandler()
    handler.setFormatter(ZoneFormatter(fmt))
    logging.basicConfig(level=logging.INFO, handlers=[handler])
    # pypdf warns on every damaged PDF; intake records those as findings already
    logging.getLogger("pypdf").setLevel(logging.ERROR)


def use_zone(tz: tzinfo, name: str) -> None:
    """Log in the office's zone from now on, and say so in a line of its own."""
    for handler in logging.getLogger().handlers:
        if isinstance(handler.formatter, ZoneFormatter):
            handler.formatter.tz = tz
    now = datetime.now(UTC)
    logging.getLogger("jiyao").info(
        "日志时间为本机关时区 %s（%s）", name, localtime.offset_text(now, tz))
