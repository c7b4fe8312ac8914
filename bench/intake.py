"""Benchmark of the SMTP intake (issue 12) against a bare aiosmtpd sink, same run.

    .venv/bin/python bench/intake.py                    # everything, 3 rounds
    .venv/bin/python bench/intake.py --rounds 1 --only corpus --corpus-messages 60   # quick

Parts (--only smtp-source,corpus,lag,drain,rss; all by default):

smtp-source  Postfix's load generator (/usr/sbin/smtp-source -d -s 20 -m 2000 -l 20480:
             20 sessions, each sending message after message on its connection, 2,000
             messages with 20 kB bodies) against the sink and against `jiyao intake`.
corpus       A multi-process client (--procs processes × --conns aiosmtplib connections)
             sending the dev corpus, cycled, each copy under its own Message-ID.
             In both parts each round (--rounds, default 3) measures a pair, back to
             back: `jiyao intake` is started on a fresh data directory, warmed up
             (--warm messages) and waited for until its pipeline has decided the warm-up
             (workers started, imports done, nothing waiting); then the sink is started
             and warmed up the same way; then the load runs against the sink and at once
             (no start, no wait in between) against jiyao. So both sides of a ratio see
             the same moments of the shared machine, and jiyao's measured run begins
             with an idle pipeline, as the sink's does; the pipeline then catches up
             behind the edge, which is what is being measured. Only after jiyao's run is
             its pipeline waited for, to check: the database is read (read-only) and
             every message answered 250 must be registered exactly once (items and
             distinct Message-IDs; for the corpus client also the item ids of the 250
             replies), then `jiyao check`. Rates min/median/max and the ratio jiyao/sink
             of each pair. CPU ms/msg: the edge process alone (for jiyao also its
             workers', during the same run, as "workers").
lag          Corpus messages at a sustained --lag-rate (50/s) to `jiyao intake`: the
             client notes when each 250 arrives and the item id in it; the database says
             when the item was decided and numbered: items.decided_at and
             items.numbered_at when those columns exist (the staged design), else the
             register entry's registered_at, else items.received_at (today's one-stage
             intake: all three are the one `now` taken before its single commit, so the
             decision precedes the 250 and the lag is ≤ 0 by construction).
drain        A burst of --drain-messages corpus messages, then the time until nothing is
             waiting (no item with outcome `received`, or decided_at NULL), with
             `--workers 1` and `--workers 2` passed to `jiyao intake`. Only when the
             intake has a pipeline (its --help lists --workers, or its schema decided_at);
             otherwise "n/a (one-stage intake)".
rss          Peak RSS (VmHWM) of the edge process, and of any worker process it started
             (sampled every 20 ms), while one --big-mib MiB message goes through, as a
             multiple of the message size (target for the edge: under 2×).

The sink is aiosmtpd's own SMTP class with the options `jiyao intake` gives its protocol
(size limit, SMTPUTF8, hostname, timeout) on a plain asyncio loop served with
`loop.create_server`, as `jiyao intake` does; its DATA handler answers 250 at once. It
reads the whole message and nothing more: no identity check, no fsync'd blob, no database
row, no parse. (aiosmtpd reads DATA a line at a time; jiyao's IntakeSMTP reads it a block
at a time — `--sink-reader intake` gives the sink that reader instead.) `--workers N` is
passed to every `jiyao intake` when it accepts the option (ignored by one-stage intake).
`--uvloop` adds, in every round of smtp-source and corpus, a second pair: the sink again,
then at once `jiyao intake` with `[smtp] uvloop = true` (the sink stays on asyncio's loop);
its ratio is to the sink of its own pair.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import functools
import io
import multiprocessing as mp
import os
import re
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import aiosmtplib

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus" / "dev"
CONFIG = ROOT / "config.example.toml"
OFFICE = "shouwen@gzz.gov.cn"
SMTP_SOURCE = "/usr/sbin/smtp-source"
SOURCE_HOST = "smtp-source.bench"
PARTS = ("smtp-source", "corpus", "lag", "drain", "rss")
_MID = re.compile(rb"(?im)^message-id:[^\n]*\n(?:[ \t][^\n]*\n)*")
_ITEM = re.compile(r"item (\d+)")


def load() -> str:
    return "load {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


# ------------------------------------------------------------------ messages


def messages(n: int, tag: str) -> list[bytes]:
    """n corpus messages, cycled, each under its own Message-ID, CRLF line ends."""
    files = sorted(CORPUS.glob("*.eml"))
    out = []
    for i in range(n):
        raw = files[i % len(files)].read_bytes().replace(b"\r\n", b"\n")
        header = f"Message-ID: <{tag}.{i}@bench.example>\n".encode()
        raw = _MID.sub(lambda _m, h=header: h, raw, count=1)
        out.append(raw.replace(b"\n", b"\r\n"))
    return out


def big_message(mib: int) -> bytes:
    """A message of about `mib` MiB: a valid PDF with an incompressible scanned image."""
    from PIL import Image
    from reportlab import rl_config
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    rl_config.useA85 = 0  # binary image stream: the PDF is the image's size
    raw_bytes = int(mib * 1024 * 1024 * 3 / 4) - 100_000  # base64 grows by 4/3
    side = int((raw_bytes / 3) ** 0.5)
    image = Image.frombytes("RGB", (side, side), os.urandom(side * side * 3))
    pdf = io.BytesIO()
    page = canvas.Canvas(pdf, pagesize=A4, pageCompression=0)
    page.drawImage(ImageReader(image), 0, 0, width=A4[0], height=A4[1])
    page.showPage()
    page.save()
    body = base64.encodebytes(pdf.getvalue()).replace(b"\n", b"\r\n")
    head = (
        "From: =?utf-8?b?" + base64.b64encode("康定市人民政府".encode()).decode()
        + "?= <wenshu@kangding.gov.cn>\r\n"
        f"To: {OFFICE}\r\nSubject: big scan\r\nMessage-ID: <big.{time.time_ns()}@bench>\r\n"
        f"Date: {format_datetime(datetime.now(UTC))}\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="B"\r\n\r\n--B\r\n'
        "Content-Type: text/plain; charset=utf-8\r\n\r\nscan\r\n--B\r\n"
        "Content-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n"
        'Content-Disposition: attachment; filename="scan.pdf"\r\n\r\n'
    ).encode()
    return head + body + b"\r\n--B--\r\n"


# ------------------------------------------------------------------ corpus client


@dataclass
class Sent:
    """What the client saw of the messages it sent."""

    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)  # end of DATA → 250, s
    replies: list[tuple[float, int | None]] = field(default_factory=list)  # (wall time, item)

    @property
    def count(self) -> int:
        return len(self.replies)

    @property
    def rate(self) -> float:
        return self.count / self.seconds


async def _send(client: aiosmtplib.SMTP, raw: bytes, sent: Sent) -> None:
    await client.mail("mta@relay.example")
    await client.rcpt(OFFICE)
    reply = await client.execute_command(b"DATA")
    if reply.code != 354:
        raise RuntimeError(f"DATA refused: {reply}")
    payload = re.sub(rb"(?m)^\.", b"..", raw)
    if not payload.endswith(b"\r\n"):
        payload += b"\r\n"
    assert client.protocol is not None
    # as aiosmtplib's own data(): expect the reply before writing (else it is dropped)
    client.protocol._response_pending = True
    client.protocol.write(payload + b".\r\n")
    end_of_data = time.perf_counter()
    reply = await client.protocol.read_response(timeout=600)
    wall = time.time()
    if reply.code != 250:
        raise RuntimeError(f"not accepted: {reply}")
    sent.latencies.append(time.perf_counter() - end_of_data)
    m = _ITEM.search(reply.message)
    sent.replies.append((wall, int(m.group(1)) if m else None))


async def _connect(port: int) -> aiosmtplib.SMTP:
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False, timeout=600)
    await client.connect()
    await client.ehlo()
    return client


async def _connection(port: int, queue: list[bytes], sent: Sent) -> None:
    client = await _connect(port)
    while queue:
        await _send(client, queue.pop(), sent)
    await client.quit()


def _driver(port: int, raws: list[bytes], conns: int, start: Any, out: Any) -> None:
    async def run() -> tuple[Sent, float, float]:
        queue = list(reversed(raws))
        sent = Sent()
        start.wait()
        t0 = time.perf_counter()
        await asyncio.gather(*(_connection(port, queue, sent) for _ in range(conns)))
        return sent, t0, time.perf_counter()

    out.put(asyncio.run(run()))


def drive(port: int, raws: list[bytes], procs: int, conns: int) -> Sent:
    """Send `raws` as fast as they are taken, over procs processes × conns connections."""
    ctx = mp.get_context("fork")
    start = ctx.Event()
    out = ctx.Queue()
    workers = [ctx.Process(target=_driver, args=(port, raws[i::procs], conns, start, out))
               for i in range(procs)]
    for w in workers:
        w.start()
    time.sleep(0.3)
    start.set()
    results = [out.get(timeout=1800) for _ in workers]
    for w in workers:
        w.join()
    total = Sent(seconds=max(r[2] for r in results) - min(r[1] for r in results))
    for sent, _t0, _t1 in results:
        total.latencies += sent.latencies
        total.replies += sent.replies
    if total.count != len(raws):
        raise RuntimeError(f"{total.count} of {len(raws)} sent")
    return total


def paced(port: int, raws: list[bytes], rate: float, conns: int) -> Sent:
    """Send message i at start + i/rate (as soon as a connection is free, if late)."""

    async def run() -> Sent:
        sent = Sent()
        clients = [await _connect(port) for _ in range(conns)]
        t0 = time.perf_counter()
        order = iter(enumerate(raws))

        async def connection(client: aiosmtplib.SMTP) -> None:
            for i, raw in order:
                await asyncio.sleep(max(0.0, t0 + i / rate - time.perf_counter()))
                await _send(client, raw, sent)
            await client.quit()

        await asyncio.gather(*(connection(c) for c in clients))
        sent.seconds = time.perf_counter() - t0
        return sent

    return asyncio.run(run())


def smtp_source(port: int, n: int, sessions: int, size: int) -> float:
    """Seconds smtp-source takes for n messages; it stops at the first refusal."""
    t0 = time.perf_counter()
    subprocess.run(
        [SMTP_SOURCE, "-d", "-s", str(sessions), "-m", str(n), "-l", str(size),
         "-M", SOURCE_HOST, "-f", "mta@relay.example", "-t", OFFICE, f"127.0.0.1:{port}"],
        check=True, timeout=1800,
    )
    return time.perf_counter() - t0


# ------------------------------------------------------------------ servers


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_listening(port: int, proc: subprocess.Popen[bytes]) -> None:
    for _ in range(1200):
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise RuntimeError("server did not start")


SINK = """
import asyncio, sys
if sys.argv[2] == "intake":
    from intake_daemon.smtp import IntakeSMTP as SMTP
else:
    from aiosmtpd.smtp import SMTP
from core.config import load_settings
smtp = load_settings(sys.argv[3]).smtp
class Sink:
    async def handle_DATA(self, server, session, envelope):
        envelope.original_content = envelope.content = None
        return "250 OK"
async def main():
    loop = asyncio.get_running_loop()
    await loop.create_server(
        lambda: SMTP(Sink(), data_size_limit=smtp.data_size_limit, enable_SMTPUTF8=True,
                     hostname=smtp.hostname, ident="sink", timeout=smtp.timeout, loop=loop),
        "127.0.0.1", int(sys.argv[1]))
    await asyncio.Event().wait()
asyncio.run(main())
"""


def start_sink(port: int, reader: str) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([sys.executable, "-c", SINK, str(port), reader, str(CONFIG)],
                            cwd=ROOT)
    wait_listening(port, proc)
    return proc


def _jiyao_env(data: Path, port: int | None = None, uvloop: bool = False) -> dict[str, str]:
    env = {**os.environ, "JIYAO_STORAGE__DATA_DIR": str(data),
           "JIYAO_SMARTHOST__ENABLED": "false", "JIYAO_SMTP__UVLOOP": str(uvloop).lower()}
    if port is not None:
        env["JIYAO_SMTP__PORT"] = str(port)
    env.pop("JIYAO_CONFIG", None)
    return env


@functools.cache
def takes_workers() -> bool:
    """Whether `jiyao intake` has a pipeline to give workers to (lists --workers)."""
    out = subprocess.run([sys.executable, "-m", "jiyao.cli", "intake", "--help"], cwd=ROOT,
                         capture_output=True, text=True, check=False)
    return "--workers" in out.stdout


def start_jiyao(
    data: Path, port: int, log: Path, workers: int | None, uvloop: bool = False
) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "jiyao.cli", "intake", "--config", str(CONFIG)]
    if workers is not None and takes_workers():
        cmd += ["--workers", str(workers)]
    with log.open("ab") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=_jiyao_env(data, port, uvloop), stdout=out,
                                stderr=subprocess.STDOUT)
    wait_listening(port, proc)
    return proc


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=120)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise RuntimeError("server did not stop on SIGTERM within 120 s") from None


@contextlib.contextmanager
def running(proc: subprocess.Popen[bytes]) -> Iterator[subprocess.Popen[bytes]]:
    try:
        yield proc
    finally:
        if proc.poll() is None:
            stop(proc)


def descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def status_kib(pid: int, name: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(name + ":"):
            return int(line.split()[1])
    raise RuntimeError(name)


def cpu_seconds(pid: int, children: bool = True) -> float:
    """User + system CPU time of a process (all threads) and, unless `children` is false,
    of its live descendants."""
    total = 0.0
    for p in [pid, *descendants(pid)] if children else [pid]:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


# ------------------------------------------------------------------ the database, read-only


def ro(data: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{data / 'jiyao.db'}?mode=ro", uri=True)


def columns(db: sqlite3.Connection, table: str) -> set[str]:
    return {row[1] for row in db.execute(f"PRAGMA table_info({table})")}


def waiting(db: sqlite3.Connection) -> int:
    """Items accepted but not yet decided (0 by construction in one-stage intake)."""
    if "decided_at" in columns(db, "items"):
        sql = "SELECT COUNT(*) FROM items WHERE decided_at IS NULL"
    else:
        sql = "SELECT COUNT(*) FROM items WHERE outcome = 'received'"
    return int(db.execute(sql).fetchone()[0])


def wait_drained(data: Path, timeout: float) -> float:
    """Wall time at which nothing waits any more (polled every 20 ms)."""
    deadline = time.time() + timeout
    db = ro(data)
    try:
        while waiting(db):
            if time.time() > deadline:
                raise RuntimeError(f"{waiting(db)} items still waiting after {timeout:.0f} s")
            time.sleep(0.02)
        return time.time()
    finally:
        db.close()


def _ts(text: str | None) -> float | None:
    return datetime.fromisoformat(text).timestamp() if text else None


def done_times(data: Path, item_ids: list[int]) -> tuple[dict[int, float], str]:
    """When each item was decided and, if numbered, numbered; and where that was read."""
    db = ro(data)
    try:
        cols = columns(db, "items")
        decided = "decided_at" if "decided_at" in cols else "received_at"
        numbered = "i.numbered_at" if "numbered_at" in cols else "e.registered_at"
        rows = db.execute(
            f"SELECT i.id, i.{decided}, {numbered} FROM items i LEFT JOIN register_entries e"
            " ON e.item_id = i.id AND e.status = 'active'"
            f" WHERE i.id IN ({','.join('?' * len(item_ids))})", item_ids).fetchall()
    finally:
        db.close()
    out = {}
    for item_id, d, n in rows:
        times = [t for t in (_ts(d), _ts(n)) if t is not None]
        if times:
            out[item_id] = max(times)
    table = "items." if numbered.startswith("i.") else "register_entries."
    source = f"items.{decided}, {table}{numbered[2:]}"
    return out, source


def registered_once(data: Path, like: str, answered: int, item_ids: list[int] | None) -> str:
    """Every 250 is one item: items, distinct Message-IDs, and the replies' item ids."""
    db = ro(data)
    try:
        n, distinct = db.execute(
            "SELECT COUNT(*), COUNT(DISTINCT message_id) FROM items WHERE message_id LIKE ?",
            (like,)).fetchone()
        ids = {r[0] for r in db.execute("SELECT id FROM items WHERE message_id LIKE ?", (like,))}
    finally:
        db.close()
    problems = []
    if n != answered or distinct != answered:
        problems.append(f"{answered} answered 250, {n} items, {distinct} distinct Message-IDs")
    if item_ids is not None and (len(set(item_ids)) != answered or set(item_ids) != ids):
        problems.append("the item ids in the 250 replies are not the items stored")
    check = subprocess.run(
        [sys.executable, "-m", "jiyao.cli", "check", "--config", str(CONFIG)],
        cwd=ROOT, env=_jiyao_env(data), capture_output=True, text=True, check=False)
    if check.returncode != 0:
        problems.append("jiyao check: " + (check.stdout + check.stderr).strip()[-300:])
    if problems:
        return "PROBLEM: " + "; ".join(problems)
    return (f"{answered} answered 250 = {n} items = {distinct} distinct Message-IDs, "
            "jiyao check clean")


# ------------------------------------------------------------------ the parts


def spread(xs: list[float], fmt: str = "{:.1f}") -> str:
    if not xs:
        return "–"
    return " / ".join(fmt.format(x) for x in (min(xs), statistics.median(xs), max(xs)))


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * q))]


@dataclass
class Throughput:
    name: str
    #: the sink measured just before each jiyao run, and just before each uvloop run
    sink: list[float] = field(default_factory=list)
    jiyao: list[float] = field(default_factory=list)
    sink_cpu: list[float] = field(default_factory=list)
    jiyao_cpu: list[float] = field(default_factory=list)
    jiyao_workers_cpu: list[float] = field(default_factory=list)
    #: `jiyao intake` with `[smtp] uvloop = true` (--uvloop), in the same rounds
    sink_uv: list[float] = field(default_factory=list)
    uvloop: list[float] = field(default_factory=list)
    uvloop_cpu: list[float] = field(default_factory=list)
    uvloop_workers_cpu: list[float] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)
    loads: list[str] = field(default_factory=list)

    @property
    def ratios(self) -> list[float]:
        return [j / s for j, s in zip(self.jiyao, self.sink, strict=True)]

    @property
    def uvloop_ratios(self) -> list[float]:
        return [j / s for j, s in zip(self.uvloop, self.sink_uv, strict=True)]


def _run_load(
    kind: str, port: int, args: argparse.Namespace, tag: str
) -> tuple[float, Sent | None]:
    """(rate, what the corpus client saw) of one run against the server on `port`."""
    if kind == "smtp-source":
        seconds = smtp_source(port, args.source_messages, args.source_sessions, args.source_size)
        return args.source_messages / seconds, None
    raws = messages(args.corpus_messages, tag)
    sent = drive(port, raws, args.procs, args.conns)
    return sent.rate, sent


def _measured(
    kind: str, proc: subprocess.Popen[bytes], port: int, args: argparse.Namespace, tag: str
) -> tuple[float, Sent | None, float, float]:
    """(rate, what the client saw, CPU ms/msg of the server process alone, and of its
    descendants: the pipeline's workers) of one run."""
    n = args.source_messages if kind == "smtp-source" else args.corpus_messages
    own, everything = cpu_seconds(proc.pid, children=False), cpu_seconds(proc.pid)
    rate, sent = _run_load(kind, port, args, tag)
    own_ms = (cpu_seconds(proc.pid, children=False) - own) * 1000 / n
    all_ms = (cpu_seconds(proc.pid) - everything) * 1000 / n
    return rate, sent, own_ms, all_ms - own_ms


def throughput(kind: str, args: argparse.Namespace, work: Path) -> Throughput:
    """Per round, per jiyao variant: the sink's run, then at once jiyao's (see the top)."""
    result = Throughput(kind)
    n = args.source_messages if kind == "smtp-source" else args.corpus_messages
    for r in range(args.rounds):
        result.loads.append(load())
        for server in ("jiyao", "uvloop") if args.uvloop else ("jiyao",):
            data = work / f"{kind}-{r}-{server}"
            port, sink_port = free_port(), free_port()
            with running(start_jiyao(data, port, work / f"{kind}-{r}-{server}.log",
                                     args.workers, uvloop=server == "uvloop")) as proc:
                drive(port, messages(args.warm, f"warm{r}{server}"), 2, 2)
                wait_drained(data, 600)  # the workers started and warm, nothing waiting
                with running(start_sink(sink_port, args.sink_reader)) as sink:
                    drive(sink_port, messages(args.warm, f"warm{r}sink"), 2, 2)
                    s_rate, _s, s_cpu, _w = _measured(kind, sink, sink_port, args,
                                                      f"{kind[:3]}{r}s{os.getpid()}")
                    s_load = load()
                tag = f"{kind[:3]}{r}x{server[0]}{os.getpid()}"
                rate, sent, cpu_ms, workers_ms = _measured(kind, proc, port, args, tag)
                wait_drained(data, 1800)  # staged: the pipeline finishes before the check
            sink_list = result.sink if server == "jiyao" else result.sink_uv
            sink_list.append(s_rate)
            result.sink_cpu.append(s_cpu)
            getattr(result, server).append(rate)
            getattr(result, server + "_cpu").append(cpu_ms)
            getattr(result, server + "_workers_cpu").append(workers_ms)
            print(f"  {kind} round {r + 1} sink   {s_rate:7.1f} msg/s  CPU {s_cpu:.2f} ms/msg"
                  f"  ({s_load})", flush=True)
            print(f"  {kind} round {r + 1} {server:6s} {rate:7.1f} msg/s  CPU {cpu_ms:.2f} "
                  f"ms/msg edge, {workers_ms:.2f} workers  ratio {rate / s_rate:.2f}  "
                  f"({load()})", flush=True)
            like = f"%@{SOURCE_HOST}" if sent is None else f"{tag}.%"
            ids = None if sent is None else [i for _w, i in sent.replies if i is not None]
            result.checks.append(registered_once(data, like, n, ids))
            print(f"    registered: {result.checks[-1]}", flush=True)
            shutil.rmtree(data, ignore_errors=True)
    return result


def lag(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    data = work / "lag"
    port = free_port()
    start_load = load()
    with running(start_jiyao(data, port, work / "lag.log", args.workers)):
        drive(port, messages(args.warm, "warmlag"), 2, 2)
        tag = f"lag{os.getpid()}"
        sent = paced(port, messages(args.lag_messages, tag), args.lag_rate, args.lag_conns)
        wait_drained(data, 600)
    ids = [i for _w, i in sent.replies if i is not None]
    done, source = done_times(data, ids)
    lags = [(done[i] - w) * 1000 for w, i in sent.replies if i in done]
    check = registered_once(data, f"{tag}.%", sent.count, ids)
    return {"sent": sent.count, "rate": sent.rate, "lags": lags, "source": source,
            "check": check, "latency": [x * 1000 for x in sent.latencies], "load": start_load,
            "missing": len(ids) - len(lags)}


def drain(args: argparse.Namespace, work: Path) -> dict[int, str]:
    out: dict[int, str] = {}
    for workers in (1, 2):
        if not takes_workers():
            out[workers] = "n/a (one-stage intake)"
            continue
        data = work / f"drain{workers}"
        port = free_port()
        at_load = load()
        with running(start_jiyao(data, port, work / f"drain{workers}.log", workers)):
            drive(port, messages(args.warm, f"warmdrain{workers}"), 2, 2)
            wait_drained(data, 600)
            tag = f"drain{workers}x{os.getpid()}"
            raws = messages(args.drain_messages, tag)
            t0 = time.time()
            sent = drive(port, raws, args.procs, args.conns)
            last_250 = max(w for w, _i in sent.replies)
            drained = wait_drained(data, 1800)
        check = registered_once(data, f"{tag}.%", len(raws),
                                [i for _w, i in sent.replies if i is not None])
        out[workers] = (f"accepted in {last_250 - t0:.1f} s, drained {drained - t0:.1f} s "
                        f"after the first send ({drained - last_250:.1f} s after the last 250;"
                        f" {(args.drain_messages / (drained - t0)):.1f} msg/s decided; "
                        f"{at_load}); {check}")
    return out


class Sampler(threading.Thread):
    """Peak VmHWM/VmRSS per process of a tree, every 20 ms."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peaks: dict[int, int] = {}
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.is_set():
            self.sample()
            time.sleep(0.02)

    def sample(self) -> None:
        for p in [self.pid, *descendants(self.pid)]:
            with contextlib.suppress(OSError, RuntimeError):
                kib = max(status_kib(p, "VmHWM"), status_kib(p, "VmRSS"))
                self.peaks[p] = max(self.peaks.get(p, 0), kib)


def rss(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    raw = big_message(args.big_mib)
    mib = len(raw) / 2**20
    data = work / "rss"
    port = free_port()
    at_load = load()
    with running(start_jiyao(data, port, work / "rss.log", args.workers)) as proc:
        drive(port, messages(5, "rsswarm"), 1, 1)  # imports and caches warm, as in service
        wait_drained(data, 600)
        edge_before = status_kib(proc.pid, "VmRSS")
        workers_before = {p: status_kib(p, "VmRSS") for p in descendants(proc.pid)}
        sampler = Sampler(proc.pid)
        sampler.start()
        sent = drive(port, [raw], 1, 1)
        wait_drained(data, 600)
        sampler.halt.set()
        sampler.join()
        sampler.sample()
    edge = sampler.peaks.pop(proc.pid)
    worker = max(sampler.peaks.items(), key=lambda kv: kv[1], default=None)
    return {"mib": mib, "seconds": sent.seconds, "latency": sent.latencies[0] * 1000,
            "edge": edge, "edge_before": edge_before, "worker": worker,
            "workers_before": workers_before, "load": at_load}


# ------------------------------------------------------------------ the table


def throughput_lines(t: Throughput, args: argparse.Namespace) -> list[str]:
    if t.name == "smtp-source":
        what = (f"{args.source_messages} × {args.source_size} B bodies, "
                f"{args.source_sessions} sessions")
    else:
        what = f"{args.corpus_messages} corpus msgs, {args.procs}×{args.conns} connections"
    bad = [c for c in t.checks if c.startswith("PROBLEM")]
    return [
        f"{t.name} ({what}), {args.rounds} rounds, msg/s min / median / max:",
        (f"  sink   {spread(t.sink + t.sink_uv):>24s}   CPU ms/msg "
         f"{spread(t.sink_cpu, '{:.2f}')}"),
        (f"  jiyao  {spread(t.jiyao):>24s}   CPU ms/msg {spread(t.jiyao_cpu, '{:.2f}')} edge, "
         f"{spread(t.jiyao_workers_cpu, '{:.2f}')} workers"),
        (f"  ratio jiyao/sink {spread(t.ratios, '{:.2f}'):>14s}   (each to the sink run just "
         "before it; target ≥ 0.8)"),
        *([(f"  jiyao with uvloop {spread(t.uvloop):>17s}   CPU ms/msg "
           f"{spread(t.uvloop_cpu, '{:.2f}')} edge, "
           f"{spread(t.uvloop_workers_cpu, '{:.2f}')} workers"),
           f"  ratio uvloop/sink {spread(t.uvloop_ratios, '{:.2f}'):>13s}   (goal 1.0)"]
          if t.uvloop else []),
        "  registered once: " + ("; ".join(bad) if bad else f"every round ({t.checks[0]})"),
        f"  loads at round start: {' | '.join(t.loads)}",
    ]


def lag_lines(r: dict[str, Any], args: argparse.Namespace) -> list[str]:
    lags, latency = r["lags"], r["latency"]
    lines = [
        (f"lag 250 → decided+numbered at {args.lag_rate:.0f} msg/s ({r['sent']} corpus msgs "
         f"sent at {r['rate']:.1f} msg/s; {r['load']}):"),
        (f"  p50 {pct(lags, 0.5):.1f} ms, p95 {pct(lags, 0.95):.1f} ms, max {max(lags):.1f} ms"
         f" (from {r['source']}; {r['missing']} items without a time)"),
    ]
    if pct(lags, 0.95) <= 0:
        lines.append("  (≤ 0: decided before the 250 — one-stage intake)")
    lines += [
        (f"  end of DATA → 250: p50 {pct(latency, 0.5):.1f} ms, "
         f"p95 {pct(latency, 0.95):.1f} ms"),
        f"  registered: {r['check']}",
    ]
    return lines


def rss_lines(r: dict[str, Any]) -> list[str]:
    mib = r["mib"]
    edge, before = r["edge"] / 1024, r["edge_before"] / 1024
    lines = [
        (f"peak RSS while one {mib:.1f} MiB message goes through ({r['load']}; accepted in "
         f"{r['seconds']:.2f} s, end of DATA → 250 {r['latency']:.0f} ms):"),
        (f"  edge: {edge:.0f} MiB = {edge / mib:.2f} × the message (RSS before "
         f"{before:.0f} MiB, growth {(edge - before) / mib:.2f} ×; target < 2 ×)"),
    ]
    if r["worker"] is None:
        lines.append("  worker: none (one-stage intake: the edge decides)")
    else:
        pid, kib = r["worker"]
        lines.append(f"  worker (pid {pid}, highest of {len(r['workers_before'])}): "
                     f"{kib / 1024:.0f} MiB = {kib / 1024 / mib:.2f} × the message")
    return lines


# ------------------------------------------------------------------ main


def main() -> int:
    ap = argparse.ArgumentParser(description="SMTP intake against a bare aiosmtpd sink")
    ap.add_argument("--only", default=",".join(PARTS), help=f"comma-separated of {PARTS}")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--workers", type=int, default=None,
                    help="passed to `jiyao intake --workers` when it takes it")
    ap.add_argument("--sink-reader", choices=("aiosmtpd", "intake"), default="aiosmtpd")
    ap.add_argument("--uvloop", action="store_true",
                    help="also `jiyao intake` with [smtp] uvloop = true in every round")
    ap.add_argument("--warm", type=int, default=40, help="warm-up messages per server start")
    ap.add_argument("--source-messages", type=int, default=2000)
    ap.add_argument("--source-sessions", type=int, default=20)
    ap.add_argument("--source-size", type=int, default=20480, help="smtp-source body bytes")
    ap.add_argument("--corpus-messages", type=int, default=2000)
    ap.add_argument("--procs", type=int, default=4, help="corpus client processes")
    ap.add_argument("--conns", type=int, default=5, help="connections per client process")
    ap.add_argument("--lag-messages", type=int, default=600)
    ap.add_argument("--lag-rate", type=float, default=50.0)
    ap.add_argument("--lag-conns", type=int, default=4)
    ap.add_argument("--drain-messages", type=int, default=2000)
    ap.add_argument("--big-mib", type=int, default=30)
    args = ap.parse_args()
    only = [p.strip() for p in args.only.split(",") if p.strip()]
    unknown = set(only) - set(PARTS)
    if unknown:
        ap.error(f"unknown parts {sorted(unknown)}; choose from {PARTS}")
    print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, {load()}; "
          f"corpus {len(list(CORPUS.glob('*.eml')))} files; sink reader {args.sink_reader}; "
          f"jiyao intake takes --workers: {takes_workers()}", flush=True)
    table: list[str] = []
    ok = True
    with tempfile.TemporaryDirectory(prefix="jiyao-bench-") as tmp:
        work = Path(tmp)
        for kind in ("smtp-source", "corpus"):
            if kind in only:
                t = throughput(kind, args, work)
                ok &= all(not c.startswith("PROBLEM") for c in t.checks)
                table += throughput_lines(t, args)
        if "lag" in only:
            r = lag(args, work)
            ok &= not r["check"].startswith("PROBLEM")
            table += lag_lines(r, args)
        if "drain" in only:
            for workers, text in drain(args, work).items():
                ok &= "PROBLEM" not in text
                table.append(f"drain of a {args.drain_messages}-message burst, {workers} "
                             f"worker(s): {text}")
        if "rss" in only:
            table += rss_lines(rss(args, work))
    print("\n" + "\n".join(line for line in table if line))
    print(f"\nfinished {datetime.now(UTC):%H:%M} UTC, {load()}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
