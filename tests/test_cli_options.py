"""The common options (`--config`, `--json`) work before the command's name as well as after
it, for every command, and naming the command still imports only its own module."""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from jiyao import cli
from jiyao.commands.common import COMMON_OPTIONS
from tests.conftest import EXAMPLE, ROOT


def _leaves(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """Every runnable command: (its words, its parser), operations of groups included."""
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        yield path, parser
        return
    for name, child in subs[0].choices.items():
        yield from _leaves(child, (*path, name))


def _required(parser: argparse.ArgumentParser) -> list[str]:
    """Values for a command's required arguments that its parser accepts."""
    words: list[str] = []
    for action in parser._actions:
        if not (action.required or not action.option_strings) or action.nargs == 0:
            continue
        if isinstance(action, argparse._SubParsersAction | argparse._HelpAction):
            continue
        value = str(next(iter(action.choices))) if action.choices else "2026"
        words += [action.option_strings[0], value] if action.option_strings else [value]
    return words


COMMANDS = sorted(path for path, _ in _leaves(cli.build_parser()))


def test_every_command_is_covered() -> None:
    assert len(COMMANDS) >= 40
    assert ("request", "add") in COMMANDS
    assert ("items",) in COMMANDS


@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_common_options_before_the_command_mean_the_same(path: tuple[str, ...]) -> None:
    """`jiyao --config F [--json] CMD …` parses as `jiyao CMD … --config F [--json]`."""
    leaf = dict(_leaves(cli.build_parser()))[path]
    rest = _required(leaf)
    takes_json = "--json" in leaf._option_string_actions
    given = ["--config", "f.toml", *(["--json"] if takes_json else [])]
    after = cli.parse_args([*path, *rest, *given])
    before = cli.parse_args([*given, *path, *rest])
    assert vars(before) == vars(after)
    assert before.config == "f.toml"
    if takes_json:
        assert before.json is True
    else:
        with pytest.raises(SystemExit) as exc:
            cli.parse_args(["--json", *path, *rest])
        assert exc.value.code == 2


def test_without_common_options_nothing_changes() -> None:
    args = cli.parse_args(["items"])
    assert args.config is None
    assert args.json is False
    assert not any(key.startswith("global_") for key in vars(args))


def test_the_option_after_the_command_wins() -> None:
    args = cli.parse_args(["--config", "a.toml", "items", "--config", "b.toml"])
    assert args.config == "b.toml"
    args = cli.parse_args(["--config", "a.toml", "request", "--config", "b.toml", "list"])
    assert args.config == "b.toml"


def test_a_common_option_the_command_lacks_is_refused_in_chinese(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.parse_args(["--json", "init"])
    assert exc.value.code == 2
    assert "命令 init 不接受 --json" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "name"),
    [
        (["--config", "FILE", "items"], "items"),
        (["--config=FILE", "--json", "counts"], "counts"),
        (["--conf", "items.toml", "take"], "take"),  # an abbreviation takes its value too
        (["--json", "--", "items"], "items"),
        (["--json"], None),
    ],
)
def test_the_command_is_found_after_common_options(argv: list[str], name: str | None) -> None:
    assert cli.command_name(argv) == name


def test_options_before_the_command_keep_start_up_fast() -> None:
    """Only the named command's module is imported, not every command's."""
    code = (
        "import sys; from jiyao import cli; cli.build_parser(['--config', 'F', '--json', 'items']);"
        "print(sorted(m for m in sys.modules if m.startswith('jiyao.commands.')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, check=True).stdout
    loaded = eval(out)  # a printed list of module names
    assert "jiyao.commands.items" in loaded
    assert not {f"jiyao.commands.{m}" for m in cli.COMMANDS if m != "items"} & set(loaded)


def test_a_command_runs_with_its_options_before_it(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    """`jiyao --config FILE items` (无效的选项 before) and `jiyao --json --config FILE counts`."""
    monkeypatch.setenv("JIYAO_STORAGE__DATA_DIR", str(tmp_path))
    monkeypatch.delenv("JIYAO_CONFIG", raising=False)
    assert cli.main(["--config", str(EXAMPLE), "items"]) == 0
    assert "没有符合条件的收件" in capsys.readouterr().out
    assert cli.main(["--json", "--config", str(EXAMPLE), "counts", "--year", "2026"]) == 0
    before = capsys.readouterr().out
    assert cli.main(["counts", "--year", "2026", "--json", "--config", str(EXAMPLE)]) == 0
    assert capsys.readouterr().out == before
    assert cli.main(["--config", str(tmp_path / "missing.toml"), "items"]) == 2
    assert "配置文件不存在" in capsys.readouterr().err


def test_help_lists_the_common_options(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.parse_args(["--help"])
    out = capsys.readouterr().out
    for name in COMMON_OPTIONS:
        assert f"--{name}" in out
