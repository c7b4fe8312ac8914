"""Doubts kept: which characters of a text OCR read with little confidence, which fields
rest on them, and whether an item's deciding evidence does (issue 13).

`Confidence` travels with an OCR'd part's text (`Extracted.confidence`): a span of the
text per piece OCR read, with the engine's confidence and its page. A field (来文单位,
字号, 标题) read from a span below the threshold is flagged; an item to be registered or
returned whose deciding evidence — the sender read from the document, its 字号, the
words the deciding rule fired on — rests on a flagged span goes to staff instead, who
confirm it against the page image rather than retype it.

Text is matched without its whitespace: fields join the lines of a title or a 正文 and
squeeze out the spaces OCR puts between the parts of a line.

Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from core.model import Outcome, Reason

if TYPE_CHECKING:
    from core.directory import Directory, SenderMatch
    from core.reading.fields import DocumentFields, Field

#: deciding evidence is split into the fragments it quotes at these marks (`文种为请示：
#: <标题>`, `主送：<主送>（非本机关）`); shorter fragments tell nothing
_EVIDENCE_MARKS = re.compile(r"[：:；;（）()“”\n]")
_MIN_FRAGMENT = 4
#: outcomes that act on what was read without staff: they wait for staff when in doubt
_ACTING = (Outcome.REGISTER, Outcome.RETURN)
RULE = "ocr_doubtful"


@dataclass(frozen=True, slots=True)
class Span:
    """Characters `text[start:end]`, read by OCR from `page` with `confidence` (0–1)."""

    start: int
    end: int
    confidence: float
    page: int


@dataclass(frozen=True, slots=True)
class Doubt:
    """A fragment of the text read below the threshold: how sure, and where."""

    confidence: float
    page: int

    def describe(self) -> str:
        return f"置信度 {self.confidence:.0%}，第 {self.page} 页"


@dataclass(frozen=True)
class Confidence:
    """How sure OCR was of each part of `text` (spans only where OCR read it: a page
    taken from a PDF's text layer has none)."""

    text: str
    spans: tuple[Span, ...]
    #: a span read with less confidence than this is doubtful
    threshold: float
    _compact: str = field(init=False, repr=False)
    _where: tuple[int, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        kept = [(ch, i) for i, ch in enumerate(self.text) if not ch.isspace()]
        object.__setattr__(self, "_compact", "".join(ch for ch, _ in kept))
        object.__setattr__(self, "_where", tuple(i for _, i in kept))

    def least(self, fragment: str) -> Span | None:
        """The least sure span `fragment` was read from, over every place it stands in
        the text (an organ name in the 版头 and in the 署名); None when it is not in the
        text or was not read by OCR."""
        worst: Span | None = None
        for start, end in self._places(fragment):
            for span in self.spans:
                if span.start < end and start < span.end and (
                    worst is None or span.confidence < worst.confidence
                ):
                    worst = span
        return worst

    def doubt_of(self, fragment: str) -> Doubt | None:
        """`fragment`'s least sure reading when it is below the threshold."""
        worst = self.least(fragment)
        if worst is None or worst.confidence >= self.threshold:
            return None
        return Doubt(worst.confidence, worst.page)

    def pages(self) -> list[dict[str, object]]:
        """Each page OCR read: its mean confidence over the characters read, and the
        fragments read below the threshold with theirs (kept with the attachment, for
        `jiyao show`)."""
        out: dict[int, dict[str, Any]] = {}
        for span in self.spans:
            page = out.setdefault(span.page, {"page": span.page, "chars": 0, "sum": 0.0,
                                              "doubtful": []})
            size = max(1, span.end - span.start)
            page["chars"] += size
            page["sum"] += size * span.confidence
            if span.confidence < self.threshold:
                page["doubtful"].append([self.text[span.start:span.end],
                                         round(span.confidence, 3)])
        return [{"page": p["page"], "confidence": round(p["sum"] / p["chars"], 3),
                 "doubtful": p["doubtful"]} for _, p in sorted(out.items())]

    def _places(self, fragment: str) -> Iterator[tuple[int, int]]:
        """Each place of `fragment` as offsets into `text`, whitespace ignored."""
        needle = "".join(fragment.split())
        if not needle:
            return
        at = self._compact.find(needle)
        while at >= 0:
            yield self._where[at], self._where[at + len(needle) - 1] + 1
            at = self._compact.find(needle, at + 1)


def field_doubt(confidence: Confidence, found: Field[str] | None) -> Doubt | None:
    """Whether a field rests on doubtful reading: its value where the text has it as
    printed (a 字号 beside its 签发人 is judged alone), else the line it came from."""
    if found is None:
        return None
    fragment = found.value if "".join(found.value.split()) in "".join(
        found.source_text.split()) else found.source_text
    return confidence.doubt_of(fragment)


def sender_fields(
    sender: SenderMatch, fields: DocumentFields, directory: Directory
) -> tuple[Field[str], ...]:
    """The fields the sender was read from, when it was read from the document (a relay's
    issuer, an organ's mailroom sending for another) rather than from the channel."""
    organ = sender.organ
    if organ is None or not (sender.relayed or sender.channel_organ is not None):
        return ()
    if fields.doc_number is not None and directory.by_code(fields.doc_number.value) == organ:
        return (fields.doc_number,)
    named = (fields.masthead, fields.editor, fields.signature, fields.printed_by, fields.issuer)
    return tuple(f for f in named if f is not None and directory.by_name(f.value) == organ)


def flagged_fields(
    confidence: Confidence, sender: SenderMatch, fields: DocumentFields, directory: Directory
) -> dict[str, Doubt]:
    """来文单位, 字号 and 标题 read from doubtful text, by their Chinese label."""
    out: dict[str, Doubt] = {}
    for label, found in (("来文单位", sender_fields(sender, fields, directory)),
                         ("字号", (fields.doc_number,)), ("标题", (fields.title,))):
        for f in found:
            doubt = field_doubt(confidence, f)
            if doubt is not None:
                out[label] = doubt
                break
    return out


def listing(flagged: dict[str, Doubt]) -> str:
    """`字号（置信度 72%，第 1 页）；…` for staff."""
    return "；".join(f"{label}（{doubt.describe()}）" for label, doubt in flagged.items())


def evidence_doubt(confidence: Confidence, evidence: str) -> Doubt | None:
    """The words a rule fired on (its evidence quotes them between its own words), when
    any of them was read below the threshold."""
    worst: Doubt | None = None
    for fragment in _EVIDENCE_MARKS.split(evidence):
        if len(fragment.strip()) < _MIN_FRAGMENT:
            continue
        doubt = confidence.doubt_of(fragment)
        if doubt is not None and (worst is None or doubt.confidence < worst.confidence):
            worst = doubt
    return worst


@dataclass(frozen=True)
class Reconsidered:
    """A verdict that would have acted on doubtful reading, sent to staff instead."""

    outcome: Outcome
    reason: Reason
    rule: str
    evidence: str


def reconsider(
    confidence: Confidence | None, *, outcome: Outcome, evidence: str, kind_zh: str | None,
    flagged: dict[str, Doubt],
) -> Reconsidered | None:
    """Review (识别置信度低) when an acting verdict's deciding evidence — sender, 字号,
    the rule's words — rests on doubtful reading; None when it does not."""
    if confidence is None or outcome not in _ACTING:
        return None
    deciding = {k: v for k, v in flagged.items() if k in ("来文单位", "字号")}
    words = evidence_doubt(confidence, evidence)
    if words is not None:
        deciding["判断依据"] = words
    if not deciding:
        return None
    intended = kind_zh or {Outcome.REGISTER: "登记", Outcome.RETURN: "退回"}[outcome]
    return Reconsidered(
        Outcome.REVIEW, Reason.OCR_DOUBTFUL, RULE,
        f"识别置信度低：{listing(deciding)}。按识别结果拟{intended}（{evidence}），请对照原件图像确认",
    )
