"""/find at scale (issue 18 item 5): the newest matches without sorting every match, in
exactly the order of the old query (received_at, then id, descending), also where ids
and received dates disagree (paper items entered after later mail) or tie."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest

from core.services import lookup
from core.services.context import Context
from core.storage import items as items_repo
from core.storage.db import Reader

WORDS = ("人民政府", "防汛", "冰川泥石流", "雪崩", "汛", "100%", "a_b", "_b", "0%", "工作", "ab",
         "kb", "道路", "告知")


async def old_query(r: Reader, keyword: str, limit: int) -> list[int]:
    """Every match materialised and sorted: the query /find ran before."""
    if len(keyword) >= items_repo.TRIGRAM_MIN:
        rows = await r.fetchall(
            "SELECT i.id FROM items i WHERE i.id IN (SELECT rowid FROM item_text"
            " WHERE item_text MATCH ?) ORDER BY i.received_at DESC, i.id DESC LIMIT ?",
            ('"' + keyword + '"', limit))
    else:
        pattern = "%" + keyword.replace("\\", "\\\\").replace("%", "\\%").replace(
            "_", "\\_") + "%"
        rows = await r.fetchall(
            "SELECT i.id FROM items i WHERE i.id IN (SELECT rowid FROM item_text"
            " WHERE title LIKE ?1 ESCAPE '\\' OR body LIKE ?1 ESCAPE '\\')"
            " ORDER BY i.received_at DESC, i.id DESC LIMIT ?2", (pattern, limit))
    return [int(x["id"]) for x in rows]


async def seed(ctx: Context, n: int, rng: random.Random) -> None:
    """Mail in order, one in four a paper item backdated up to 40 steps, some received at
    the same instant; words at several densities, in the title, the text or its end."""
    start = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)
    async with ctx.db.unit_of_work() as uow:
        for k in range(n):
            at = start + timedelta(minutes=k // 3 * 10)  # three at each instant
            if rng.random() < 0.25:
                at -= timedelta(minutes=10 * rng.randint(1, 40))
            title = "甘孜州人民政府关于工作的通知" if rng.random() < 0.6 else "关于道路养护的函"
            body = ["正文"]
            if rng.random() < 0.08:
                body.append("做好防汛准备")
            if rng.random() < 0.01:
                body.append("冰川泥石流")
            if rng.random() < 0.3:
                body.append("汛")
            if k % 97 == 0:
                body.append("完成率100%，a_b")
            if k % 89 == 3:  # ASCII case folds in LIKE; the Kelvin sign only in the index
                body.append(("xAB", "aBc", "\u212ab", "ab", "xKB")[k // 89 % 5])
            if k % 83 == 4:
                title = rng.choice(("告知", "请告知", "关于道路"))  # the word ends the title
            text = "，".join(body) + ("雪崩" if k % 61 == 5 else "")  # at the very end
            if k % 113 == 6:
                text = rng.choice(("雪崩", "Ab"))  # the whole text
            await items_repo.insert_item(uow, items_repo.NewItem(
                received_at=at, year=2026, month=1, channel="paper", outcome="register",
                kind="阅件", sender="甘孜州人民政府", title=title, created_by="staff",
                text=text))
        await uow.commit()


@pytest.mark.parametrize(("probe_max", "few", "walk"), [
    (0, 0, 0), (3, 0, 40), (100_000, 0, 100_000), (50, 10**9, 0),
])
async def test_newest_matches_in_the_old_order(ctx: Context, monkeypatch: pytest.MonkeyPatch,
                                               probe_max: int, few: int, walk: int) -> None:
    # probe_max 0: matches entered earlier always read from the index; 100k: always probed;
    # a two-character word: few 0 walks `walk` items first (0: none, 100k: all of them),
    # few 10**9 goes to the index at once
    monkeypatch.setattr(items_repo, "LATE_PROBE_MAX", probe_max)
    monkeypatch.setattr(items_repo, "FEW_OCCURRENCES", few)
    monkeypatch.setattr(items_repo, "LIKE_WALK", walk)
    await seed(ctx, 600, random.Random(18))
    async with ctx.db.reader() as r:
        ids = await r.fetchall("SELECT id, received_at FROM items ORDER BY id")
        disorder = sum(a["received_at"] > b["received_at"] for a, b in pairwise(ids))
        assert disorder > 50  # ids and received dates do disagree here
        for word in WORDS:
            total = len(await old_query(r, word, 10_000))
            assert total > 0, word
            for limit in (1, 5, 30, 60, total, total + 5):
                got = [int(x["id"]) for x in await items_repo.search(r, word, limit)]
                assert got == await old_query(r, word, limit), (word, limit)


async def test_no_match_and_no_limit(ctx: Context) -> None:
    await seed(ctx, 40, random.Random(1))
    async with ctx.db.reader() as r:
        assert await items_repo.search(r, "不存在的词", 20) == []
        assert await items_repo.search(r, "无", 20) == []
        assert await items_repo.search(r, "人民政府", 0) == []


async def test_find_shows_the_newest_first(ctx: Context) -> None:
    await seed(ctx, 200, random.Random(7))
    found = await lookup.find(ctx, "防汛", limit=5)
    assert found
    order = [(f.received_at, f.item_id) for f in found]
    assert order == sorted(order, reverse=True)
    async with ctx.db.reader() as r:
        assert [f.item_id for f in found] == (await old_query(r, "防汛", 15))[:5]


async def test_paper_items_entered_late_do_not_hide_newer_mail(ctx: Context) -> None:
    """Mail M1…M40, then seven paper items of months ago, then mail N1…N3: the newest
    ids are mostly paper, the newest received are N3, N2, N1, M40, M39."""
    start = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
    ids: dict[str, int] = {}
    async with ctx.db.unit_of_work() as uow:
        for name, at in ([(f"M{k}", start + timedelta(minutes=k)) for k in range(1, 41)]
                         + [(f"P{k}", start - timedelta(days=90)) for k in range(1, 8)]
                         + [(f"N{k}", start + timedelta(minutes=40 + k)) for k in (1, 2, 3)]):
            ids[name] = await items_repo.insert_item(uow, items_repo.NewItem(
                received_at=at, year=2026, month=at.month, channel="paper",
                outcome="register", kind="阅件", sender="康定市人民政府",
                title=f"关于防汛工作的通知（{name}）", created_by="staff", text="防汛抗旱"))
        await uow.commit()
    async with ctx.db.reader() as r:
        for word in ("防汛工作", "防汛"):
            got = [int(x["id"]) for x in await items_repo.search(r, word, 5)]
            assert got == [ids[x] for x in ("N3", "N2", "N1", "M40", "M39")], word
            assert got == await old_query(r, word, 5)
