"""Generalisation probe: new messages, built like the dev corpus, decided as labelled.

The messages come from tests/data/probe/generate.py at test time (other organs,
titles, wordings, 文种 and carriers than the dev corpus). Run with `-s` to see
the per-field accuracy table and the mismatches.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from core.config import load_settings
from core.directory import Directory
from core.model import Outcome
from core.reading.decide import JSON_KEYS, decide
from tests.conftest import EXAMPLE
from tests.data.probe.generate import (
    CT_DOCX,
    Case,
    MailEnvelope,
    Part,
    body_mail,
    docx_bytes,
    generate,
    html_mail,
    mail,
    ofd_bytes,
    pdf_bytes,
)
from tests.intake_helpers import allowed_sealed_fields

#: the labelled fields: the classify --json keys less the file and the rule's own record
FIELDS = tuple(k for k in JSON_KEYS if k not in {"file", "rule", "evidence"})
#: outcomes that sign for an item and so use up its envelope number (as `jiyao classify`)
SIGNED = (Outcome.REGISTER, Outcome.REVIEW)


@pytest.fixture(scope="module")
def probe(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[Case, dict[str, Any]]]:
    """Every probe message written to a temp dir, then decided in order as one intake run."""
    logging.getLogger("pypdf").setLevel(logging.ERROR)  # damaged PDFs are on purpose
    out: Path = tmp_path_factory.mktemp("probe")
    cases = generate(out)
    directory = Directory.from_settings(load_settings(EXAMPLE))
    seen: set[str] = set()
    results = []
    for n, case in enumerate(cases, 1):
        raw = (out / f"p{n:03d}.eml").read_bytes()
        decision = decide(raw, directory, seen_envelope=seen.__contains__)
        if decision.envelope_no and decision.outcome in SIGNED:
            seen.add(decision.envelope_no)
        row = decision.as_json_row(case.name)
        row.update(
            _text=decision.text,
            _from=decision.from_address,
            _subject=decision.subject,
            _plain=decision.channel.value == "email" and b"message/rfc822" not in raw,
            _raw=raw,
        )
        results.append((case, row))
    return results


def _compared(case: Case, raw: bytes) -> dict[str, Any]:
    if case.expected["outcome"] == "sealed":
        # the label describes what is inside; the decision holds the envelope only
        return {**dict.fromkeys(FIELDS), **allowed_sealed_fields(case.expected, raw)}
    expected = {k: case.expected.get(k) for k in FIELDS if k != "envelope_no"}
    if "envelope_no" in case.expected:
        expected["envelope_no"] = case.expected["envelope_no"]
    return expected


def test_probe_is_large_and_varied(probe: list[tuple[Case, dict[str, Any]]]) -> None:
    """At least 60 messages, covering every outcome and every kind."""
    assert len(probe) >= 60
    # a reply to a 交办 notice is known by the database, not by reading the message alone
    decided = {o.value for o in Outcome} - {Outcome.RECEIVED, Outcome.SHUNTED, Outcome.REPLY}
    assert {c.expected["outcome"] for c, _ in probe} == decided
    assert {c.expected["kind"] for c, _ in probe} >= {"办件", "阅件", "抄件", "内刊", "简报"}


def test_probe_accuracy(probe: list[tuple[Case, dict[str, Any]]]) -> None:
    """Every field of every probe message matches its label; the table shows per-field accuracy."""
    tally = {k: [0, 0] for k in FIELDS}
    wrong: list[str] = []
    for case, row in probe:
        for key, value in _compared(case, row["_raw"]).items():
            tally[key][0] += row.get(key) == value
            tally[key][1] += 1
            if row.get(key) != value:
                wrong.append(
                    f"{case.name}: {key} = {row.get(key)!r}, expected {value!r} "
                    f"(rule={row['rule']}; {row['evidence']})"
                )
    print("\n字段          正确/总数   准确率")
    for key, (right, total) in tally.items():
        print(f"{key:<12}  {right:>3}/{total:<3}     {100 * right / total:6.1f}%")
    whole = sum(
        all(row.get(k) == v for k, v in _compared(c, row["_raw"]).items()) for c, row in probe
    )
    print(f"整件全对      {whole:>3}/{len(probe):<3}     {100 * whole / len(probe):6.1f}%")
    for line in wrong:
        print("  ✗", line)
    assert not wrong


CARRIERS = ("pdf", "docx", "ofd", "gbk body", "html body")


def _carried(row: dict[str, Any], text: str, carrier: str) -> bytes:
    """The same document text sent again from the same address, on another carrier."""
    env = MailEnvelope(("", row["_from"]), row["_subject"])
    lines = [ln for ln in text.splitlines() if ln.strip()]
    title = row["title"] or "公文"
    if carrier == "pdf":
        return mail(env, [Part(f"{title}.pdf", "application", "pdf", pdf_bytes(lines))])
    if carrier == "docx":
        return mail(env, [Part(f"{title}.docx", *CT_DOCX, docx_bytes(lines))])
    if carrier == "ofd":
        return mail(env, [Part(f"{title}.ofd", "application", "ofd", ofd_bytes(lines, title, "x"))])
    if carrier == "gbk body":
        return body_mail(env, lines, charset="gb18030")
    return html_mail(env, lines)


def test_probe_carriers_decide_the_same(probe: list[tuple[Case, dict[str, Any]]]) -> None:
    """Each registered probe document, sent again from the same address on two other
    carriers (PDF/DOCX/OFD/GB18030 body/HTML in turn), decides the same."""
    directory = Directory.from_settings(load_settings(EXAMPLE))
    keys = ("outcome", "kind", "sender", "doc_number", "doc_type", "title", "secrecy", "urgency")
    checked, wrong = 0, []
    plain = [(c, r) for c, r in probe if r["outcome"] == "register" and r["_text"] and r["_plain"]]
    for n, (case, row) in enumerate(plain):
        for carrier in (CARRIERS[n % 5], CARRIERS[(n + 2) % 5]):
            again = decide(_carried(row, row["_text"], carrier), directory).as_json_row("")
            diff = [(k, again[k]) for k in keys if again[k] != row[k]]
            if diff:
                wrong.append(f"{case.name} [{carrier}]: {diff}")
            checked += 1
    for line in wrong:
        print("  ✗", line)
    assert checked >= 200
    assert not wrong
