"""WeCom callbacks kept before a restart are handed over at the next start, within a
stop's grace."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass

from bot.wecom.callback import CallbackServer, dedupe_key, journal_key, parse_xml
from tests.fake_wecom import FakeWeCom
from tests.test_wecom_callback import LEADER, Recorder


@dataclass(frozen=True)
class Left:
    key: str
    fields: dict[str, str]
    due_in: float = 0.0


class MemoryJournal:
    def __init__(self) -> None:
        self.rows: dict[str, tuple[dict[str, str], bool]] = {}

    async def keep(self, key: str, fields: Mapping[str, str]) -> bool:
        if key in self.rows:
            return False
        self.rows[key] = (dict(fields), False)
        return True

    async def done(self, key: str) -> None:
        self.rows[key] = (self.rows[key][0], True)

    async def retry(self, key: str, error: str) -> float | None:
        return None

    async def failed(self, key: str, error: str) -> None:
        self.rows[key] = (self.rows[key][0], True)

    async def waiting(self) -> list[Left]:
        return [Left(k, f) for k, (f, d) in self.rows.items() if not d]


async def test_a_stop_gives_the_callbacks_left_from_the_last_run_their_grace_too() -> None:
    """Two 批示 kept by the last run and not handled: this run's worker hands them over
    first. A stop soon after the start, with its usual grace (5 s) and a handler taking
    0.2 s each, must let them finish, as it does for callbacks received in this run."""
    async with FakeWeCom(users={LEADER}) as fake:
        journal = MemoryJournal()
        for n in ("9001", "9002"):
            xml = fake.text_xml(LEADER, f"同意 {n}", n)
            fields = parse_xml(xml.encode())
            await journal.keep(journal_key(dedupe_key(fields)), fields)
        handler = Recorder(delay=0.2)
        server = CallbackServer(fake.crypt, handler, port=0, agent_id=fake.agent_id,
                                journal=journal)
        await server.start()
        await asyncio.sleep(0)
        await server.stop()  # grace: STOP_GRACE
        assert [e.fields["Content"] for e in handler.events] == ["同意 9001", "同意 9002"]
        assert await journal.waiting() == []
