"""The dependency rule: core imports no adapter; bot and intake_daemon never import each other
and reach data only through core.services; SQL lives only in core/storage."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from tests.conftest import ROOT

FORBIDDEN = {
    "core": {"bot", "intake_daemon", "jiyao"},
    "bot": {"intake_daemon", "jiyao"},
    "intake_daemon": {"bot", "jiyao"},
}


#: adapters reach the database only through core.services (DESIGN "Dependency rule")
ADAPTERS = ("bot", "intake_daemon")
#: a string that is a SQL statement: a keyword at its start, followed by its usual partner
SQL = re.compile(
    r"^\s*(SELECT\s.+\sFROM\s|INSERT\s+(OR\s+\w+\s+)?INTO\s|UPDATE\s+\w+\s+SET\s|"
    r"DELETE\s+FROM\s|CREATE\s+(TABLE|INDEX|TRIGGER)\s|WITH\s+\w+\s+AS\s*\(|"
    r"(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE)\b|PRAGMA\s)",
    re.IGNORECASE | re.DOTALL,
)


def _modules(path: Path) -> set[str]:
    """Every module a file imports, as written (`core.storage.items`, `bot`…)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def _imports(path: Path) -> set[str]:
    return {name.split(".")[0] for name in _modules(path)}


def _sql_strings(path: Path) -> list[int]:
    """Lines of string literals (implicit concatenations joined) that read as SQL."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return sorted(
        node.lineno for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
        and SQL.match(node.value)
    )


def violations(root: Path) -> list[str]:
    out = []
    for package, banned in FORBIDDEN.items():
        for path in sorted((root / package).rglob("*.py")):
            bad = _imports(path) & banned
            if bad:
                out.append(f"{path.relative_to(root)} imports {sorted(bad)}")
    for package in ADAPTERS:
        for path in sorted((root / package).rglob("*.py")):
            storage = sorted(m for m in _modules(path)
                             if m == "core.storage" or m.startswith("core.storage."))
            if storage:
                out.append(f"{path.relative_to(root)} imports {storage[0]}")
    for path in sorted((root / "core" / "services").rglob("*.py")):
        out += [f"{path.relative_to(root)}:{line} holds SQL" for line in _sql_strings(path)]
    return out


def test_dependency_rule() -> None:
    """No module breaks the dependency rule of DESIGN.md."""
    assert violations(ROOT) == []


def test_rule_detects_a_violation(tmp_path: Path) -> None:
    """The check itself fails on a core module that imports the bot."""
    for pkg in FORBIDDEN:
        (tmp_path / pkg).mkdir()
    (tmp_path / "core" / "bad.py").write_text("from bot.telegram.app import ChatBot\n")
    (tmp_path / "bot" / "ok.py").write_text("import core.model\n")
    assert violations(tmp_path) == ["core/bad.py imports ['bot']"]


@pytest.mark.parametrize(
    ("path", "text", "found"),
    [
        ("bot/reads.py", "from core.storage import items\n", "bot/reads.py imports core.storage"),
        ("intake_daemon/db.py", "import core.storage.db\n",
         "intake_daemon/db.py imports core.storage.db"),
        ("bot/row.py", "from core.storage.db import Row\n",
         "bot/row.py imports core.storage.db"),
        ("core/services/q.py", 'Q = (\n    "SELECT id FROM items"\n    " WHERE id = ?"\n)\n',
         "core/services/q.py:2 holds SQL"),
        ("core/services/u.py", 'x = "update items set kind = ?"\n',
         "core/services/u.py:1 holds SQL"),
        ("core/services/b.py", 'x = "BEGIN IMMEDIATE"\n', "core/services/b.py:1 holds SQL"),
    ],
)
def test_rule_detects_storage_and_sql(tmp_path: Path, path: str, text: str, found: str) -> None:
    """An adapter importing core.storage, or SQL text in core/services, fails the rule."""
    for pkg in (*FORBIDDEN, "core/services"):
        (tmp_path / pkg).mkdir(parents=True, exist_ok=True)
    (tmp_path / path).write_text(text)
    assert violations(tmp_path) == [found]


def test_sql_pattern_leaves_prose_alone() -> None:
    """Chinese notices and English words like 'select' in docstrings are not SQL."""
    for text in ("请选择（select）类别", "Update the list when a leader reads it.",
                 "删除 DELETE 键", "with the item as today"):
        assert not SQL.match(text)


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
