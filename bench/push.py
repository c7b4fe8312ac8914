"""Benchmark: latency from SMTP 250 to the chat platform receiving the push, on Telegram
and on WeCom, at a steady rate and in a burst.

    .venv/bin/python bench/push.py [--platform both] [--items 60] [--rate 1.0]
                                   [--burst 200] [--rounds 3]

Runs what `jiyao serve` runs — the SMTP edge (IntakeDaemon), two pipeline worker processes
(OCR off) and one chat adapter (ChatBot, or the WeCom adapter) on one event loop, on a
fresh data directory per round — against
the tests' fake server of that platform on loopback, which records when each message
arrives. Telegram's fake holds the bot to about 30 messages/s overall (the bot paces each
chat to one a second); WeCom's fake silently drops beyond 30 messages a minute to one
member (the adapter's pacer keeps under it).

Before each measured phase WARM messages go through the whole chain and the outbox is
drained: a running service's workers have started and read documents before a burst (the
first document after a start pays for imports, about a second), and the chats' send
slots are free again.

1. Steady: --items corpus messages (the dev corpus cycled, shuffled, each under its own
   Message-ID) sent over SMTP at --rate items/s.
2. Burst: --burst messages sent as fast as SMTP takes them (8 connections).

For each item the clock runs from its 250 (the item is committed) to the arrival of the
first message naming its 收件序号 (alone or in a batch). Each phase prints, over --rounds
rounds, min / median / max of the p50 and p95, of the p95 of 特急/特提 items, of the p95
from the pipeline's decision to the push (the chat adapter's share: the rest is the
pipeline reading and classifying), and of the messages the busiest recipient got. The
scheduled jobs (jiyao.jobs) are not run: the reminder sweeper is held back (the corpus's
2024 deadlines would fall due at once and fill the registry's chats with 催办).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import random
import re
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import aiosmtplib
from pydantic import SecretStr

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.telegram.app import ChatBot  # noqa: E402 - after the path set-up above
from bot.wecom.app import WeComBot  # noqa: E402
from core.config import Schedule, Settings, Storage, load_settings  # noqa: E402
from core.services import pipeline  # noqa: E402
from core.services.context import Context, open_context  # noqa: E402
from intake_daemon.app import IntakeDaemon  # noqa: E402
from jiyao.pipeline import PipelineProcesses  # noqa: E402
from tests.fake_telegram import SEND_METHODS, FakeTelegram  # noqa: E402
from tests.fake_wecom import FakeWeCom  # noqa: E402
from tests.wecom_helpers import with_wecom  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus" / "dev"
OFFICE = "shouwen@gzz.gov.cn"
TOKEN = "123:BENCH"
_MID = re.compile(rb"(?im)^message-id:[^\n]*\n(?:[ \t][^\n]*\n)*")
_ITEM = re.compile(r"item (\d+)")
#: messages through the whole chain before each measured phase
WARM = 4
_REF = re.compile(r"收件序号\s*(\d{1,12})")


def messages(n: int, tag: str, seed: int = 1) -> list[bytes]:
    """n corpus messages, each under its own Message-ID, in a random (seeded) order."""
    files = sorted(CORPUS.glob("*.eml"))
    order = [files[i % len(files)] for i in range(n)]
    random.Random(seed).shuffle(order)
    out = []
    for i, path in enumerate(order):
        raw = path.read_bytes().replace(b"\r\n", b"\n")
        header = f"Message-ID: <{tag}.{i}@bench.example>\n".encode()
        raw = _MID.sub(lambda _m, h=header: h, raw, count=1)
        out.append(raw.replace(b"\n", b"\r\n"))
    return out


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def send_all(port: int, raws: list[bytes], rate: float | None,
                   conns: int = 4) -> dict[int, float]:
    """Send over `conns` SMTP connections; rate None: as fast as possible. Item id → the
    time of its 250."""
    done: dict[int, float] = {}
    queue: asyncio.Queue[tuple[int, bytes]] = asyncio.Queue()
    for i, raw in enumerate(raws):
        queue.put_nowait((i, raw))
    start = time.monotonic()

    async def worker() -> None:
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, timeout=60)
        await client.connect()
        try:
            while not queue.empty():
                i, raw = queue.get_nowait()
                if rate:
                    await asyncio.sleep(max(0.0, start + i / rate - time.monotonic()))
                _errors, reply = await client.sendmail("sender@bench.example", [OFFICE], raw)
                at = time.monotonic()
                m = _ITEM.search(reply)
                if m:
                    done[int(m.group(1))] = at
        finally:
            await client.quit()

    await asyncio.gather(*(worker() for _ in range(conns)))
    return done


async def drained(ctx: Context, limit: float, like: str) -> None:
    """Until the pipeline has decided every item and the platform's events are sent."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        state = await pipeline.queue_status(ctx)
        async with ctx.db.reader() as r:
            row = await r.fetchone("SELECT COUNT(*) AS n FROM outbox WHERE channel = 'chat'"
                                   " AND done_at IS NULL AND target LIKE ?", (like,))
        if state.received + state.in_progress == 0 and row is not None and row["n"] == 0:
            return
        await asyncio.sleep(0.1)
    raise TimeoutError("outbox not drained")


async def decided_times(ctx: Context) -> dict[int, float]:
    """Item id → when the pipeline decided it, on the monotonic clock the fakes use."""
    offset = time.time() - time.monotonic()
    async with ctx.db.reader() as r:
        rows = await r.fetchall("SELECT id, decided_at FROM items WHERE decided_at IS NOT NULL")
    return {int(x["id"]): datetime.fromisoformat(x["decided_at"]).timestamp() - offset
            for x in rows}


async def urgent_items(ctx: Context) -> set[int]:
    async with ctx.db.reader() as r:
        rows = await r.fetchall("SELECT id FROM items WHERE urgency IN ('特急', '特提')")
    return {int(x["id"]) for x in rows}


# ------------------------------------------------------------------ the two platforms
@dataclass
class Arrivals:
    """(time, recipient, text) of every message the platform showed."""

    shown: list[tuple[float, str, str]]

    def first(self) -> dict[int, float]:
        first: dict[int, float] = {}
        for at, _who, text in self.shown:
            for ref in _REF.findall(text):
                first.setdefault(int(ref), at)
        return first

    def since(self, begin: float) -> Arrivals:
        return Arrivals([x for x in self.shown if x[0] >= begin])

    def busiest(self) -> int:
        counts = Counter(who for _, who, text in self.shown if _REF.search(text))
        return max(counts.values()) if counts else 0


def base_settings(data_dir: Path) -> Settings:
    base = load_settings(ROOT / "config.example.toml")
    return base.model_copy(update={"storage": Storage(data_dir=data_dir),
                                   "schedule": Schedule(sweep_seconds=86_400),
                                   "ocr": base.ocr.model_copy(update={"enabled": False})})


@contextlib.asynccontextmanager
async def telegram(data_dir: Path) -> AsyncIterator[tuple[Context, Callable[[], Arrivals]]]:
    async with FakeTelegram() as fake:
        base = base_settings(data_dir)
        settings = base.model_copy(update={"bot": base.bot.model_copy(update={
            "token": SecretStr(TOKEN), "base_url": fake.base_url, "poll_timeout": 5.0})})
        ctx = await open_context(settings)
        bot = ChatBot(ctx)
        try:
            await bot.start()

            def arrivals() -> Arrivals:
                return Arrivals([(c.time, str(c.chat_id), c.text or "") for c in fake.calls
                                 if c.method in SEND_METHODS and c.ok])

            yield ctx, arrivals
        finally:
            await bot.stop()
            await ctx.db.close()


@contextlib.asynccontextmanager
async def wecom(data_dir: Path) -> AsyncIterator[tuple[Context, Callable[[], Arrivals]]]:
    base = base_settings(data_dir)
    people = (*base.leader, *base.staff, *base.duty)
    users = {p.chat_id: f"u{p.chat_id}" for p in people}
    async with FakeWeCom(users=set(users.values())) as fake:
        settings = with_wecom(base, users, base_url=fake.base_url, corp_id=fake.corp_id,
                              agent_id=fake.agent_id, token=fake.token, secret=fake.secret,
                              aes_key=fake.encoding_aes_key)
        ctx = await open_context(settings)
        app = WeComBot(ctx)
        try:
            await app.start()

            def arrivals() -> Arrivals:
                shown = []
                for m in fake.messages:
                    if not m.shown:
                        continue
                    card = m.body.get("template_card") or {}
                    text = m.content or (f"{card.get('main_title', {}).get('title', '')}\n"
                                         f"{card.get('sub_title_text', '')}")
                    shown.append((m.at, m.user, text))
                return Arrivals(shown)

            yield ctx, arrivals
        finally:
            await app.stop()
            await ctx.db.close()


PLATFORMS = {"telegram": (telegram, "%"), "wecom": (wecom, "wecom:%")}


# ------------------------------------------------------------------ one round
@dataclass
class Round:
    p50: float
    p95: float
    urgent_p95: float
    #: from the pipeline's decision (routing) to the push: the chat adapter's share
    chat_p95: float
    busiest: int
    messages: int
    unpushed: int


async def one_round(platform: str, items: int, rate: float | None, tag: str) -> Round:
    start, like = PLATFORMS[platform]
    with tempfile.TemporaryDirectory() as tmp:
        async with start(Path(tmp)) as (ctx, arrivals):
            workers = PipelineProcesses(ctx, workers=2)
            intake = IntakeDaemon(ctx, host="127.0.0.1", port=0)
            try:
                await workers.start()
                await intake.start()
                # warm: a running service's workers have started and read a document or
                # two (imports, parsers) before a burst comes; then the chats' slots free
                await send_all(intake.port, messages(WARM, f"{tag}.warm", seed=7), None,
                               conns=2)
                await drained(ctx, limit=120, like=like)
                await asyncio.sleep(1.5)
                begin = time.monotonic()
                committed = await send_all(intake.port, messages(items, tag), rate,
                                           conns=4 if rate else 8)
                await drained(ctx, limit=items * 3 + 120, like=like)
                urgent = await urgent_items(ctx)
                decided = await decided_times(ctx)
            finally:
                await intake.stop()
                await workers.stop()
            seen = arrivals().since(begin)
    first = seen.first()
    lat = [first[i] - t for i, t in committed.items() if i in first]
    hurry = [first[i] - t for i, t in committed.items() if i in first and i in urgent]
    chat = [first[i] - t for i, t in decided.items() if i in first]
    return Round(pct(lat, 50), pct(lat, 95), pct(hurry, 95), pct(chat, 95), seen.busiest(),
                 sum(1 for _, _, text in seen.shown if _REF.search(text)),
                 sum(1 for i in committed if i not in first))


def spread(values: list[float], unit: str = "s") -> str:
    ordered = sorted(values)
    return (f"{ordered[0]:.2f} / {statistics.median(ordered):.2f} / {ordered[-1]:.2f} {unit}"
            if unit else f"{ordered[0]:.0f} / {statistics.median(ordered):.0f} / "
                         f"{ordered[-1]:.0f}")


async def phase(platform: str, name: str, items: int, rate: float | None,
                rounds: int) -> None:
    done = [await one_round(platform, items, rate, f"{platform}.{name}.{n}")
            for n in range(rounds)]
    how = f"at {rate:g} item/s" if rate else "as fast as SMTP takes them"
    print(f"[{platform} {name}] {items} items {how}, {rounds} rounds "
          f"(min / median / max):")
    print(f"  250 → first push  p50 {spread([r.p50 for r in done])}, "
          f"p95 {spread([r.p95 for r in done])}")
    print(f"  特急/特提 p95 {spread([r.urgent_p95 for r in done])}; decided → first push "
          f"p95 {spread([r.chat_p95 for r in done])}")
    print(f"  messages naming an item {spread([float(r.messages) for r in done], '')}; "
          f"busiest recipient {spread([float(r.busiest) for r in done], '')}; "
          f"items without a push {max(r.unpushed for r in done)} (returned, sealed…)")


async def run(args: argparse.Namespace) -> None:
    platforms = ["telegram", "wecom"] if args.platform == "both" else [args.platform]
    for platform in platforms:
        if args.items:
            await phase(platform, "steady", args.items, args.rate, args.rounds)
        if args.burst:
            await phase(platform, "burst", args.burst, None, args.rounds)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--platform", choices=("both", "telegram", "wecom"), default="both")
    parser.add_argument("--items", type=int, default=60)
    parser.add_argument("--rate", type=float, default=1.0)
    parser.add_argument("--burst", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    asyncio.run(run(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
