"""The 政府信息公开 catalogue: the publishable rule, the built site, incremental rebuilds."""

from __future__ import annotations

import dataclasses
import json
import os
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from core.errors import ConflictError, InvalidInputError
from core.services import dispatch, site
from core.services.context import Context
from core.site import catalogue as cat
from core.site.publishable import Facts, publishable, refusal
from tests.conftest import FrozenClock
from tests.site_helpers import (
    BRIEF,
    FLOOD,
    PLAN,
    SECRET_TITLE,
    VOID_TITLE,
    WITHHELD_TITLE,
    publish,
    seed,
    take,
)

OK = Facts(status="active", disclosure="主动公开", secrecy=None, published_cycle=1,
           review="通过", withdrawn_cycle=None)


@pytest.mark.parametrize(("change", "reason"), [
    ({}, None),
    ({"status": "void"}, "发文已作废"),
    ({"secrecy": "秘密"}, "涉密（秘密）"),
    ({"secrecy": "绝密", "disclosure": "不予公开"}, "涉密（绝密）"),
    ({"disclosure": "不予公开"}, "公开属性为不予公开"),
    ({"disclosure": "依申请公开"}, "公开属性为依申请公开"),
    ({"disclosure": None}, "公开属性为待定"),
    ({"published_cycle": None}, "尚未登记公开"),
    ({"review": "不通过"}, "保密审查未通过"),
    ({"review": None}, "没有保密审查记录"),
    ({"withdrawn_cycle": 1}, "已撤回公开"),
    ({"withdrawn_cycle": 1, "published_cycle": 2}, None),  # published again after withdrawal
])
def test_publishable_rule(change: dict[str, object], reason: str | None) -> None:
    facts = dataclasses.replace(OK, **change)  # type: ignore[arg-type]
    assert refusal(facts) == reason
    assert publishable(facts) is (reason is None)


def _all_bytes(root: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file())


async def test_build_shows_only_the_published(ctx: Context, clock: FrozenClock,
                                              tmp_path: Path) -> None:
    s = await seed(ctx, clock)
    out = tmp_path / "www"
    r = await site.build(ctx, out)
    assert r.items == 3
    assert out.is_symlink()
    blob = _all_bytes(out).decode("utf-8", errors="replace")
    for title in (FLOOD, BRIEF, PLAN):
        assert title in blob
    for title, number in ((WITHHELD_TITLE, s.withheld), (SECRET_TITLE, s.secret),
                          (VOID_TITLE, s.void)):
        assert title not in blob
        assert number not in blob
    index = (out / cat.SEARCH_INDEX).read_text("utf-8")
    assert s.flood in index
    assert SECRET_TITLE not in index
    # the document page: 索引号 table first, the PDF's text and the file itself
    doc = next(p for p in (out / "doc").glob("*.html") if FLOOD in p.read_text("utf-8"))
    html = doc.read_text("utf-8")
    assert 'lang="zh-CN"' in html
    assert '<th scope="row">索引号</th>' in html
    assert "11513300000000000X/2026-0000" in html
    assert "农业、林业、水利" in html
    assert "甘孜藏族自治州人民政府" in html
    assert "为切实做好今年防汛抗旱工作" in html
    [pdf] = (out / "files").glob("*.pdf")
    assert pdf.read_bytes().startswith(b"%PDF-")
    # the 栏目 page lists the item; the top 栏目 too
    tree = {c.path: c for top in cat.column_tree(ctx.settings.disclosure.catalogue, [])
            for c in (top, *top.children)}
    assert FLOOD in (out / tree["政策法规/规范性文件"].href).read_text("utf-8")
    assert BRIEF in (out / tree["业务工作"].href).read_text("utf-8")
    assert FLOOD not in (out / tree["业务工作/工作简报"].href).read_text("utf-8")
    assert "第二十九条" in (out / cat.GUIDE).read_text("utf-8")
    assert "2026年第一季度" in (out / "stats/2026.html").read_text("utf-8")
    assert await site.check(ctx, out) == []


async def test_index_numbers_are_given_once(ctx: Context, clock: FrozenClock,
                                            tmp_path: Path) -> None:
    await seed(ctx, clock)
    first = [e.index_no for e in sorted(await site.entries(ctx), key=lambda e: e.dispatch_id)]
    again = [e.index_no for e in sorted(await site.entries(ctx), key=lambda e: e.dispatch_id)]
    assert first == again == [f"11513300000000000X/2026-{n:05d}" for n in (1, 2, 3)]


async def test_rebuild_writes_only_what_changed(ctx: Context, clock: FrozenClock,
                                                tmp_path: Path) -> None:
    await seed(ctx, clock)
    out = tmp_path / "www"
    first = await site.build(ctx, out)
    same = await site.build(ctx, out)
    assert same.written == 0
    assert same.kept == first.written + first.kept
    old_doc = next((out / "doc").glob("*.html"))
    inode = old_doc.stat().st_ino
    n = await take(ctx, "关于加强森林草原防火工作的意见", "政策法规/规范性文件")
    await publish(ctx, n, date(2026, 3, 10))
    r = await site.build(ctx, out)
    # the new page, its 栏目 lists, home, catalogue, search index, stats
    assert 1 <= r.written <= 12, r
    assert old_doc.stat().st_ino == inode  # unchanged pages are hard-linked, not rewritten
    assert len(list(Path(tmp_path).glob(".www.*"))) == 1  # the old version is gone


async def test_check_finds_pages_no_longer_public(ctx: Context, clock: FrozenClock,
                                                  tmp_path: Path) -> None:
    s = await seed(ctx, clock)
    out = tmp_path / "www"
    await site.build(ctx, out)
    await site.withdraw(ctx, number=s.brief, reason="内容已失效")
    await dispatch.amend(ctx, number=s.plan, section="机要室", disclosure="不予公开",
                         reason="国家秘密", secrecy="机密")
    problems = await site.check(ctx, out)
    assert {p.kind for p in problems} == {"not_public"}
    details = " ".join(p.detail for p in problems)
    assert "已撤回公开" in details
    assert "涉密（机密）" in details
    assert len(problems) == 2  # the two document pages (neither has a file)
    with pytest.raises(ConflictError):
        await site.withdraw(ctx, number=s.brief, reason="再次")
    r = await site.build(ctx, out)
    assert r.removed == 2
    assert r.items == 1
    assert await site.check(ctx, out) == []
    text = _all_bytes(out).decode("utf-8", errors="replace")
    assert BRIEF not in text
    assert PLAN not in text


async def test_check_finds_broken_links(ctx: Context, clock: FrozenClock,
                                        tmp_path: Path) -> None:
    await seed(ctx, clock)
    out = tmp_path / "www"
    await site.build(ctx, out)
    (out / "guide.html").unlink()
    problems = await site.check(ctx, out)
    assert problems
    assert {p.kind for p in problems} == {"broken_link"}
    assert all("guide.html" in p.detail for p in problems)


async def test_build_refuses_a_foreign_folder(ctx: Context, tmp_path: Path) -> None:
    out = tmp_path / "www"
    out.mkdir()
    (out / "keep.txt").write_text("x")
    with pytest.raises(InvalidInputError, match="不是 jiyao 生成的站点"):
        await site.build(ctx, out)
    assert (out / "keep.txt").exists()


async def test_classified_must_be_withheld(ctx: Context) -> None:
    with pytest.raises(InvalidInputError, match="涉密文件"):
        await take(ctx, "涉密但主动公开", "政策法规/规范性文件", secrecy="机密")


async def test_published_file_must_be_pdf_or_ofd(ctx: Context, clock: FrozenClock) -> None:
    clock.now = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)
    n = await take(ctx, FLOOD, "政策法规/规范性文件")
    with pytest.raises(InvalidInputError, match="PDF 或 OFD"):
        await site.publish(ctx, number=n, url="https://x/1", file=("a.docx", b"PK\x03\x04"))
    with pytest.raises(InvalidInputError, match="不是 PDF"):
        await site.publish(ctx, number=n, url="https://x/1", file=("a.pdf", b"hello"))


def test_search_index_escapes_script_end() -> None:
    e = cat.Entry(1, 1, 2026, 1, "X/2026-00001", "标题</script>", "甘府发〔2026〕1号", "某",
                  None, date(2026, 3, 5), "综合政务", "其他")
    body = cat.search_index_js([e]).decode()
    assert "</script>" not in body
    data = json.loads(body[len("window.JIYAO_SEARCH = "):-2])
    assert data["items"][0][0] == "标题</script>"


def test_paragraphs_join_wrapped_lines() -> None:
    text = "为切实做好今年防汛抗旱工作，现将\n有关事项通知如下。\n一、提高认识\n"
    assert cat.paragraphs(text) == ["为切实做好今年防汛抗旱工作，现将有关事项通知如下。",
                                    "一、提高认识"]


def test_files_are_world_readable(tmp_path: Path) -> None:
    from core.storage.site_dir import Output, write_site
    w = write_site(tmp_path / "s", [Output("a/b.html", "1", lambda: b"x")])
    assert os.stat(w.root / "a/b.html").st_mode & 0o444 == 0o444
