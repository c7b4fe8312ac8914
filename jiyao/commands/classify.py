"""`jiyao classify PATH...`: a dry run of intake over .eml files; writes nothing.
`jiyao classify --rules`: the classification rules, in the order they are tried."""

from __future__ import annotations

import argparse
import logging
import sys
import unicodedata
from collections.abc import Iterator
from pathlib import Path

from core.directory import Directory
from core.errors import InvalidInputError
from core.model import OUTCOME_ZH, REASON_ZH, Outcome
from core.reading.classify import EXCLUSIONS, KIND_RULES
from core.reading.decide import Decision, decide
from jiyao.commands.common import add_common, emit_json, os_reason, settings_from

_COLUMNS = ("文件", "结果", "类别", "原因", "来文单位", "文号", "标题")
_TITLE_WIDTH = 40
#: outcomes that sign for (签收) an item, using up its envelope number
_SIGNED = (Outcome.REGISTER, Outcome.REVIEW)


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "classify",
        help="试分类：读取 .eml 文件或目录，显示签收检查与分类结果（不写入任何数据）",
    )
    add_common(p)
    p.add_argument("paths", nargs="*", metavar="PATH", help=".eml 文件或含 .eml 文件的目录")
    p.add_argument("--rules", action="store_true", help="按顺序列出分类规则（不读取文件）")
    p.set_defaults(func=cmd_classify)


def cmd_classify(args: argparse.Namespace) -> int:
    if args.rules:
        _print_rules()
        return 0
    if not args.paths:
        raise InvalidInputError("请指定 .eml 文件或目录（或用 --rules 列出分类规则）")
    files = list(_eml_files([Path(p) for p in args.paths]))
    # a damaged PDF is reported as a finding (退回); pypdf's own warnings would only add noise
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    directory = Directory.from_settings(settings_from(args))
    seen: set[str] = set()
    rows: list[tuple[str, Decision]] = []
    for file in files:
        try:
            raw = file.read_bytes()
        except OSError as exc:
            raise InvalidInputError(f"无法读取 {file}：{os_reason(exc)}") from exc
        decision = decide(raw, directory, seen_envelope=seen.__contains__)
        if decision.envelope_no and decision.outcome in _SIGNED:
            seen.add(decision.envelope_no)  # 签收 uses the number; a returned item does not
        rows.append((file.name, decision))
        if args.json:
            emit_json(decision.as_json_row(str(file)))  # the path as given (dir/name)
    if not args.json:
        _print_table(rows)
    return 0


def _print_rules() -> None:
    """The kind rules as a table, first tried first, then what every request rule skips."""
    rules = [["序号", "规则", "结果", "说明"]]
    for i, rule in enumerate(KIND_RULES, 1):
        outcome = rule.kind.value if rule.kind is not None else "转人工"
        rules.append([str(i), rule.name, outcome, rule.description])
    _write_table(rules)
    sys.stdout.write("\n各要求规则均不读作要求：\n")
    skipped = [["名称", "方式", "说明"]]
    for exclusion in EXCLUSIONS:
        how = "略去整句" if exclusion.replacement is None else "略去所引文字"
        skipped.append([exclusion.name, how, exclusion.description])
    _write_table(skipped)


def _write_table(table: list[list[str]]) -> None:
    widths = [max(_width(row[i]) for row in table) for i in range(len(table[0]))]
    for i, row in enumerate(table):
        cells = [cell + " " * (widths[j] - _width(cell)) for j, cell in enumerate(row)]
        sys.stdout.write("  ".join(cells).rstrip() + "\n")
        if i == 0:
            sys.stdout.write("  ".join("-" * w for w in widths) + "\n")


def _eml_files(paths: list[Path]) -> Iterator[Path]:
    """The .eml files named, directories expanded (sorted); a missing path is an error."""
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise InvalidInputError(f"路径不存在：{'、'.join(missing)}")
    for path in paths:
        if path.is_dir():
            yield from sorted(
                p for p in path.iterdir() if p.suffix.lower() == ".eml" and p.is_file()
            )
        else:
            yield path


def _print_table(rows: list[tuple[str, Decision]]) -> None:
    table = [list(_COLUMNS)]
    for name, d in rows:
        table.append(
            [
                name,
                OUTCOME_ZH.get(d.outcome.value, d.outcome.value),
                d.kind.value if d.kind else "",
                REASON_ZH.get(d.reason.value, d.reason.value) if d.reason else "",
                d.sender or "",
                d.doc_number or "",
                _clip(d.title or "", _TITLE_WIDTH),
            ]
        )
    _write_table(table)
    out = sys.stdout
    counts: dict[str, int] = {}
    for _, d in rows:
        label = OUTCOME_ZH.get(d.outcome.value, d.outcome.value)
        counts[label] = counts.get(label, 0) + 1
    summary = "，".join(f"{k} {v}" for k, v in counts.items())
    out.write(f"共 {len(rows)} 件" + (f"：{summary}" if summary else "") + "（试分类，未写入）\n")


def _width(text: str) -> int:
    """Display width: Chinese characters take two columns."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _clip(text: str, width: int) -> str:
    out: list[str] = []
    used = 0
    for ch in text:
        w = _width(ch)
        if used + w > width - 1:
            return "".join(out) + "…"
        out.append(ch)
        used += w
    return text
