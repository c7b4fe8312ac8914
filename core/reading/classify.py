"""Classification (分类): DOMAIN §3, after the intake checks (core.reading.checks).

An ordered table of small named rules. Each kind rule is a `Rule` record (GNU Mailman's chains are
the model): a name, the kind it gives (or review), a test returning its evidence
or None, and a one-line description; the phrase families the tests use live in
`core.reading.phrases`. The first rule that gives evidence decides, and its name
and evidence text are kept with the item so staff can see why.

Pure: no I/O, no clock.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from core.directory import Directory, Organ, Relation, fold_name
from core.model import Kind, Outcome, Reason
from core.reading import phrases
from core.reading.checks import Item, SeenEnvelope, run_checks
from core.reading.fields import DocumentFields

# ------------------------------------------------------------------ types


@dataclass(frozen=True)
class RuleHit:
    """A classification rule that fired: the kind, and why."""

    rule: str
    kind: Kind
    evidence: str


@dataclass(frozen=True)
class Defer:
    """No rule can decide with confidence: staff classify (outcome review)."""

    rule: str
    evidence: str


@dataclass(frozen=True)
class Verdict:
    """The outcome of intake for one item."""

    outcome: Outcome
    kind: Kind | None
    reason: Reason | None
    rule: str
    evidence: str


@dataclass(frozen=True)
class KindContext:
    """An accepted item as the kind rules see it: sender, relation, where we appear."""

    item: Item
    directory: Directory
    organ: Organ
    in_main: str  # how the 主送 (or the relay's distribution) covers us; "" if not
    in_cc: str  # how the 抄送 covers us; "" if not

    @property
    def fields(self) -> DocumentFields:
        return self.item.fields

    @property
    def relation(self) -> Relation:
        return self.organ.relation

    @property
    def doc_type(self) -> str | None:
        return self.fields.doc_type.value if self.fields.doc_type else None

    @property
    def only_cc(self) -> bool:
        return bool(self.in_cc) and not self.in_main




@dataclass(frozen=True)
class Rule:
    """One classification rule: its name, the kind it gives (None: staff decide,
    outcome review), its test (evidence or None) and what it means, in one line."""

    name: str
    kind: Kind | None
    test: Callable[[KindContext], str | None]
    description: str

# ------------------------------------------------------------- sentences

#: 文种 that deploy work, where 各地要… is an instruction (a 决定 commending 先进 is not)
_DIRECTIVE_TYPES = ("通知", "意见")
_NO_ADDRESSEE_TYPES = ("公告", "通告", "公报", "命令")
_TELEGRAM_URGENCY = ("特提", "特急", "加急")
#: a parenthesis in a 主送 says what kinds of organ a name stands for: 陕西省（自治区、直辖市）
_PARENTHESES_RE = re.compile(r"[(（][^()（）]*[)）]")


def sentences(body: str) -> list[str]:
    """The 正文 split into sentences (its lines are already joined)."""
    return [s for s in re.split(r"[。！？；!?;\n]", body) if s.strip()]


@dataclass(frozen=True)
class Exclusion:
    """Words no request rule reads as asking us: a sentence the pattern finds is left
    out (replacement None), or the matched words are replaced."""

    name: str
    pattern: re.Pattern[str]
    replacement: str | None
    description: str


#: what every request rule looks past; `jiyao classify --rules` prints it under the rules
EXCLUSIONS: tuple[Exclusion, ...] = (
    Exclusion("reported_request", phrases.CITATION, None,
              "转述对方的请求（你省请求，……；你委提出……）不是本机关的任务"),
    Exclusion("acknowledged", phrases.ACKNOWLEDGED, "",
              "收悉句（你省《……的请示》收悉）不是本机关的任务，其后的话照读"),
    Exclusion("quoted_title", phrases.QUOTED, "《》",
              "书名号《》内引用的标题（《关于恳请解决……的请示》）不是本机关的任务"),
)


def own_words(sentence: str) -> str:
    """The sentence without what it cites: the 收悉 clause, the titles it quotes."""
    for exclusion in EXCLUSIONS:
        if exclusion.replacement is not None:
            sentence = exclusion.pattern.sub(exclusion.replacement, sentence)
    return sentence


def asking_sentences(body: str) -> list[tuple[str, str]]:
    """(sentence, its own words) for each sentence of the 正文 that may ask something:
    citations of the other party's request are left out, quoted titles blanked."""
    whole = [e.pattern for e in EXCLUSIONS if e.replacement is None]
    return [
        (s, own_words(s))
        for s in sentences(body)
        if not any(p.search(s.strip()) for p in whole)
    ]


def _request_sentence(body: str, verbs: re.Pattern[str]) -> str | None:
    """The first sentence that asks (an imperative 请 …verb), the verb after the 请."""
    for sentence, words in asking_sentences(body):
        for m in phrases.IMPERATIVE.finditer(words):
            if verbs.search(words, m.end()):
                return sentence
    return None


def _deadline_request(fields: DocumentFields) -> str | None:
    """A deadline (于…前) in a sentence that asks or directs, not one that reports:
    请…/务必…, or a bare `各市（州）于…前报送…` that sets what to send by then."""
    deadline = fields.deadline
    if deadline is None:
        return None
    text = deadline.source_text
    if "已" in text:
        return None
    if phrases.QING.search(text) or re.search("务必|必须|要|须|应", text):
        return text
    folded = fold_name(text)
    at = re.search(r"日(?:之前|以前|前)", folded)
    if (
        at is not None
        and "了" not in folded
        and phrases.OWN_DEADLINE.search(folded, 0, at.start()) is None
        and phrases.DEADLINE_ACTION.search(folded, at.end())
    ):
        return text
    return None


# ------------------------------------------------------------- kind rules
# Each test returns its evidence (the text the rule rests on) or None; the table
# below, KIND_RULES, gives each its name, its kind and its one-line description.


def _neikan(r: KindContext) -> str | None:
    f = r.fields
    if not f.is_periodical or r.relation is not Relation.SUPERIOR:
        return None
    marker = phrases.INTERNAL.search(f.body + (f.note.value if f.note else ""))
    if marker is None and f.masthead is not None:
        marker = phrases.INTERNAL_NAME.search(f.masthead.value)
    if marker is not None:
        return f"{_issue(f)}；{marker.group(0)}"
    if f.secrecy is not None:
        return f"{_issue(f)}；{f.secrecy.source_text}"
    return None


def _jianbao(r: KindContext) -> str | None:
    f = r.fields
    if not f.is_periodical:
        return None
    title = f.title.value if f.title else ""
    marker = phrases.BRIEFING.search(title)
    return f"{_issue(f)}" + (f"；{marker.group(0)}" if marker else "")


def _issue(f: DocumentFields) -> str:
    if f.title is not None:
        return f.title.value
    return f"第{f.issue_no.value}期" if f.issue_no else ""


def _chaojian(r: KindContext) -> str | None:
    if r.only_cc and r.relation is Relation.SUBORDINATE:
        return f"抄送：{_cc(r)}；来文单位{r.organ.name}为下级"
    return None


def _party_centre(r: KindContext) -> str | None:
    if r.organ.is_party_centre:
        number = r.fields.doc_number.value if r.fields.doc_number else r.organ.name
        return f"{number}（党中央文件，政府阅知）"
    return None


def _superior_copy(r: KindContext) -> str | None:
    if r.only_cc and r.relation is Relation.SUPERIOR:
        return f"抄送：{_cc(r)}；主送：{_main(r)}"
    return None


def _addressee_missing(r: KindContext) -> str | None:
    if r.in_main or r.in_cc or r.fields.addressees is not None or r.fields.cc is not None:
        return None
    if r.doc_type in _NO_ADDRESSEE_TYPES and r.relation is not Relation.SUBORDINATE:
        return None
    if r.doc_type in _NO_ADDRESSEE_TYPES:
        # sent to us by a subordinate with neither 主送 nor 抄送: 抄件 or 阅件 is for staff
        return f"下级机关的{r.doc_type}未列主送、抄送机关"
    return "未找到主送、抄送机关"


def _addressee_unclear(r: KindContext) -> str | None:
    if r.in_main or r.in_cc or (r.fields.addressees is None and r.fields.cc is None):
        return None
    return f"主送：{_main(r)}（未能确认包含本机关）"


def _qingshi(r: KindContext) -> str | None:
    return f"文种为请示：{_title(r)}" if r.doc_type == "请示" else None


def _request_to_others(r: KindContext) -> str | None:
    main = r.fields.addressees.value if r.fields.addressees else None
    if not r.item.sender.relayed or main is None or r.in_cc:
        return None
    if r.directory.addressed_to_us(main) is not None:
        return None
    if not r.directory.names_only_specific_others(_PARENTHESES_RE.sub("", main)):
        return None
    if any(_mentions_us(r, s) for s, _ in asking_sentences(r.fields.body)):
        return None  # 请州人民政府… still asks us
    return f"主送：{main}（所提要求针对主送机关，本机关阅知）"


def _report_request(r: KindContext) -> str | None:
    if r.doc_type != "报告" or not r.in_main:
        return None
    return _request_sentence(r.fields.body, phrases.REPORT_ASK)


def _letter_request(r: KindContext) -> str | None:
    if r.doc_type != "函" or not (r.in_main or _asks_us(r)):
        return None
    sentence = _request_sentence(r.fields.body, phrases.LETTER_ASK)
    if sentence is None:
        asking = asking_sentences(r.fields.body)
        sentence = next((s for s, words in asking if phrases.LETTER_WANTS.search(words)), None)
    return sentence


def _urgent_telegram(r: KindContext) -> str | None:
    f = r.fields
    number = f.doc_number.value if f.doc_number else ""
    if not (f.telegram is not None or "明电" in number) or not r.in_main:
        return None
    if f.urgency is None or f.urgency.value not in _TELEGRAM_URGENCY:
        return None
    for sentence in sentences(f.body):
        if (
            phrases.QING.search(sentence)
            or phrases.DIRECTIVE.search(sentence)
            or "立即" in sentence
        ):
            return f"{f.urgency.value}明电：{sentence}"
    return None


def _proposal(r: KindContext) -> str | None:
    if not r.in_main:
        return None
    title = _title(r)
    if not phrases.PROPOSAL.search(title + r.fields.body):
        return None
    for sentence in sentences(r.fields.body):
        if (
            phrases.PROPOSAL.search(sentence + title)
            and re.search("答复|办理|办复", sentence)
            and (phrases.QING.search(sentence) or re.search("于.{0,12}前|务必|要", sentence))
        ):
            return sentence
    return None


def _may_ask_us(r: KindContext) -> bool:
    """What the request rules (deadline, action_request, directive) look at."""
    return r.doc_type not in ("报告", "请示") and (bool(r.in_main) or _asks_us(r))


def _deadline(r: KindContext) -> str | None:
    return _deadline_request(r.fields) if _may_ask_us(r) else None


def _action_request(r: KindContext) -> str | None:
    if not _may_ask_us(r):
        return None
    sentence = _request_sentence(r.fields.body, phrases.ACTION)
    if sentence is not None and (r.in_main or _mentions_us(r, sentence)):
        return sentence
    if r.in_main:
        asking = asking_sentences(r.fields.body)
        return next((s for s, words in asking if phrases.BARE_IMPERATIVE.search(words)), None)
    return None


def _directive(r: KindContext) -> str | None:
    if not _may_ask_us(r) or not r.in_main or r.relation is Relation.SUBORDINATE:
        return None
    if r.doc_type not in _DIRECTIVE_TYPES and not phrases.REQUIREMENTS.search(r.fields.body):
        return None
    return next(
        (s for s, words in asking_sentences(r.fields.body) if phrases.DIRECTIVE.search(words)),
        None,
    )


def _doc_type_unknown(r: KindContext) -> str | None:
    return "未能识别文种和标题，无法判断是否需要办理" if r.doc_type is None else None


def _where(r: KindContext) -> str:
    return f"主送：{_main(r)}" if r.in_main else f"抄送：{_cc(r)}" if r.in_cc else "无主送"


def _informational(r: KindContext) -> str | None:
    marker = phrases.INFORMATIONAL.search(r.fields.body)
    return f"{marker.group(0)}（{r.doc_type}，{_where(r)}）" if marker is not None else None


def _no_request(r: KindContext) -> str | None:
    return f"{r.doc_type}未提出办理要求（{_where(r)}）"


def _asks_us(r: KindContext) -> bool:
    """Only in 抄送, but a request in the text names us (请州人民政府…)."""
    if not r.in_cc:
        return False
    return any(
        _mentions_us(r, s) and phrases.IMPERATIVE.search(s) for s in sentences(r.fields.body)
    )


def _mentions_us(r: KindContext, sentence: str) -> bool:
    return r.directory.mentions_us(sentence)


def _title(r: KindContext) -> str:
    return r.fields.title.value if r.fields.title else ""


def _main(r: KindContext) -> str:
    return r.fields.addressees.value if r.fields.addressees else "（无）"


def _cc(r: KindContext) -> str:
    return r.fields.cc.value if r.fields.cc else "（无）"


_REVIEW = None  # a rule of this kind sends the item to staff (outcome review)

#: the classification chain (DOMAIN §3), in order: the first rule whose test gives
#: evidence decides; `jiyao classify --rules` prints it
KIND_RULES: tuple[Rule, ...] = (
    Rule("neikan", Kind.NEIKAN, _neikan, "上级机关的内部刊物（内部资料、参阅）或带密级的刊物"),
    Rule("jianbao", Kind.JIANBAO, _jianbao, "其他期刊：简报、信息、情况反映、工作动态（第N期）"),
    Rule("chaojian", Kind.CHAO, _chaojian, "下级机关抄送本机关（本机关仅在抄送中）"),
    Rule("party_centre", Kind.YUE, _party_centre, "党中央及其办公厅的文件，政府阅知"),
    Rule("superior_copy", Kind.YUE, _superior_copy,
         "上级机关抄送本机关供阅知（本机关仅在抄送中）"),
    Rule("addressee_missing", _REVIEW, _addressee_missing,
         "未列主送、抄送机关（公告、通告等除外）"),
    Rule("addressee_unclear", _REVIEW, _addressee_unclear, "主送、抄送均未能确认包含本机关"),
    Rule("qingshi", Kind.BAN, _qingshi, "请示：总要批复"),
    Rule("request_to_others", Kind.YUE, _request_to_others,
         "经交换中心转来、主送为其他特定机关：所提要求针对主送机关，本机关阅知"),
    Rule("report_request", Kind.BAN, _report_request, "报告请求批转、转发、审批或支持"),
    Rule("letter_request", Kind.BAN, _letter_request, "函请答复、提出意见、批准或支持"),
    Rule("urgent_telegram", Kind.BAN, _urgent_telegram, "特提、特急、加急明电并有部署"),
    Rule("proposal", Kind.BAN, _proposal, "交办建议、提案，要求答复办理"),
    Rule("deadline", Kind.BAN, _deadline, "要求于某日前报送、完成（非来文机关自定时限）"),
    Rule("action_request", Kind.BAN, _action_request,
         "要求本机关办理、报送、落实（引用的标题、收悉句和转述的请求除外）"),
    Rule("directive", Kind.BAN, _directive,
         "通知、意见或列明要求的来文对受文机关提出要求（各地要……）"),
    Rule("doc_type_unknown", _REVIEW, _doc_type_unknown, "未能识别文种和标题"),
    Rule("informational", Kind.YUE, _informational, "特此通报、供参阅等：供阅知"),
    Rule("no_request", Kind.YUE, _no_request, "其余主送本机关的来文：未提出办理要求"),
)

# ------------------------------------------------------------------ entry


def reading_of(item: Item, directory: Directory) -> KindContext | None:
    """Where the accepted item puts us: in its 主送, its 抄送, or its relay's distribution."""
    organ = item.sender.organ
    if organ is None:
        return None
    main = item.fields.addressees.value if item.fields.addressees else None
    cc = item.fields.cc.value if item.fields.cc else None
    in_main = directory.addressed_to_us(main) or ""
    in_cc = directory.addressed_to_us(cc) or ""
    if in_main:
        in_main = f"主送含“{in_main}”"
    if in_cc:
        in_cc = f"抄送含“{in_cc}”"
    if not in_main and not in_cc and item.sender.relayed:
        in_main = f"经交换中心按分发范围转来（主送：{main or '无'}）"
    return KindContext(item, directory, organ, in_main, in_cc)


def classify_kind(reading: KindContext) -> RuleHit | Defer:
    """The first kind rule whose test gives evidence decides; review when none does."""
    for rule in KIND_RULES:
        evidence = rule.test(reading)
        if evidence is not None:
            if rule.kind is None:
                return Defer(rule.name, evidence)
            return RuleHit(rule.name, rule.kind, evidence)
    return Defer("no_rule", "没有分类规则适用")


def judge(item: Item, directory: Directory, *, seen_envelope: SeenEnvelope) -> Verdict:
    """Intake checks, then classification: the verdict for one item."""
    check = run_checks(item, directory, seen_envelope)
    if check is not None:
        return Verdict(check.outcome, None, check.reason, check.rule, check.evidence)
    reading = reading_of(item, directory)
    if reading is None:  # run_checks stops unknown senders; kept for the type checker
        return Verdict(
            Outcome.QUARANTINE, None, Reason.UNKNOWN_SENDER, "unknown_sender", "来文单位不明"
        )
    hit = classify_kind(reading)
    if isinstance(hit, Defer):
        return Verdict(Outcome.REVIEW, None, None, hit.rule, hit.evidence)
    return Verdict(Outcome.REGISTER, hit.kind, None, hit.rule, hit.evidence)
