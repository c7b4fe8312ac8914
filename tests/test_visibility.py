"""What may be shown of an item, to whom: the one decision (core.visibility), as a table."""

from __future__ import annotations

import itertools

import pytest

from core.model import Outcome
from core.visibility import CHAT_VIEWERS, Facts, Policy, Shown, Viewer, label, shown

L, D, S, SUB, DESK = Viewer.LEADER, Viewer.DUTY, Viewer.STAFF, Viewer.SUBSCRIBER, Viewer.DESK
DEFAULT = Policy()  # titles of classified items hidden, documents sent, no size limit
TITLES = Policy(classified_titles=True)
NO_DOCS = Policy(send_documents=False)
SMALL = Policy(upload_limit=1000)
KB = 500  # a document that fits every limit above
MB = 5000  # one over SMALL's limit

#: (outcome, secrecy, file size, viewer, policy) → envelope_only, classified, title,
#: doc_number, quotes, file
TABLE = [
    # a registered ordinary item: everything, the file when policy and size allow
    (Outcome.REGISTER, None, KB, L, DEFAULT, (False, False, True, True, True, True)),
    (Outcome.REGISTER, None, KB, SUB, DEFAULT, (False, False, True, True, True, True)),
    (Outcome.REGISTER, None, None, L, DEFAULT, (False, False, True, True, True, False)),
    (Outcome.REGISTER, None, KB, L, NO_DOCS, (False, False, True, True, True, False)),
    (Outcome.REGISTER, None, MB, L, SMALL, (False, False, True, True, True, False)),
    (Outcome.REGISTER, None, KB, L, SMALL, (False, False, True, True, True, True)),
    # classified: a notice; the title only when policy allows, never 文号, quotes or file
    (Outcome.REGISTER, "秘密", KB, L, DEFAULT, (False, True, False, False, False, False)),
    (Outcome.REGISTER, "机密", KB, D, DEFAULT, (False, True, False, False, False, False)),
    (Outcome.REGISTER, "秘密", KB, L, TITLES, (False, True, True, False, False, False)),
    (Outcome.REVIEW, "机密", KB, S, TITLES, (False, True, True, False, False, False)),
    # review: staff classify it by looking at it, so they get the file even without
    # send_documents; a leader never sees review items, but would not get it either
    (Outcome.REVIEW, None, KB, S, NO_DOCS, (False, False, True, True, True, True)),
    (Outcome.REVIEW, None, KB, L, NO_DOCS, (False, False, True, True, True, False)),
    (Outcome.REVIEW, None, MB, S, SMALL, (False, False, True, True, True, False)),
    # sealed and quarantined: the outside only, whatever the policy
    (Outcome.SEALED, None, KB, S, TITLES, (True, False, False, False, False, False)),
    (Outcome.SEALED, "绝密", KB, L, TITLES, (True, True, False, False, False, False)),
    (Outcome.QUARANTINE, None, KB, S, DEFAULT, (True, False, False, False, False, False)),
    (Outcome.QUARANTINE, "秘密", KB, S, TITLES, (True, True, False, False, False, False)),
    # returned items are told to staff like review items, without the file
    (Outcome.RETURN, None, KB, S, DEFAULT, (False, False, True, True, True, True)),
    (Outcome.RETURN, "秘密", KB, S, DEFAULT, (False, True, False, False, False, False)),
    # the registry's own terminal: everything but a sealed item's inside
    (Outcome.REGISTER, "机密", KB, DESK, DEFAULT, (False, True, True, True, True, True)),
    (Outcome.QUARANTINE, None, KB, DESK, DEFAULT, (False, False, True, True, True, True)),
    (Outcome.SEALED, "绝密", KB, DESK, TITLES, (False, True, False, True, False, False)),
]


@pytest.mark.parametrize(
    ("outcome", "secrecy", "size", "viewer", "policy", "expected"), TABLE,
    ids=[f"{o.value}-{s}-{z}-{v.value}-{i}" for i, (o, s, z, v, _p, _e) in enumerate(TABLE)],
)
def test_table(
    outcome: Outcome, secrecy: str | None, size: int | None, viewer: Viewer, policy: Policy,
    expected: tuple[bool, ...],
) -> None:
    got = shown(Facts(outcome.value, secrecy, size), viewer, policy)
    assert got == Shown(*expected)


ALL = list(itertools.product(
    list(Outcome), [None, "秘密", "机密", "绝密"], [None, 0, KB, MB], list(Viewer),
    [DEFAULT, TITLES, NO_DOCS, SMALL, Policy(True, False, 1000)],
))


@pytest.mark.parametrize("case", ALL)
def test_every_combination_keeps_the_secrecy_rules(
    case: tuple[Outcome, str | None, int | None, Viewer, Policy],
) -> None:
    """DOMAIN §2 and §7 hold for every combination of facts, viewer and policy."""
    outcome, secrecy, size, viewer, policy = case
    got = shown(Facts(outcome.value, secrecy, size), viewer, policy)
    assert got.classified == bool(secrecy)
    if viewer in CHAT_VIEWERS:
        if outcome in (Outcome.SEALED, Outcome.QUARANTINE):
            assert got == Shown(True, bool(secrecy), False, False, False, False)
        if secrecy:
            assert not got.doc_number
            assert not got.quotes
            assert not got.file
            assert got.title == (policy.classified_titles and not got.envelope_only)
        if got.file:  # the chat can carry it
            assert size
            assert policy.upload_limit is None or size <= policy.upload_limit
    if outcome is Outcome.SEALED:
        assert not got.title
        assert not got.quotes
        assert not got.file


def test_label_hides_a_classified_title() -> None:
    hidden = shown(Facts("register", "秘密"), L, DEFAULT)
    assert label("办2026-0001", "关于某事的通知", hidden) == "办2026-0001（涉密件）"
    open_ = shown(Facts("register", None), L, DEFAULT)
    assert label("办2026-0001", "关于某事的通知", open_) == "办2026-0001《关于某事的通知》"
    assert label("收件序号 3", None, open_) == "收件序号 3"
