"""The labelled dev corpus: every message decided as a careful 文书处理室 would.

Run with `-s` to see the per-field accuracy table.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from core.config import load_settings
from core.directory import Directory
from core.reading.decide import Decision, decide
from tests.conftest import EXAMPLE
from tests.intake_helpers import allowed_sealed_fields

CORPUS = Path(__file__).parents[1].parent / "shared" / "corpus" / "dev"
#: label keys that describe what happens later (after staff read it, after a resend)
NOT_DECIDED_AT_INTAKE = {"file", "true_kind", "kind_if_resent"}
#: fields compared on every file, labelled or null
ALWAYS = ("outcome", "kind", "reason")


def _labels() -> list[dict[str, Any]]:
    lines = (CORPUS / "labels.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


LABELS = _labels()


@pytest.fixture(scope="module")
def decisions() -> dict[str, Decision]:
    """Every corpus file decided once, in file order, as one intake run would."""
    directory = Directory.from_settings(load_settings(EXAMPLE))
    seen: set[str] = set()
    return {
        path.name: decide(path.read_bytes(), directory, seen_envelope=seen.__contains__)
        for path in sorted(CORPUS.glob("*.eml"))
    }


@pytest.fixture(scope="module")
def rows(decisions: dict[str, Decision]) -> dict[str, dict[str, Any]]:
    """The decisions as `jiyao classify --json` rows."""
    return {name: d.as_json_row(name) for name, d in decisions.items()}


def _expected(label: dict[str, Any]) -> dict[str, Any]:
    if label["outcome"] == "sealed":
        # the label describes what is inside; the decision holds the envelope only
        return allowed_sealed_fields(label, (CORPUS / label["file"]).read_bytes())
    expected = {k: v for k, v in label.items() if k not in NOT_DECIDED_AT_INTAKE}
    for key in ALWAYS:
        expected.setdefault(key, None)
    return expected


def test_every_file_is_labelled() -> None:
    """The corpus and its labels list the same files."""
    assert {label["file"] for label in LABELS} == {p.name for p in CORPUS.glob("*.eml")}


@pytest.mark.parametrize("label", LABELS, ids=[label["file"] for label in LABELS])
def test_corpus_file(label: dict[str, Any], rows: dict[str, dict[str, Any]]) -> None:
    """Outcome, kind, reason and every labelled field match the label."""
    row = rows[label["file"]]
    expected = _expected(label)
    got = {k: row.get(k) for k in expected}
    assert got == expected, f"rule={row['rule']} evidence={row['evidence']}"


def test_field_accuracy_table(rows: dict[str, dict[str, Any]]) -> None:
    """Per-field accuracy over the corpus, printed; every field must be 100%."""
    tally: dict[str, list[int]] = {}
    for label in LABELS:
        row = rows[label["file"]]
        for key, value in _expected(label).items():
            right, total = tally.setdefault(key, [0, 0])
            tally[key] = [right + (row.get(key) == value), total + 1]
    print("\n字段          正确/总数   准确率")
    for key, (right, total) in tally.items():
        print(f"{key:<12}  {right:>3}/{total:<3}     {100 * right / total:6.1f}%")
    wrong = {k: v for k, v in tally.items() if v[0] != v[1]}
    assert not wrong


def _wrap(text: str, width: int) -> str:
    out: list[str] = []
    for line in text.splitlines():
        out.extend(line[i : i + width] for i in range(0, max(len(line), 1), width))
    return "\n".join(out)


LAYOUTS: dict[str, Callable[[str], str]] = {
    "narrow page (16)": lambda t: _wrap(t, 16),
    "narrow page (22)": lambda t: _wrap(t, 22),
    "spaced characters": lambda t: "\n".join(
        " ".join(line) if len(line) < 30 else line for line in t.splitlines()
    ),
    "full-width digits": lambda t: t.translate({c: c + 0xFEE0 for c in range(0x30, 0x3A)}),
    "blank lines": lambda t: "\n\n".join(t.splitlines()),
}


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_layout_variants_decide_the_same(layout: str, decisions: dict[str, Decision]) -> None:
    """Each registered document, re-laid out as text extraction may give it, decides the same."""
    directory = Directory.from_settings(load_settings(EXAMPLE))
    checked = 0
    for name, base in decisions.items():
        if base.outcome.value != "register" or not base.text:
            continue
        msg = EmailMessage()
        msg["From"] = base.from_address
        msg["Subject"] = "公文"
        msg.set_content(LAYOUTS[layout](base.text))
        again = decide(msg.as_bytes(), directory)
        assert _key(again) == _key(base), f"{name}: {again.rule} {again.evidence}"
        checked += 1
    assert checked >= 20


def _key(d: Decision) -> tuple[object, ...]:
    return (d.outcome, d.kind, d.sender, d.doc_number, d.doc_type, d.title, d.urgency, d.secrecy)
