"""Benchmark of `jiyao site build`: 10,000 published items, then a one-item rebuild.

    python bench/site.py [--items 10000] [--rounds 3]

Each round seeds a fresh registry through the storage layer (dispatch records marked
主动公开 with a passed 保密审查 and a published cycle; not timed), then times:

- the full build (index numbers given, every page rendered, swapped in);
- one new publication (taken, reviewed and published through the services; not timed)
  and the rebuild, which writes only the pages that changed.

Baseline, in the same round: writing the same bytes as the full site (every file of the
built site, read back first) into a fresh folder with no templating, no hashing and no
database. Targets: full build < 30 s, one-item rebuild < 2 s.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.config import Storage, load_settings  # noqa: E402 - after the path set-up above
from core.services import disclosure, dispatch, site  # noqa: E402
from core.services.context import Context, open_context  # noqa: E402
from core.storage import disclosure as disclosure_repo  # noqa: E402
from core.storage import dispatch as dispatch_repo  # noqa: E402

FULL_TARGET_S = 30.0
ONE_TARGET_S = 2.0
CODES = ("甘府发", "甘府函", "甘办发", "甘办函")
SUBJECTS = ("防汛抗旱", "森林草原防火", "乡村振兴", "安全生产", "政务公开", "营商环境",
            "教育事业", "医疗卫生", "生态保护", "交通建设", "文化旅游", "民族团结")
KINDS = ("通知", "意见", "批复", "函", "实施方案", "工作要点")


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


async def seed(ctx: Context, n: int) -> None:
    columns = ctx.settings.disclosure.columns()
    at = datetime(2026, 1, 5, 2, 0, tzinfo=UTC)
    async with ctx.db.unit_of_work() as uow:
        for i in range(n):
            written = date(2026, 1, 2) + timedelta(days=i % 300)
            published = written + timedelta(days=3 + i % 10)
            title = (f"关于{SUBJECTS[i % len(SUBJECTS)]}第{i + 1}项工作的"
                     f"{KINDS[i % len(KINDS)]}")
            taken = await dispatch_repo.insert(uow, dispatch_repo.NewDispatch(
                code=CODES[i % len(CODES)], year=2026, style="year", title=title,
                owner="机要室", section="综合科", written_on=written, disclosure="主动公开",
                withhold_reason=None, carrier="政府网站",
                catalogue_column=columns[i % len(columns)], taken_at=at, taken_by="机要室",
            ))
            task = await disclosure_repo.insert_task(uow, disclosure_repo.NewTask(
                taken.id, "综合科", written, "成文", written + timedelta(days=28), False), at)
            await disclosure_repo.add_review(uow, dispatch_id=taken.id, reviewer="李审",
                                             reviewed_on=published, result="通过", note=None,
                                             at=at, by="bench")
            await disclosure_repo.close_task(uow, task, status="published", at=at, by="bench",
                                             published_on=published,
                                             url=f"https://www.gzz.gov.cn/{i}.html")
        await uow.commit()


async def publish_one(ctx: Context) -> None:
    t = await dispatch.take(ctx, code="甘府发", title="关于新增一项防汛工作的通知",
                            section="机要室", written_on=date(2026, 11, 20),
                            drafting_section="综合科", disclosure="主动公开",
                            carrier="政府网站", column="政策法规/规范性文件")
    await disclosure.review_secrecy(ctx, number=t.number, reviewer="李审", result="通过",
                                    on=date(2026, 11, 25))
    await site.publish(ctx, number=t.number, url="https://www.gzz.gov.cn/new.html",
                       on=date(2026, 11, 25))


def baseline(src: Path, dst: Path) -> tuple[float, int, int]:
    files = [(p.relative_to(src), p.read_bytes()) for p in src.rglob("*") if p.is_file()]
    t0 = time.perf_counter()
    for rel, data in files:
        target = dst / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return time.perf_counter() - t0, len(files), sum(len(d) for _, d in files)


async def one_round(n: int, work: Path) -> dict[str, float]:
    settings = load_settings(ROOT / "config.example.toml")
    settings = settings.model_copy(update={"storage": Storage(data_dir=work / "data")})
    ctx = await open_context(settings, clock=Clock(datetime(2026, 12, 1, 2, 0, tzinfo=UTC)))
    try:
        await seed(ctx, n)
        out = work / "www"
        t0 = time.perf_counter()
        full = await site.build(ctx, out)
        t_full = time.perf_counter() - t0
        t_base, files, size = baseline(out.resolve(), work / "plain")
        await publish_one(ctx)
        t0 = time.perf_counter()
        one = await site.build(ctx, out)
        t_one = time.perf_counter() - t0
    finally:
        await ctx.db.close()
    if (full.items, one.items) != (n, n + 1):
        raise SystemExit(f"wrong item counts: {full} {one}")
    print(f"  full: {full.items} items, {full.pages} pages, {files} files, "
          f"{size / 1e6:.1f} MB in {t_full:.2f} s (baseline {t_base:.2f} s); "
          f"one-item rebuild: wrote {one.written}, kept {one.kept} in {t_one:.2f} s")
    return {"full": t_full, "base": t_base, "one": t_one}


def line(name: str, xs: list[float]) -> str:
    return (f"{name:<28} min {min(xs):7.2f} s  median {statistics.median(xs):7.2f} s  "
            f"max {max(xs):7.2f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description="jiyao site build: full and one-item")
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    results = []
    for r in range(args.rounds):
        work = Path(tempfile.mkdtemp(prefix="jiyao-bench-site-"))
        try:
            print(f"round {r + 1}:")
            results.append(asyncio.run(one_round(args.items, work)))
        finally:
            shutil.rmtree(work, ignore_errors=True)
    full = [x["full"] for x in results]
    base = [x["base"] for x in results]
    one = [x["one"] for x in results]
    print(line(f"full build ({args.items})", full))
    print(line("baseline: same bytes, plain", base))
    print(line("one-item rebuild", one))
    print(f"full/baseline {statistics.median(full) / statistics.median(base):.1f}×, "
          f"one-item/baseline {statistics.median(one) / statistics.median(base):.2f}×")
    ok = max(full) < FULL_TARGET_S and max(one) < ONE_TARGET_S
    print(f"targets: full < {FULL_TARGET_S:.0f} s, one-item < {ONE_TARGET_S:.0f} s: "
          f"{'met' if ok else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
