"""End to end with swaks, the SMTP swiss-army knife: `jiyao intake` as a real daemon."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from core.services.receive import message_id_of
from tests.conftest import CORPUS
from tests.intake_helpers import (
    OFFICE,
    corpus,
    free_port,
    intake_process,
    items_json,
    labels,
    wait_decided_dir,
)

SWAKS = shutil.which("swaks")
pytestmark = pytest.mark.skipif(
    SWAKS is None, reason="swaks is not installed (Debian package `swaks`; .ci/run installs it)"
)


def _swaks(port: int, *args: str) -> subprocess.CompletedProcess[str]:
    assert SWAKS is not None
    return subprocess.run(
        [SWAKS, "--server", f"127.0.0.1:{port}", "--from", "mta@relay.example",
         "--timeout", "30", *args],
        capture_output=True, text=True, timeout=60, check=False,
    )


def test_swaks_delivers_to_jiyao_intake(tmp_path: Path) -> None:
    """Corpus files sent with swaks to `jiyao intake` are stored as their labels say, once."""
    everything = labels()
    picked = [
        next(d for d in everything if d["outcome"] == outcome)
        for outcome in ("register", "return", "review", "sealed")
    ]
    port = free_port()
    data = tmp_path / "data"
    with intake_process(data, port, tmp_path / "intake.log") as proc:
        for label in picked:
            sent = _swaks(port, "--to", OFFICE, "--data", f"@{CORPUS / label['file']}")
            assert sent.returncode == 0, sent.stdout + sent.stderr
        # not an open relay: swaks shows the 550 a foreign recipient gets
        refused = _swaks(port, "--to", "victim@elsewhere.example", "--quit-after", "RCPT")
        assert refused.returncode != 0
        assert "550 5.7.1" in refused.stdout + refused.stderr
        again = _swaks(port, "--to", OFFICE, "--data", f"@{CORPUS / picked[0]['file']}")
        assert again.returncode == 0
        wait_decided_dir(data)  # the daemon's pipeline worker decides behind the 250s
        assert proc.poll() is None
    assert proc.returncode == 0
    log = (tmp_path / "intake.log").read_text(encoding="utf-8")
    assert "收文服务监听" in log
    assert "重复投递" in log
    rows = {r["message_id"]: r for r in items_json(data)}
    assert len(rows) == len(picked)
    for label in picked:
        row = rows[message_id_of(corpus(label["file"]))]
        assert (row["outcome"], row["kind"], row["reason"]) == (
            label["outcome"], label["kind"], label.get("reason")
        )
