"""Routing of pushes (core/routing.py) against the example office's 分工."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from core.config import Leader, Settings, load_settings
from core.model import SECRECY_LEVELS, URGENCY_LEVELS, Kind, Outcome
from core.routing import (
    RULE_ZH,
    Route,
    RoutingItem,
    Subscription,
    default_leaders,
    registry_staff,
    route,
)

CONFIG = Path(__file__).resolve().parent.parent / "config.example.toml"
SETTINGS = load_settings(CONFIG)

GOVERNOR, EXECUTIVE, AGRI, EDU, EMERGENCY, SECRETARY = (
    "州长",
    "常务副州长",
    "分管农业副州长",
    "分管教卫副州长",
    "分管应急副州长",
    "秘书长",
)
REGISTRARS = (200001, 200002)
DUTY = (200010, 100006)


def _with(**bot: object) -> Settings:
    """The example settings with some [bot] keys changed."""
    return SETTINGS.model_copy(update={"bot": SETTINGS.bot.model_copy(update=bot)})


def _names(leaders: tuple[Leader, ...]) -> list[str]:
    return [x.name for x in leaders]


def _item(kind: Kind | None, outcome: Outcome = Outcome.REGISTER, **kw: Any) -> RoutingItem:
    return RoutingItem(kind=kind, outcome=outcome, **kw)


CASES = [
    # (id, item, expected leader names now, expected rule)
    (
        "county 请示 about 财政 goes to 常务副州长",
        _item(Kind.BAN, sender="康定市人民政府", title="康定市人民政府关于申请财政专项资金的请示"),
        [EXECUTIVE],
        "ban.matched",
    ),
    (
        "国务院办公厅 goes to 州长 by organ",
        _item(Kind.YUE, sender="国务院办公厅", title="国务院办公厅关于印发若干措施的通知"),
        [GOVERNOR],
        "yue.matched",
    ),
    (
        "防汛 in the title goes to 分管应急副州长",
        _item(Kind.BAN, sender="泸定县人民政府", title="关于做好2024年防汛工作的紧急请示"),
        [EMERGENCY],
        "ban.matched",
    ),
    (
        "organ and area together reach both leaders, in rank order",
        _item(Kind.BAN, sender="国务院办公厅", title="关于加强地质灾害防治的通知"),
        [GOVERNOR, EMERGENCY],
        "ban.matched",
    ),
    (
        "area in the sender's name matches an organ nobody lists",
        _item(Kind.BAN, sender="甘孜州审计局", title="关于某项工作的请示"),
        [GOVERNOR],
        "ban.matched",
    ),
    (
        "unknown area falls back to 州长 and 秘书长",
        _item(Kind.BAN, sender="甘孜州投资集团有限责任公司", title="关于召开年度会议的函"),
        [GOVERNOR, SECRETARY],
        "ban.default",
    ),
    (
        "a 阅件 with no sender and no matching title also falls back",
        _item(Kind.YUE, sender=None, title="通报"),
        [GOVERNOR, SECRETARY],
        "yue.default",
    ),
    (
        "办公室 in a sender's name is an organ form, not the 秘书长's portfolio",
        _item(Kind.YUE, sender="中共甘孜州委办公室", title="关于印发会议纪要的通知"),
        [GOVERNOR, SECRETARY],
        "yue.default",
    ),
    (
        "办公室 in a title is the 秘书长's portfolio",
        _item(Kind.YUE, sender="四川省教育厅", title="关于州政府办公室工作的意见"),
        [EDU, SECRETARY],
        "yue.matched",
    ),
    (
        "简报 goes to the leaders its content concerns",
        _item(Kind.JIANBAO, sender="甘孜州农业农村局", title="农业农村工作简报（第3期）"),
        [AGRI],
        "jianbao.matched",
    ),
    (
        "简报 nobody's 分工 covers stays with the registry",
        _item(Kind.JIANBAO, sender="甘孜州投资集团有限责任公司", title="工作动态（第12期）"),
        [],
        "jianbao.unmatched",
    ),
    (
        "抄件 goes to the registry only",
        _item(Kind.CHAO, sender="甘孜州财政局", title="关于财政预算的通知"),
        [],
        "chao.staff",
    ),
]


@pytest.mark.parametrize(
    ("item", "names", "rule"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_route_table(item: RoutingItem, names: list[str], rule: str) -> None:
    """Each case reaches exactly the expected leaders by the expected rule."""
    got = route(item, SETTINGS)
    assert _names(got.leaders) == names
    assert got.rule == rule
    assert got.rule in RULE_ZH
    if names:
        assert got.staff == ()  # an ordinary item with a leader does not bother the registry
    else:
        assert got.staff == REGISTRARS


def test_match_evidence_names_area_and_organ() -> None:
    """The evidence says which organ or area keyword matched which leader."""
    got = route(_item(Kind.BAN, sender="甘孜州财政局", title="关于防汛资金的请示"), SETTINGS)
    assert _names(got.leaders) == [EXECUTIVE, EMERGENCY]
    assert "常务副州长：来文机关「甘孜州财政局」" in got.evidence
    assert "分管应急副州长：分工「防汛」见于标题" in got.evidence
    assert "防汛" in got.describe()


def test_default_leaders_are_governor_and_secretary() -> None:
    """The default pair is the first-ranked leader and the one whose areas include 办公室."""
    assert _names(default_leaders(SETTINGS)) == [GOVERNOR, SECRETARY]


def test_default_leaders_without_leaders_is_empty() -> None:
    """An office with no leaders configured has no default pair."""
    assert default_leaders(SETTINGS.model_copy(update={"leader": []})) == ()


def test_registry_staff_are_registrars() -> None:
    """Registry staff are the chats with the registrar role, sections excluded."""
    assert registry_staff(SETTINGS) == REGISTRARS


def test_neikan_circulates_matching_leaders_in_rank_order() -> None:
    """A 内刊 goes round the matching leaders by rank; only the first gets it now."""
    item = _item(
        Kind.NEIKAN, sender="四川省人民政府办公厅", title="内部参阅（第5期）：财政金融与防汛形势"
    )
    got = route(item, SETTINGS)
    assert _names(got.circulation) == [GOVERNOR, EXECUTIVE, EMERGENCY]
    assert got.leaders == got.circulation[:1]
    assert got.rule == "neikan.matched"


def test_neikan_without_match_circulates_everyone() -> None:
    """A 内刊 nobody's 分工 covers goes round all leaders in rank order."""
    got = route(_item(Kind.NEIKAN, sender="中共中央办公厅", title="内部资料（第9期）"), SETTINGS)
    assert _names(got.circulation) == [GOVERNOR, EXECUTIVE, AGRI, EDU, EMERGENCY, SECRETARY]
    assert _names(got.leaders) == [GOVERNOR]
    assert got.rule == "neikan.all"


def test_neikan_reading_scope_adds_a_reader() -> None:
    """A leader's reading_scope keyword puts them on a 内刊/阅件 but not on a 办件."""
    leaders = [
        x.model_copy(update={"reading_scope": ["舆情"]}) if x.name == SECRETARY else x
        for x in SETTINGS.leader
    ]
    custom = SETTINGS.model_copy(update={"leader": leaders})
    title = "关于教育舆情的情况"
    neikan = route(_item(Kind.NEIKAN, sender="中共中央办公厅", title=title), custom)
    yue = route(_item(Kind.YUE, sender="四川省教育厅", title=title), custom)
    ban = route(_item(Kind.BAN, sender="四川省教育厅", title=title), custom)
    assert _names(neikan.circulation) == [EDU, SECRETARY]
    assert _names(yue.leaders) == [EDU, SECRETARY]
    assert _names(ban.leaders) == [EDU]
    assert any("阅读范围「舆情」" in e for e in yue.evidence)


def test_briefings_to_staff_only_when_configured() -> None:
    """With briefings_to_leaders false a 简报 goes to registry staff, never to a leader."""
    item = _item(Kind.JIANBAO, sender="甘孜州农业农村局", title="农业农村工作简报（第3期）")
    got = route(item, _with(briefings_to_leaders=False))
    assert got.leaders == ()
    assert got.staff == REGISTRARS
    assert got.rule == "jianbao.staff"


def test_classified_item_excludes_subscribers() -> None:
    """A 秘密 item reaches its leaders but no keyword subscriber."""
    subs = (Subscription(300001, "防汛"), Subscription(300002, "泸定"))
    open_item = _item(
        Kind.BAN, sender="泸定县人民政府", title="关于防汛工作的请示", subscriptions=subs
    )
    secret_item = _item(
        Kind.BAN,
        sender="泸定县人民政府",
        title="关于防汛工作的请示",
        secrecy="秘密",
        subscriptions=subs,
    )
    assert route(open_item, SETTINGS).subscribers == (300001, 300002)
    got = route(secret_item, SETTINGS)
    assert got.subscribers == ()
    assert _names(got.leaders) == [EMERGENCY]


def test_subscriber_already_routed_is_not_repeated() -> None:
    """A subscriber who already gets the item as its leader is not listed twice."""
    subs = (Subscription(100005, "防汛"), Subscription(300001, "不相关"))
    got = route(
        _item(Kind.BAN, sender="泸定县人民政府", title="防汛请示", subscriptions=subs), SETTINGS
    )
    assert got.subscribers == ()
    assert got.chat_ids() == (100005,)


@pytest.mark.parametrize("urgency", ["特急", "特提"])
def test_urgent_adds_duty_and_staff(urgency: str) -> None:
    """A 特急/特提 item also goes to the duty list (in order) and to registry staff."""
    got = route(
        _item(Kind.BAN, sender="泸定县人民政府", title="防汛请示", urgency=urgency), SETTINGS
    )
    assert _names(got.leaders) == [EMERGENCY]
    assert got.duty == DUTY
    assert got.staff == REGISTRARS


def test_jiaji_is_not_duty() -> None:
    """加急 is handled in office hours: no duty list."""
    got = route(
        _item(Kind.BAN, sender="泸定县人民政府", title="防汛请示", urgency="加急"), SETTINGS
    )
    assert got.duty == ()


@pytest.mark.parametrize(
    "outcome", [Outcome.SEALED, Outcome.REVIEW, Outcome.RETURN, Outcome.QUARANTINE]
)
def test_non_register_outcomes_reach_staff_only(outcome: Outcome) -> None:
    """Sealed, review, return and quarantine go to registry staff, never to a leader."""
    got = route(
        _item(
            Kind.BAN,
            outcome,
            sender="国务院办公厅",
            title="关于防汛的通知",
            subscriptions=(Subscription(300001, "防汛"),),
        ),
        SETTINGS,
    )
    assert got.leaders == ()
    assert got.circulation == ()
    assert got.subscribers == ()
    assert got.staff == REGISTRARS
    assert got.rule == outcome.value


def test_urgent_sealed_item_tells_duty_but_urgent_return_does_not() -> None:
    """An urgent sealed item alerts the duty list; an urgent returned one goes back unalerted."""
    sealed = route(_item(None, Outcome.SEALED, urgency="特急"), SETTINGS)
    returned = route(_item(None, Outcome.RETURN, urgency="特急"), SETTINGS)
    assert sealed.duty == DUTY
    assert returned.duty == ()


# ------------------------------------------------------------------ properties
_ORGS = [o.name for o in SETTINGS.org]
_WORDS = [*sorted({a for x in SETTINGS.leader for a in x.areas}), "通知", "请示", "简报", "第3期"]
_titles = st.lists(st.sampled_from(_WORDS) | st.text(max_size=6), max_size=5).map("".join)
_items = st.builds(
    RoutingItem,
    kind=st.none() | st.sampled_from(list(Kind)),
    outcome=st.sampled_from(list(Outcome)),
    sender=st.none() | st.sampled_from(_ORGS) | st.text(max_size=12),
    title=st.none() | _titles,
    secrecy=st.none() | st.sampled_from(["", *SECRECY_LEVELS]),
    urgency=st.none() | st.sampled_from(["", *URGENCY_LEVELS]),
    subscriptions=st.lists(
        st.builds(
            Subscription,
            chat_id=st.integers(300000, 300005),
            keyword=st.sampled_from(_WORDS) | st.text(max_size=3),
        ),
        max_size=4,
    ).map(tuple),
)


def _check(got: Route, item: RoutingItem, settings: Settings) -> None:
    configured = list(settings.leader)
    if item.outcome is not Outcome.REGISTER:
        assert got.leaders == ()
        assert got.circulation == ()
        assert got.subscribers == ()
    for leader in (*got.leaders, *got.circulation):
        assert leader in configured
    ranks = [x.rank for x in got.leaders]
    assert ranks == sorted(ranks)
    assert len(set(_names(got.leaders))) == len(got.leaders)
    if got.circulation:
        assert got.leaders == got.circulation[:1]
    if item.secrecy:
        assert got.subscribers == ()
    if item.outcome is Outcome.REGISTER and item.kind in (Kind.BAN, Kind.YUE):
        assert got.leaders  # a numbered item always reaches somebody who decides
    if not got.leaders:
        assert got.staff == REGISTRARS  # nothing is left without a reader
    assert got.rule in RULE_ZH


@hsettings(max_examples=300, deadline=None)
@given(item=_items, briefings=st.booleans())
def test_route_properties(item: RoutingItem, briefings: bool) -> None:
    """Only registered items reach leaders, and only configured leaders, in rank order."""
    settings = _with(briefings_to_leaders=briefings)
    _check(route(item, settings), item, settings)


#: the example office, one leader also reading 舆情 and 信访 (阅读范围, no one's 分工)
_READING = SETTINGS.model_copy(update={"leader": [
    x.model_copy(update={"reading_scope": ["舆情", "信访"]}) if i == 2 else x
    for i, x in enumerate(SETTINGS.leader)]})
_WORDS = sorted({w for x in _READING.leader for w in (*x.areas, *x.orgs, *x.reading_scope)}
                | {"办公室", "人民政府", "甘孜州", "关于", "的请示", "康定市"})


@hsettings(max_examples=300, deadline=None)
@given(title=st.one_of(st.none(), st.lists(st.sampled_from(_WORDS), max_size=3).map("".join)),
       sender=st.one_of(st.none(), st.lists(st.sampled_from(_WORDS), max_size=2).map("".join)),
       reading_scope=st.booleans(), office=st.sampled_from([SETTINGS, _READING]))
@example(title="关于舆情的报告", sender="康定市人民政府", reading_scope=True, office=_READING)
def test_the_screen_of_all_keywords_finds_whom_the_leader_by_leader_match_finds(
    title: str | None, sender: str | None, reading_scope: bool, office: Settings
) -> None:
    """match_leaders first looks for any 分工 keyword at all; where there is one, or none,
    the leaders and evidence are those of the rules applied leader by leader."""
    from core import routing

    item = RoutingItem(kind=Kind.YUE if reading_scope else Kind.BAN, outcome=Outcome.REGISTER,
                       sender=sender, title=title)
    matched: list[Leader] = []
    evidence: list[str] = []
    for leader in office.leader:
        why = routing._portfolio_evidence(leader, sender, title)
        if reading_scope:
            why += routing._reading_evidence(leader, title)
        if why:
            matched.append(leader)
            evidence.extend(why)
    assert routing.match_leaders(office, item, reading_scope=reading_scope) == (
        routing._by_rank(office, matched), tuple(evidence))
