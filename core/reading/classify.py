"""Intake checks (签收, 拆封) and classification (分类): DOMAIN §2 and §3.

Two ordered tables of small named rules. Each check returns None or a `CheckHit`
(outcome + reason); each kind rule returns None, a `RuleHit` (the kind) or a
`Defer` (no confident kind: the item goes to review). The first rule that
returns something decides, and its name and evidence text are kept with the
item so staff can see why.

Pure: no I/O, no clock.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import NamedTuple

from core.directory import Directory, Organ, Relation, SenderMatch, fold_name
from core.model import Kind, Outcome, Reason
from core.reading.fields import DocumentFields, normalize_doc_number

SeenEnvelope = Callable[[str], bool]


# ------------------------------------------------------------------ types


class AttachmentState(NamedTuple):
    """One part of the message as intake saw it."""

    filename: str
    content_type: str
    sha256: str
    size: int
    status: str  # ok | damaged | image | unsupported


@dataclass(frozen=True)
class Item:
    """What the checks and rules look at, gathered by `core.reading.decide`."""

    parsed_ok: bool
    subject: str
    headers: Mapping[str, str]
    to_names: tuple[str, ...]
    sender: SenderMatch
    fields: DocumentFields
    has_text: bool
    attachments: tuple[AttachmentState, ...] = ()
    manifest: Mapping[str, object] | None = None
    finding_codes: frozenset[str] = frozenset()  # codes of what parsing and extraction met
    problem: str = ""  # why the message could not be parsed


@dataclass(frozen=True)
class CheckHit:
    """An intake check that stopped the item."""

    rule: str
    outcome: Outcome
    reason: Reason | None
    evidence: str


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


Check = Callable[[Item, Directory, SeenEnvelope], CheckHit | None]
KindRule = Callable[[KindContext], RuleHit | Defer | None]

# ------------------------------------------------------------------ checks

_PERSONAL = "亲启"
_JUEMI = "绝密"  # 绝密 (top secret) marking


def check_unparseable(item: Item, _d: Directory, _s: SeenEnvelope) -> CheckHit | None:
    if item.parsed_ok:
        return None
    return CheckHit(
        "unparseable", Outcome.QUARANTINE, Reason.UNPARSEABLE, item.problem or "邮件无法解析"
    )


def check_personal(item: Item, directory: Directory, _s: SeenEnvelope) -> CheckHit | None:
    """亲启件 (X-Personal, subject, addressee) and mail to a leader who keeps theirs sealed."""
    header = item.headers.get("X-Personal", "")
    if _PERSONAL in header:
        return CheckHit("personal", Outcome.SEALED, Reason.PERSONAL, f"X-Personal: {header}")
    addressees = item.fields.addressees.value if item.fields.addressees else ""
    for label, text in (
        ("主题", item.subject),
        ("收件人", " ".join(item.to_names)),
        ("主送", addressees),
    ):
        if _PERSONAL in text:
            return CheckHit("personal", Outcome.SEALED, Reason.PERSONAL, f"{label}：{text}")
    for name, title, keep_sealed in directory.leaders:
        if not keep_sealed:
            continue
        for label, text in (
            ("主题", item.subject),
            ("收件人", " ".join(item.to_names)),
            ("主送", addressees),
        ):
            if _names_leader(text, name):
                return CheckHit(
                    "leader_sealed",
                    Outcome.SEALED,
                    Reason.PERSONAL,
                    f"{label}：{text}（{title}要求封存）",
                )
    return None


def _names_leader(text: str, name: str) -> bool:
    """The leader's name in the text, not as part of a longer title (州长 in 副州长)."""
    return any(not text[: m.start()].endswith("副") for m in re.finditer(re.escape(name), text))


def check_top_secret(item: Item, _d: Directory, _s: SeenEnvelope) -> CheckHit | None:
    if _JUEMI in item.subject:
        return CheckHit("top_secret", Outcome.SEALED, Reason.TOP_SECRET, f"主题：{item.subject}")
    secrecy = item.fields.secrecy
    if secrecy is not None and secrecy.value == _JUEMI:
        return CheckHit("top_secret", Outcome.SEALED, Reason.TOP_SECRET, secrecy.source_text)
    return None


def check_section(item: Item, directory: Directory, _s: SeenEnvelope) -> CheckHit | None:
    """Mail addressed to one of our 科室 goes there unopened."""
    for label, text in (
        ("收件人", "，".join(item.to_names)),
        ("主送", item.fields.addressees.value if item.fields.addressees else ""),
    ):
        section = directory.section_named(text)
        if section is not None:
            return CheckHit("section", Outcome.SEALED, Reason.SECTION, f"{label}：{text}")
    section = _section_in_subject(item.subject, directory)
    if section is not None:
        return CheckHit("section", Outcome.SEALED, Reason.SECTION, f"主题：{item.subject}")
    return None


def _section_in_subject(subject: str, directory: Directory) -> str | None:
    s = fold_name(subject)
    for section in directory.sections:
        name = fold_name(section)
        if s == name or re.search(rf"(?:^|[致送交转])(?:{re.escape(name)})(?:收|亲收|启|$)", s):
            return section
    return None


def check_unknown_sender(item: Item, _d: Directory, _s: SeenEnvelope) -> CheckHit | None:
    if item.sender.organ is not None:
        return None
    return CheckHit(
        "unknown_sender", Outcome.QUARANTINE, Reason.UNKNOWN_SENDER, item.sender.evidence
    )


def check_manifest(item: Item, directory: Directory, seen: SeenEnvelope) -> CheckHit | None:
    """签收单: from is the sending organ, to is us, envelope number unused, documents match."""
    manifest = item.manifest
    if manifest is None:
        if "manifest_invalid" in item.finding_codes:
            return CheckHit("manifest", Outcome.RETURN, Reason.MANIFEST_MISMATCH, "签收单无法识读")
        return None

    def hit(evidence: str) -> CheckHit:
        return CheckHit("manifest", Outcome.RETURN, Reason.MANIFEST_MISMATCH, f"签收单：{evidence}")

    envelope = manifest.get("envelope_no")
    sender = manifest.get("from")
    to = manifest.get("to")
    if not isinstance(envelope, str) or not envelope.strip():
        return hit("缺少信封编号")
    if not isinstance(sender, str) or not _same_organ(sender, item.sender, directory):
        return hit(f"发文单位“{sender}”与来文单位“{_organ_name(item.sender)}”不符")
    if not isinstance(to, str) or not (directory.is_us(to) or directory.addressed_to_us(to)):
        return hit(f"受文单位“{to}”不是本机关")
    if seen(envelope.strip()):
        return hit(f"信封编号 {envelope} 已签收过")
    listed = _listed_numbers(manifest.get("documents"))
    number = item.fields.doc_number.value if item.fields.doc_number else None
    if listed and number is not None and number not in listed:
        return hit(f"所列文件 {'、'.join(sorted(listed))} 与来文 {number} 不符")
    return None


def _organ_name(sender: SenderMatch) -> str:
    return sender.organ.name if sender.organ else "未知"


def _same_organ(name: str, sender: SenderMatch, directory: Directory) -> bool:
    named = directory.by_name(name)
    for organ in (sender.organ, sender.channel_organ):
        if organ is None:
            continue
        if fold_name(name) == fold_name(organ.name) or named == organ:
            return True
    return sender.relayed and directory.relay_name_matches(name)


def _listed_numbers(documents: object) -> set[str]:
    numbers: set[str] = set()
    if isinstance(documents, list):
        for doc in documents:
            raw = doc.get("doc_number") if isinstance(doc, dict) else doc
            if isinstance(raw, str):
                n = normalize_doc_number(raw)
                if n is not None:
                    numbers.add(n)
    return numbers


def check_damaged(item: Item, _d: Directory, _s: SeenEnvelope) -> CheckHit | None:
    """Every document part opens, and matches the manifest's sha256 when one is given."""
    for att in item.attachments:
        if att.status == "damaged":
            return CheckHit(
                "damaged", Outcome.RETURN, Reason.DAMAGED, f"附件 {att.filename} 无法打开"
            )
    expected = _manifest_hashes(item.manifest)
    if expected:
        have = {a.sha256.lower() for a in item.attachments if a.status != "unsupported"}
        missing = expected - have
        if missing:
            return CheckHit(
                "damaged",
                Outcome.RETURN,
                Reason.DAMAGED,
                f"附件与签收单 sha256 不符（签收单 {sorted(missing)[0][:16]}…）",
            )
    return None


def _manifest_hashes(manifest: Mapping[str, object] | None) -> set[str]:
    if manifest is None:
        return set()
    hashes: set[str] = set()
    top = manifest.get("sha256")
    if isinstance(top, str) and top.strip():
        hashes.add(top.strip().lower())
    docs = manifest.get("documents")
    if isinstance(docs, list):
        for doc in docs:
            if (
                isinstance(doc, dict)
                and isinstance(doc.get("sha256"), str)
                and doc["sha256"].strip()
            ):
                hashes.add(doc["sha256"].strip().lower())
    return hashes


def check_misdirected(item: Item, directory: Directory, _s: SeenEnvelope) -> CheckHit | None:
    """Returned when the lines name others and nothing that covers us.

    Relayed items are received under their distribution scope: only a specific
    other organ of our level (another 州/市 government) makes them misdirected.
    """
    main = item.fields.addressees.value if item.fields.addressees else None
    cc = item.fields.cc.value if item.fields.cc else None
    if main is None and cc is None:
        return None
    if directory.addressed_to_us(main) or directory.addressed_to_us(cc):
        return None
    peer = directory.names_other_peer(main)
    if peer is not None:
        return CheckHit(
            "misdirected", Outcome.RETURN, Reason.MISDIRECTED, f"主送：{main}（非本机关）"
        )
    if item.sender.relayed:
        return None
    if directory.names_only_specific_others(main) and (
        cc is None or directory.names_only_specific_others(cc)
    ):
        return CheckHit(
            "misdirected", Outcome.RETURN, Reason.MISDIRECTED, f"主送：{main}（非本机关）"
        )
    return None


def check_unreadable(item: Item, _d: Directory, _s: SeenEnvelope) -> CheckHit | None:
    """No text layer (a fax image, an unsupported format): staff read and classify it."""
    if item.has_text:
        return None
    images = [a.filename for a in item.attachments if a.status == "image"]
    evidence = f"附件 {images[0]} 为图像，无文字层" if images else "未找到可识读的公文正文"
    return CheckHit("unreadable", Outcome.REVIEW, Reason.UNREADABLE, evidence)


#: checks that need only the envelope and the 版头: a sealed item is stopped here, unread
SEALING_CHECKS: tuple[Check, ...] = (
    check_unparseable,
    check_personal,
    check_top_secret,
    check_section,
)

CHECKS: tuple[Check, ...] = (
    *SEALING_CHECKS,
    check_unknown_sender,
    check_manifest,
    check_damaged,
    check_misdirected,
    check_unreadable,
)

# ------------------------------------------------------------- sentences

_QING_RE = re.compile(r"(?<![申邀聘])请(?![示假])")
#: an imperative opening a clause (请各地…, ，请于…, 恳请…, 现报请…, 各市（州）请…, 望认真…);
#: a 请 inside a narrative clause (经提请…审议通过) does not ask anything
_IMPERATIVE_RE = re.compile(
    r"(?:^|[，,：:、])(?:(?:各|你|有关|相关)[^，,。；]{0,14}?)?"
    r"(?:[恳敬特并还另再也现故即烦提报务]{0,2}请(?![示假])|[望希](?!望))"
)
#: a bare instruction closing a document: 遵照执行。 认真贯彻落实。 望参照执行。
_BARE_IMPERATIVE_RE = re.compile(
    r"(?:^|[，,])(?:望|请|希)?(?:认真|切实|坚决|严格|抓紧)?(?:遵照|参照|贯彻|组织)?"
    r"(?:执行|落实|实施)$"
)
_ACTION_WORDS = (
    "报送|上报|报告|报来|反馈|函复|复函|回复|答复|回函|贯彻|落实|执行|实施|组织|部署|研究|办理|"
    "审批|审定|审核|审议|批准|批复|批示|批转|转发|支持|协助|配合|帮助|解决|协调|提出|提供|做好|"
    "加强|开展|确保|抓紧|抓好|督促|整改|核实|核查|安排|推进|完成|参加|出席|派员|填报|汇总|排查|"
    "制定|给予|予以|指示|立即|迅速|尽快|审查|拨付|同意"
)
_ACTION_RE = re.compile(_ACTION_WORDS)
#: what a 报告 may ask a superior for (DOMAIN §3: 批转/转发/审批, and help)
_REPORT_ASK_RE = re.compile(
    "批转|转发|审批|批准|批示|批复|审定|审议|审核|审查|核准|核定|支持|协调|解决|帮助|给予|研究|"
    "拨付|同意"
)
#: a 函 that asks for a reply, an opinion, approval or support
_LETTER_ASK_RE = re.compile(
    "函复|复函|回复|答复|回函|反馈|意见|批准|审批|同意|支持|协助|配合|帮助|商请|恳请|请予"
)
#: a 函 that wants an answer without an imperative 请 (盼复。 妥否，望复。)
_LETTER_WANTS_RE = re.compile(
    r"征求.{0,30}意见|商请|恳请|[盼望候]复|盼.{0,6}(?:函复|回复|答复|支持)"
)
_INFORMATIONAL_RE = re.compile(
    "特此报告|特此通报|现予通报|予以通报|供参阅|供参考|请阅知|请知悉|特此函告|特此公告|特此通告|"
    "请查收|请审阅|请备案|请予备案|特此通知"
)
#: a directive to the recipients (各地要…, 你州务必…) in a 通知/意见/决定/命令
_DIRECTIVE_RE = re.compile(
    r"(?:各地区?|各级|各市|各县|各部门|各单位|各有关|有关部门|有关单位|你们|你州|你市|你县|你单位|"
    r"你局|你委|你厅|州人民政府|州政府)[^。；，]{0,12}?(?:务必|必须|要(?![求点闻素件])|须|应当)"
)
#: 文种 that deploy work, where 各地要… is an instruction (a 决定 commending 先进 is not)
_DIRECTIVE_TYPES = ("通知", "意见")
#: an explicit section of requirements makes 各地要… an instruction in any 文种 (a 通报
#: that closes `特提出如下要求：`), where a 通报表扬's 要…学习 is exhortation
_REQUIREMENTS_RE = re.compile(r"(?:提出|作出|明确)(?:如下|以下|几点|下列)(?:工作)?要求")
_NO_ADDRESSEE_TYPES = ("公告", "通告", "公报", "命令")
_PROPOSAL_RE = re.compile("提案|议案|代表建议|委员建议|建议和提案|建议提案")
_TELEGRAM_URGENCY = ("特提", "特急", "加急")
_INTERNAL_RE = re.compile(
    "内部刊物|内部资料|内部参阅|内部发行|内部参考|内参|注意保存|注意保密|领导参阅|仅供参阅|不得翻印|"
    "不得外传"
)
#: a periodical whose very name says it is internal (内部情况通报, 政务参阅, 决策参考)
_INTERNAL_NAME_RE = re.compile("内部|参阅|内参")
_BRIEFING_RE = re.compile("简报|信息|情况反映|工作动态|动态|专报|快报|要情|通讯|参考")


def sentences(body: str) -> list[str]:
    """The 正文 split into sentences (its lines are already joined)."""
    return [s for s in re.split(r"[。！？；!?;\n]", body) if s.strip()]


#: a sentence that cites what the other party sent or asked: `你省《…的请示》收悉`,
#: `你省请求，…`, `你委提出…`; the document answers it, it does not ask it of us
_CITATION_RE = re.compile(
    r"收悉|^(?:你|贵)[省市州县区部委厅局办院会司][^，,。]{0,6}?"
    r"(?:请求|提出|要求|申请|报请|建议|希望|恳请)"
)
_QUOTED_RE = re.compile(r"《[^《》]*(?:《[^《》]*》[^《》]*)*》")


def own_words(sentence: str) -> str:
    """The sentence without the titles it quotes (《关于恳请解决…的请示》 asks nothing)."""
    return _QUOTED_RE.sub("《》", sentence)


def asking_sentences(body: str) -> list[tuple[str, str]]:
    """(sentence, its own words) for each sentence of the 正文 that may ask something:
    citations of the other party's request are left out, quoted titles blanked."""
    return [
        (s, own_words(s)) for s in sentences(body) if _CITATION_RE.search(s.strip()) is None
    ]


def _request_sentence(body: str, verbs: re.Pattern[str]) -> str | None:
    """The first sentence that asks (an imperative 请 …verb), the verb after the 请."""
    for sentence, words in asking_sentences(body):
        for m in _IMPERATIVE_RE.finditer(words):
            if verbs.search(words, m.end()):
                return sentence
    return None


#: what a deadline sets: something to send or to finish by then
_DEADLINE_ACTION_RE = re.compile(
    "报送|上报|报告|报|反馈|函复|复函|回复|答复|提交|提出|完成|落实|整改|办结|送达|汇总|填报"
)
#: before the deadline: the writer sets it for itself (我县将于…前完成) or counts up to it
_OWN_DEADLINE_RE = re.compile("我|本[县市区局厅委办单院部司]|将于|拟于|计划|预计|力争|截至|截止")


def _deadline_request(fields: DocumentFields) -> str | None:
    """A deadline (于…前) in a sentence that asks or directs, not one that reports:
    请…/务必…, or a bare `各市（州）于…前报送…` that sets what to send by then."""
    deadline = fields.deadline
    if deadline is None:
        return None
    text = deadline.source_text
    if "已" in text:
        return None
    if _QING_RE.search(text) or re.search("务必|必须|要|须|应", text):
        return text
    folded = fold_name(text)
    at = re.search(r"日(?:之前|以前|前)", folded)
    if (
        at is not None
        and "了" not in folded
        and _OWN_DEADLINE_RE.search(folded, 0, at.start()) is None
        and _DEADLINE_ACTION_RE.search(folded, at.end())
    ):
        return text
    return None


# ------------------------------------------------------------- kind rules


def rule_neikan(r: KindContext) -> RuleHit | Defer | None:
    """内刊: a central/provincial periodical, internal (内部刊物/资料/参阅) or classified."""
    f = r.fields
    if not f.is_periodical or r.relation is not Relation.SUPERIOR:
        return None
    marker = _INTERNAL_RE.search(f.body + (f.note.value if f.note else ""))
    if marker is None and f.masthead is not None:
        marker = _INTERNAL_NAME_RE.search(f.masthead.value)
    if marker is not None:
        return RuleHit("neikan", Kind.NEIKAN, f"{_issue(f)}；{marker.group(0)}")
    if f.secrecy is not None:
        return RuleHit("neikan", Kind.NEIKAN, f"{_issue(f)}；{f.secrecy.source_text}")
    return None


def rule_jianbao(r: KindContext) -> RuleHit | Defer | None:
    """简报: any other periodical (简报、信息、情况反映、工作动态, 第N期)."""
    f = r.fields
    if not f.is_periodical:
        return None
    title = f.title.value if f.title else ""
    marker = _BRIEFING_RE.search(title)
    evidence = f"{_issue(f)}" + (f"；{marker.group(0)}" if marker else "")
    return RuleHit("jianbao", Kind.JIANBAO, evidence)


def _issue(f: DocumentFields) -> str:
    if f.title is not None:
        return f.title.value
    return f"第{f.issue_no.value}期" if f.issue_no else ""


def rule_chaojian(r: KindContext) -> RuleHit | Defer | None:
    """抄件: a subordinate copies us (we are only in 抄送)."""
    if r.only_cc and r.relation is Relation.SUBORDINATE:
        return RuleHit("chaojian", Kind.CHAO, f"抄送：{_cc(r)}；来文单位{r.organ.name}为下级")
    return None


def rule_party_centre(r: KindContext) -> RuleHit | Defer | None:
    """阅件: documents of 中共中央 and its offices, whatever their wording."""
    if r.organ.is_party_centre:
        number = r.fields.doc_number.value if r.fields.doc_number else r.organ.name
        return RuleHit("party_centre", Kind.YUE, f"{number}（党中央文件，政府阅知）")
    return None


def rule_superior_copy(r: KindContext) -> RuleHit | Defer | None:
    """阅件: a superior copies us for information (we are only in 抄送)."""
    if r.only_cc and r.relation is Relation.SUPERIOR:
        return RuleHit("superior_copy", Kind.YUE, f"抄送：{_cc(r)}；主送：{_main(r)}")
    return None


def rule_addressee_unclear(r: KindContext) -> RuleHit | Defer | None:
    """Review: the 主送/抄送 neither names us nor is missing for a reason (公告…)."""
    if r.in_main or r.in_cc:
        return None
    if r.fields.addressees is None and r.fields.cc is None:
        if r.doc_type in _NO_ADDRESSEE_TYPES and r.relation is not Relation.SUBORDINATE:
            return None
        if r.doc_type in _NO_ADDRESSEE_TYPES:
            # sent to us by a subordinate with neither 主送 nor 抄送: 抄件 or 阅件 is for staff
            return Defer("addressee_missing", f"下级机关的{r.doc_type}未列主送、抄送机关")
        return Defer("addressee_missing", "未找到主送、抄送机关")
    return Defer("addressee_unclear", f"主送：{_main(r)}（未能确认包含本机关）")


def rule_qingshi(r: KindContext) -> RuleHit | Defer | None:
    """办件: a 请示 always expects an answer (批复)."""
    if r.doc_type == "请示":
        return RuleHit("qingshi", Kind.BAN, f"文种为请示：{_title(r)}")
    return None


def rule_request_to_others(r: KindContext) -> RuleHit | Defer | None:
    """阅件: relayed to us under the distribution scope, but the 主送 names only other,
    specific organs (a 批复 to a ministry, a 函 to a province): its 请…/要… speak to them.
    A sentence that names us (请州人民政府…) still asks us."""
    main = r.fields.addressees.value if r.fields.addressees else None
    if not r.item.sender.relayed or main is None or r.in_cc:
        return None
    if r.directory.addressed_to_us(main) is not None:
        return None
    if not r.directory.names_only_specific_others(_PARENTHESES_RE.sub("", main)):
        return None
    if any(_mentions_us(r, s) for s, _ in asking_sentences(r.fields.body)):
        return None
    evidence = f"主送：{main}（所提要求针对主送机关，本机关阅知）"
    return RuleHit("request_to_others", Kind.YUE, evidence)


#: a parenthesis in a 主送 says what kinds of organ a name stands for: 陕西省（自治区、直辖市）
_PARENTHESES_RE = re.compile(r"[(（][^()（）]*[)）]")


def rule_report_request(r: KindContext) -> RuleHit | Defer | None:
    """办件: a 报告 that asks for 批转/转发/审批 (or other help from us)."""
    if r.doc_type != "报告" or not r.in_main:
        return None
    sentence = _request_sentence(r.fields.body, _REPORT_ASK_RE)
    if sentence is not None:
        return RuleHit("report_request", Kind.BAN, sentence)
    return None


def rule_letter_request(r: KindContext) -> RuleHit | Defer | None:
    """办件: a 函 that asks for a reply, an opinion, approval or support."""
    if r.doc_type != "函" or not (r.in_main or _asks_us(r)):
        return None
    sentence = _request_sentence(r.fields.body, _LETTER_ASK_RE)
    if sentence is None:
        sentence = next(
            (s for s, words in asking_sentences(r.fields.body) if _LETTER_WANTS_RE.search(words)),
            None,
        )
    if sentence is not None:
        return RuleHit("letter_request", Kind.BAN, sentence)
    return None


def rule_urgent_telegram(r: KindContext) -> RuleHit | Defer | None:
    """办件: a 明传电报 marked 特提/特急/加急 that gives instructions."""
    f = r.fields
    number = f.doc_number.value if f.doc_number else ""
    if not (f.telegram is not None or "明电" in number) or not r.in_main:
        return None
    if f.urgency is None or f.urgency.value not in _TELEGRAM_URGENCY:
        return None
    for sentence in sentences(f.body):
        if _QING_RE.search(sentence) or _DIRECTIVE_RE.search(sentence) or "立即" in sentence:
            return RuleHit("urgent_telegram", Kind.BAN, f"{f.urgency.value}明电：{sentence}")
    return None


def rule_proposal(r: KindContext) -> RuleHit | Defer | None:
    """办件: 建议/提案 handed to us to answer."""
    if not r.in_main:
        return None
    title = _title(r)
    if not _PROPOSAL_RE.search(title + r.fields.body):
        return None
    for sentence in sentences(r.fields.body):
        if (
            _PROPOSAL_RE.search(sentence + title)
            and re.search("答复|办理|办复", sentence)
            and (_QING_RE.search(sentence) or re.search("于.{0,12}前|务必|要", sentence))
        ):
            return RuleHit("proposal", Kind.BAN, sentence)
    return None


def rule_action_request(r: KindContext) -> RuleHit | Defer | None:
    """办件: addressed to us and asks us to act or report back (请…报送/落实…, 于…前)."""
    if r.doc_type in ("报告", "请示"):
        return None
    if not r.in_main and not _asks_us(r):
        return None
    deadline = _deadline_request(r.fields)
    if deadline is not None:
        return RuleHit("deadline", Kind.BAN, deadline)
    sentence = _request_sentence(r.fields.body, _ACTION_RE)
    if sentence is not None and (r.in_main or _mentions_us(r, sentence)):
        return RuleHit("action_request", Kind.BAN, sentence)
    if r.in_main:
        asking = asking_sentences(r.fields.body)
        bare = next((s for s, words in asking if _BARE_IMPERATIVE_RE.search(words)), None)
        if bare is not None:
            return RuleHit("action_request", Kind.BAN, bare)
    deploys = r.doc_type in _DIRECTIVE_TYPES or _REQUIREMENTS_RE.search(r.fields.body)
    if r.in_main and deploys and r.relation is not Relation.SUBORDINATE:
        for s, words in asking_sentences(r.fields.body):
            if _DIRECTIVE_RE.search(words):
                return RuleHit("directive", Kind.BAN, s)
    return None


def rule_default_yue(r: KindContext) -> RuleHit | Defer | None:
    """阅件: everything else addressed to us (通报, 决议, 纪要 供参阅, 报告 特此报告…)."""
    if r.doc_type is None:
        return Defer("doc_type_unknown", "未能识别文种和标题，无法判断是否需要办理")
    marker = _INFORMATIONAL_RE.search(r.fields.body)
    where = f"主送：{_main(r)}" if r.in_main else f"抄送：{_cc(r)}" if r.in_cc else "无主送"
    if marker is not None:
        return RuleHit("informational", Kind.YUE, f"{marker.group(0)}（{r.doc_type}，{where}）")
    return RuleHit("no_request", Kind.YUE, f"{r.doc_type}未提出办理要求（{where}）")


def _asks_us(r: KindContext) -> bool:
    """Only in 抄送, but a request in the text names us (请州人民政府…)."""
    if not r.in_cc:
        return False
    return any(_mentions_us(r, s) and _IMPERATIVE_RE.search(s) for s in sentences(r.fields.body))


def _mentions_us(r: KindContext, sentence: str) -> bool:
    return r.directory.mentions_us(sentence)


def _title(r: KindContext) -> str:
    return r.fields.title.value if r.fields.title else ""


def _main(r: KindContext) -> str:
    return r.fields.addressees.value if r.fields.addressees else "（无）"


def _cc(r: KindContext) -> str:
    return r.fields.cc.value if r.fields.cc else "（无）"


KIND_RULES: tuple[KindRule, ...] = (
    rule_neikan,
    rule_jianbao,
    rule_chaojian,
    rule_party_centre,
    rule_superior_copy,
    rule_addressee_unclear,
    rule_qingshi,
    rule_request_to_others,
    rule_report_request,
    rule_letter_request,
    rule_urgent_telegram,
    rule_proposal,
    rule_action_request,
    rule_default_yue,
)

# ------------------------------------------------------------------ entry


def run_checks(
    item: Item,
    directory: Directory,
    seen_envelope: SeenEnvelope,
    checks: tuple[Check, ...] = CHECKS,
) -> CheckHit | None:
    """The first intake check that stops the item, or None when it is accepted."""
    for check in checks:
        hit = check(item, directory, seen_envelope)
        if hit is not None:
            return hit
    return None


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
    """The first kind rule that decides; review when none does."""
    for rule in KIND_RULES:
        hit = rule(reading)
        if hit is not None:
            return hit
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
