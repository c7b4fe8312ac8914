"""Score today's reader on the corpus of real published documents (tests/data/real).

The same figures as the dev-corpus test (tests/test_corpus.py): wrong automatic
decisions, deferrals to review, the automatic share and per-field accuracy, plus
the list of every miss with the rule and evidence the reader gave.

    .venv/bin/python -m tests.real_corpus            # figures and misses
    .venv/bin/python -m tests.real_corpus --json     # one row per file
    .venv/bin/python -m tests.real_corpus --no-subject   # the same with Subjects blanked

`--no-subject` shows how much of the reading rests on the Subject line rather than on
the document (a forwarded copy, a fax or a careless sender gives no useful Subject).

No thresholds are asserted here: this measures, the rules work is judged later.
"""

from __future__ import annotations

import argparse
import email
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.config import load_settings
from core.directory import Directory
from core.reading.decide import decide

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "data" / "real"
EXAMPLE = ROOT / "config.example.toml"

#: label keys that are not decided at intake (or are the labeller's comment)
NOT_COMPARED = {"file", "note", "true_kind", "kind_if_resent"}
#: compared on every file, labelled or null (as in tests/test_corpus.py)
ALWAYS = ("outcome", "kind", "reason")
AUTOMATIC = {"register", "return", "quarantine", "sealed"}


def labels(corpus: Path = CORPUS) -> list[dict[str, Any]]:
    lines = (corpus / "labels.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def expected(label: Mapping[str, Any]) -> dict[str, Any]:
    """The label's fields the reader's row is compared on."""
    out = {k: v for k, v in label.items() if k not in NOT_COMPARED}
    for key in ALWAYS:
        out.setdefault(key, None)
    return out


def without_subject(raw: bytes) -> bytes:
    """The message with its Subject emptied (a fax keeps its gateway's Subject)."""
    msg = email.message_from_bytes(raw)
    if msg.get("X-Fax-Remote-ID") is None and msg.get("Subject") is not None:
        msg.replace_header("Subject", "")
    return msg.as_bytes()


def decide_all(corpus: Path = CORPUS, config: Path = EXAMPLE, *,
               blank_subject: bool = False) -> dict[str, dict[str, Any]]:
    """Every .eml decided once, in file order, as one intake run would (as JSON rows)."""
    directory = Directory.from_settings(load_settings(config))
    seen: set[str] = set()
    rows = {}
    for path in sorted(corpus.glob("*.eml")):
        raw = path.read_bytes()
        if blank_subject:
            raw = without_subject(raw)
        decision = decide(raw, directory, seen_envelope=seen.__contains__)
        rows[path.name] = decision.as_json_row(path.name)
    return rows


@dataclass
class Score:
    files: int = 0
    automatic: int = 0
    deferred: list[str] = field(default_factory=list)
    #: automatic decisions whose outcome, kind or reason is not the label's
    wrong: list[str] = field(default_factory=list)
    #: field → [right, total]
    fields: dict[str, list[int]] = field(default_factory=dict)
    #: file → {field: (expected, got)}
    misses: dict[str, dict[str, tuple[Any, Any]]] = field(default_factory=dict)

    @property
    def automatic_share(self) -> float:
        return self.automatic / self.files if self.files else 0.0

    def accuracy(self, key: str) -> float:
        right, total = self.fields[key]
        return right / total if total else 0.0

    @property
    def field_accuracy(self) -> float:
        right = sum(r for r, _ in self.fields.values())
        total = sum(t for _, t in self.fields.values())
        return right / total if total else 0.0


def score(label_rows: Iterable[Mapping[str, Any]], rows: Mapping[str, Mapping[str, Any]]) -> Score:
    result = Score()
    for label in label_rows:
        name = label["file"]
        row = rows[name]
        result.files += 1
        if row["outcome"] in AUTOMATIC:
            result.automatic += 1
            if any(row.get(k) != label.get(k) for k in ALWAYS):
                result.wrong.append(name)
        else:
            result.deferred.append(name)
        for key, value in expected(label).items():
            tally = result.fields.setdefault(key, [0, 0])
            tally[1] += 1
            if row.get(key) == value:
                tally[0] += 1
            else:
                result.misses.setdefault(name, {})[key] = (value, row.get(key))
    return result


def report(result: Score, rows: Mapping[str, Mapping[str, Any]]) -> str:
    lines = [
        (f"文件 {result.files}  自动决定 {result.automatic}（{100 * result.automatic_share:.1f}%）"
         f"  转人工 {len(result.deferred)}  自动决定错误 {len(result.wrong)}"),
        f"错误：{' '.join(result.wrong) or '无'}",
        f"转人工：{' '.join(result.deferred) or '无'}",
        "",
        "字段              正确/总数   准确率",
    ]
    for key, (right, total) in result.fields.items():
        lines.append(f"{key:<16}  {right:>3}/{total:<3}     {100 * right / total:6.1f}%")
    lines.append(f"{'(all)':<16}  {'':>7}     {100 * result.field_accuracy:6.1f}%")
    lines.append("")
    for name, missed in result.misses.items():
        row = rows[name]
        lines.append(f"{name}  rule={row['rule']}  evidence={row['evidence']}")
        for key, (want, got) in missed.items():
            lines.append(f"    {key}: 应为 {want!r}  实为 {got!r}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one decision row per file")
    parser.add_argument("--no-subject", action="store_true",
                        help="decide each message with its Subject emptied")
    args = parser.parse_args(argv)
    rows = decide_all(blank_subject=args.no_subject)
    if args.json:
        for row in rows.values():
            print(json.dumps(row, ensure_ascii=False))
        return 0
    print(report(score(labels(), rows), rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
