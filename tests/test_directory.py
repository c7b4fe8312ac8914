"""Sender resolution and addressee matching against the example directory (core.directory)."""

from __future__ import annotations

import pytest

from core.config import load_settings
from core.directory import Directory, Organ, Relation, split_recipients
from tests.conftest import EXAMPLE


def name(organ: Organ | None) -> str | None:
    """An organ's name, None when no organ was found."""
    return organ.name if organ is not None else None


@pytest.fixture(scope="module")
def directory() -> Directory:
    return Directory.from_settings(load_settings(EXAMPLE))


def test_exact_address_beats_domain(directory: Directory) -> None:
    """An organ's own address wins over the domain it sits in (军分区 at our domain)."""
    m = directory.resolve_sender("jfq@gzz.gov.cn")
    assert name(m.organ) == "甘孜军分区"
    assert m.via == "address"


def test_domain_longest_suffix_and_subdomains(directory: Directory) -> None:
    """A subdomain matches its organ's domain; the longest configured domain wins."""
    m = directory.resolve_sender("someone@mail.czt.sc.gov.cn")
    assert name(m.organ) == "四川省财政厅"
    other = directory.resolve_sender("x@unknown.sc.gov.cn")
    assert name(other.organ) == "四川省人民政府"
    assert directory.resolve_sender("x@notsc.gov.cn").organ is None


def test_office_mailroom_sends_for_its_government(directory: Directory) -> None:
    """The 办公厅 address sending a 川府函 document is attributed to 四川省人民政府."""
    m = directory.resolve_sender("wenshu@sc.gov.cn", doc_number="川府函〔2024〕88号")
    assert name(m.organ) == "四川省人民政府"
    assert name(m.channel_organ) == "四川省人民政府办公厅"


def test_unrelated_doc_number_does_not_move_the_sender(directory: Directory) -> None:
    """A county quoting a provincial 字号 is still the county."""
    m = directory.resolve_sender("a@luding.gov.cn", doc_number="川办发〔2024〕1号")
    assert name(m.organ) == "泸定县人民政府"


def test_relay_attributes_to_issuer_by_code(directory: Directory) -> None:
    """Through the exchange relay the issuer is taken from the 字号 (longest code)."""
    m = directory.resolve_sender("exchange@sc.gov.cn", doc_number="国办明电〔2024〕3号")
    assert m.relayed
    assert name(m.organ) == "国务院办公厅"


def test_relay_falls_back_to_masthead_names(directory: Directory) -> None:
    """Without a 字号 the relay's issuer is the organ the document names (编印单位)."""
    m = directory.resolve_sender(
        "exchange@sc.gov.cn", organ_names=["政务情况交流", "国务院办公厅秘书局"]
    )
    assert name(m.organ) == "国务院办公厅"
    assert directory.resolve_sender("exchange@sc.gov.cn").organ is None


def test_fax_only_from_gateway(directory: Directory) -> None:
    """A fax station id identifies the organ only on mail from the fax gateway."""
    m = directory.resolve_sender("fax-gateway@gzz.gov.cn", fax_remote_id="0836-3322004")
    assert m.fax
    assert name(m.organ) == "九龙县人民政府"
    assert directory.resolve_sender("fax-gateway@gzz.gov.cn", fax_remote_id="999").organ is None
    other = directory.resolve_sender("x@example.com", fax_remote_id="08363322004")
    assert other.organ is None


def test_fax_station_ids_that_are_names() -> None:
    """Some fax machines send a name as their station id: an organ may list it among its
    `faxes`, matched whatever its width, case or spacing; numbers still by their digits."""
    settings = load_settings(EXAMPLE)
    orgs = [o.model_copy(update={"faxes": [*o.faxes, "KANGDING  GOV"]})
            if o.name == "康定市人民政府" else o for o in settings.org]
    d = Directory.from_settings(settings.model_copy(update={"org": orgs}))
    assert name(d.by_fax("kangding gov")) == "康定市人民政府"
    assert name(d.by_fax("ＫＡＮＧＤＩＮＧ ＧＯＶ")) == "康定市人民政府"
    assert name(d.by_fax("+86 836 2822001")) == "康定市人民政府"
    assert d.by_fax("LUDING GOV") is None
    assert d.by_fax("KANGDING") is None


def test_longest_code_prefix(directory: Directory) -> None:
    """An unlisted code falls to the longest listed code it starts with."""
    organ = directory.by_code("川财办〔2024〕3号")
    assert name(organ) == "四川省财政厅"
    county = directory.by_code("甘孜县府发〔2024〕3号")
    assert name(county) == "甘孜县人民政府"


def test_relations(directory: Directory) -> None:
    """Central/provincial organs are superiors, leading prefecture organs peers, the rest ours."""
    rel = {
        o: directory.organ(o)
        for o in (
            "国务院",
            "中共甘孜州委",
            "甘孜州财政局",
            "康定市人民政府",
            "甘孜州投资集团有限责任公司",
            "甘孜军分区",
        )
    }
    assert {k: v.relation for k, v in rel.items() if v} == {
        "国务院": Relation.SUPERIOR,
        "中共甘孜州委": Relation.PEER,
        "甘孜州财政局": Relation.SUBORDINATE,
        "康定市人民政府": Relation.SUBORDINATE,
        "甘孜州投资集团有限责任公司": Relation.SUBORDINATE,
        "甘孜军分区": Relation.PEER,
    }


def test_split_keeps_parentheses_whole() -> None:
    """Separators inside parentheses do not split a recipient."""
    assert split_recipients("各市（州）、县（市、区）人民政府；省级各部门") == [
        "各市(州)",
        "县(市、区)人民政府",
        "省级各部门",
    ]


@pytest.mark.parametrize(
    "line",
    [
        "甘孜州人民政府",
        "州人民政府",
        "州 政 府",
        "甘孜州财政局，甘孜州人民政府",
        "各市（州）人民政府，省政府各部门",
        "各市(州)人民政府",
        "四川省各市（州）人民政府办公室",
        "各市（州）、县（市、区）人民政府",
        "各县（市）党委、人民政府，州委各部委，州级各部门，州人民政府",
        "州人民政府办公室",
        "四川省甘孜藏族自治州人民政府",
        "甘孜州人民政府州长",
        "李州长",
        "王副州长",
    ],
)
def test_addressed_to_us(directory: Directory, line: str) -> None:
    """Aliases, groups, our office and our leaders are recognised in any width and spacing."""
    assert directory.addressed_to_us(line)


@pytest.mark.parametrize(
    "line",
    [
        "阿坝藏族羌族自治州人民政府",
        "甘孜州自然资源局",
        "各省、自治区、直辖市人民政府，国务院各部委",
        "各市（州）财政局",
        "州政府各部门",
        "阿坝州州长",
    ],
)
def test_not_addressed_to_us(directory: Directory, line: str) -> None:
    """Other organs and groups that do not include us are not us."""
    assert directory.addressed_to_us(line) is None


def test_names_other_peer(directory: Directory) -> None:
    """Another prefecture's government is a peer; provinces and groups are not."""
    assert directory.names_other_peer("阿坝藏族羌族自治州人民政府") == "阿坝藏族羌族自治州人民政府"
    assert directory.names_other_peer("成都市人民政府，凉山州人民政府") == "成都市人民政府"
    assert directory.names_other_peer("各省、自治区、直辖市人民政府") is None
    assert directory.names_other_peer("阿坝州人民政府，甘孜州人民政府") is None
    assert directory.names_other_peer("康定市人民政府") is None  # a county of ours


def test_names_only_specific_others(directory: Directory) -> None:
    """A line of specific other organs, with no group, is someone else's mail."""
    assert directory.names_only_specific_others("甘孜州自然资源局")
    assert not directory.names_only_specific_others("各市（州）财政局")
    assert not directory.names_only_specific_others("甘孜州人民政府")


def test_mentions_us(directory: Directory) -> None:
    """Our name inside a sentence counts; as the tail of another organ's name it does not."""
    assert directory.mentions_us("请州人民政府牵头组织实施")
    assert not directory.mentions_us("请阿坝州人民政府组织实施")


def test_section_named(directory: Directory) -> None:
    """A line naming one of our 科室 (alone or after our name) designates that section."""
    assert directory.section_named("甘孜州人民政府办公室综合科") == "综合科"
    assert directory.section_named("综合科") == "综合科"
    assert directory.section_named("甘孜州人民政府") is None
