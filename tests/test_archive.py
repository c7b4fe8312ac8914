"""The archive hand-over (归档): the dev corpus through the real SMTP edge, one 办件 handled
to 办结, then `jiyao export --register archive` run as staff run it; the package is
opened and checked: manifest, 档号, metadata XML, renditions, sealed items sealed."""

from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from datetime import date
from pathlib import Path

import aiosmtplib
import openpyxl
import pytest

from core import renditions
from core.archive import ELEMENTS, RETENTION_CODES, FileEntry
from core.config import Settings
from core.errors import InvalidInputError
from core.model import Kind
from core.services import archive as archive_service
from core.services import followups, handling, registry
from core.services.context import Context, open_context
from tests.conftest import FrozenClock, run_cli
from tests.intake_helpers import OFFICE, ServedIntake, corpus, labels, sealed_secrets, wait_decided
from tests.printed import assert_printed_as_book

PACKAGE = "归档-2026"


async def _intake_corpus(ctx: Context) -> dict[str, int]:
    """Every corpus message through the edge and the pipeline; file → item id."""
    daemon = ServedIntake(ctx)
    await daemon.start()
    ids = {}
    try:
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=daemon.port, start_tls=False,
                                 timeout=60)
        await client.connect()
        for d in labels():
            _, text = await client.sendmail("mta@relay.example", [OFFICE], corpus(d["file"]))
            ids[d["file"]] = int(text.rsplit("item", 1)[1].split()[0])
        await client.quit()
        await wait_decided(ctx)
    finally:
        await daemon.stop()
    return ids


def _manifest(root: Path) -> dict[str, str]:
    lines = (root / "校验清单.sha256").read_text("utf-8").splitlines()
    return {line.split("  ", 1)[1]: line.split("  ", 1)[0] for line in lines}


def _files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def _verify(root: Path) -> None:
    listed = _manifest(root)
    assert set(listed) == _files(root) - {"校验清单.sha256"}
    for rel, digest in listed.items():
        assert hashlib.sha256((root / rel).read_bytes()).hexdigest() == digest, rel
    if shutil.which("sha256sum"):  # the archive's own tool agrees
        r = subprocess.run(["sha256sum", "--quiet", "-c", "校验清单.sha256"], cwd=root,
                           capture_output=True, check=False)
        assert r.returncode == 0, r.stdout + r.stderr


@pytest.fixture
async def handed_over(ctx: Context, tmp_path: Path) -> tuple[Path, dict[str, int]]:
    ids = await _intake_corpus(ctx)
    first_ban = next(d for d in labels() if d.get("kind") == "办件")
    ref = str(ids[first_ban["file"]])
    await handling.assign(ctx, ref=ref, units=["综合科"], due=date(2026, 3, 20))
    await followups.close_item(ctx, ref=ref, result="已按要求落实并报送")
    out = tmp_path / "out"
    r = run_cli("export", "--register", "archive", "--year", "2026", "--out", str(out),
                data_dir=tmp_path / "data")
    assert r.returncode == 0, r.stderr
    assert "已导出 2026 年度归档包" in r.stdout
    return out / PACKAGE, ids


async def test_archive_package(ctx: Context, handed_over: tuple[Path, dict[str, int]]) -> None:
    root, _ids = handed_over
    _verify(root)
    assert os.stat(root).st_mode & 0o777 == 0o700
    assert all(p.stat().st_mode & 0o777 == 0o600 for p in root.rglob("*") if p.is_file())

    # 档号: unique, one folder each, in catalogue order, 件号 from 0001 per 保管期限
    catalogue = ET.parse(root / "归档文件目录.xml").getroot()
    codes = [e.findtext("档号") for e in catalogue.findall("条目")]
    assert len(codes) == len(set(codes))
    assert sorted(p.name for p in root.iterdir() if p.is_dir()) == sorted(codes)
    order = list(RETENTION_CODES.values())
    # 日期 is the 成文日期 where it was read (DA/T 22: the date the document was made)
    async with ctx.db.reader() as r:
        written = {row["number"]: row["written_on"] for row in await r.fetchall(
            "SELECT e.number, i.written_on FROM items i JOIN register_entries e"
            " ON e.item_id = i.id AND e.status = 'active' WHERE i.written_on IS NOT NULL")}
    dated = {e.findtext("收文编号"): e.findtext("日期") for e in catalogue.findall("条目")}
    made = [n for n in dated if n in written]
    assert made, "the corpus has documents whose 成文日期 is read"
    assert all(dated[n] == written[n].replace("-", "") for n in made)
    groups = [c.split("-")[2] for c in codes]
    assert groups == sorted(groups, key=order.index)
    for g in set(groups):
        seqs = [int(c.rsplit("-", 1)[1]) for c in codes if c.split("-")[2] == g]
        assert seqs == list(range(1, len(seqs) + 1))
    assert all(c.startswith("X001-WS·2026-") and "-BGS-" in c for c in codes)
    # the example config: 办件 永久, 阅件 30年, 抄件 10年, 内刊/简报 不归档, 封存件 30年
    want = {"办件": 0, "阅件": 0, "抄件": 0, "sealed": 0}
    for d in labels():
        if d["outcome"] == "register" and d["kind"] in want:
            want[d["kind"]] += 1
        elif d["outcome"] == "sealed":
            want["sealed"] += 1
    assert groups.count("Y") == want["办件"]
    assert groups.count("D30") == want["阅件"] + want["sealed"]
    assert groups.count("D10") == want["抄件"]
    ws = openpyxl.load_workbook(root / "归档文件目录.xlsx").active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[1][0] == "档号"
    # printed as the register books are: landscape A4, fitted to the width, title and
    # header on every page, the header frozen
    assert_printed_as_book(ws)
    assert [r[0] for r in rows[2:]] == codes
    # 页数: the pages of each 件's PDF form, where every document has one
    ban_pages = {r[0]: r[8] for r in rows[2:]}

    # every metadata XML parses, uses only the element list, and names the basics
    for code in codes:
        meta = ET.parse(root / code / "元数据.xml").getroot()
        tags = {el.tag for el in meta.iter()} - {meta.tag}
        assert tags <= set(ELEMENTS), tags - set(ELEMENTS)
        for name in ("题名", "文件编号", "责任者", "日期", "密级", "保管期限", "室编件号"):
            assert meta.find(f".//{name}") is not None, (code, name)
        assert meta.find("档号").get("值") == code
        day = meta.find(".//日期")
        assert re.fullmatch(r"20\d{6}", day.text or ""), day.text
        assert day.get("依据") in ("成文日期", "收文日期")
        steps = [b.findtext("业务行为") for b in meta.iter("业务")]
        assert "签收" in steps
        files = {f.findtext("计算机文件名"): f for f in meta.iter("计算机文件")}
        for name, f in files.items():  # the metadata's hashes are the files' own
            data = (root / code / name).read_bytes()
            assert f.findtext("哈希值") == hashlib.sha256(data).hexdigest()

    # the handled 办件 carries its process: 签收, 登记, 承办, 办结
    first_ban = next(d for d in labels() if d.get("kind") == "办件")
    [ban] = [c for c in codes
             if ET.parse(root / c / "元数据.xml").getroot().findtext(".//题名")
             == first_ban["title"]]
    meta = ET.parse(root / ban / "元数据.xml").getroot()
    steps = [(b.findtext("业务行为"), b.findtext("行为描述")) for b in meta.iter("业务")]
    assert [s for s, _ in steps][:2] == ["签收", "登记"]
    assert ("办结", "已按要求落实并报送") in steps
    assert any(s == "承办" and "综合科" in (d or "") for s, d in steps)
    assert (root / ban / "公文处理单.pdf").read_bytes().startswith(b"%PDF")
    assert ban_pages[ban] == str(sum(_pages(p.read_bytes()) for p in (root / ban).rglob("*.pdf")
                                     if p.name != "公文处理单.pdf"))
    assert meta.findtext(".//页数") == ban_pages[ban]
    originals = [p for p in (root / ban / "原件").iterdir() if p.name != "原始报文.eml"]
    assert originals, "the document as received"

    # renditions: every original that is not PDF/OFD has a PDF beside it, or says why not
    for code in codes:
        meta = ET.parse(root / code / "元数据.xml").getroot()
        for f in meta.iter("计算机文件"):
            if f.findtext("文件用途") != "原件" or f.findtext("格式信息") in ("pdf", "ofd"):
                continue
            stem = Path(f.findtext("计算机文件名")).stem
            made = (root / code / "版式" / f"{stem}.pdf").is_file()
            assert made or "须人工" in f.findtext("附注"), (code, stem)


async def test_sealed_items_are_handed_over_sealed(
    handed_over: tuple[Path, dict[str, int]], ctx: Context
) -> None:
    root, ids = handed_over
    sealed = [d for d in labels() if d["outcome"] == "sealed"]
    assert sealed
    catalogue_text = (root / "归档文件目录.xml").read_text("utf-8")
    for d in sealed:
        raw = corpus(d["file"])
        secrets = sealed_secrets(d, raw)
        async with ctx.db.reader() as r:
            row = await r.fetchone("SELECT raw_blob FROM items WHERE id = ?", (ids[d["file"]],))
        [folder] = [p for p in root.iterdir() if p.is_dir() and (p / "原件" / "原始报文.eml")
                    .is_file() and (p / "原件" / "原始报文.eml").read_bytes()
                    == ctx.blobs.get(row["raw_blob"])]
        assert _files(folder) == {"元数据.xml", "原件/原始报文.eml"}
        meta_text = (folder / "元数据.xml").read_text("utf-8")
        assert "封存移交，未拆封" in meta_text
        for key, secret in secrets.items():
            assert secret not in meta_text, key
            assert secret not in catalogue_text, key


async def test_second_run_refuses_unless_replace(
    handed_over: tuple[Path, dict[str, int]], tmp_path: Path
) -> None:
    root, _ = handed_over
    before = (root / "校验清单.sha256").read_bytes()
    args = ("export", "--register", "archive", "--year", "2026", "--out", str(root.parent))
    r = run_cli(*args, data_dir=tmp_path / "data")
    assert r.returncode == 2
    assert "已导出过归档包" in r.stderr
    assert "--replace" in r.stderr
    assert "Traceback" not in r.stderr
    assert (root / "校验清单.sha256").read_bytes() == before
    r = run_cli(*args, "--replace", data_dir=tmp_path / "data")
    assert r.returncode == 0, r.stderr
    _verify(root)
    assert [p.name for p in root.parent.iterdir()] == [PACKAGE]  # no temporary folder left


def test_missing_archive_config_is_named_in_chinese(tmp_path: Path) -> None:
    run_cli("register", "--kind", "办件", "--sender", "康定市人民政府", "--title", "请示",
            "--received", "2026-03-01T09:00:00+08:00", data_dir=tmp_path, check=True)
    args = ("export", "--register", "archive", "--year", "2026", "--out", str(tmp_path / "o"))
    r = run_cli(*args, data_dir=tmp_path, env={"JIYAO_ARCHIVE__FONDS": ""})
    assert r.returncode == 2
    assert "全宗号" in r.stderr
    assert "[archive] fonds" in r.stderr
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())
    # a paper item: no original on file, and the output says so; its correction is kept
    run_cli("correct", "办2026-0001", "--kind", "阅件", "--reason", "无办理要求",
            data_dir=tmp_path, check=True)
    r = run_cli(*args, data_dir=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "纸质件，原件须另行移交" in r.stdout
    [meta] = (tmp_path / "o" / PACKAGE).glob("*/元数据.xml")
    assert meta.parent.name == "X001-WS·2026-D30-BGS-0001"  # a 阅件 now: 30年
    steps = {b.findtext("业务行为"): b.findtext("行为描述")
             for b in ET.parse(meta).getroot().iter("业务")}
    assert steps["登记（更正）"] == (
        "办件更正为阅件（原编号 办2026-0001 作废，新编号 阅2026-0001）：无办理要求")


async def test_a_kind_without_retention_is_named(settings: Settings, clock: FrozenClock,
                                                 tmp_path: Path) -> None:
    archive = settings.archive.model_copy(update={"retention": {"阅件": "30年"}})
    ctx = await open_context(settings.model_copy(update={"archive": archive}), clock=clock)
    try:
        await registry.register_paper(ctx, kind=Kind.BAN, sender="康定市人民政府",
                                      title="关于申请资金的请示")
        with pytest.raises(InvalidInputError, match="未给出 “办件” 的保管期限"):
            await archive_service.export_year(ctx, 2026, tmp_path / "o")
    finally:
        await ctx.db.close()
    assert not (tmp_path / "o").exists()


def _pages(pdf: bytes) -> int:
    from pypdf import PdfReader

    return len(PdfReader(io.BytesIO(pdf)).pages)


def test_image_rendition_keeps_every_page() -> None:
    """A two-page fax TIFF becomes a two-page PDF; PDF needs none; .doc says it cannot."""
    from PIL import Image

    frames = [Image.new("L", (200, 280), color) for color in (255, 128)]
    buf = io.BytesIO()
    frames[0].save(buf, "TIFF", save_all=True, append_images=frames[1:])
    r = renditions.render("传真", "fax.tif", "image/tiff", buf.getvalue())
    assert (r.fmt, _pages(r.pdf or b"")) == ("tiff", 2)
    assert "2 页" in r.note
    pdf = renditions.render("x", "a.pdf", "application/pdf", r.pdf or b"")
    assert (pdf.fmt, pdf.pdf) == ("pdf", None)
    ole = renditions.render("x", "a.doc", "application/msword",
                            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100)
    assert ole.pdf is None
    assert "须人工转换" in ole.note


def test_docx_rendition_is_its_text_and_says_so() -> None:
    from docx import Document
    from pypdf import PdfReader

    doc = Document()
    doc.add_paragraph("关于做好防汛工作的通知")
    doc.add_paragraph("各县人民政府：请于汛前完成隐患排查。")
    buf = io.BytesIO()
    doc.save(buf)
    r = renditions.render("关于做好防汛工作的通知", "a.docx", "application/octet-stream",
                          buf.getvalue())
    assert r.fmt == "docx"
    assert "不保留原件版式" in r.note
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(r.pdf or b"")).pages)
    assert "隐患排查" in text


def test_ofd_pages_are_counted() -> None:
    """An OFD original is a 版式文件 of its own: no rendition, and its pages count in 页数;
    a damaged one's pages are unknown, not zero."""
    from tests.data.reading.builders import make_ofd

    ofd = make_ofd([["川财农〔2024〕112号", "关于下达资金的通知"], ["第二页正文"], ["附件"]])
    r = renditions.render("x", "a.ofd", "application/ofd", ofd)
    assert (r.fmt, r.pdf) == ("ofd", None)
    assert renditions.page_count("ofd", ofd) == 3
    assert renditions.page_count("ofd", ofd[: len(ofd) // 2]) is None
    entry = FileEntry("原件/01-a.ofd", len(ofd), "", "ofd", "原件",
                      has_form=True)
    assert archive_service._add_pages(2, entry, ofd) == 5
