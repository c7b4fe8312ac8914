"""`jiyao classify` as staff run it: a dry run over .eml files, Chinese table or JSON lines."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from core.reading.decide import JSON_KEYS
from tests.conftest import EXAMPLE, ROOT
from tests.intake_helpers import allowed_sealed_fields

CORPUS = Path(__file__).parents[1].parent / "shared" / "corpus" / "dev"


def classify(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "JIYAO_CONFIG"}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, "-m", "jiyao.cli", "classify", "--config", str(EXAMPLE), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
        check=False,
    )


def _labels() -> dict[str, dict[str, object]]:
    lines = (CORPUS / "labels.jsonl").read_text(encoding="utf-8").splitlines()
    return {row["file"]: row for row in map(json.loads, filter(None, lines))}


def test_json_rows_over_corpus_dir() -> None:
    """--json prints one object per file, sorted, with exactly the 13 keys and labelled values."""
    r = classify("--json", str(CORPUS))
    assert r.returncode == 0, r.stderr
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    labels = _labels()
    assert [row["file"] for row in rows] == [str(CORPUS / name) for name in sorted(labels)]
    for row in rows:
        assert tuple(row) == JSON_KEYS
        label = labels[Path(row["file"]).name]
        if label["outcome"] == "sealed":  # the label describes the inside: not shown
            raw = (CORPUS / label["file"]).read_bytes()
            expected = allowed_sealed_fields(label, raw)
            assert {k: row[k] for k in expected} == expected
            continue
        assert row["outcome"] == label["outcome"]
        assert row["kind"] == label["kind"]
        assert row["reason"] == label.get("reason")
        assert row["sender"] == label["sender"]
        assert row["doc_number"] == label["doc_number"]
        assert row["title"] == label["title"]
    by_file = {Path(row["file"]).name: row for row in rows}
    assert by_file["d030.eml"]["envelope_no"] == "川交2024-003101"
    assert by_file["d001.eml"]["rule"]
    assert by_file["d001.eml"]["evidence"]


def test_same_envelope_twice_in_one_run(tmp_path: Path) -> None:
    """An envelope number signed for earlier in the run makes a second copy a mismatch."""
    for name in ("a.eml", "b.eml"):
        shutil.copy(CORPUS / "d030.eml", tmp_path / name)
    r = classify("--json", str(tmp_path))
    first, second = (json.loads(line) for line in r.stdout.splitlines())
    assert first["outcome"] == "register"
    assert (second["outcome"], second["reason"]) == ("return", "manifest_mismatch")


def test_human_table_in_chinese() -> None:
    """Without --json the result is a Chinese table with a summary line."""
    r = classify(str(CORPUS / "d007.eml"), str(CORPUS / "d026.eml"))
    assert r.returncode == 0, r.stderr
    header = r.stdout.splitlines()[0].split()
    assert header == ["文件", "结果", "类别", "原因", "来文单位", "文号", "标题"]
    assert "登记" in r.stdout
    assert "办件" in r.stdout
    assert "退回" in r.stdout
    assert "错投" in r.stdout
    assert "共 2 件" in r.stdout


def test_missing_path_is_a_clear_error(tmp_path: Path) -> None:
    """A path that does not exist: a Chinese error on stderr, exit 2, nothing on stdout."""
    r = classify(str(tmp_path / "nope.eml"))
    assert r.returncode == 2
    assert "路径不存在" in r.stderr
    assert "nope.eml" in r.stderr
    assert r.stdout == ""


def test_dry_run_writes_nothing(tmp_path: Path) -> None:
    """Classifying creates no database or file, wherever it runs."""
    shutil.copy(CORPUS / "d001.eml", tmp_path / "d001.eml")
    r = classify("--json", "d001.eml", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d001.eml"]


def test_file_key_is_the_path_as_given() -> None:
    """`file` repeats the path exactly as the user typed it."""
    r = classify("--json", "dev/d034.eml", cwd=CORPUS.parent)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["file"] == "dev/d034.eml"


def test_rules_prints_the_classification_table_in_order() -> None:
    """--rules lists every kind rule, first tried first, with its kind and description,
    then the exclusions every request rule applies; no file is read."""
    from core.reading.classify import EXCLUSIONS, KIND_RULES

    r = classify("--rules")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["序号", "规则", "结果", "说明"]
    rows = [line.split(maxsplit=3) for line in lines[2 : 2 + len(KIND_RULES)]]
    assert [row[1] for row in rows] == [rule.name for rule in KIND_RULES]
    assert [row[0] for row in rows] == [str(i) for i in range(1, len(KIND_RULES) + 1)]
    for row, rule in zip(rows, KIND_RULES, strict=True):
        assert row[2] == (rule.kind.value if rule.kind is not None else "转人工")
        assert row[3] == rule.description
    assert "request_to_others" in [row[1] for row in rows]
    for exclusion in EXCLUSIONS:
        assert exclusion.name in r.stdout
        assert exclusion.description in r.stdout


def test_classify_without_paths_or_rules_is_a_clear_error() -> None:
    r = classify()
    assert r.returncode != 0
    assert "--rules" in r.stderr
    assert "Traceback" not in r.stderr


def test_readme_shows_the_rules_as_printed() -> None:
    r = classify("--rules")
    assert r.returncode == 0, r.stderr
    assert f"```\n{r.stdout}```" in (ROOT / "README.md").read_text(encoding="utf-8")
