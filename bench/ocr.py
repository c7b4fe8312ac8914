"""Benchmark of OCR: model load, CPU and wall per page, peak memory per worker process,
and pages per minute with 1 and 2 worker processes, over the generated fax pages.

    python bench/ocr.py [--rounds 3] [--pages 12]

Pages: the first page of each generated test document as fax gateways send it, at
fine (200×200, G4) and standard (204×98, G3) resolution. Each round starts fresh
worker processes (spawned, as the pipeline's workers will be), each loading the
models once with `[ocr] threads = 0` (the machine's cores shared among the
workers); the pages are shared out and timed after every worker has loaded. The
1-worker run is the baseline the 2-worker throughput is compared with.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import resource
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.config import Ocr  # noqa: E402 - after the path set-up above
from core.ocr import get_engine, read_image_file  # noqa: E402
from core.ocr.engine import threads_for  # noqa: E402

_settings: Ocr | None = None
_load_seconds = 0.0


@dataclass(frozen=True)
class PageTiming:
    wall: float
    cpu: float


def _init(workers: int) -> None:
    """Worker start: load the models once, as a pipeline worker does."""
    global _settings, _load_seconds  # noqa: PLW0603 - one engine per worker process
    _settings = Ocr(workers=workers, keep_page_images=False)
    started = time.perf_counter()
    get_engine(_settings)
    _load_seconds = time.perf_counter() - started


def _loaded() -> tuple[int, float]:
    time.sleep(0.2)  # so that each worker gets one of these calls
    return os.getpid(), _load_seconds


def _read(data: bytes) -> PageTiming:
    assert _settings is not None
    wall, cpu = time.perf_counter(), time.process_time()
    read_image_file(data, _settings)
    return PageTiming(time.perf_counter() - wall, time.process_time() - cpu)


def _peak_rss() -> tuple[int, int]:
    time.sleep(0.2)
    return os.getpid(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


@dataclass(frozen=True)
class Round:
    load: list[float]
    pages: list[PageTiming]
    elapsed: float
    rss_mb: list[int]

    @property
    def per_minute(self) -> float:
        return 60.0 * len(self.pages) / self.elapsed


def run_round(pages: list[bytes], workers: int) -> Round:
    context = mp.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_init,
                             initargs=(workers,)) as pool:
        # the pool starts its workers lazily: one call per worker waits for every load
        loads = dict(f.result() for f in [pool.submit(_loaded) for _ in range(workers)])
        started = time.perf_counter()
        timings = list(pool.map(_read, pages))
        elapsed = time.perf_counter() - started
        rss = dict(f.result() for f in [pool.submit(_peak_rss) for _ in range(workers)])
    return Round(list(loads.values()), timings, elapsed, list(rss.values()))


def _spread(values: list[float], fmt: str = ".2f") -> str:
    return (f"min {min(values):{fmt}}  median {statistics.median(values):{fmt}}  "
            f"max {max(values):{fmt}}")


def make_pages(count: int) -> list[bytes]:
    from tests.data.fax import DOCUMENTS, fax_file
    from tests.data.fax.render import FINE, STANDARD

    pages = [fax_file(doc, variant, "png").data
             for variant in (FINE, STANDARD) for doc in DOCUMENTS]
    return (pages * (count // len(pages) + 1))[:count]


def main() -> int:
    parser = argparse.ArgumentParser(description="OCR cost per page and throughput")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pages", type=int, default=12, help="pages per round (≥ 2)")
    args = parser.parse_args()
    pages = make_pages(max(2, args.pages))
    print(f"{len(pages)} fax pages per round (A4, fine 200×200 and standard 204×98), "
          f"{args.rounds} rounds, {os.cpu_count()} cores, "
          f"load average at start {os.getloadavg()[0]:.2f}")

    results: dict[int, list[Round]] = {1: [], 2: []}
    for _ in range(args.rounds):
        for workers, rounds in results.items():
            rounds.append(run_round(pages, workers))

    for workers, rounds in results.items():
        threads = threads_for(Ocr(workers=workers))
        print(f"\n{workers} worker process(es), {threads} onnxruntime thread(s) each:")
        print(f"  model load s        {_spread([x for r in rounds for x in r.load])}")
        print(f"  wall s per page     {_spread([p.wall for r in rounds for p in r.pages])}")
        print(f"  CPU s per page      {_spread([p.cpu for r in rounds for p in r.pages])}")
        rss = [float(x) for r in rounds for x in r.rss_mb]
        print(f"  peak RSS MB/worker  {_spread(rss, '.0f')}")
        print(f"  pages per minute    {_spread([r.per_minute for r in rounds], '.1f')}")
    one = [r.per_minute for r in results[1]]
    two = [r.per_minute for r in results[2]]
    ratios = [b / a for a, b in zip(one, two, strict=True)]
    print(f"\n2 workers / 1 worker throughput: {_spread(ratios)}")
    print(f"load average at end {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
