"""Benchmark: latency from SMTP 250 to the Bot API receiving the push, and push throughput.

    .venv/bin/python bench/push.py [--items 1000] [--rate 2.0] [--burst 300] [--fanout 300]

Runs what `jiyao serve` runs — the SMTP edge (IntakeDaemon) and the bot (ChatBot) on one
event loop, on a fresh data directory — against the fake Bot API server of the tests on
loopback, which records when each request arrives.

1. Latency at a sustainable arrival rate: --items corpus messages (dev corpus cycled, each
   under its own Message-ID) are sent over SMTP at --rate messages/s. For each message the
   clock runs from the 250 reply (the item is committed) to the arrival at the fake of the
   first sendMessage/sendDocument that carries its 收件序号 (a leader's push, or registry
   staff's notice for a returned/sealed/review item). p50/p95/max over all items.
2. Burst: --burst messages sent as fast as SMTP takes them; sustained pushes/s and how long
   the queue takes to drain.
3. Fan-out: --fanout plain chat events to 100 different chats at once, to show the overall
   cap (Telegram: about 30 messages/s) holds when the per-chat limit does not bind.
Every phase reports the fake's measured maxima: sends per second in total and per chat.

Why not 1,000 items within 1 s: Telegram allows one message per second per chat, and the
example office has 6 leaders and 2 registrars. On the dev corpus the busiest chats (州长 and
each registrar) get 13 of every 35 items, so the office can absorb at most about
35 / 13 / 1.05 ≈ 2.6 items/s however fast the bot is. --rate defaults to 1.0 items/s
(busiest chats about 40 % busy); at 2.0 items/s (about 80 %) per-chat queues form.
The reminder sweeper is held back (the corpus documents' 2024 deadlines would all fall due
at once and load the registry chats with 催办 messages that are not pushes).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiosmtplib
from pydantic import SecretStr

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.telegram.app import ChatBot  # noqa: E402 - after the path set-up above
from bot.telegram.render import item_ref_in  # noqa: E402
from core.config import Schedule, Settings, Storage, load_settings  # noqa: E402
from core.services.context import Context, open_context  # noqa: E402
from core.storage import outbox  # noqa: E402
from intake_daemon.app import IntakeDaemon  # noqa: E402
from tests.fake_telegram import SEND_METHODS, FakeTelegram  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus" / "dev"
OFFICE = "shouwen@gzz.gov.cn"
TOKEN = "123:BENCH"
_MID = re.compile(rb"(?im)^message-id:[^\n]*\n(?:[ \t][^\n]*\n)*")
_ITEM = re.compile(r"item (\d+)")


def messages(n: int, tag: str, seed: int = 1) -> list[bytes]:
    """n corpus messages, each under its own Message-ID, in a random (seeded) order: mail
    does not arrive in corpus file order, which bunches returns and sealed items together."""
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


def settings_for(data_dir: Path, fake: FakeTelegram) -> Settings:
    base = load_settings(ROOT / "config.example.toml")
    return base.model_copy(update={
        "storage": Storage(data_dir=data_dir),
        "bot": base.bot.model_copy(update={"token": SecretStr(TOKEN),
                                           "base_url": fake.base_url, "poll_timeout": 5.0}),
        "schedule": Schedule(sweep_seconds=86_400),
    })


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def first_push_times(fake: FakeTelegram) -> dict[int, float]:
    """Arrival time at the fake of the first successful send carrying each 收件序号."""
    first: dict[int, float] = {}
    for call in fake.calls:
        if call.method in SEND_METHODS and call.ok:
            item = item_ref_in(call.text)
            if item is not None and item not in first:
                first[item] = call.time
    return first


async def send_all(port: int, raws: list[bytes], rate: float | None,
                   conns: int = 4) -> dict[int, float]:
    """Send over `conns` SMTP connections; rate None: as fast as possible.
    Returns item id → time of the 250."""
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


async def drained(ctx: Context, limit: float) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        async with ctx.db.reader() as r:
            row = await r.fetchone("SELECT COUNT(*) AS n FROM outbox WHERE channel = 'chat'"
                                   " AND done_at IS NULL")
        if row is not None and row["n"] == 0:
            return
        await asyncio.sleep(0.1)
    raise TimeoutError("outbox not drained")


def limits(fake: FakeTelegram) -> str:
    return (f"max sends in any 1 s: total {fake.max_in_window(1.0):.0f}, "
            f"per chat {fake.max_rate_per_chat(1.0):.0f}")


def busiest(fake: FakeTelegram) -> tuple[int, int]:
    """(chat, messages) of the chat that got the most messages."""
    counts: dict[int, int] = {}
    for call in fake.calls:
        if call.method in SEND_METHODS and call.ok:
            counts[int(call.chat_id or 0)] = counts.get(int(call.chat_id or 0), 0) + 1
    chat = max(counts, key=counts.__getitem__)
    return chat, counts[chat]


async def start_serve(ctx: Context) -> tuple[IntakeDaemon, ChatBot]:
    """What `jiyao serve` starts, minus the reminder sweeper: the corpus's 2024 deadlines
    would all fall due at once and fill the registry chats with 催办, which are not pushes."""
    intake = IntakeDaemon(ctx, host="127.0.0.1", port=0)
    bot = ChatBot(ctx)
    await intake.start()
    await bot.start()
    assert bot.app is not None
    assert bot.app.job_queue is not None
    for job in bot.app.job_queue.get_jobs_by_name("reminders"):
        job.schedule_removal()
    return intake, bot


async def phase_latency(items: int, rate: float) -> None:
    async with FakeTelegram() as fake:
        with tempfile.TemporaryDirectory() as tmp:
            ctx = await open_context(settings_for(Path(tmp), fake))
            intake, bot = await start_serve(ctx)
            try:
                committed = await send_all(intake.port, messages(items, "lat"), rate)
                await drained(ctx, limit=items / rate + 120)
            finally:
                await bot.stop()
                await intake.stop()
                await ctx.db.close()
    arrived = first_push_times(fake)
    lat = [arrived[i] - t for i, t in committed.items() if i in arrived]
    missing = [i for i in committed if i not in arrived]
    sends = [c for c in fake.calls if c.method in SEND_METHODS and c.ok]
    span = sends[-1].time - sends[0].time if len(sends) > 1 else 1.0
    print(f"[latency] {items} items over SMTP at {rate:g}/s: {len(lat)} pushed "
          f"({len(missing)} without a push), {len(sends)} messages")
    print(f"  SMTP 250 → Bot API receives first push: p50 {pct(lat, 50) * 1000:.0f} ms, "
          f"p95 {pct(lat, 95) * 1000:.0f} ms, max {max(lat) * 1000:.0f} ms, "
          f"mean {statistics.fmean(lat) * 1000:.0f} ms")
    print(f"  sustained {len(sends) / span:.1f} messages/s; {limits(fake)}")


async def phase_burst(items: int) -> None:
    async with FakeTelegram() as fake:
        with tempfile.TemporaryDirectory() as tmp:
            ctx = await open_context(settings_for(Path(tmp), fake))
            intake, bot = await start_serve(ctx)
            try:
                started = time.monotonic()
                committed = await send_all(intake.port, messages(items, "burst"), None, conns=8)
                accepted = time.monotonic() - started
                await drained(ctx, limit=items * 2 + 60)
                total = time.monotonic() - started
            finally:
                await bot.stop()
                await intake.stop()
                await ctx.db.close()
    sends = [c for c in fake.calls if c.method in SEND_METHODS and c.ok]
    span = sends[-1].time - sends[0].time
    arrived = first_push_times(fake)
    lat = [arrived[i] - t for i, t in committed.items() if i in arrived]
    print(f"[burst] {items} items accepted over SMTP in {accepted:.1f} s; "
          f"{len(sends)} messages delivered in {total:.1f} s")
    chat, most = busiest(fake)
    print(f"  sustained {len(sends) / span:.1f} messages/s; {limits(fake)}")
    print(f"  bound by 1 message/s per chat: chat {chat} got {most} messages, "
          f"≥ {most * 1.05:.0f} s at 1.05 s apart")
    print(f"  queueing latency: p50 {pct(lat, 50):.1f} s, p95 {pct(lat, 95):.1f} s")


async def phase_fanout(events: int) -> None:
    async with FakeTelegram() as fake:
        with tempfile.TemporaryDirectory() as tmp:
            ctx = await open_context(settings_for(Path(tmp), fake))
            bot = ChatBot(ctx)
            await bot.start()
            try:
                now = ctx.clock()
                async with ctx.db.unit_of_work() as uow:
                    for i in range(events):
                        await outbox.enqueue(uow, channel="chat", event="notice",
                                             target=700_000 + i % 100,
                                             payload={"text": f"通知 {i}"}, at=now)
                    await uow.commit()
                started = time.monotonic()
                await drained(ctx, limit=events + 60)
                took = time.monotonic() - started
            finally:
                await bot.stop()
                await ctx.db.close()
    print(f"[fan-out] {events} messages to 100 chats in {took:.1f} s = "
          f"{events / took:.1f} messages/s; {limits(fake)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=1.0)
    parser.add_argument("--burst", type=int, default=300)
    parser.add_argument("--fanout", type=int, default=300)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    if args.fanout:
        asyncio.run(phase_fanout(args.fanout))
    if args.burst:
        asyncio.run(phase_burst(args.burst))
    if args.items:
        asyncio.run(phase_latency(args.items, args.rate))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
