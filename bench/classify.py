"""Benchmark of intake decisions: `decide()` over the dev corpus, repeated.

    python bench/classify.py [--messages 1000]

Prints messages/s, p50/p95/max per message and peak memory (tracemalloc for
Python allocations during the run, maxrss for the process). Target: p95 < 50 ms.
"""

from __future__ import annotations

import argparse
import logging
import resource
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.config import load_settings  # noqa: E402 - after the path set-up above
from core.directory import Directory  # noqa: E402
from core.reading.decide import decide  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus" / "dev"
TARGET_P95_MS = 50.0


def main() -> int:
    parser = argparse.ArgumentParser(description="decide() throughput and latency")
    parser.add_argument("--messages", type=int, default=1000, help="messages to decide (≥ 1)")
    args = parser.parse_args()
    logging.getLogger("pypdf").setLevel(logging.ERROR)  # d027 is damaged on purpose

    raws = [p.read_bytes() for p in sorted(CORPUS.glob("*.eml"))]
    if not raws:
        print(f"no .eml files in {CORPUS}")
        return 1
    directory = Directory.from_settings(load_settings(ROOT / "config.example.toml"))
    for raw in raws:  # warm-up: imports, regex compilation
        decide(raw, directory)

    total = max(args.messages, 1)
    timings: list[float] = []
    tracemalloc.start()
    started = time.perf_counter()
    for i in range(total):
        raw = raws[i % len(raws)]
        t0 = time.perf_counter()
        decide(raw, directory)
        timings.append(time.perf_counter() - t0)
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    # tracemalloc slows allocation-heavy code; time a second, untraced pass for the figures
    untraced: list[float] = []
    started = time.perf_counter()
    for i in range(total):
        raw = raws[i % len(raws)]
        t0 = time.perf_counter()
        decide(raw, directory)
        untraced.append(time.perf_counter() - t0)
    elapsed_untraced = time.perf_counter() - started

    ms = sorted(t * 1000 for t in untraced)
    p50 = statistics.median(ms)
    p95 = ms[min(len(ms) - 1, int(0.95 * len(ms)))]
    maxrss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"corpus files        {len(raws)}")
    print(f"messages            {total}")
    print(f"throughput          {total / elapsed_untraced:8.1f} messages/s")
    print(f"latency p50         {p50:8.2f} ms")
    print(f"latency p95         {p95:8.2f} ms   (target < {TARGET_P95_MS:.0f} ms)")
    print(f"latency max         {ms[-1]:8.2f} ms")
    print(f"traced run          {total / elapsed:8.1f} messages/s (with tracemalloc)")
    print(f"peak traced memory  {peak / 1024 / 1024:8.2f} MiB")
    print(f"process maxrss      {maxrss_mib:8.1f} MiB")
    print("p95 target met" if p95 < TARGET_P95_MS else "p95 target MISSED")
    return 0


if __name__ == "__main__":
    sys.exit(main())
