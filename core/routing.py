"""Who gets the push for an item: leaders by 分工, registry staff, duty, subscribers.

A pure function of the item's facts and the configuration (DOMAIN §3, §7; seed 二、收件分类).
No I/O, no clock. The bot turns a `Route` into messages; what a message may show
(title, text, file of a classified item) is decided there, not here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from core.config import Leader, Settings
from core.model import Kind, Outcome

#: urgency levels that go at once to the duty list (值班) and to registry staff
URGENT_LEVELS = ("特急", "特提")

#: the area keyword that marks the 秘书长 (head of the 办公室) among the leaders
OFFICE_AREA = "办公室"

#: organ-form words: they name what kind of organ a sender is, not a portfolio, so an
#: area keyword equal to one of them (秘书长's "办公室") is not matched in a sender's name —
#: otherwise every "…办公室" sender would go to the 秘书长.
_ORGAN_FORM_WORDS = frozenset({"办公室", "办公厅", "人民政府", "委员会", "常委会"})

#: outcomes other than register reach registry staff only, never a leader
_STAFF_ONLY_OUTCOMES = frozenset({
    Outcome.REVIEW, Outcome.RETURN, Outcome.QUARANTINE, Outcome.SEALED,
    Outcome.RECEIVED, Outcome.SHUNTED,  # not read (yet): nothing of it may reach leaders
    Outcome.REPLY,  # a 承办单位's 办结 reply: the registry's record, not a new document
})

#: outcomes the duty room hears about when urgent: items someone must act on now here.
#: A returned item goes back to its sender and a quarantined one is for staff to inspect.
_DUTY_OUTCOMES = frozenset({Outcome.REGISTER, Outcome.REVIEW, Outcome.SEALED})

#: rule tag → Chinese explanation for staff
RULE_ZH: dict[str, str] = {
    "ban.matched": "办件：按领导分工送",
    "ban.default": "办件：分工未匹配，送州长和秘书长",
    "yue.matched": "阅件：按领导分工和阅读范围送",
    "yue.default": "阅件：分工未匹配，送州长和秘书长",
    "neikan.matched": "内刊：按阅读范围和分工依次传阅",
    "neikan.all": "内刊：分工未匹配，按领导排序依次传阅",
    "jianbao.matched": "简报：按内容分送有关领导",
    "jianbao.unmatched": "简报：分工未匹配，交文书处理室分送",
    "jianbao.staff": "简报：按配置只送文书处理室",
    "chao.staff": "抄件：只送文书处理室存档",
    "unclassified": "未分类：只送文书处理室",
    "review": "待分类：只送文书处理室",
    "return": "退回：只通知文书处理室",
    "quarantine": "隔离：只通知文书处理室",
    "sealed": "封存件：只通知文书处理室，不拆封",
    "received": "已收到、未处理：只通知文书处理室",
    "shunted": "处理失败待人工处理：只通知文书处理室",
    "reply": "办结回复：只通知文书处理室，记为该件办结",
}


@dataclass(frozen=True, slots=True)
class Subscription:
    """A chat that asked for items whose title or sender contains `keyword`."""

    chat_id: int
    keyword: str


@dataclass(frozen=True, slots=True)
class RoutingItem:
    """The facts of an item that routing looks at."""

    kind: Kind | None
    outcome: Outcome
    #: sender organ name (directory name), None when unknown
    sender: str | None = None
    title: str | None = None
    #: 秘密/机密/绝密, None or "" when not classified
    secrecy: str | None = None
    #: 特提/特急/加急/平急, None or "" when ordinary
    urgency: str | None = None
    subscriptions: tuple[Subscription, ...] = ()


@dataclass(frozen=True, slots=True)
class Route:
    """Who gets the item now, and why.

    Each tuple is in send order. `leaders` get the push now; for a 内刊 that is only the
    first of `circulation` (传阅: the bot passes it on down the list). `staff` and `duty`
    are chat ids; `subscribers` never repeat a chat id already in another field.
    """

    leaders: tuple[Leader, ...]
    circulation: tuple[Leader, ...]
    staff: tuple[int, ...]
    duty: tuple[int, ...]
    subscribers: tuple[int, ...]
    #: short tag, key of RULE_ZH
    rule: str
    #: Chinese evidence lines, e.g. "常务副州长：来文机关「甘孜州财政局」"
    evidence: tuple[str, ...] = ()

    def chat_ids(self) -> tuple[int, ...]:
        """Every chat that gets something now, distinct, in send order."""
        ids = [x.chat_id for x in self.leaders]
        ids += [*self.duty, *self.staff, *self.subscribers]
        return tuple(dict.fromkeys(ids))

    def describe(self) -> str:
        """A Chinese sentence for staff: the rule and its evidence."""
        text = RULE_ZH.get(self.rule, self.rule)
        if self.evidence:
            text += "（" + "；".join(self.evidence) + "）"
        return text


# ------------------------------------------------------------------ matching
def is_urgent(urgency: str | None) -> bool:
    """特急 and 特提 are urgent enough for the duty list; 加急 is not."""
    return bool(urgency) and urgency in URGENT_LEVELS


@dataclass(frozen=True, slots=True)
class _Rules:
    """What routing takes from the configuration alone, worked out once per settings
    object (every registration is routed; the configuration does not change under it)."""

    settings: Settings
    #: id(leader) → (rank, config position): the rank order
    order: dict[int, tuple[int, int]]
    default: tuple[Leader, ...]
    staff: tuple[int, ...]
    duty: tuple[int, ...]
    #: every leader's 分工 keywords (with their reading scopes: `titles_read`) and the
    #: sender words and organs: when none occurs in an item, no leader's 分工 covers it
    titles: re.Pattern[str] | None
    titles_read: re.Pattern[str] | None
    senders: re.Pattern[str] | None
    orgs: frozenset[str]


#: id(settings) → its rules (a settings object is frozen; a new one gets its own entry)
_RULES: dict[int, _Rules] = {}


def _rules(settings: Settings) -> _Rules:
    rules = _RULES.get(id(settings))
    if rules is None or rules.settings is not settings:
        if len(_RULES) > 8:
            _RULES.clear()
        order = {id(x): (x.rank, i) for i, x in enumerate(settings.leader)}
        default: tuple[Leader, ...] = ()
        if settings.leader:
            top = min(x.rank for x in settings.leader)
            default = _in_order(order, [
                x for x in settings.leader if x.rank == top or OFFICE_AREA in x.areas])
        areas = [a for x in settings.leader for a in x.areas if a]
        read = [k for x in settings.leader for k in x.reading_scope if k]
        rules = _Rules(
            settings, order, default,
            tuple(dict.fromkeys(s.chat_id for s in settings.staff if "registrar" in s.roles)),
            tuple(dict.fromkeys(d.chat_id for d in settings.duty)),
            _any_of(areas), _any_of(areas + read),
            _any_of([a for a in areas if a not in _ORGAN_FORM_WORDS]),
            frozenset(o for x in settings.leader for o in x.orgs),
        )
        _RULES[id(settings)] = rules
    return rules


def _any_of(words: list[str]) -> re.Pattern[str] | None:
    """A pattern found in a text where one of `words` is (None: no words)."""
    return re.compile("|".join(map(re.escape, dict.fromkeys(words)))) if words else None


def _in_order(order: dict[int, tuple[int, int]], leaders: Iterable[Leader]) -> tuple[Leader, ...]:
    """Those of `leaders` that are configured, each once, in rank order (config order
    breaks ties)."""
    chosen = {id(x): x for x in leaders if id(x) in order}
    return tuple(sorted(chosen.values(), key=lambda x: order[id(x)]))


def _by_rank(settings: Settings, leaders: Iterable[Leader]) -> tuple[Leader, ...]:
    """Leaders in rank order (config order breaks ties), each once."""
    return _in_order(_rules(settings).order, leaders)


def _portfolio_evidence(leader: Leader, sender: str | None, title: str | None) -> list[str]:
    """Why `leader`'s 分工 (orgs, areas) covers this sender or title; empty when it does not."""
    found: list[str] = []
    if sender and sender in leader.orgs:
        found.append(f"{leader.name}：来文机关「{sender}」")
    for area in leader.areas:
        if not area:
            continue
        if title and area in title:
            found.append(f"{leader.name}：分工「{area}」见于标题")
        elif sender and area not in _ORGAN_FORM_WORDS and area in sender:
            found.append(f"{leader.name}：分工「{area}」见于来文机关")
    return found


def _reading_evidence(leader: Leader, title: str | None) -> list[str]:
    """Why `leader`'s reading scope (阅读范围) covers this title; empty when it does not."""
    if not title:
        return []
    return [
        f"{leader.name}：阅读范围「{kw}」见于标题"
        for kw in leader.reading_scope
        if kw and kw in title
    ]


def match_leaders(
    settings: Settings, item: RoutingItem, *, reading_scope: bool
) -> tuple[tuple[Leader, ...], tuple[str, ...]]:
    """Leaders whose 分工 (and, when asked, reading scope) covers the item, with evidence."""
    rules = _rules(settings)
    titles = rules.titles_read if reading_scope else rules.titles
    title, sender = item.title, item.sender
    if not (title and titles is not None and titles.search(title)) and not (
            sender and (sender in rules.orgs
                        or (rules.senders is not None and rules.senders.search(sender)))):
        return (), ()  # not one keyword of anyone's 分工 in it: the loop would find none
    matched: list[Leader] = []
    evidence: list[str] = []
    for leader in settings.leader:
        why = _portfolio_evidence(leader, item.sender, item.title)
        if reading_scope:
            why += _reading_evidence(leader, item.title)
        if why:
            matched.append(leader)
            evidence.extend(why)
    return _by_rank(settings, matched), tuple(evidence)


def default_leaders(settings: Settings) -> tuple[Leader, ...]:
    """Who gets a 办件/阅件 no 分工 covers: the first-ranked leader (州长) and the 秘书长.

    The 秘书长 is the leader whose areas include "办公室" (the office's head, who assigns
    what nobody's portfolio covers).
    """
    return _rules(settings).default


def registry_staff(settings: Settings) -> tuple[int, ...]:
    """Chat ids of staff with the registrar role (文书处理室, 机要室), in config order."""
    return _rules(settings).staff


def duty_chats(settings: Settings) -> tuple[int, ...]:
    """The duty list (值班) in its configured order: the escalation ladder."""
    return _rules(settings).duty


def matching_subscribers(item: RoutingItem) -> tuple[int, ...]:
    """Chats subscribed to a keyword found in the title or sender; none for classified items."""
    if item.secrecy:
        return ()
    hits = [
        s.chat_id
        for s in item.subscriptions
        if s.keyword
        and ((item.title and s.keyword in item.title) or (item.sender and s.keyword in item.sender))
    ]
    return tuple(dict.fromkeys(hits))


# ------------------------------------------------------------------ the rules
#: (leaders now, circulation, rule tag, evidence)
_Choice = tuple[tuple[Leader, ...], tuple[Leader, ...], str, tuple[str, ...]]


def _leaders_for(item: RoutingItem, settings: Settings) -> _Choice:
    """(leaders now, circulation, rule tag, evidence) of a registered item, by kind."""
    if item.kind in (Kind.BAN, Kind.YUE):
        tag = "ban" if item.kind is Kind.BAN else "yue"
        matched, evidence = match_leaders(settings, item, reading_scope=item.kind is Kind.YUE)
        if matched:
            return matched, (), f"{tag}.matched", evidence
        return default_leaders(settings), (), f"{tag}.default", ()
    if item.kind is Kind.NEIKAN:
        # 内刊 are circulated (传阅) one leader after another, "按照阅读范围和领导分工":
        # every leader whose 分工 or reading scope covers it, in rank order. When none
        # does, it is 事关全局 by nature (a central/provincial internal publication), so
        # it goes round all leaders in rank order rather than to the default pair.
        matched, evidence = match_leaders(settings, item, reading_scope=True)
        if matched:
            return matched[:1], matched, "neikan.matched", evidence
        everyone = _by_rank(settings, settings.leader)
        return everyone[:1], everyone, "neikan.all", ()
    if item.kind is Kind.JIANBAO:
        if not settings.bot.briefings_to_leaders:
            return (), (), "jianbao.staff", ()
        matched, evidence = match_leaders(settings, item, reading_scope=False)
        # A briefing nobody's 分工 covers is for 文书处理室 to distribute (seed: 根据其内容分送),
        # not for the default pair: briefings are too many to bother the 州长 with.
        if matched:
            return matched, (), "jianbao.matched", evidence
        return (), (), "jianbao.unmatched", ()
    if item.kind is Kind.CHAO:
        return (), (), "chao.staff", ()
    return (), (), "unclassified", ()


def route(item: RoutingItem, settings: Settings) -> Route:
    """Decide who gets a push for `item` now (DOMAIN §3; config [[leader]], [[staff]], [[duty]])."""
    urgent = is_urgent(item.urgency)
    duty = duty_chats(settings) if urgent and item.outcome in _DUTY_OUTCOMES else ()
    staff = registry_staff(settings)
    if item.outcome in _STAFF_ONLY_OUTCOMES:
        return Route((), (), staff, duty, (), str(item.outcome.value))

    leaders, circulation, rule, evidence = _leaders_for(item, settings)
    # Staff hear of a registered item when it is theirs to handle (no leader: 抄件, a
    # briefing kept by the registry, an unclassified item) or when it is urgent.
    to_staff = staff if (urgent or not leaders) else ()
    taken = {x.chat_id for x in leaders} | set(duty) | set(to_staff)
    subscribers = tuple(c for c in matching_subscribers(item) if c not in taken)
    return Route(leaders, circulation, to_staff, duty, subscribers, rule, evidence)
