"""Times shown to staff are the office's local time (Asia/Shanghai in the example)."""

from __future__ import annotations

import re
import smtplib
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from core import localtime
from core.model import Kind
from core.services import registry
from core.services.context import Context
from jiyao.commands.registers import error_lines
from tests.conftest import ROOT, FrozenClock
from tests.intake_helpers import OFFICE, free_port, intake_process, wait_decided_dir

SHANGHAI = ZoneInfo("Asia/Shanghai")
EXAMPLE_MAIL = (ROOT / "examples" / "请示.eml").read_bytes().replace(b"\r\n", b"\n") \
    .replace(b"\n", b"\r\n")


def test_formats_are_local() -> None:
    at = datetime(2026, 3, 1, 17, 5, 3, 123456, tzinfo=UTC)  # 3月2日 01:05 in Shanghai
    assert localtime.minute(at, SHANGHAI) == "2026-03-02 01:05"
    assert localtime.stored_day(at.isoformat(), SHANGHAI) == "2026-03-02"
    assert localtime.month_day_zh(at, SHANGHAI) == "3月2日 01:05"
    assert localtime.full_zh(at, SHANGHAI) == "2026年3月2日 01:05"
    assert localtime.log_stamp(at, SHANGHAI) == "2026-03-02 01:05:03.123+08:00"
    assert localtime.offset_text(at, SHANGHAI) == "UTC+08:00"


async def test_errors_dates_a_correction_by_the_local_day(
    ctx: Context, clock: FrozenClock
) -> None:
    """A correction made at 01:00 in Shanghai is of that day, not of the UTC day before."""
    clock.now = datetime(2026, 3, 1, 17, 0, tzinfo=UTC)  # 2026-03-02 01:00 +08:00
    item = await registry.register_paper(
        ctx, kind=Kind.BAN, sender="康定市人民政府", title="关于申请资金的请示",
        received=clock.now)
    await registry.correct(ctx, ref=item.number or "", kind=Kind.YUE, reason="无办理要求",
                           actor="张三")
    lines = error_lines(await registry.errors(ctx, year=2026), ctx.settings.tz)
    assert "2026-03-02" in lines[1]
    assert "2026-03-01" not in lines[1]


def test_log_states_the_zone_first_and_times_carry_the_offset(tmp_path: Path) -> None:
    """Every line's time and the receipt time in the item line are local, with offset."""
    log = tmp_path / "intake.log"
    port = free_port()
    with intake_process(tmp_path / "data", port, log):
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
            client.sendmail("bgs@kangding.gov.cn", [OFFICE], EXAMPLE_MAIL)
        wait_decided_dir(tmp_path / "data")
    lines = [line for line in log.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert "Asia/Shanghai" in lines[0]
    assert "UTC+08:00" in lines[0]
    stamped = [line for line in lines if re.match(r"\d{4}-\d\d-\d\d ", line)]
    assert stamped
    assert all(re.match(r"\S+ \d\d:\d\d:\d\d\.\d{3}\+08:00 ", line) for line in stamped)
    items = [line for line in lines if " 收件 " in line]
    assert items
    assert all(re.search(r" 收件 \S+ \d\d:\d\d:\d\d\.\d{3}\+08:00 message-id=", line)
               for line in items)
