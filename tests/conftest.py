"""Shared fixtures: the example configuration on a fresh data directory, a frozen clock."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from core.config import Settings, Storage, load_settings
from core.services.context import Context, open_context

if TYPE_CHECKING:
    from bot.telegram.app import ChatBot
    from core.ocr import Engine
    from tests.fake_telegram import FakeTelegram

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
CORPUS = SHARED / "corpus" / "dev"
EXAMPLE = ROOT / "config.example.toml"


class FrozenClock:
    """A clock tests move by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


#: tests run the example office without OCR (the corpus labels, and the tests that take
#: its image fax as "a review item", are of intake without it; each pipeline process
#: would load ~0.9 GB of models): OCR's tests turn it on (`with_ocr`)
NO_OCR_ENV = {"JIYAO_OCR__ENABLED": "false"}


def with_ocr(settings: Settings, enabled: bool = True) -> Settings:
    return settings.model_copy(
        update={"ocr": settings.ocr.model_copy(update={"enabled": enabled})}
    )


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    base = with_ocr(load_settings(EXAMPLE), enabled=False)
    return base.model_copy(update={"storage": Storage(data_dir=tmp_path / "data")})


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))


@pytest.fixture
async def ctx(settings: Settings, clock: FrozenClock) -> AsyncIterator[Context]:
    c = await open_context(settings, clock=clock)
    try:
        yield c
    finally:
        await c.db.close()


def _refuse_network(*_: object, **__: object) -> None:
    raise AssertionError("OCR tried to reach the network")


@pytest.fixture(scope="session")
def ocr_engine() -> Engine:
    """The OCR engine, loaded once for the session (core.ocr.engine keeps it per process:
    the pipeline's ocr step in the test process uses this one)."""
    import socket

    from core.config import Ocr
    from core.ocr import get_engine

    with pytest.MonkeyPatch.context() as patch:  # loading must not download either
        patch.setattr(socket.socket, "connect", _refuse_network)
        patch.setattr(socket, "getaddrinfo", _refuse_network)
        return get_engine(Ocr())


def run_cli(
    *args: str, data_dir: Path, env: dict[str, str] | None = None, check: bool = False
) -> subprocess.CompletedProcess[str]:
    """Run `jiyao` as staff would, in a subprocess on the example config."""
    full_env = {**os.environ, "JIYAO_STORAGE__DATA_DIR": str(data_dir), **NO_OCR_ENV,
                **(env or {})}
    full_env.pop("JIYAO_CONFIG", None)
    return subprocess.run(
        [sys.executable, "-m", "jiyao.cli", *args, "--config", str(EXAMPLE)],
        capture_output=True, text=True, env=full_env, cwd=ROOT, check=check, timeout=120,
    )


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    """A fake Bot API server on loopback."""
    from tests.fake_telegram import FakeTelegram

    async with FakeTelegram() as server:
        yield server


@pytest.fixture
async def env(tmp_path: Path, fake: FakeTelegram) -> AsyncIterator[tuple[Context, ChatBot]]:
    """The real bot, started against the fake, on a fresh data directory."""
    from tests.bot_worker import bot_settings, running_bot

    async with running_bot(bot_settings(tmp_path / "data", fake)) as pair:
        yield pair
