"""Property: any interleaving of registrations, corrections and conversions keeps 1..n."""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.config import Storage, load_settings
from core.errors import ConflictError
from core.model import Kind
from core.services import admin, registry
from core.services.context import Context, open_context
from tests.conftest import EXAMPLE, FrozenClock

BASE = load_settings(EXAMPLE)
KINDS = list(Kind)
YEARS = [datetime(2025, 6, 1, tzinfo=UTC), datetime(2026, 6, 1, tzinfo=UTC)]

op = st.one_of(
    st.tuples(st.just("register"), st.sampled_from(KINDS), st.sampled_from(YEARS)),
    st.tuples(st.just("correct"), st.integers(0, 50), st.sampled_from(KINDS)),
    st.tuples(st.just("convert"), st.integers(0, 50)),
)


async def _apply(ctx: Context, o: tuple, ids: list[int]) -> None:  # type: ignore[type-arg]
    if o[0] == "register":
        r = await registry.register_paper(ctx, kind=o[1], sender="丹巴县人民政府", title="t",
                                          received=o[2])
        ids.append(r.id)
    elif ids and o[0] == "correct":
        with contextlib.suppress(ConflictError):
            await registry.correct(ctx, ref=str(ids[o[1] % len(ids)]), kind=o[2], reason="更正",
                                   actor="t")
    elif ids:
        async with ctx.db.unit_of_work() as uow:
            item = await uow.fetchone("SELECT * FROM items WHERE id = ?", (ids[o[1] % len(ids)],))
            assert item is not None
            await registry.convert_to_ban(ctx, uow, item=item, actor="州长", at=ctx.clock())
            await uow.commit()


async def _run(ops: list[tuple]) -> None:  # type: ignore[type-arg]
    with tempfile.TemporaryDirectory() as tmp:
        s = BASE.model_copy(update={"storage": Storage(data_dir=Path(tmp))})
        ctx = await open_context(s, clock=FrozenClock(datetime(2026, 7, 1, tzinfo=UTC)))
        try:
            ids: list[int] = []
            # two concurrent streams interleave on the one writer
            half = len(ops) // 2
            await asyncio.gather(
                *(_stream(ctx, part, ids) for part in (ops[:half], ops[half:]))
            )
            async with ctx.db.reader() as r:
                rows = await r.fetchall(
                    "SELECT kind, year, seq FROM register_entries ORDER BY kind, year, seq"
                )
            per: dict[tuple[str, int], list[int]] = {}
            for row in rows:
                per.setdefault((row["kind"], row["year"]), []).append(row["seq"])
            for seqs in per.values():
                assert seqs == list(range(1, len(seqs) + 1))
            assert await admin.check(ctx) == []
        finally:
            await ctx.db.close()


async def _stream(ctx: Context, ops: list[tuple], ids: list[int]) -> None:  # type: ignore[type-arg]
    for o in ops:
        await _apply(ctx, o, ids)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(op, min_size=1, max_size=30))
def test_any_interleaving_keeps_sequences(ops: list[tuple]) -> None:  # type: ignore[type-arg]
    """Each (kind, year) register stays exactly 1..n, whatever happens in between."""
    asyncio.run(_run(ops))
