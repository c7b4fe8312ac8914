"""Doubts kept (issue 13 item 2), without the engine: OCR text made by hand, piece by
piece with its confidence, read by the real reading path (`decide_parsed`).

A field read from a piece below `[ocr] doubtful_below` is flagged; an item whose
deciding evidence (sender, 字号, the words the rule fired on) rests on one goes to
review with 识别置信度低 and what was doubtful; the same text read surely is decided.
"""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from core.config import Settings
from core.directory import directory_of
from core.model import Outcome, Reason
from core.ocr import Box, OcrLine, OcrPage, OcrText, Piece
from core.reading import doubts
from core.reading.decide import decide_parsed
from core.reading.documents import Extracted
from core.reading.doubts import Confidence, Span
from core.reading.fields import Field
from core.reading.mail import parse_message
from tests.data.fax import render
from tests.data.fax.documents import COUNTY_REQUEST

THRESHOLD = 0.9
FAX_GATEWAY = "fax-gateway@gzz.gov.cn"
KANGDING_FAX = "08362822001"  # 康定市人民政府's fax in the example directory
DOCNO_LINE = "康府〔2025〕17号 签发人：李明远"


def _ocr_text(pages: list[list[str]], sure: dict[str, float]) -> OcrText:
    """Pages of lines as OCR would give them: each space-separated part of a line one
    piece, read with the confidence `sure` gives it (0.99 when it names none)."""
    made = []
    for number, lines in enumerate(pages, 1):
        read = []
        for row, line in enumerate(lines):
            pieces, offsets, at = [], [], 0
            for part in line.split(" "):
                offsets.append(at)
                confidence = sure.get(part, 0.99)
                box = Box(at * 10.0, row * 40.0, (at + len(part)) * 10.0, row * 40.0 + 30)
                pieces.append(Piece(part, part, confidence, box, confidence < THRESHOLD))
                at += len(part) + 1
            read.append(OcrLine(line, tuple(pieces), tuple(offsets), number))
        made.append(OcrPage(number, "ocr", "\n".join(lines), tuple(read)))
    return OcrText(tuple(made), (), THRESHOLD)


def _county_request(sure: dict[str, float]) -> OcrText:
    return _ocr_text([list(p.lines) for p in render.layout(COUNTY_REQUEST)], sure)


def _decide(settings: Settings, text: OcrText) -> tuple[object, ...]:
    msg = EmailMessage()
    msg["From"] = FAX_GATEWAY
    msg["To"] = "shouwen@gzz.gov.cn"
    msg["Subject"] = f"Fax from {KANGDING_FAX}"
    msg["X-Fax-Remote-ID"] = KANGDING_FAX
    msg.set_content("传真 1 份，见附件。")
    msg.add_attachment(b"II*\x00 not decoded here", maintype="image", subtype="tiff",
                       filename="fax.tif")
    parsed = parse_message(msg.as_bytes())
    (att,) = parsed.documents
    read = {att.sha256: Extracted("ok", text.text, {"format": "tiff"}, [],
                                  text.reading_confidence())}
    d = decide_parsed(parsed, directory_of(settings), read=read)
    codes = [f.code for f in d.findings]
    return d.outcome, d.kind, d.reason, d.rule, d.evidence, d.doc_number, codes


def test_a_fragment_is_found_whatever_the_whitespace_and_judged_by_its_worst_piece() -> None:
    lines = [DOCNO_LINE, "康定市人民政府关于申请解决2025年春季", "森林草原防灭火专项经费的请示"]
    text = _ocr_text([lines], {"康府〔2025〕17号": 0.8, "森林草原防灭火专项经费的请示": 0.85})
    c = text.reading_confidence()
    worst = c.least("康府〔2025〕17号")
    assert worst is not None
    assert worst.confidence == 0.8
    assert c.least("签发人：李明远") == Span(12, 19, 0.99, 1)
    # a title as fields join it: its two lines, no newline between them
    title = "康定市人民政府关于申请解决2025年春季森林草原防灭火专项经费的请示"
    assert c.doubt_of(title) == doubts.Doubt(0.85, 1)
    assert c.doubt_of("不在文中") is None
    assert c.doubt_of("") is None


def test_a_docno_beside_its_signer_is_judged_alone() -> None:
    c = _ocr_text([[DOCNO_LINE]], {"签发人：李明远": 0.5}).reading_confidence()
    assert doubts.field_doubt(c, Field("康府〔2025〕17号", DOCNO_LINE)) is None
    assert doubts.field_doubt(c, Field("李明远", DOCNO_LINE)) == doubts.Doubt(0.5, 1)
    # a value the text does not hold as printed (a canonical 字号) is judged by its line
    assert doubts.field_doubt(c, Field("康府〔2025〕17号", "康府[2025]17号 签发人：李明远")) is None


def test_evidence_is_judged_by_the_words_it_quotes() -> None:
    c = Confidence("妥否，请批示。\n请于3月20日前报送。",
                   (Span(0, 7, 0.99, 1), Span(8, 19, 0.6, 2)), THRESHOLD)
    assert doubts.evidence_doubt(c, "文种为请示：妥否，请批示。") is None
    assert doubts.evidence_doubt(c, "特急明电：请于3月20日前报送。") == doubts.Doubt(0.6, 2)
    # the rule's own words (文种为请示) are not in the text and tell nothing
    assert doubts.evidence_doubt(c, "文种为请示") is None


def test_a_county_fax_read_surely_is_registered(settings: Settings) -> None:
    outcome, kind, reason, rule, _, number, codes = _decide(settings, _county_request({}))
    assert (outcome, kind, reason, rule) == (Outcome.REGISTER, "办件", None, "qingshi")
    assert number == "康府〔2025〕17号"
    assert "ocr_doubtful" not in codes


def test_a_doubtful_docno_sends_the_fax_to_review(settings: Settings) -> None:
    outcome, kind, reason, rule, evidence, number, codes = _decide(
        settings, _county_request({"康府〔2025〕17号": 0.72}))
    assert (outcome, kind, reason, rule) == (Outcome.REVIEW, None, Reason.OCR_DOUBTFUL,
                                             "ocr_doubtful")
    assert evidence.startswith("识别置信度低：字号（置信度 72%，第 1 页）")
    assert "拟办件" in evidence  # what it would have been: staff confirm, not retype
    assert number == "康府〔2025〕17号"  # kept as read, for staff to confirm
    assert "ocr_doubtful" in codes


def test_a_doubtful_phrase_the_rule_fired_on_sends_it_to_review(settings: Settings) -> None:
    """The title's last line (…的请示) decides 办件 (rule qingshi): read doubtfully, the
    kind is for staff to confirm; the 字号 and the sender stand."""
    outcome, _, reason, _, evidence, _, codes = _decide(
        settings, _county_request({"森林草原防灭火专项经费的请示": 0.81}))
    assert (outcome, reason) == (Outcome.REVIEW, Reason.OCR_DOUBTFUL)
    assert evidence.startswith("识别置信度低：判断依据（置信度 81%，第 1 页）")
    assert "字号" not in evidence.split("。")[0]
    assert "ocr_doubtful" in codes


def test_a_doubtful_line_nothing_rests_on_is_only_noted(settings: Settings) -> None:
    """The 联系人 line decides nothing: registered as read."""
    outcome, kind, _, _, _, _, codes = _decide(
        settings, _county_request({"（联系人：王晓东，电话：0836-2822001）": 0.6}))
    assert (outcome, kind) == (Outcome.REGISTER, "办件")
    assert "ocr_doubtful" not in codes


@pytest.mark.parametrize("outcome", [Outcome.REVIEW, Outcome.QUARANTINE, Outcome.SEALED])
def test_what_staff_see_anyway_is_not_reconsidered(outcome: Outcome) -> None:
    c = Confidence("康府〔2025〕17号", (Span(0, 11, 0.5, 1),), THRESHOLD)
    flagged = {"字号": doubts.Doubt(0.5, 1)}
    assert doubts.reconsider(c, outcome=outcome, evidence="康府〔2025〕17号", kind_zh=None,
                             flagged=flagged) is None
    again = doubts.reconsider(c, outcome=Outcome.RETURN, evidence="主送：某县（非本机关）",
                              kind_zh=None, flagged=flagged)
    assert again is not None
    assert again.outcome is Outcome.REVIEW
    assert "拟退回" in again.evidence
