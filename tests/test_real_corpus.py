"""The corpus of real published documents: well formed, and read to issue 14's figures.

Every message is labelled with known values, rebuilt byte for byte from its
published text and parsed without a defect; the reader, scored as
`python -m tests.real_corpus` scores it (as received and with Subjects emptied),
makes no wrong automatic decision, decides at least 90% automatically and reads
at least 95% of the fields right. Figures, not per-file answers, are asserted:
the rules are judged on real documents nobody has seen.
"""

from __future__ import annotations

from email import message_from_bytes
from email.policy import default

import pytest

from core.reading.mail import parse_message
from tests.data.real import build
from tests.real_corpus import CORPUS, decide_all, labels, report, score

LABELS = labels()
OUTCOMES = {"register", "review", "return", "quarantine", "sealed"}
KINDS = {"办件", "阅件", "抄件", "内刊", "简报", None}
REASONS = {"misdirected", "manifest_mismatch", "damaged", "unknown_sender", "personal",
           "top_secret", "unreadable", None}
DOC_TYPES = {"决议", "决定", "命令", "公报", "公告", "通告", "意见", "通知", "通报", "报告",
             "请示", "批复", "议案", "函", "纪要", None}
KEYS = {"file", "outcome", "kind", "reason", "sender", "doc_number", "doc_type", "secrecy",
        "urgency", "title", "true_kind", "kind_if_resent", "envelope_no", "note",
        # 份号, 签发人, 主送, 抄送, 成文日期 (YYYY-MM-DD), 附件说明, read by hand from each text
        "copy_no", "signer", "addressees", "cc", "written_on", "attachment_note"}


def test_every_message_has_one_label_and_one_text() -> None:
    files = sorted(p.name for p in CORPUS.glob("*.eml"))
    labelled = [label["file"] for label in LABELS]
    assert sorted(labelled) == files
    assert len(set(labelled)) == len(labelled)
    assert sorted(f"{s.id}.eml" for s in build.sources()) == files
    assert len(files) >= 45


@pytest.mark.parametrize("label", LABELS, ids=[label["file"] for label in LABELS])
def test_label_uses_known_values(label: dict[str, object]) -> None:
    assert set(label) <= KEYS
    assert label["outcome"] in OUTCOMES
    assert label["kind"] in KINDS
    assert label.get("reason") in REASONS
    assert label["doc_type"] in DOC_TYPES
    # registered items have a kind and no reason; returned, quarantined and sealed ones
    # have a reason and no kind
    assert (label["kind"] is not None) == (label["outcome"] == "register")
    if label["outcome"] == "register":
        assert label.get("reason") is None
    if label["outcome"] in {"return", "quarantine", "sealed"}:
        assert label.get("reason") is not None


@pytest.mark.parametrize("src", build.sources(), ids=lambda s: s.id)
def test_message_is_rebuilt_byte_for_byte(src: build.Source) -> None:
    """The committed .eml is exactly what the builder makes of the published text."""
    assert (CORPUS / f"{src.id}.eml").read_bytes() == build.build(src)


@pytest.mark.parametrize("src", build.sources(), ids=lambda s: s.id)
def test_message_parses_and_carries_its_text(src: build.Source) -> None:
    raw = (CORPUS / f"{src.id}.eml").read_bytes()
    assert not parse_message(raw).findings
    msg = message_from_bytes(raw, policy=default)
    assert msg["To"].addresses[0].addr_spec == "shouwen@gzz.gov.cn"
    if src.meta["route"] == "fax":
        assert msg["X-Fax-Remote-ID"] == src.meta["remote"]
    if src.meta["format"] not in ("pdf", "docx"):
        part = msg.get_body(("plain", "html"))
        assert part is not None
        # the first line of the published text arrives intact in the body
        first = next(line for line in src.lines if line.strip() and not line.startswith("| "))
        assert first.strip() in part.get_content()


@pytest.mark.parametrize("blank_subject", [False, True], ids=["as-received", "no-subject"])
def test_reader_meets_the_thresholds(blank_subject: bool) -> None:
    rows = decide_all(blank_subject=blank_subject)
    result = score(LABELS, rows)
    print("\n" + report(result, rows))
    assert not result.wrong, f"wrong automatic decisions: {result.wrong}"
    assert result.automatic_share >= 0.90
    assert result.field_accuracy >= 0.95
