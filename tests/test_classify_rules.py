"""One test per intake check and per classification rule, on small inline documents."""

from __future__ import annotations

from collections.abc import Mapping
from email.message import EmailMessage

import pytest

from core.config import Leader, load_settings
from core.directory import Directory
from core.model import Channel, Kind, Outcome, Reason
from core.reading.checks import AttachmentState, Item
from core.reading.classify import Verdict, judge
from core.reading.decide import JSON_KEYS, decide
from core.reading.fields import extract_fields
from tests.conftest import EXAMPLE

SETTINGS = load_settings(EXAMPLE)
DIRECTORY = Directory.from_settings(SETTINGS)

COUNTY = "wenshu@luding.gov.cn"  # 泸定县人民政府, subordinate
DEPARTMENT = "wenshu@fgw.gzz.gov.cn"  # 甘孜州发展和改革委员会, subordinate
PROVINCE = "wenshu@sc.gov.cn"  # 四川省人民政府办公厅, superior
PROVINCE_DEPT = "wenshu@edu.sc.gov.cn"  # 四川省教育厅, superior
PARTY = "wenshu@gzzw.gov.cn"  # 中共甘孜州委, peer-or-leading
RELAY = "exchange@sc.gov.cn"
GOOD_SHA = "a" * 64


def doc(head: str, title: str, main: str | None, body: str, cc: str | None = None) -> str:
    """A document in GB/T 9704 order: masthead+字号, title, 主送, 正文, signature, 抄送."""
    lines = [*head.split("\n"), title]
    if main is not None:
        lines.append(main + "：")
    lines += [*body.split("\n"), "某机关", "2024年5月6日"]
    if cc is not None:
        lines.append(f"抄送：{cc}。")
    return "\n".join(lines)


def item(
    text: str,
    sender: str = COUNTY,
    *,
    subject: str = "公文",
    headers: Mapping[str, str] | None = None,
    manifest: Mapping[str, object] | None = None,
    attachments: tuple[AttachmentState, ...] = (),
    findings: frozenset[str] = frozenset(),
    parsed_ok: bool = True,
    fax_id: str | None = None,
    directory: Directory = DIRECTORY,
) -> Item:
    fields = extract_fields(text, year_hint=2024)
    match = directory.resolve_sender(
        sender,
        doc_number=fields.doc_number.value if fields.doc_number else None,
        organ_names=fields.organ_names,
        fax_remote_id=fax_id,
    )
    return Item(
        parsed_ok=parsed_ok,
        subject=subject,
        headers=headers or {},
        to_names=(),
        sender=match,
        fields=fields,
        has_text=bool(text.strip()),
        attachments=attachments,
        manifest=manifest,
        finding_codes=findings,
    )


def verdict(
    it: Item, seen: frozenset[str] = frozenset(), directory: Directory = DIRECTORY
) -> Verdict:
    return judge(it, directory, seen_envelope=seen.__contains__)


def pdf(status: str = "ok", sha: str = GOOD_SHA) -> tuple[AttachmentState, ...]:
    return (AttachmentState("doc.pdf", "application/pdf", sha, 100, status),)


QINGSHI = doc(
    "泸定县人民政府文件\n泸府〔2024〕30号　签发人：王某",
    "泸定县人民政府关于申请解决学校建设资金的请示",
    "甘孜州人民政府",
    "我县学校建设资金缺口较大。\n以上请示妥否，请批示。",
)

# ----------------------------------------------------------------- checks


def test_unparseable_is_quarantined() -> None:
    """A message that cannot be parsed goes to quarantine for staff."""
    v = verdict(item("", parsed_ok=False))
    assert (v.outcome, v.reason) == (Outcome.QUARANTINE, Reason.UNPARSEABLE)


@pytest.mark.parametrize(
    ("subject", "headers", "text"),
    [
        ("公文", {"X-Personal": "亲启"}, QINGSHI),
        ("州长亲启", {}, QINGSHI),
        ("公文", {}, QINGSHI.replace("甘孜州人民政府：", "甘孜州人民政府州长（亲启）：")),
    ],
)
def test_personal_is_sealed(subject: str, headers: dict[str, str], text: str) -> None:
    """亲启 in the X-Personal header, the subject or the addressee seals the item."""
    v = verdict(item(text, subject=subject, headers=headers))
    assert (v.outcome, v.reason) == (Outcome.SEALED, Reason.PERSONAL)


def test_leader_who_keeps_mail_sealed() -> None:
    """Mail addressed by name to a leader who asked for it stays sealed; others' is opened."""
    leaders = [
        Leader(name="州长", title="州长", chat_id=1, rank=1, keep_sealed=True),
        Leader(name="常务副州长", title="副州长", chat_id=2, rank=2),
    ]
    directory = Directory.from_settings(SETTINGS.model_copy(update={"leader": leaders}))
    text = QINGSHI.replace("甘孜州人民政府：", "甘孜州人民政府州长：")
    v = verdict(item(text, directory=directory), directory=directory)
    assert (v.outcome, v.reason, v.rule) == (Outcome.SEALED, Reason.PERSONAL, "leader_sealed")
    other = QINGSHI.replace("甘孜州人民政府：", "甘孜州人民政府常务副州长：")
    v = verdict(item(other, directory=directory), directory=directory)
    assert v.outcome is Outcome.REGISTER


def test_top_secret_by_subject_or_marking() -> None:
    """绝密 in the subject or as the document's 密级 seals the item."""
    assert verdict(item(QINGSHI, subject="绝密件")).reason is Reason.TOP_SECRET
    marked = "000001\n绝密★长期\n" + QINGSHI
    v = verdict(item(marked))
    assert (v.outcome, v.reason, v.evidence) == (Outcome.SEALED, Reason.TOP_SECRET, "绝密★长期")


def test_secret_but_not_top_secret_is_opened() -> None:
    """机密 and 秘密 items are opened and classified (only 绝密 stays sealed)."""
    v = verdict(item("000001\n机密★1年\n" + QINGSHI))
    assert (v.outcome, v.kind) == (Outcome.REGISTER, Kind.BAN)


def test_section_is_sealed() -> None:
    """Mail addressed to one of our 科室 goes there unopened."""
    text = QINGSHI.replace("甘孜州人民政府：", "甘孜州人民政府办公室政务公开科：")
    v = verdict(item(text))
    assert (v.outcome, v.reason) == (Outcome.SEALED, Reason.SECTION)


def test_unknown_sender_is_quarantined() -> None:
    """A sender that is no organ, relay or fax we know goes to quarantine."""
    v = verdict(item(QINGSHI, sender="sales@example-it.com"))
    assert (v.outcome, v.reason) == (Outcome.QUARANTINE, Reason.UNKNOWN_SENDER)


def _manifest(**changes: object) -> dict[str, object]:
    base: dict[str, object] = {
        "envelope_no": "泸2024-000301",
        "from": "泸定县人民政府",
        "to": "甘孜藏族自治州人民政府",
        "documents": [{"doc_number": "泸府〔2024〕30号"}],
        "sha256": GOOD_SHA,
    }
    base.update(changes)
    return base


def test_matching_manifest_is_accepted() -> None:
    """A 签收单 whose sender, addressee, envelope and documents match lets the item in."""
    v = verdict(item(QINGSHI, manifest=_manifest(), attachments=pdf()))
    assert (v.outcome, v.kind) == (Outcome.REGISTER, Kind.BAN)


@pytest.mark.parametrize(
    "change",
    [
        {"from": "丹巴县人民政府"},
        {"to": "凉山彝族自治州人民政府"},
        {"documents": [{"doc_number": "泸府〔2024〕31号"}]},
        {"envelope_no": ""},
    ],
)
def test_manifest_mismatch_is_returned(change: dict[str, object]) -> None:
    """A 签收单 naming another sender, addressee or document sends the item back."""
    v = verdict(item(QINGSHI, manifest=_manifest(**change), attachments=pdf()))
    assert (v.outcome, v.reason) == (Outcome.RETURN, Reason.MANIFEST_MISMATCH)


def test_envelope_number_used_before_is_returned() -> None:
    """An envelope number already signed for is a mismatch."""
    v = verdict(
        item(QINGSHI, manifest=_manifest(), attachments=pdf()), seen=frozenset({"泸2024-000301"})
    )
    assert v.reason is Reason.MANIFEST_MISMATCH


def test_unreadable_manifest_is_returned() -> None:
    """A 签收单 that is not valid JSON cannot be checked: returned as a mismatch."""
    v = verdict(item(QINGSHI, findings=frozenset({"manifest_invalid"}), attachments=pdf()))
    assert v.reason is Reason.MANIFEST_MISMATCH


def test_damaged_attachment_is_returned() -> None:
    """A document part that does not open is returned as damaged."""
    v = verdict(item(QINGSHI, attachments=pdf("damaged")))
    assert (v.outcome, v.reason) == (Outcome.RETURN, Reason.DAMAGED)


def test_manifest_hash_mismatch_is_damaged() -> None:
    """A part whose sha256 differs from the 签收单's is damaged, not a manifest mismatch."""
    v = verdict(item(QINGSHI, manifest=_manifest(), attachments=pdf(sha="b" * 64)))
    assert (v.outcome, v.reason) == (Outcome.RETURN, Reason.DAMAGED)


def test_misdirected_to_another_prefecture() -> None:
    """A document whose 主送 is another prefecture's government is returned."""
    text = doc(
        "四川省教育厅文件\n川教〔2024〕9号",
        "四川省教育厅关于开学工作的通知",
        "阿坝藏族羌族自治州人民政府",
        "请于2024年9月1日前报送。",
    )
    v = verdict(item(text, PROVINCE_DEPT))
    assert (v.outcome, v.reason) == (Outcome.RETURN, Reason.MISDIRECTED)


def test_misdirected_to_a_specific_other_organ() -> None:
    """A direct document for a specific organ that is not us (and does not copy us) is returned."""
    text = doc(
        "四川省教育厅文件\n川教〔2024〕9号",
        "四川省教育厅关于开学工作的通知",
        "甘孜州教育和体育局",
        "请于2024年9月1日前报送。",
    )
    assert verdict(item(text, PROVINCE_DEPT)).reason is Reason.MISDIRECTED


def test_relayed_central_document_to_provinces_is_not_misdirected() -> None:
    """A central document relayed down is received under its scope though 主送 names provinces."""
    text = doc(
        "国务院办公厅文件\n国办发〔2024〕9号",
        "国务院办公厅关于做好防汛工作的通知",
        "各省、自治区、直辖市人民政府，国务院各部委、各直属机构",
        "请各地区于2024年7月15日前报送落实情况。",
    )
    v = verdict(item(text, RELAY))
    assert (v.outcome, v.kind) == (Outcome.REGISTER, Kind.BAN)


def test_relayed_document_naming_another_prefecture_is_misdirected() -> None:
    """A relayed document naming another prefecture, and nothing covering us, is returned."""
    text = doc(
        "国务院办公厅文件\n国办函〔2024〕21号",
        "国务院办公厅关于同意某市开展试点的复函",
        "成都市人民政府",
        "同意你市开展试点。",
    )
    assert verdict(item(text, RELAY)).reason is Reason.MISDIRECTED


def test_image_without_text_is_unreadable() -> None:
    """A fax image with no text layer waits for staff (review, unreadable)."""
    fax = (AttachmentState("fax.tif", "image/tiff", GOOD_SHA, 10, "image"),)
    v = verdict(item("", "fax-gateway@gzz.gov.cn", attachments=fax, fax_id="08363322004"))
    assert (v.outcome, v.reason) == (Outcome.REVIEW, Reason.UNREADABLE)


# ------------------------------------------------------------- kind rules


def _kind(text: str, sender: str = COUNTY) -> tuple[Outcome, Kind | None, str]:
    v = verdict(item(text, sender))
    return v.outcome, v.kind, v.rule


def test_neikan_internal_superior_periodical() -> None:
    """A provincial periodical marked 内部参阅 is a 内刊."""
    text = "决策参考\n第7期　中共四川省委办公厅编\n决策参考（第7期）\n内部参阅，注意保存。"
    assert _kind(text, RELAY) == (Outcome.REGISTER, Kind.NEIKAN, "neikan")


def test_neikan_by_classification() -> None:
    """A classified central periodical without other markers is a 内刊 too."""
    text = "秘密★6个月\n政务要情\n第3期　国务院办公厅编　2024年5月6日\n政务要情（第3期）\n一、……"
    assert _kind(text, RELAY)[1] is Kind.NEIKAN


def test_subordinate_internal_periodical_is_jianbao() -> None:
    """内部资料 from a county is still a 简报 (内刊 are central/provincial)."""
    text = "泸定工作动态\n第9期　泸定县人民政府办公室编\n泸定工作动态（第9期）\n内部资料。"
    assert _kind(text, COUNTY) == (Outcome.REGISTER, Kind.JIANBAO, "jianbao")


def test_superior_plain_periodical_is_jianbao() -> None:
    """A provincial bulletin without internal markers is a 简报."""
    text = "农业农村工作动态\n第58期　四川省农业农村厅办公室编　2024年10月18日\n全省秋粮收获过半……"
    assert _kind(text, "wenshu@nynct.sc.gov.cn")[1] is Kind.JIANBAO


def test_subordinate_copy_is_chaojian_even_when_asking() -> None:
    """A subordinate's document that only copies us is a 抄件 even when it asks for action."""
    text = doc(
        "甘孜州发展和改革委员会文件\n甘发改〔2024〕77号",
        "甘孜州发展和改革委员会关于报送项目进展的通知",
        "各县（市）发展和改革局",
        "请于2024年6月10日前报送项目进展情况。",
        cc="州人民政府办公室",
    )
    assert _kind(text, DEPARTMENT) == (Outcome.REGISTER, Kind.CHAO, "chaojian")


def test_subordinate_qingshi_copied_to_us_is_chaojian() -> None:
    """Rule order: 抄件 comes before the 请示 rule."""
    text = QINGSHI.replace("甘孜州人民政府：", "甘孜州财政局：") + "\n抄送：州人民政府。"
    assert _kind(text)[1] is Kind.CHAO


def test_party_centre_is_yuejian_whatever_the_wording() -> None:
    """A 中共中央 document saying 请认真贯彻执行 is a 阅件 for the government."""
    text = doc(
        "中共中央文件\n中发〔2024〕3号",
        "中共中央关于加强基层治理的意见",
        "各省、自治区、直辖市党委和人民政府",
        "请结合实际认真贯彻执行，于2024年6月30日前报送。",
    )
    assert _kind(text, RELAY) == (Outcome.REGISTER, Kind.YUE, "party_centre")


def test_superior_copy_is_yuejian() -> None:
    """A superior copying us for information is a 阅件, whatever it asks of its 主送."""
    text = doc(
        "四川省教育厅文件\n川教〔2024〕120号",
        "四川省教育厅关于做好高考组织工作的通知",
        "甘孜州教育和体育局",
        "请于2024年6月1日前报送考务安排。",
        cc="甘孜州人民政府",
    )
    assert _kind(text, PROVINCE_DEPT) == (Outcome.REGISTER, Kind.YUE, "superior_copy")


def test_unclear_group_goes_to_review() -> None:
    """A direct document to a group that does not clearly include us waits for staff."""
    text = doc(
        "四川省财政厅文件\n川财预〔2024〕20号",
        "四川省财政厅关于做好预算执行工作的通知",
        "各市（州）财政局",
        "请于2024年6月30日前报送。",
    )
    v = verdict(item(text, "wenshu@czt.sc.gov.cn"))
    assert (v.outcome, v.kind, v.reason, v.rule) == (
        Outcome.REVIEW,
        None,
        None,
        "addressee_unclear",
    )


def test_missing_addressee_goes_to_review() -> None:
    """No 主送 and no 抄送 and no periodical markers: be conservative."""
    text = "泸定县人民政府文件\n泸府〔2024〕31号\n泸定县人民政府关于资金的请示\n请批示。"
    assert _kind(text) == (Outcome.REVIEW, None, "addressee_missing")


def test_announcement_without_addressee_is_yuejian() -> None:
    """A 公告 has no 主送 by nature; it is read, not handled."""
    text = "四川省人民政府\n四川省人民政府关于某某事项的公告\n现将有关事项公告如下。\n特此公告。"
    assert _kind(text, PROVINCE)[:2] == (Outcome.REGISTER, Kind.YUE)


def test_qingshi_from_county_is_banjian() -> None:
    """A 请示 from a county is always a 办件."""
    assert _kind(QINGSHI) == (Outcome.REGISTER, Kind.BAN, "qingshi")


def test_report_asking_pizhuan_is_banjian() -> None:
    """A 报告 asking us to 批转 it is a 办件."""
    text = doc(
        "甘孜州农业农村局文件\n甘农〔2024〕15号",
        "甘孜州农业农村局关于春耕生产方案的报告",
        "州人民政府",
        "现将方案报上。\n如无不妥，请批转各县（市）执行。",
    )
    assert _kind(text, "a@nyncj.gzz.gov.cn") == (Outcome.REGISTER, Kind.BAN, "report_request")


def test_report_tecibaogao_is_yuejian() -> None:
    """A 报告 that ends 特此报告 with no request is a 阅件."""
    text = doc(
        "甘孜州农业农村局文件\n甘农〔2024〕16号",
        "甘孜州农业农村局关于春耕生产情况的报告",
        "州人民政府",
        "春耕生产进展顺利。\n特此报告。",
    )
    assert _kind(text, "a@nyncj.gzz.gov.cn") == (Outcome.REGISTER, Kind.YUE, "informational")


def test_report_asking_only_to_read_is_yuejian() -> None:
    """请审阅 in a 报告 is a courtesy, not a request to act."""
    text = doc(
        "丹巴县人民政府文件\n丹府〔2024〕41号",
        "丹巴县人民政府关于经济运行情况的报告",
        "甘孜州人民政府",
        "上半年经济运行平稳。\n请审阅。",
    )
    assert _kind(text, "a@danba.gov.cn")[1] is Kind.YUE


def test_letter_asking_opinion_is_banjian() -> None:
    """A 函 asking for our opinion (征求意见) is a 办件."""
    text = doc(
        "四川省人民政府\n川府函〔2024〕88号",
        "四川省人民政府关于征求办法修订意见的函",
        "各市（州）人民政府",
        "现征求你单位意见。",
    )
    assert _kind(text, PROVINCE) == (Outcome.REGISTER, Kind.BAN, "letter_request")


def test_letter_that_only_informs_is_yuejian() -> None:
    """A superior's 函 that only informs (特此函告), or reports 落实情况 供参阅, is a 阅件."""
    text = doc(
        "四川省自然资源厅\n川自然资函〔2024〕90号",
        "四川省自然资源厅关于调整联系人的函",
        "甘孜州人民政府",
        "联系人变更为李某。\n特此函告。",
    )
    assert _kind(text, "a@dnr.sc.gov.cn")[1] is Kind.YUE
    text = doc(
        "四川省人民政府办公厅\n川办函〔2024〕77号",
        "四川省人民政府办公厅关于工作要点落实情况的函",
        "各市（州）人民政府",
        "现将各地落实情况予以通报。\n供参阅。",
    )
    assert _kind(text, PROVINCE)[1] is Kind.YUE


def test_urgent_telegram_with_instructions_is_banjian() -> None:
    """A 加急 明传电报 with instructions is a 办件."""
    text = doc(
        "加急\n四川省人民政府办公厅明传电报\n川办明电〔2024〕60号",
        "四川省人民政府办公厅关于做好抗旱工作的紧急通知",
        "各市（州）人民政府",
        "当前旱情持续发展，各地要立即启动应急响应。",
    )
    assert _kind(text, PROVINCE) == (Outcome.REGISTER, Kind.BAN, "urgent_telegram")


def test_proposals_to_answer_are_banjian() -> None:
    """提案 handed to us to answer make a 办件."""
    text = doc(
        "中共甘孜州委办公室文件\n甘委办〔2024〕5号",
        "中共甘孜州委办公室关于交办政协提案的通知",
        "州人民政府",
        "现将政协委员提案交你单位，请认真办理并答复提案人。",
    )
    assert _kind(text, "wenshu@gzzw.gov.cn") == (Outcome.REGISTER, Kind.BAN, "proposal")


def test_deadline_makes_banjian() -> None:
    """A superior's document addressed to us with 于…前报送 is a 办件."""
    text = doc(
        "四川省应急管理厅文件\n川应急〔2024〕71号",
        "四川省应急管理厅关于加强汛期安全防范的通知",
        "各市（州）人民政府",
        "请于2024年8月5日前报告落实情况。",
    )
    assert _kind(text, "a@yjt.sc.gov.cn") == (Outcome.REGISTER, Kind.BAN, "deadline")


def test_request_to_act_makes_banjian() -> None:
    """请…组织实施 addressed to us is a 办件 (a 批复 that asks us to implement)."""
    text = doc(
        "四川省人民政府文件\n川府函〔2024〕150号",
        "四川省人民政府关于同意调整行政区划的批复",
        "甘孜州人民政府",
        "同意调整。\n请认真组织实施。",
    )
    assert _kind(text, PROVINCE) == (Outcome.REGISTER, Kind.BAN, "action_request")


def test_narrative_qing_is_not_a_request() -> None:
    """A 请 inside a narrative clause (经提请…审议通过) asks nothing: the 通报 is a 阅件."""
    text = doc(
        "四川省应急管理厅文件\n川应急〔2024〕80号",
        "四川省应急管理厅关于安全生产检查情况的通报",
        "各市（州）人民政府",
        "检查方案经提请厅务会审议通过后实施。\n现予通报。",
    )
    assert _kind(text, "a@yjt.sc.gov.cn") == (Outcome.REGISTER, Kind.YUE, "informational")


def test_addressee_before_qing_is_a_request() -> None:
    """各市（州）请…报送 is an imperative with its addressee first: 办件."""
    text = doc(
        "四川省应急管理厅文件\n川应急〔2024〕81号",
        "四川省应急管理厅关于安全生产检查情况的通报",
        "各市（州）人民政府",
        "现予通报。\n各市（州）请对照问题清单认真整改并报送整改情况。",
    )
    assert _kind(text, "a@yjt.sc.gov.cn") == (Outcome.REGISTER, Kind.BAN, "action_request")


@pytest.mark.parametrize(
    "closing", ["望认真贯彻执行。", "遵照执行。", "现印发给你们，请遵照执行。"]
)
def test_instruction_without_subject_is_banjian(closing: str) -> None:
    """望…执行 / a bare 遵照执行 closing a superior's 通知 to us is an instruction: 办件."""
    text = doc(
        "四川省人民政府办公厅文件\n川办发〔2024〕60号",
        "四川省人民政府办公厅关于印发管理办法的通知",
        "各市（州）人民政府",
        f"《管理办法》已经省政府同意。\n{closing}",
    )
    assert _kind(text, PROVINCE)[:2] == (Outcome.REGISTER, Kind.BAN)


def test_directive_in_opinion_is_banjian() -> None:
    """各地要… in a superior's 意见 addressed to us is an instruction: 办件."""
    text = doc(
        "四川省人民政府文件\n川府发〔2024〕10号",
        "四川省人民政府关于加快发展现代农业的意见",
        "各市（州）人民政府",
        "各地要结合实际，制定具体措施。",
    )
    assert _kind(text, PROVINCE) == (Outcome.REGISTER, Kind.BAN, "directive")


def test_commendation_decision_is_yuejian() -> None:
    """A 表彰决定 calling on 各地 to learn from models asks nothing of us: 阅件."""
    text = doc(
        "四川省人民政府文件\n川府发〔2024〕11号",
        "四川省人民政府关于表彰先进集体的决定",
        "各市（州）人民政府",
        "各地要以受表彰的先进为榜样。",
    )
    assert _kind(text, PROVINCE)[1] is Kind.YUE


def test_notice_without_request_is_yuejian() -> None:
    """A 通知 that only informs (放假安排, 特此通知) is a 阅件."""
    text = doc(
        "四川省人民政府办公厅文件\n川办发〔2024〕50号",
        "四川省人民政府办公厅关于国庆节放假安排的通知",
        "各市（州）人民政府",
        "现将放假安排通知如下：10月1日至7日放假。\n特此通知。",
    )
    assert _kind(text, PROVINCE) == (Outcome.REGISTER, Kind.YUE, "informational")


def test_peer_copy_asking_us_is_banjian() -> None:
    """A leading organ copying us but naming us in a request (请州人民政府…) is a 办件."""
    text = doc(
        "中共甘孜州委文件\n甘委发〔2024〕21号",
        "中共甘孜州委关于开展调研的通知",
        "州委各部委",
        "请州人民政府配合做好调研保障。",
        cc="州人大常委会，州政府",
    )
    assert _kind(text, PARTY) == (Outcome.REGISTER, Kind.BAN, "action_request")


def test_peer_copy_for_information_is_yuejian() -> None:
    """A leading organ copying us without asking us anything is a 阅件."""
    text = doc(
        "中共甘孜州委文件\n甘委发〔2024〕20号",
        "中共甘孜州委关于表彰先进基层党组织的决定",
        "各县（市）党委，州委各部委",
        "请认真组织学习。",
        cc="州人大常委会，州政府，州政协",
    )
    assert _kind(text, PARTY) == (Outcome.REGISTER, Kind.YUE, "no_request")


def test_peer_resolution_for_reference_is_yuejian() -> None:
    """A 决议 from 州人大 sent 供参阅 is a 阅件."""
    text = doc(
        "甘孜州人大常委会文件\n甘人大常〔2024〕5号",
        "甘孜州人大常委会关于批准决算的决议",
        "州人民政府",
        "现将决议印发给你们，供参阅。",
    )
    assert _kind(text, "a@gzrd.gov.cn")[1] is Kind.YUE


def test_unknown_doc_type_goes_to_review() -> None:
    """Text with no recognisable title or 文种 cannot be classified with confidence."""
    text = "泸定县人民政府\n泸府〔2024〕32号\n有关情况\n甘孜州人民政府：\n有关情况如下。"
    assert _kind(text) == (Outcome.REVIEW, None, "doc_type_unknown")


# ------------------------------------------------------------- pipeline


def _mail(sender: str, body: str, subject: str = "公文", **headers: str) -> bytes:
    m = EmailMessage()
    m["From"] = sender
    m["To"] = "shouwen@gzz.gov.cn"
    m["Subject"] = subject
    m["Date"] = "Mon, 03 Jun 2024 10:00:00 +0800"
    m["Message-ID"] = "<t@test>"
    for k, v in headers.items():
        m[k.replace("_", "-")] = v
    m.set_content(body)
    return m.as_bytes()


def test_decide_body_document() -> None:
    """decide() reads a document carried in the mail body and keeps its text and fields."""
    d = decide(_mail(COUNTY, QINGSHI), DIRECTORY)
    assert (d.outcome, d.kind, d.rule) == (Outcome.REGISTER, Kind.BAN, "qingshi")
    assert d.sender == "泸定县人民政府"
    assert d.doc_number == "泸府〔2024〕30号"
    assert d.channel is Channel.EMAIL
    assert d.fields is not None
    assert d.text == QINGSHI
    assert list(d.as_json_row("x.eml")) == list(JSON_KEYS)


def test_decide_sealed_keeps_no_text() -> None:
    """A 亲启 item keeps only its envelope data: not the document's text, fields or 字号
    (it is read from inside, DOMAIN §2)."""
    d = decide(_mail(COUNTY, QINGSHI, subject="州长亲启"), DIRECTORY)
    assert (d.outcome, d.reason) == (Outcome.SEALED, Reason.PERSONAL)
    assert d.text == ""
    assert d.fields is None
    assert d.deadline is None
    assert d.doc_number is None
    assert d.sender == "泸定县人民政府"  # by its own From address


def test_decide_never_raises() -> None:
    """An exception inside intake (here a failing envelope look-up) quarantines the item."""

    def broken(_no: str) -> bool:
        raise RuntimeError("storage down")

    msg = EmailMessage()
    msg["From"] = COUNTY
    msg["Subject"] = "公文"
    msg.set_content(QINGSHI)
    manifest = '{"envelope_no": "E1", "from": "泸定县人民政府", "to": "州政府"}'
    msg.add_attachment(
        manifest.encode(), maintype="application", subtype="json", filename="签收单.json"
    )
    raw = msg.as_bytes()
    assert decide(raw, DIRECTORY).outcome is Outcome.REGISTER
    d = decide(raw, DIRECTORY, seen_envelope=broken)
    assert (d.outcome, d.reason, d.rule) == (
        Outcome.QUARANTINE,
        Reason.UNPARSEABLE,
        "internal_error",
    )
    assert any(f.code == "internal_error" for f in d.findings)


def test_decide_garbage_is_quarantined() -> None:
    """Bytes that are no mail at all are quarantined as unparseable."""
    d = decide(b"\x00\x01 not a message", DIRECTORY)
    assert (d.outcome, d.reason) == (Outcome.QUARANTINE, Reason.UNPARSEABLE)


def test_decide_fax_channel() -> None:
    """Mail from the fax gateway is a fax, attributed by its remote station id."""
    d = decide(_mail("fax-gateway@gzz.gov.cn", QINGSHI, X_Fax_Remote_ID="08363122002"), DIRECTORY)
    assert d.channel is Channel.FAX
    assert d.fax_remote_id == "08363122002"
    assert d.sender == "泸定县人民政府"
    assert d.kind is Kind.BAN


# ------------------------------------ fax station and document (issue 13)

LUDING_FAX = "08363122002"  # 泸定县人民政府's fax
KANGDING_FAX = "08362822001"  # 康定市人民政府's


def test_fax_whose_station_and_docno_agree_is_decided() -> None:
    """泸定县's fax number, 泸府 字号, 泸定县 版头: registered as the document says."""
    v = verdict(item(QINGSHI, "fax-gateway@gzz.gov.cn", fax_id=LUDING_FAX))
    assert (v.outcome, v.kind, v.rule) == (Outcome.REGISTER, Kind.BAN, "qingshi")


def test_fax_from_the_issuers_own_office_agrees() -> None:
    """The county government's 字号 faxed from its 办公室's machine is one mailroom."""
    text = QINGSHI.replace("泸府〔2024〕30号", "泸府办发〔2024〕30号")
    v = verdict(item(text, "fax-gateway@gzz.gov.cn", fax_id=LUDING_FAX))
    assert (v.outcome, v.kind) == (Outcome.REGISTER, Kind.BAN)


def test_fax_whose_station_and_docno_disagree_goes_to_review() -> None:
    """康定市's fax machine sending 泸定县's 请示: not registered under either until
    staff say who sent it."""
    v = verdict(item(QINGSHI, "fax-gateway@gzz.gov.cn", fax_id=KANGDING_FAX))
    assert (v.outcome, v.reason, v.rule) == (Outcome.REVIEW, Reason.FAX_MISMATCH,
                                             "fax_station")
    assert v.evidence == (
        f"传真来自 {KANGDING_FAX}，属康定市人民政府；而发文字号 泸府〔2024〕30号属"
        "泸定县人民政府，请核对来文单位")


def test_fax_whose_station_disagrees_with_its_masthead_goes_to_review() -> None:
    """No 字号 to go by: the 版头 names the issuer, and it is not the station's."""
    text = QINGSHI.replace("泸府〔2024〕30号　签发人：王某", "")
    v = verdict(item(text, "fax-gateway@gzz.gov.cn", fax_id=KANGDING_FAX))
    assert (v.outcome, v.reason) == (Outcome.REVIEW, Reason.FAX_MISMATCH)
    assert "发文机关 泸定县人民政府属泸定县人民政府" in v.evidence


def test_fax_from_an_unknown_station_naming_a_known_issuer_goes_to_review() -> None:
    v = verdict(item(QINGSHI, "fax-gateway@gzz.gov.cn", fax_id="02888886666"))
    assert (v.outcome, v.reason) == (Outcome.REVIEW, Reason.FAX_MISMATCH)
    assert v.evidence.startswith("传真来自 02888886666，该号码不在机关名录中；发文字号 ")


def test_decide_a_fax_from_another_organs_station() -> None:
    """The whole message, station id in the subject only (as some gateways send it)."""
    raw = _mail("fax-gateway@gzz.gov.cn", QINGSHI, subject=f"Fax from {KANGDING_FAX} (1 pages)")
    d = decide(raw, DIRECTORY)
    assert (d.channel, d.outcome, d.reason) == (Channel.FAX, Outcome.REVIEW,
                                                Reason.FAX_MISMATCH)
    assert d.fax_remote_id == KANGDING_FAX
    assert d.doc_number == "泸府〔2024〕30号"  # kept for staff, who decide the sender


def test_fax_from_an_unknown_station_naming_no_known_organ_is_quarantined() -> None:
    text = "某某公司文件\n某司〔2024〕3号\n\n关于合作的函\n\n甘孜州人民政府：\n请回复。"
    v = verdict(item(text, "fax-gateway@gzz.gov.cn", fax_id="02888886666"))
    assert (v.outcome, v.reason) == (Outcome.QUARANTINE, Reason.UNKNOWN_SENDER)


# ------------------------------------ addressees, quotations (issue 14)


def test_relayed_reply_to_a_ministry_is_for_reading() -> None:
    """A 批复 to another organ, relayed down to us: its 请… speaks to its 主送."""
    text = doc(
        "国务院文件\n国函〔2024〕31号",
        "国务院关于同意建立某某联席会议制度的批复",
        "某某部",
        "你部《关于建立某某联席会议制度的请示》收悉。现批复如下：\n"
        "同意建立某某联席会议制度，请按照有关文件精神认真组织开展工作。",
    )
    v = verdict(item(text, RELAY))
    assert (v.outcome, v.kind, v.rule) == (Outcome.REGISTER, Kind.YUE, "request_to_others")
    assert "某某部" in v.evidence


def test_relayed_reply_to_named_provinces_is_for_reading() -> None:
    """Named provinces, with a parenthesis saying what they stand for, are not a group."""
    text = doc(
        "国务院办公厅文件\n国办发〔2024〕12号",
        "国务院办公厅转发某部关于某某问题请示的通知",
        "北京、河北、四川、陕西省（自治区、直辖市）人民政府",
        "请你们认真组织，大力支持，确保此项工作顺利进行。",
    )
    assert verdict(item(text, RELAY)).kind is Kind.YUE


def test_relayed_request_to_others_that_names_us_is_still_ours() -> None:
    text = doc(
        "国务院办公厅文件\n国办函〔2024〕40号",
        "国务院办公厅关于某某事项的函",
        "四川省人民政府",
        "你省转告有关地方。请甘孜州人民政府于2024年9月1日前报送方案。",
    )
    assert verdict(item(text, RELAY)).kind is Kind.BAN


def test_relayed_group_addressees_still_ask_us() -> None:
    """A group 主送 (各省、自治区、直辖市人民政府) with its request stays 办件."""
    text = doc(
        "国务院办公厅文件\n国办发〔2024〕10号",
        "国务院办公厅关于做好某某工作的通知",
        "各省、自治区、直辖市人民政府，国务院各部委、各直属机构",
        "现印发给你们，请认真贯彻执行。",
    )
    assert verdict(item(text, RELAY)).kind is Kind.BAN


@pytest.mark.parametrize(
    "cited",
    [
        "你县《关于恳请审批某某项目的请示》收悉",
        "你县请求，省里加大对你县的支持力度，给予重点扶持",
        "《关于请予协调某某问题的报告》已转有关部门",
    ],
)
def test_quoted_titles_and_citations_ask_nothing(cited: str) -> None:
    """Words inside 《》, a 收悉 sentence and a reported request are not our task."""
    text = doc(
        "四川省人民政府办公厅文件\n川办函〔2024〕5号",
        "四川省人民政府办公厅关于某某问题的函",
        "甘孜州人民政府",
        f"{cited}。现将有关情况函告如下：某某项目已列入规划。",
    )
    outcome, kind, rule = _kind(text, PROVINCE)
    assert (outcome, kind) == (Outcome.REGISTER, Kind.YUE), rule


def test_quoted_title_does_not_hide_a_real_request() -> None:
    text = doc(
        "四川省人民政府办公厅文件\n川办函〔2024〕6号",
        "四川省人民政府办公厅关于某某问题的函",
        "甘孜州人民政府",
        "你州《关于某某的请示》收悉。请你州于2024年8月1日前报送实施方案。",
    )
    assert _kind(text, PROVINCE)[1] is Kind.BAN


def test_bulletin_with_a_requirements_section_is_banjian() -> None:
    """A 通报 that closes `特提出如下要求：` and directs the recipients asks them to act."""
    text = doc(
        "四川省人民政府办公厅文件\n川办发〔2024〕7号",
        "四川省人民政府办公厅关于某某事故调查处理情况的通报",
        "各市（州）人民政府",
        "现将有关情况予以通报。为吸取教训，特提出如下要求：\n各地要立即开展安全隐患排查。",
    )
    assert _kind(text, PROVINCE)[1] is Kind.BAN


def test_commendation_bulletin_without_requirements_stays_yuejian() -> None:
    text = doc(
        "四川省人民政府办公厅文件\n川办发〔2024〕8号",
        "四川省人民政府办公厅关于表扬某某先进单位的通报",
        "各市（州）人民政府",
        "现予以通报表扬。各地要学习先进，再创佳绩。",
    )
    assert _kind(text, PROVINCE)[1] is Kind.YUE


def test_request_after_an_acknowledgement_in_the_same_sentence_is_read() -> None:
    """Only the clause up to 收悉 is a citation: `来文收悉，请…` still asks."""
    text = doc(
        "四川省人民政府办公厅文件\n川办函〔2024〕9号",
        "四川省人民政府办公厅关于某某问题的函",
        "甘孜州人民政府",
        "你州来文收悉，请抓紧组织核实有关情况并函复。",
    )
    assert _kind(text, PROVINCE)[1] is Kind.BAN
