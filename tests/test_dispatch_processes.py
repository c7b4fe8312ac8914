"""Four OS processes taking 甘府发 numbers on one database get exactly 1…400.

Run as `python -m tests.test_dispatch_processes DATA_DIR COUNT` this module is the worker:
it opens its own Database and calls the take service in a loop, printing each number.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

from core.config import Storage, load_settings
from core.services import dispatch
from core.services.context import open_context
from tests.conftest import EXAMPLE, ROOT, run_cli

WORKERS = 4
TAKES = 100


async def _work(data_dir: str, count: int) -> None:
    base = load_settings(EXAMPLE)
    s = base.model_copy(update={"storage": Storage(data_dir=Path(data_dir))})
    ctx = await open_context(s)
    try:
        for i in range(count):
            taken = await dispatch.take(ctx, code="甘府发", title=f"并发取号 {i}")
            sys.stdout.write(taken.number + "\n")
            sys.stdout.flush()
    finally:
        await ctx.db.close()


def test_four_processes_take_one_gap_free_sequence(tmp_path: Path) -> None:
    """4 processes × 100 takes of 甘府发 give exactly 甘府发〔Y〕1号 … 400号, no repeats."""
    run_cli("init", data_dir=tmp_path, check=True)
    procs = [
        subprocess.Popen([sys.executable, "-m", "tests.test_dispatch_processes", str(tmp_path),
                          str(TAKES)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
        for _ in range(WORKERS)
    ]
    printed: list[str] = []
    for p in procs:
        out, _ = p.communicate(timeout=240)
        assert p.returncode == 0
        printed += out.split()
    m = re.fullmatch(r"甘府发〔(\d{4})〕\d+号", printed[0])
    assert m is not None
    year = m[1]
    expected = [f"甘府发〔{year}〕{n}号" for n in range(1, WORKERS * TAKES + 1)]
    assert sorted(printed, key=lambda x: int(x.split("〕")[1][:-1])) == expected
    with sqlite3.connect(tmp_path / "jiyao.db") as conn:
        seqs = [r[0] for r in conn.execute("SELECT seq FROM dispatches ORDER BY seq")]
        last = conn.execute("SELECT last FROM dispatch_seq WHERE code = '甘府发'").fetchone()[0]
        audited = conn.execute("SELECT COUNT(*) FROM audit WHERE action = 'take'").fetchone()[0]
    assert seqs == list(range(1, WORKERS * TAKES + 1))
    assert last == audited == WORKERS * TAKES
    audit = run_cli("audit", "verify", data_dir=tmp_path)
    assert audit.returncode == 0, audit.stdout + audit.stderr


if __name__ == "__main__":
    asyncio.run(_work(sys.argv[1], int(sys.argv[2])))
