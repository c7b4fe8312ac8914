"""Benchmark of the intake daemon against a bare SMTP sink, same client, same run.

    python bench/intake.py [--messages 400] [--procs 4] [--conns 5] [--big-mib 30]
                           [--skip-throughput] [--skip-memory]

1. Throughput and latency: the dev corpus, cycled (each copy under its own Message-ID),
   sent over procs × conns concurrent connections (default 4 × 5 = 20) by a multi-process
   aiosmtplib driver, first to a bare aiosmtpd sink that answers 250 at once, then to the
   real `jiyao intake` daemon (a subprocess on a fresh data directory). Latency is the time
   from the end of DATA (the final `.` written) to the 250; each server's CPU time per
   message (all its threads, from /proc) shows what bounds the rate. Afterwards the daemon
   is stopped and the database is checked: every message registered exactly once,
   registers gap-free, blobs intact.
2. Memory: peak RSS (VmHWM) of a fresh daemon process while it receives one message of
   --big-mib MiB (a scanned-document PDF attachment, base64), against 4× that size.

Targets: daemon ≥ 0.8 × the sink's messages/s; peak RSS < 4 × the largest message.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import io
import multiprocessing as mp
import os
import re
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import aiosmtplib

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus" / "dev"
CONFIG = ROOT / "config.example.toml"
OFFICE = "shouwen@gzz.gov.cn"
_MID = re.compile(rb"(?im)^message-id:[^\n]*\n(?:[ \t][^\n]*\n)*")


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


# ------------------------------------------------------------------ load generator


async def _connection(port: int, queue: list[bytes], latencies: list[float]) -> int:
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False, timeout=120)
    await client.connect()
    await client.ehlo()
    sent = 0
    while queue:
        raw = queue.pop()
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
        reply = await client.protocol.read_response(timeout=120)
        latencies.append(time.perf_counter() - end_of_data)
        if reply.code != 250:
            raise RuntimeError(f"not accepted: {reply}")
        sent += 1
    await client.quit()
    return sent


def _driver(port: int, raws: list[bytes], conns: int, start: Any, out: Any) -> None:
    async def run() -> tuple[int, list[float], float, float]:
        queue = list(reversed(raws))
        latencies: list[float] = []
        start.wait()
        t0 = time.perf_counter()
        counts = await asyncio.gather(*(_connection(port, queue, latencies) for _ in range(conns)))
        return sum(counts), latencies, t0, time.perf_counter()

    out.put(asyncio.run(run()))


def drive(port: int, raws: list[bytes], procs: int, conns: int) -> dict[str, float]:
    """Send `raws` with procs × conns connections; messages/s and latency percentiles."""
    ctx = mp.get_context("fork")
    start = ctx.Event()
    out = ctx.Queue()
    workers = [
        ctx.Process(target=_driver, args=(port, raws[i::procs], conns, start, out))
        for i in range(procs)
    ]
    for w in workers:
        w.start()
    time.sleep(0.3)
    start.set()
    results = [out.get(timeout=900) for _ in workers]
    for w in workers:
        w.join()
    sent = sum(r[0] for r in results)
    latencies = sorted(x for r in results for x in r[1])
    elapsed = max(r[3] for r in results) - min(r[2] for r in results)
    return {
        "messages": sent,
        "seconds": elapsed,
        "rate": sent / elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
    }


# ------------------------------------------------------------------ servers


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_listening(port: int, proc: subprocess.Popen[bytes]) -> None:
    for _ in range(600):
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise RuntimeError("server did not start")


SINK = """
import asyncio, sys
from aiosmtpd.smtp import SMTP
class Sink:
    async def handle_DATA(self, server, session, envelope):
        return "250 OK"
async def main():
    loop = asyncio.get_running_loop()
    await loop.create_server(lambda: SMTP(Sink(), data_size_limit=None, enable_SMTPUTF8=True,
                                          loop=loop), "127.0.0.1", int(sys.argv[1]))
    await asyncio.Event().wait()
asyncio.run(main())
"""


def start_sink(port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([sys.executable, "-c", SINK, str(port)])
    wait_listening(port, proc)
    return proc


def start_daemon(data: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "JIYAO_STORAGE__DATA_DIR": str(data), "JIYAO_SMTP__PORT": str(port),
           "JIYAO_SMARTHOST__ENABLED": "false"}
    env.pop("JIYAO_CONFIG", None)
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "jiyao.cli", "intake", "--config", str(CONFIG)],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )
    wait_listening(port, proc)
    return proc


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=120)


def status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(field)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, all its threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measured(pid: int, port: int, raws: list[bytes], args: argparse.Namespace) -> dict[str, float]:
    """`drive`, plus the server's CPU milliseconds per message."""
    before = cpu_seconds(pid)
    r = drive(port, raws, args.procs, args.conns)
    r["cpu_ms"] = (cpu_seconds(pid) - before) * 1000 / r["messages"]
    return r


def verify(data: Path, tag: str, n: int) -> list[str]:
    """Every bench message registered exactly once; `jiyao check` clean."""
    db = sqlite3.connect(data / "jiyao.db")
    try:
        rows = db.execute(
            "SELECT message_id, COUNT(*) FROM items WHERE message_id LIKE ? GROUP BY message_id",
            (f"{tag}.%",),
        ).fetchall()
    finally:
        db.close()
    problems = []
    if len(rows) != n or any(c != 1 for _, c in rows):
        counts = {c for _, c in rows}
        problems.append(f"{len(rows)} distinct of {n} messages stored, counts {counts}")
    env = {**os.environ, "JIYAO_STORAGE__DATA_DIR": str(data)}
    check = subprocess.run(
        [sys.executable, "-m", "jiyao.cli", "check", "--config", str(CONFIG)],
        cwd=ROOT, env=env, capture_output=True, text=True, check=False,
    )
    if check.returncode != 0:
        problems.append("jiyao check: " + check.stdout + check.stderr)
    return problems


# ------------------------------------------------------------------ main


def throughput(args: argparse.Namespace, work: Path) -> bool:
    tag = f"bench{os.getpid()}"
    raws = messages(args.messages, tag)
    size = statistics.mean(len(r) for r in raws)
    print(f"messages: {len(raws)} (dev corpus cycled, mean {size / 1024:.1f} KiB), "
          f"connections: {args.procs} processes × {args.conns}")
    port = free_port()
    sink = start_sink(port)
    try:
        drive(port, raws[: min(len(raws), 100)], args.procs, args.conns)  # warm-up
        bare = measured(sink.pid, port, raws, args)
    finally:
        stop(sink)
    data = work / "data"
    port = free_port()
    daemon = start_daemon(data, port, work / "intake.log")
    try:
        warm = messages(40, tag + "w")
        drive(port, warm, args.procs, args.conns)
        real = measured(daemon.pid, port, raws, args)
    finally:
        stop(daemon)
    problems = verify(data, tag, len(raws))
    for name, r in (("bare aiosmtpd sink", bare), ("jiyao intake", real)):
        print(f"{name:20s} {r['rate']:8.1f} msg/s   p50 {r['p50_ms']:7.2f} ms   "
              f"p99 {r['p99_ms']:7.2f} ms   ({r['messages']} in {r['seconds']:.2f} s; "
              f"server CPU {r['cpu_ms']:.2f} ms/msg)")
    ratio = real["rate"] / bare["rate"]
    print(f"ratio intake/sink: {ratio:.3f} (target ≥ 0.8); CPU per message "
          f"{real['cpu_ms'] / bare['cpu_ms']:.1f} × the sink's on {os.cpu_count()} cores")
    print("durability: " + ("every message registered exactly once, jiyao check clean"
                            if not problems else "; ".join(problems)))
    return not problems


def memory(args: argparse.Namespace, work: Path) -> None:
    raw = big_message(args.big_mib)
    data = work / "data-big"
    port = free_port()
    daemon = start_daemon(data, port, work / "intake-big.log")
    try:
        drive(port, messages(5, "rsswarm"), 1, 1)  # imports and caches warm, as in service
        before = status_kib(daemon.pid, "VmRSS")
        baseline_peak = status_kib(daemon.pid, "VmHWM")
        r = drive(port, [raw], 1, 1)
        peak = status_kib(daemon.pid, "VmHWM")
    finally:
        stop(daemon)
    mib = len(raw) / 2**20
    print(f"big message: {mib:.1f} MiB, accepted in {r['seconds']:.2f} s "
          f"(end of DATA → 250: {r['p50_ms']:.0f} ms)")
    print(f"daemon RSS before {before / 1024:.0f} MiB (peak so far {baseline_peak / 1024:.0f}), "
          f"peak while receiving {peak / 1024:.0f} MiB = {peak / 1024 / mib:.2f} × message "
          f"(growth {(peak - before) / 1024:.0f} MiB = {(peak - before) / 1024 / mib:.2f} ×; "
          "target < 4 ×)")


def main() -> int:
    parser = argparse.ArgumentParser(description="intake throughput/latency vs a bare sink; RSS")
    parser.add_argument("--messages", type=int, default=400)
    parser.add_argument("--procs", type=int, default=4, help="load-generator processes")
    parser.add_argument("--conns", type=int, default=5, help="connections per process")
    parser.add_argument("--big-mib", type=int, default=30)
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--skip-throughput", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="jiyao-bench-") as tmp:
        ok = args.skip_throughput or throughput(args, Path(tmp))
        if not args.skip_memory:
            memory(args, Path(tmp))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
