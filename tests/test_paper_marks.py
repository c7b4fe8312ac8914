"""Paper items carry 密级, 紧急程度, 信封编号 and 办理期限 (issue 16 item 2), under the
rules of a received item: a paper 秘密件 is pushed envelope-only, a 绝密 one is sealed (not
numbered, not pushed, its title not kept), an envelope number signed for is refused."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from core.errors import ConflictError
from core.model import Kind
from core.services import registry
from tests.bot_worker import bot_settings, pushes, running_bot, settled
from tests.conftest import run_cli
from tests.fake_telegram import FakeTelegram

SENDER = "丹巴县人民政府"


async def test_paper_secret_item_is_pushed_envelope_only(
    tmp_path: Path, fake: FakeTelegram
) -> None:
    async with running_bot(bot_settings(tmp_path / "data", fake)) as (ctx, _):
        done = await registry.register_paper(
            ctx, kind=Kind.BAN, sender=SENDER, title="关于某涉密专项的请示",
            doc_number="丹府〔2026〕7号", secrecy="秘密", urgency="特急",
            envelope_no="JY-2026-0042", due=date(2026, 12, 20),
        )
        assert done.number
        assert not done.sealed
        await settled(ctx)
        row = await registry.show(ctx, str(done.id))
        with pytest.raises(ConflictError, match="信封编号"):
            await registry.register_paper(ctx, kind=Kind.YUE, sender=SENDER, title="另一件",
                                          envelope_no="JY-2026-0042")
    assert (row["secrecy"], row["urgency"], row["envelope_no"], row["deadline"]) == (
        "秘密", "特急", "JY-2026-0042", "2026-12-20")
    sent = [c.text or "" for c in pushes(fake)]
    assert sent, "the item was pushed"
    assert any("涉密件" in t for t in sent)
    assert not any("涉密专项" in t or "丹府〔2026〕7号" in t for t in sent)


async def test_paper_top_secret_item_is_sealed(tmp_path: Path, fake: FakeTelegram) -> None:
    async with running_bot(bot_settings(tmp_path / "data", fake)) as (ctx, _):
        done = await registry.register_paper(
            ctx, kind=Kind.BAN, sender=SENDER, title="绝密专项部署", secrecy="绝密",
        )
        await settled(ctx)
        row = await registry.show(ctx, str(done.id))
    assert done.sealed
    assert done.number is None
    assert (row["outcome"], row["reason"], row["title"], row["kind"]) == (
        "sealed", "top_secret", None, None)
    assert not pushes(fake)
    assert b"\xe7\xbb\x9d\xe5\xaf\x86\xe4\xb8\x93\xe9\xa1\xb9" not in b"".join(
        p.read_bytes() for p in (tmp_path / "data").glob("jiyao.db*"))


def test_cli_register_marks(tmp_path: Path) -> None:
    r = run_cli("register", "--kind", "办件", "--sender", SENDER, "--title", "请示",
                "--secrecy", "机密", "--urgency", "加急", "--envelope-no", "E-1",
                "--due", "2026-12-31", "--json", data_dir=tmp_path)
    assert r.returncode == 0, r.stderr
    shown = run_cli("show", json.loads(r.stdout)["number"], data_dir=tmp_path,
                    check=True).stdout
    for value in ("机密", "加急", "E-1", "2026-12-31"):
        assert value in shown
    again = run_cli("register", "--kind", "阅件", "--sender", SENDER, "--title", "t",
                    "--envelope-no", "E-1", data_dir=tmp_path)
    assert again.returncode != 0
    assert "信封编号" in again.stderr
    bad = run_cli("register", "--kind", "阅件", "--sender", SENDER, "--title", "t",
                  "--due", "12/31", data_dir=tmp_path)
    assert bad.returncode != 0
    assert "办理期限" in bad.stderr
    sealed = run_cli("register", "--kind", "办件", "--sender", SENDER, "--title", "绝密件甲",
                     "--secrecy", "绝密", data_dir=tmp_path, check=True)
    assert "封存" in sealed.stdout
