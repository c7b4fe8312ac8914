"""Benchmark at scale (issue 18 item 5): /find, the xlsx register export, check and
audit verify on a registry of 10k / 100k / 1M items.

    nice -n 10 .venv/bin/python bench/scale.py --sizes 10000,100000 --workdir /tmp/jiyao-scale
    .venv/bin/python bench/scale.py --sizes 1000000 --workdir /tmp/jiyao-scale --rounds 3

Seeding (once per size; a seeded database in --workdir is reused by later runs) goes through
the storage layer (`items.insert_item`, register entries, `audit.append`, the blob store) in
large units of work. Items are spread over ten years (2017-2026), 1 in 20 a paper item
entered up to three days after its received date (so id order and received_at order differ),
with titles and texts from the corpus vocabulary: 人民政府 is common (most senders), 防汛 a
two-character word (about 2% of items), 冰川泥石流 and 雪崩 rare ones.

At each size it prints, for 3 rounds (min / median / max):
  - /find (core.services.lookup.find, newest 20) p50 and p95 of 20 calls per word beside
    the baseline: the old query (every match materialised and sorted), same reader, same run;
  - `export --format xlsx` of the latest year as `jiyao export` writes it (rows streamed
    from the database to the file): seconds and peak RSS of a child process, beside the
    rows held whole then streamed by the writer (the code before) and the old renderer (a
    normal, not write-only, openpyxl workbook) in the same run; with two sizes or more,
    the peak RSS per row more between the first and the last (use sizes whose latest
    year has more than one page, 1,000 rows, of its registers: 100k and up);
  - `measure_integrity(ctx)`: core.services.admin.check and verify_audit as they are.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.config import Settings, Storage, load_settings  # noqa: E402 - after the path set-up
from core.services import admin, lookup  # noqa: E402
from core.services.context import Context, open_context  # noqa: E402
from core.storage import audit  # noqa: E402
from core.storage import items as items_repo  # noqa: E402
from core.storage.db import Reader, Row  # noqa: E402

SEARCH_TARGET_MS = 200.0
FIND_LIMIT = 20
CALLS = 20
COMMON, TWO_CHAR, RARE, RARE_TWO = "人民政府", "防汛", "冰川泥石流", "雪崩"
BATCH = 2000
FIRST_YEAR, YEARS = 2017, 10
PAPER_EVERY = 20
#: the old renderer appends a row and then styles ws[ws.max_row], which walks every cell:
#: quadratic (34 s for 7,670 rows here), so it is not run on larger years
LEGACY_MAX_ROWS = 20_000

SENDERS = (
    "国务院办公厅", "四川省人民政府", "四川省人民政府办公厅", "甘孜州人民政府", "康定市人民政府",
    "泸定县人民政府", "丹巴县人民政府", "九龙县人民政府", "雅江县人民政府", "道孚县人民政府",
    "四川省财政厅", "四川省应急管理厅", "甘孜州应急管理局", "甘孜州交通运输局", "中共甘孜州委",
    "甘孜州教育和体育局", "甘孜州卫生健康委员会", "甘孜州自然资源局",
)
TOPICS = (
    "森林草原防灭火", "乡村振兴补助资金", "安全生产大检查", "政务公开", "营商环境优化",
    "教育事业发展", "医疗卫生服务", "生态环境保护", "交通建设项目", "文化旅游融合",
    "民族团结进步", "目标绩效考核", "自然灾害救助", "地质灾害防治", "耕地保护",
    "城乡居民医保", "就业创业", "粮食安全", "优化审批流程", "信访工作",
)
DOC_TYPES = ("通知", "意见", "请示", "函", "报告", "通报", "批复", "实施方案")
PHRASES = (
    "各县（市）人民政府，州级各部门：", "为深入贯彻落实党中央、国务院决策部署，",
    "经州人民政府同意，", "现将有关事项通知如下。", "一、提高思想认识，切实加强组织领导。",
    "二、压实工作责任，确保措施落地。",
    "三、强化督促检查，及时报送工作情况。", "请各地各部门结合实际，认真抓好贯彻落实。",
    "要坚持以人民为中心的发展思想，", "切实做好各项保障工作，", "进一步健全工作机制，",
    "确保人民群众生命财产安全。", "加强统筹协调，形成工作合力。", "各级财政部门要加强资金监管，",
    "严格执行国家有关规定，", "对工作不力、造成严重后果的，依法依规追究责任。",
    "请于规定时间前将落实情况报州人民政府办公室。", "本通知自印发之日起施行。",
    "联系人：张文书，电话：0836-2822000。", "特此通知。", "妥否，请批示。", "专此函达。",
)


# ------------------------------------------------------------------ seeding
def settings_for(workdir: Path) -> Settings:
    base = load_settings(ROOT / "config.example.toml")
    base = base.model_copy(update={"ocr": base.ocr.model_copy(update={"enabled": False})})
    return base.model_copy(update={"storage": Storage(data_dir=workdir / "data")})


def _text(rng: random.Random, title: str) -> str:
    parts = [title, "\n"]
    for _ in range(rng.randint(10, 20)):
        parts.append(rng.choice(PHRASES))
        if rng.random() < 0.15:
            parts.append(f"关于{rng.choice(TOPICS)}，")
    if rng.random() < 0.02:
        parts.append("做好汛期防汛准备，")
    if rng.random() < 1 / 20_000:
        parts.append("冰川泥石流监测预警，")
    if rng.random() < 1 / 20_000:
        parts.append("防范雪崩，")
    return "".join(parts)


async def seed(ctx: Context, n: int, rng: random.Random) -> None:
    """n items over ten years, ids in order of entry; paper ones entered late."""
    blobs = [await asyncio.to_thread(ctx.blobs.put, f"blob {k}".encode() * 200)
             for k in range(200)]
    start = datetime(FIRST_YEAR, 1, 2, 1, 0, tzinfo=UTC)
    step = timedelta(days=365 * YEARS) / n
    seqs: dict[tuple[str, int], int] = {}
    for first in range(0, n, BATCH):
        async with ctx.db.unit_of_work() as uow:
            for k in range(first, min(n, first + BATCH)):
                entered = start + step * k
                paper = k % PAPER_EVERY == 7
                received = entered - timedelta(hours=rng.uniform(1, 72)) if paper else entered
                sender = rng.choice(SENDERS)
                doc_type = rng.choice(DOC_TYPES)
                topic = ("防汛抗旱工作" if rng.random() < 0.02 else rng.choice(TOPICS))
                title = f"{sender}关于{topic}的{doc_type}"
                roll = rng.random()
                kind = "办件" if roll < 0.3 else "阅件" if roll < 0.6 else "抄件" \
                    if roll < 0.75 else None
                outcome = "register" if kind else ("sealed" if roll < 0.77 else "review")
                secrecy = "秘密" if rng.random() < 0.03 else None
                year = received.year
                item_id = await items_repo.insert_item(uow, items_repo.NewItem(
                    received_at=received, year=year, month=received.month,
                    channel="paper" if paper else "email", outcome=outcome, kind=kind,
                    sender=sender, doc_number=f"{sender[:2]}发〔{year}〕{k % 300 + 1}号",
                    doc_type=doc_type, secrecy=secrecy, title=title if outcome != "sealed"
                    else None, created_by="staff:张文书" if paper else "intake",
                    raw_blob=None if paper else blobs[k % len(blobs)],
                    text=_text(rng, title) if outcome != "sealed" else "",
                ))
                if kind in ("办件", "阅件"):
                    seq = seqs[(kind, year)] = seqs.get((kind, year), 0) + 1
                    number = f"{kind[0]}{year}-{seq:05d}"
                    await uow.execute(
                        "INSERT INTO register_entries (item_id, kind, year, seq, number,"
                        " registered_at) VALUES (?, ?, ?, ?, ?, ?)",
                        (item_id, kind, year, seq, number, entered.isoformat()))
                    await uow.execute(
                        "INSERT INTO register_seq (kind, year, last) VALUES (?, ?, ?)"
                        " ON CONFLICT (kind, year) DO UPDATE SET last = excluded.last",
                        (kind, year, seq))
                    await audit.append(uow, at=entered, actor="intake", action="register",
                                       subject=f"item:{item_id}",
                                       detail={"kind": kind, "number": number})
            await uow.commit()


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _seeded_before(workdir: Path, n: int) -> bool:
    workdir.mkdir(parents=True, exist_ok=True)
    marker = workdir / "seeded.json"
    if marker.exists() and json.loads(marker.read_text())["n"] == n:
        return True
    if marker.exists():
        raise SystemExit(f"{workdir} holds another size; use a --workdir per size")
    return False


async def seeded(workdir: Path, n: int) -> tuple[Context, float | None]:
    """The context on a database of n items (seeded now, or reused), seconds seeding took."""
    marker = workdir / "seeded.json"
    if await asyncio.to_thread(_seeded_before, workdir, n):
        return await open_context(settings_for(workdir)), None
    ctx = await open_context(settings_for(workdir))
    t0 = time.perf_counter()
    await seed(ctx, n, random.Random(n))
    took = time.perf_counter() - t0
    await asyncio.to_thread(marker.write_text, json.dumps({"n": n, "seed_s": took}))
    return ctx, took


async def seed_only(n: int, workdir: Path) -> None:
    ctx, took = await seeded(workdir, n)
    await ctx.db.close()
    print(f"{n:,} items: " + (f"seeded in {took:.0f} s" if took is not None else "seeded before"))


# ------------------------------------------------------------------ search
async def baseline_search(r: Reader, keyword: str, limit: int) -> list[Row]:
    """The query /find ran before issue 18: every match materialised and sorted."""
    cols = ("i.id, i.received_at, i.kind, i.outcome, i.sender, i.doc_number, i.title,"
            " i.secrecy, i.urgency, e.number")
    join = (" FROM items i LEFT JOIN register_entries e ON e.item_id = i.id"
            " AND e.status = 'active'")
    if len(keyword) >= items_repo.TRIGRAM_MIN:
        return await r.fetchall(
            f"SELECT {cols}{join} WHERE i.id IN (SELECT rowid FROM item_text"
            " WHERE item_text MATCH ?) ORDER BY i.received_at DESC, i.id DESC LIMIT ?",
            ('"' + keyword + '"', limit))
    pattern = f"%{keyword}%"
    return await r.fetchall(
        f"SELECT {cols}{join} WHERE i.id IN (SELECT rowid FROM item_text"
        " WHERE title LIKE ?1 ESCAPE '\\' OR body LIKE ?1 ESCAPE '\\')"
        " ORDER BY i.received_at DESC, i.id DESC LIMIT ?2", (pattern, limit))


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))]


async def timed(call: Callable[[], Awaitable[Any]]) -> float:
    t0 = time.perf_counter()
    await call()
    return (time.perf_counter() - t0) * 1000


async def measure_search(ctx: Context, word: str) -> dict[str, list[float]]:
    """p50/p95 (ms) of CALLS calls, new /find against the old query (same limit: 3 ×)."""
    out: dict[str, list[float]] = {"p50": [], "p95": [], "base_p50": [], "base_p95": []}
    new = [await timed(lambda: lookup.find(ctx, word, FIND_LIMIT)) for _ in range(CALLS)]

    async def old() -> None:
        async with ctx.db.reader() as r:
            await baseline_search(r, word, FIND_LIMIT * 3)

    base = [await timed(old) for _ in range(max(3, CALLS // 4))]
    out["p50"].append(pct(new, 50))
    out["p95"].append(pct(new, 95))
    out["base_p50"].append(pct(base, 50))
    out["base_p95"].append(pct(base, 95))
    return out


async def same_answer(ctx: Context, word: str) -> bool:
    async with ctx.db.reader() as r:
        old = [x["id"] for x in await baseline_search(r, word, FIND_LIMIT * 3)]
        new = [x["id"] for x in await items_repo.search(r, word, FIND_LIMIT * 3)]
    return old == new


async def matches(ctx: Context, word: str) -> int:
    async with ctx.db.reader() as r:
        row = await r.fetchone(
            "SELECT COUNT(*) AS n FROM item_text WHERE title LIKE ?1 OR body LIKE ?1",
            (f"%{word}%",))
    return int(row["n"]) if row else 0


# ------------------------------------------------------------------ export
_EXPORT_CHILD = r"""
import asyncio, json, sys, time
sys.path.insert(0, {root!r})
sys.path.insert(0, {bench!r})
from pathlib import Path
from core.services import books
from core.services.context import open_context
import scale

async def main():
    ctx = await open_context(scale.settings_for(Path({workdir!r})))
    try:
        t0 = time.perf_counter()
        if {mode!r} == "stream":  # as `jiyao export --format xlsx` writes it
            from jiyao.commands import export
            out = Path({workdir!r}) / "export.xlsx"
            book = await export._write_xlsx(books.incoming_streamed(ctx, {year}), out)
            built, size = 0.0, out.stat().st_size
        else:
            book = await books.incoming(ctx, {year})
            built = time.perf_counter() - t0
            if {mode!r} == "old":
                data = scale.legacy_render(book)
            else:  # the rows held whole, the writer streamed (before the rows were paged)
                from core.books import xlsx
                data = xlsx.render(book)
            size = len(data)
        took = time.perf_counter() - t0
    finally:
        await ctx.db.close()
    # VmHWM: this process's own peak (ru_maxrss keeps the parent's across fork and exec)
    status = Path("/proc/self/status").read_text()
    rss = int(next(x for x in status.splitlines() if x.startswith("VmHWM")).split()[1]) / 1024
    print(json.dumps({{"s": took, "book_s": built, "rss_mb": rss, "rows": book.row_count,
                      "bytes": size}}))

asyncio.run(main())
"""


#: the export as `jiyao export` writes it (rows streamed), with the rows held whole and the
#: writer streamed (the code before the rows were paged), and the old workbook
EXPORT_MODES = ("stream", "whole", "old")


def export_child(workdir: Path, year: int, mode: str) -> dict[str, float]:
    code = _EXPORT_CHILD.format(root=str(ROOT), bench=str(ROOT / "bench"),
                                workdir=str(workdir), year=year, mode=mode)
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                         text=True).stdout
    return dict(json.loads(out.strip().splitlines()[-1]))


def legacy_render(book: Any) -> bytes:
    """The renderer before issue 18 (a normal openpyxl workbook), kept as the baseline."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
    from openpyxl.utils import get_column_letter

    from core.books import display_width
    from core.books.xlsx import print_setup

    wb = Workbook()
    first = wb.active
    assert first is not None
    wb.remove(first)
    for sheet in book.sheets:
        ws = wb.create_sheet(sheet.name)
        n = len(sheet.columns)
        thin = Side(style="thin")
        box = Border(left=thin, right=thin, top=thin, bottom=thin)
        ws.append([sheet.title])
        ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=n)
        ws.cell(1, 1).font = Font(bold=True, size=16)
        ws.cell(1, 1).alignment = Alignment(horizontal="center", vertical="center")
        ws.append([c.header for c in sheet.columns])
        ws.row_dimensions[1].height = 30
        for cell in ws[2]:
            cell.font = Font(bold=True)
            cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
            cell.fill = PatternFill("solid", fgColor="EEEEEE")
            cell.border = box
        wrap = Alignment(vertical="top", wrap_text=True)
        for row in sheet.rows:
            ws.append(row)
            for cell in ws[ws.max_row]:
                cell.alignment = wrap
                cell.border = box
        for i, column in enumerate(sheet.columns, start=1):
            widest = max((display_width(r[i - 1]) for r in sheet.rows), default=0)
            widest = max(widest, display_width(column.header))
            ws.column_dimensions[get_column_letter(i)].width = max(
                6, min(column.max_width, widest) + 2)
        ws.freeze_panes = "A3"
        print_setup(ws)
    wb.properties.title = book.title
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


# ------------------------------------------------------------------ integrity
async def measure_integrity(ctx: Context) -> dict[str, float]:
    """Seconds of `jiyao check` and `audit verify`, each `--full` (every blob and entry:
    the baseline) and then incremental (the default: from the point the full run left)."""
    times: dict[str, float] = {}
    problems: list[str] = []
    for full in (True, False):
        tag = "full_" if full else ""
        t0 = time.perf_counter()
        problems += await admin.check(ctx, full=full)
        t1 = time.perf_counter()
        problems += await admin.verify_audit(ctx, full=full)
        t2 = time.perf_counter()
        times[tag + "check_s"], times[tag + "verify_s"] = t1 - t0, t2 - t1
    if problems:
        print("  problems:", problems[:3])
    return times


# ------------------------------------------------------------------ report
def mmm(values: list[float], unit: str = "", digits: int = 1) -> str:
    return "/".join(f"{v:.{digits}f}" for v in
                    (min(values), statistics.median(values), max(values))) + unit


async def run_size(n: int, workdir: Path, rounds: int) -> dict[str, float]:
    """The export's rows and median peak RSS (streamed, rows held whole) at this size."""
    ctx, took = await seeded(workdir, n)
    try:
        size = (await asyncio.to_thread((workdir / "data" / "jiyao.db").stat)).st_size
        print(f"\n== {n:,} items  (db {size / 1e6:.0f} MB, {size / n / 1024:.2f} KB/item; "
              + (f"seeded in {took:.0f} s)" if took is not None else "seeded before)"))
        words = (COMMON, RARE, TWO_CHAR, RARE_TWO)
        for word in words:
            print(f"  {word}: {await matches(ctx, word):,} items hold it; same newest "
                  f"{FIND_LIMIT * 3} as the old query: {await same_answer(ctx, word)}")
        results: dict[str, dict[str, list[float]]] = {w: {} for w in words}
        exports: dict[str, list[float]] = {}
        integrity: dict[str, list[float]] = {}
        async with ctx.db.reader() as r:
            row = await r.fetchone("SELECT MAX(year) AS y FROM items")
        year = int(row["y"]) if row else FIRST_YEAR
        for _ in range(rounds):
            for word in words:
                for key, vals in (await measure_search(ctx, word)).items():
                    results[word].setdefault(key, []).extend(vals)
            for mode in EXPORT_MODES:
                if mode == "old" and exports.get("rows", [0])[0] > LEGACY_MAX_ROWS:
                    continue  # quadratic: ws.max_row walks every cell, once per row
                got = await asyncio.to_thread(export_child, workdir, year, mode)
                tag = "" if mode == "stream" else mode + "_"
                exports.setdefault(tag + "s", []).append(got["s"])
                exports.setdefault(tag + "rss", []).append(got["rss_mb"])
                exports["rows"] = [got["rows"]]
            for key, v in (await measure_integrity(ctx)).items():
                integrity.setdefault(key, []).append(v)
        print(f"  /find newest {FIND_LIMIT}, ms min/median/max of {rounds} rounds "
              f"(target p95 < {SEARCH_TARGET_MS:.0f} ms):")
        for word, res in results.items():
            ratio = statistics.median(res["base_p95"]) / max(statistics.median(res["p95"]),
                                                             1e-6)
            print(f"    {word:<6} p50 {mmm(res['p50'])}  p95 {mmm(res['p95'])}"
                  f"   | old query p50 {mmm(res['base_p50'])}  p95 {mmm(res['base_p95'])}"
                  f"   old/new p95 {ratio:.1f}x")
        old = (f"old workbook {mmm(exports['old_s'], ' s')}, {mmm(exports['old_rss'], ' MB')}"
               if "old_s" in exports else
               f"old workbook not run above {LEGACY_MAX_ROWS:,} rows (quadratic)")
        print(f"  export xlsx {year} ({int(exports['rows'][0]):,} rows): "
              f"{mmm(exports['s'], ' s')}, peak RSS {mmm(exports['rss'], ' MB')}   | rows "
              f"held whole {mmm(exports['whole_s'], ' s')}, {mmm(exports['whole_rss'], ' MB')}"
              f"   | {old}")
        for what, name in (("check", "check"), ("verify", "audit verify")):
            inc, full = integrity[f"{what}_s"], integrity[f"full_{what}_s"]
            ratio = statistics.median(full) / max(statistics.median(inc), 1e-6)
            print(f"  {name} incremental {mmm(inc, ' s', 2)}   | --full {mmm(full, ' s', 2)}"
                  f"   full/incremental {ratio:.1f}x")
        return {"rows": exports["rows"][0], "rss": statistics.median(exports["rss"]),
                "whole_rss": statistics.median(exports["whole_rss"])}
    finally:
        await ctx.db.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/jiyao-scale"))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seed-only", action="store_true", help="seed the sizes, measure nothing")
    args = ap.parse_args()
    sizes: list[dict[str, float]] = []
    for n in (int(x) for x in args.sizes.split(",")):
        if args.seed_only:
            asyncio.run(seed_only(n, args.workdir / str(n)))
        else:
            sizes.append(asyncio.run(run_size(n, args.workdir / str(n), args.rounds)))
    if len(sizes) > 1 and sizes[-1]["rows"] > sizes[0]["rows"]:
        a, b = sizes[0], sizes[-1]
        more = b["rows"] - a["rows"]
        grow = {k: (b[k] - a[k]) * 1024 * 1024 / more for k in ("rss", "whole_rss")}
        print(f"\nexport peak RSS per row more ({int(a['rows']):,} -> {int(b['rows']):,} rows, "
              f"medians): streamed {grow['rss']:.0f} B, rows held whole "
              f"{grow['whole_rss']:.0f} B ({grow['whole_rss'] / max(grow['rss'], 1):.1f}x)")
    print(f"\n(peak RSS of this process {rss_mb():.0f} MB, pid {os.getpid()})")


if __name__ == "__main__":
    main()
