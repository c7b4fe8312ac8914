"""README.md's commands run as written: the 快速开始 block, command by command, on a fresh
data directory (only the lines that start servers are left out), its apt packages are the
ones .ci/run installs, and every `--json` list is one JSON object per line."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, run_cli

README = (ROOT / "README.md").read_text(encoding="utf-8")
JIYAO = ".venv/bin/jiyao"
#: subcommands that run until stopped
SERVERS = {"serve", "intake", "bot"}


def quick_start(readme: str) -> list[list[str]]:
    """The commands of the 快速开始 block: continuation lines joined, comments dropped,
    `a && b` split into two."""
    section = readme.split("## 快速开始", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block is not None, "no ```sh block under 快速开始"
    commands: list[list[str]] = []
    for line in block.group(1).replace("\\\n", " ").splitlines():
        words = shlex.split(line, comments=True)
        while words:
            cut = words.index("&&") if "&&" in words else len(words)
            commands.append(words[:cut])
            words = words[cut + 1:]
    return commands


def starts_a_server(words: list[str]) -> bool:
    plain = [w for w in words if not re.match(r"^[A-Z_]+=", w)]  # VAR=value before it
    return plain == ["make", "run"] or (plain[:1] == [JIYAO] and plain[1] in SERVERS)


def test_the_quick_start_is_found() -> None:
    commands = quick_start(README)
    assert len(commands) >= 12
    assert sum(map(starts_a_server, commands)) == 2  # the two `make run` lines
    # every other line is a jiyao command, so the test below runs each of them
    assert all(c[0] == JIYAO for c in commands if not starts_a_server(c))


def test_the_quick_start_runs_as_written(tmp_path: Path) -> None:
    """From a fresh directory, as README says (example config, data in ./var): every
    command exits 0 without an error line."""
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    env = {k: v for k, v in os.environ.items() if not k.startswith("JIYAO_")}
    ran = 0
    for words in quick_start(README):
        if starts_a_server(words):
            continue
        r = subprocess.run(
            [sys.executable, "-m", "jiyao.cli", *words[1:]], cwd=tmp_path, env=env,
            capture_output=True, text=True, timeout=120, check=False,
        )
        shown = " ".join(words)
        assert r.returncode == 0, f"{shown}\n{r.stdout}{r.stderr}"
        assert "错误" not in r.stderr, f"{shown}\n{r.stderr}"
        assert "Traceback" not in r.stderr, f"{shown}\n{r.stderr}"
        ran += 1
    assert ran >= 12
    assert (tmp_path / "var" / "jiyao.db").is_file()  # the data went where README says
    assert (tmp_path / "var-backup" / "MANIFEST.sha256").is_file()


def test_the_font_named_is_the_one_ci_installs() -> None:
    """The Debian packages README names for the tests are those .ci/run installs."""
    named = re.search(r"`apt-get install ([^`]+)`", README)
    assert named is not None
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    for package in named.group(1).split():
        assert re.search(rf"need\+=\({re.escape(package)}\)", ci), package


@pytest.mark.slow
def test_json_output_is_one_object_per_line(tmp_path: Path) -> None:
    """Every list a command prints with --json is one JSON object per line."""

    def cli(*args: str) -> str:
        return run_cli(*args, data_dir=tmp_path, check=True).stdout

    for title in ("甲", "乙"):
        cli("register", "--kind", "办件", "--sender", "康定市人民政府", "--title", title)
        cli("take", "甘府发", "--title", title, "--date", "2026-03-02",
            "--disclosure", "主动公开", "--column", "政策法规/规范性文件", "--carrier", "政府网站")
        cli("request", "add", "--applicant", title, "--content", "预算", "--channel", "当面",
            "--received", "2026-03-02")
    lists = {
        "items": cli("items", "--json"),
        "dispatches": cli("dispatches", "--year", "2026", "--json"),
        "disclosure list": cli("disclosure", "list", "--all", "--json"),
        "request list": cli("request", "list", "--json"),
        "classify": cli("classify", *[str(ROOT / "examples" / "请示.eml")] * 2, "--json"),
    }
    for name, out in lists.items():
        lines = out.splitlines()
        assert len(lines) >= 2, (name, out)
        assert all(isinstance(json.loads(line), dict) for line in lines), (name, out)
    # a command that answers with one thing answers with one object on one line
    for args in (("counts", "--json"), ("overdue", "--json"), ("check", "--json"),
                 ("show", "1", "--json"), ("next-number", "办件", "--json")):
        (line,) = cli(*args).splitlines()
        assert isinstance(json.loads(line), dict), args
