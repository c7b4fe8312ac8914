"""The dependency rule: core imports no adapter; bot and intake_daemon never import each other."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import ROOT

FORBIDDEN = {
    "core": {"bot", "intake_daemon", "jiyao"},
    "bot": {"intake_daemon", "jiyao"},
    "intake_daemon": {"bot", "jiyao"},
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def violations(root: Path) -> list[str]:
    out = []
    for package, banned in FORBIDDEN.items():
        for path in sorted((root / package).rglob("*.py")):
            bad = _imports(path) & banned
            if bad:
                out.append(f"{path.relative_to(root)} imports {sorted(bad)}")
    return out


def test_dependency_rule() -> None:
    """No module breaks the dependency rule of DESIGN.md."""
    assert violations(ROOT) == []


def test_rule_detects_a_violation(tmp_path: Path) -> None:
    """The check itself fails on a core module that imports the bot."""
    for pkg in FORBIDDEN:
        (tmp_path / pkg).mkdir()
    (tmp_path / "core" / "bad.py").write_text("from bot.app import ChatBot\n")
    (tmp_path / "bot" / "ok.py").write_text("import core.model\n")
    assert violations(tmp_path) == ["core/bad.py imports ['bot']"]


def test_command_table_matches_modules() -> None:
    """The fast-start table in jiyao.cli names exactly the subcommands each module registers."""
    import argparse
    import importlib

    from jiyao.cli import COMMANDS

    for module, names in COMMANDS.items():
        parser = argparse.ArgumentParser()
        sub = parser.add_subparsers()
        importlib.import_module(f"jiyao.commands.{module}").add_parser(sub)
        assert tuple(sub.choices) == names, module
