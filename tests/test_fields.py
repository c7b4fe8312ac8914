"""GB/T 9704 field extraction from document text (core.reading.fields)."""

from __future__ import annotations

from datetime import date

import pytest

from core.reading.fields import (
    Field,
    doc_type_of,
    extract_fields,
    find_deadline,
    head_fields,
    normalize_doc_number,
    parse_date,
    split_doc_number,
    title_from_subject,
)


def val(field: Field[object] | None) -> object:
    """A field's value, None when the field is absent."""
    return field.value if field is not None else None


FULL = """000123
机密★1年
特急
甘孜州应急管理局文件
甘应急发 [2024] 第 36 号　　　　签发人：张三
甘孜州应急管理局关于进一步加强森林草原防灭火
工作的紧急通知
各县（市）人民政府，州级有关部门，
州人民政府：
今冬明春火险等级高。
请于6月30日前报送工作开展情况。
甘孜州应急管理局
二〇二四年五月二十日
（此件公开发布）
抄送：州委办公室，州人大常委会办公室，
州政协办公室。
甘孜州应急管理局办公室　　2024年5月21日印发
"""


def test_full_document_every_element() -> None:
    """Every element of a complete upward-style document is read with its source line."""
    f = extract_fields(FULL)
    assert val(f.copy_no) == "000123"
    assert val(f.secrecy) == "机密"
    assert val(f.secrecy_term) == "1年"
    assert val(f.urgency) == "特急"
    assert val(f.masthead) == "甘孜州应急管理局"
    assert f.masthead.source_text == "甘孜州应急管理局文件"
    assert val(f.doc_number) == "甘应急发〔2024〕36号"
    assert val(f.signer) == "张三"
    assert f.title is not None
    assert f.title.value == "甘孜州应急管理局关于进一步加强森林草原防灭火工作的紧急通知"
    assert val(f.doc_type) == "通知"
    assert f.addressees is not None
    assert f.addressees.value == "各县（市）人民政府，州级有关部门，州人民政府"
    assert val(f.date) == date(2024, 5, 20)
    assert val(f.signature) == "甘孜州应急管理局"
    assert val(f.note) == "此件公开发布"
    assert val(f.cc) == "州委办公室，州人大常委会办公室，州政协办公室"
    assert val(f.printed_by) == "甘孜州应急管理局办公室"
    assert val(f.printed_date) == date(2024, 5, 21)
    assert val(f.deadline) == date(2024, 6, 30)
    assert f.deadline.source_text == "请于6月30日前报送工作开展情况。"
    assert f.body == "今冬明春火险等级高。请于6月30日前报送工作开展情况。"
    assert not f.is_periodical


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("川府发〔2024〕21号", "川府发〔2024〕21号"),
        ("川府发[2024]21号", "川府发〔2024〕21号"),
        ("川府发(2024)21号", "川府发〔2024〕21号"),
        ("川府发（2024）21号", "川府发〔2024〕21号"),
        ("川府发［２０２４］第２１号", "川府发〔2024〕21号"),
        ("川府发 〔2024〕 第 21 号", "川府发〔2024〕21号"),
        ("川府发【2024】021号", "川府发〔2024〕21号"),
        ("川办明电〔2024〕45号", "川办明电〔2024〕45号"),
        ("没有字号", None),
    ],
)
def test_doc_number_variants(raw: str, expected: str | None) -> None:
    """Bracket, width, 第 and space variants all normalise to the GB/T 9704 form."""
    assert normalize_doc_number(raw) == expected


def test_split_doc_number() -> None:
    """A canonical number splits into code, year and sequence."""
    assert split_doc_number("甘孜县府发〔2024〕7号") == ("甘孜县府发", 2024, 7)
    assert split_doc_number("not a number") is None


@pytest.mark.parametrize(
    ("title", "kind"),
    [
        ("关于切实做好防汛工作的紧急通知", "通知"),
        ("关于同意调整的复函", "函"),
        ("州长办公会议纪要", "纪要"),
        ("四川省人民政府令", "命令"),
        ("关于2024年预算的决议", "决议"),
        ("关于学习贯彻全会精神的实施意见", "意见"),
        ("政务情况交流（第12期）", None),
        ("关于加强基层治理的意见（征求意见稿）", "意见"),
    ],
)
def test_doc_type_of(title: str, kind: str | None) -> None:
    """The trailing 文种 of a title is its doc type; 令 is 命令, 复函 is 函."""
    assert doc_type_of(title) == kind


def test_letter_format_masthead_without_wenjian() -> None:
    """A 信函式 masthead (no 文件) is still the masthead, not part of the title."""
    f = extract_fields(
        "四川省人民政府\n川府函〔2024〕88号\n四川省人民政府关于征求意见的函\n各市（州）人民政府：\n请函复。"
    )
    assert val(f.masthead) == "四川省人民政府"
    assert val(f.title) == "四川省人民政府关于征求意见的函"


def test_title_without_number_after_masthead() -> None:
    """Without a 字号 the masthead line is kept apart from the title below it."""
    f = extract_fields(
        "某某公司\n某某公司关于推介产品的函\n甘孜州人民政府：\n我公司拟推介。\n某某公司\n2024年6月4日"
    )
    assert val(f.masthead) == "某某公司"
    assert val(f.title) == "某某公司关于推介产品的函"
    assert f.doc_number is None


def test_telegram_marker_and_urgency() -> None:
    """A 明传电报 masthead is recognised as a telegram and its urgency read."""
    f = extract_fields(
        "特急\n四川省人民政府办公厅明传电报\n川办明电〔2024〕45号\n"
        "四川省人民政府办公厅关于防范强降雨的紧急通知\n各市（州）人民政府：\n请立即部署。"
    )
    assert f.telegram is not None
    assert val(f.masthead) == "四川省人民政府办公厅"
    assert val(f.urgency) == "特急"
    assert val(f.doc_number) == "川办明电〔2024〕45号"


def test_periodical_issue_editor_title() -> None:
    """A periodical gives its 期号, 编印单位 and `名称（第N期）` title, and no 文种."""
    f = extract_fields(
        "秘密★1年\n内部情况通报\n第33期　中共四川省委办公厅编　2024年9月6日\n"
        "内部情况通报（第33期）\n内部参阅，注意保存。\n中共四川省委办公厅\n2024年9月7日"
    )
    assert f.is_periodical
    assert val(f.issue_no) == 33
    assert val(f.editor) == "中共四川省委办公厅"
    assert val(f.title) == "内部情况通报（第33期）"
    assert f.doc_type is None
    assert val(f.secrecy) == "秘密"


def test_periodical_title_built_from_masthead() -> None:
    """Without a `（第N期）` line the title is the masthead plus the issue."""
    f = extract_fields("工作简报\n第5期\n一、本周工作……\n某县人民政府办公室\n2024年3月1日")
    assert val(f.title) == "工作简报（第5期）"


def test_issue_number_in_body_is_not_a_periodical() -> None:
    """`第3期培训班` in the 正文 does not make a document a periodical."""
    f = extract_fields(
        "甘孜州财政局文件\n甘财〔2024〕5号\n甘孜州财政局关于举办培训班的通知\n各县（市）财政局：\n"
        "定于3月举办第3期培训班。"
    )
    assert f.issue_no is None
    assert not f.is_periodical


def test_communique_title_without_masthead() -> None:
    """A long line ending in a 文种 at the top is the title even without masthead or 关于."""
    f = extract_fields(
        "中国共产党第二十届中央委员会第三次全体会议公报\n（2024年7月18日通过）\n全会听取了报告。"
    )
    assert val(f.title) == "中国共产党第二十届中央委员会第三次全体会议公报"
    assert val(f.doc_type) == "公报"


def test_decree_is_titled_by_its_masthead() -> None:
    """A 政府令 (四川省人民政府令 / 第5号) is a 命令 titled by its own name."""
    f = extract_fields("四川省人民政府令\n第5号\n《某办法》已经审议通过，现予公布。\n省长　某某")
    assert val(f.title) == "四川省人民政府令"
    assert val(f.doc_type) == "命令"


def test_signer_on_its_own_line() -> None:
    """A 签发人 printed on its own line under the 字号 is read and kept out of the title."""
    f = extract_fields(
        "康定市人民政府文件\n康府〔2024〕23号\n签发人：李某某\n康定市人民政府关于资金的请示\n"
        "甘孜州人民政府：\n请批示。"
    )
    assert val(f.signer) == "李某某"
    assert val(f.title) == "康定市人民政府关于资金的请示"


def test_date_inside_body_is_not_the_written_date() -> None:
    """A date alone in the 正文 (under 时间：) neither ends the 正文 nor is the 成文日期."""
    f = extract_fields(
        "甘孜州人民政府办公室\n甘府办函〔2024〕3号\n甘孜州人民政府办公室关于召开会议的通知\n"
        "各县（市）人民政府：\n时间：\n2024年6月1日\n请准时参加。\n甘孜州人民政府办公室\n2024年5月20日"
    )
    assert val(f.date) == date(2024, 5, 20)
    assert "请准时参加" in f.body
    assert val(f.signature) == "甘孜州人民政府办公室"


def test_main_addressee_after_body_in_banji() -> None:
    """A 主送 printed in the 版记 (`主送：…。`) is read too."""
    f = extract_fields(
        "甘孜州财政局\n甘财〔2024〕9号\n甘孜州财政局关于资金的报告\n现将情况报告如下。\n甘孜州财政局\n"
        "2024年3月1日\n主送：州人民政府。"
    )
    assert val(f.addressees) == "州人民政府"


@pytest.mark.parametrize(
    ("body", "year", "after", "expected"),
    [
        ("请于2024年6月30日前报送。", None, None, date(2024, 6, 30)),
        ("请各地6月30日前报送。", 2024, None, date(2024, 6, 30)),
        ("请于7月10日之前函复。", 2024, None, date(2024, 7, 10)),
        ("请于1月10日前报送。", 2024, date(2024, 12, 20), date(2025, 1, 10)),
        ("日前，国务院印发了通知。", 2024, None, None),
        ("5月20日前后将有降雨。", 2024, None, None),
        ("请于6月30日前报送。", None, None, None),
    ],
)
def test_deadline(body: str, year: int | None, after: date | None, expected: date | None) -> None:
    """于…前 / …日前 become a date; 日前 (recently) and 前后 (around) do not."""
    found = find_deadline(body, year=year, after=after)
    assert (found.value if found else None) == expected


def test_deadline_year_from_doc_number() -> None:
    """A deadline without a year takes the year of the document's 字号."""
    f = extract_fields("甘财〔2023〕5号\n甘孜州财政局关于报送的通知\n各县：\n请于12月5日前报送。")
    assert val(f.deadline) == date(2023, 12, 5)


def test_parse_date_chinese_numerals() -> None:
    """成文日期 in Chinese numerals (older GB/T 9704) parses too."""
    assert parse_date("二〇二四年十二月三十一日") == date(2024, 12, 31)
    assert parse_date("2024年2月30日") is None


def test_title_from_subject() -> None:
    """A subject gives a title only when it names one (ends with a 文种 or `（第N期）`)."""
    assert title_from_subject("川办发〔2024〕43号 四川省人民政府办公厅关于防火的通知") == (
        "四川省人民政府办公厅关于防火的通知"
    )
    assert title_from_subject("政务情况交流（第12期）") == "政务情况交流（第12期）"
    assert title_from_subject("Fax from 08363322004 (2 pages)") is None
    assert title_from_subject("州长亲启") is None


def test_head_fields_do_not_read_the_body() -> None:
    """The envelope view keeps the 版头 and 主送 but neither 正文 nor deadline."""
    f = head_fields(FULL)
    assert f.doc_number is not None
    assert f.title is not None
    assert f.addressees is not None
    assert f.body == ""
    assert f.deadline is None
    assert f.cc is None


def test_empty_text() -> None:
    """Empty text gives empty fields, not an error."""
    f = extract_fields("")
    assert f.title is None
    assert f.body == ""


def test_title_wrapped_between_guan_and_yu() -> None:
    """A title a layout engine wrapped inside 关于 (…有限公司关 / 于申请…) is read whole."""
    f = extract_fields(
        "甘孜州水电开发有限公司文件\n甘水电〔2024〕8号\n甘孜州水电开发有限公司关\n"
        "于申请注入水电项目资本金的请示\n州人民政府：\n恳请予以支持。\n"
    )
    assert val(f.title) == "甘孜州水电开发有限公司关于申请注入水电项目资本金的请示"
    assert val(f.masthead) == "甘孜州水电开发有限公司"


def test_title_broken_after_its_organ() -> None:
    """After the masthead and 字号, a title printed as organ line + 关于 line is read whole."""
    f = extract_fields(
        "甘孜州民族宗教事务委员会文件\n甘民宗发〔2024〕5号\n甘孜州民族宗教事务委员会\n"
        "关于做好城乡居民医保征缴工作的通知\n州人民政府：\n特此通知。\n"
    )
    assert val(f.title) == "甘孜州民族宗教事务委员会关于做好城乡居民医保征缴工作的通知"
    assert val(f.masthead) == "甘孜州民族宗教事务委员会"


def test_organ_line_above_title_without_number_stays_masthead() -> None:
    """Without a 字号 read, an organ line above a 关于 title is still the masthead (函 paper)."""
    f = extract_fields("甘孜州财政局\n关于报送预算执行情况的函\n州人民政府：\n请审阅。\n")
    assert val(f.masthead) == "甘孜州财政局"
    assert val(f.title) == "关于报送预算执行情况的函"


def test_title_remark_on_its_own_line() -> None:
    """A title whose remark stands on the next line (…的通知 / （第二批）) is read whole,
    and the remark is not taken into the 主送."""
    f = extract_fields(
        "四川省农业农村厅文件\n川农发〔2024〕9号\n四川省农业农村厅关于公布省级现代农业园区名单的通知\n"
        "（第二批）\n各市（州）人民政府：\n现予公布。\n"
    )
    assert val(f.title) == "四川省农业农村厅关于公布省级现代农业园区名单的通知（第二批）"
    assert val(f.doc_type) == "通知"
    assert val(f.addressees) == "各市（州）人民政府"


# ------------------------------------------- published layouts (issue 14)


def test_number_organ_and_date_under_the_title_are_not_the_addressees() -> None:
    """A 公报 copy prints title, 字号, 发文机关 and 成文日期 before the 主送."""
    f = extract_fields(
        "某省人民政府关于同意设立某某经济开发区的批复\n某府函〔2023〕12号\n某省人民政府\n"
        "2023年3月1日\n某市人民政府：\n你市《关于设立某某经济开发区的请示》收悉。\n"
    )
    assert val(f.doc_number) == "某府函〔2023〕12号"
    assert val(f.addressees) == "某市人民政府"
    assert val(f.title) == "某省人民政府关于同意设立某某经济开发区的批复"
    assert val(f.date) == date(2023, 3, 1)


def test_number_and_date_in_parentheses_under_the_title() -> None:
    f = extract_fields(
        "某省人民政府办公厅关于表扬某某工作先进单位的通报\n（某办函[2019]7号 2019年04月02日）\n"
        "各市（州）人民政府：\n现将有关情况通报如下。\n"
    )
    assert val(f.doc_number) == "某办函〔2019〕7号"
    assert val(f.addressees) == "各市（州）人民政府"


def test_number_in_parentheses_closing_the_title_line() -> None:
    f = extract_fields(
        "某市交通局关于某某建议答复的函（某交函〔2021〕5号）\n张某代表：\n您的建议收悉。\n"
    )
    assert val(f.title) == "某市交通局关于某某建议答复的函"
    assert val(f.doc_number) == "某交函〔2021〕5号"
    assert val(f.addressees) == "张某代表"


def test_organ_on_its_own_line_opens_the_title_when_the_number_follows() -> None:
    """Published order (title, then 字号): the organ line above 关于… is the title's."""
    f = extract_fields(
        "某省人民政府办公厅\n关于印发《某某应急预案》\n的通知\n某办发〔2022〕3号\n"
        "各市（州）人民政府：\n现印发给你们，请认真贯彻执行。\n"
    )
    assert val(f.title) == "某省人民政府办公厅关于印发《某某应急预案》的通知"
    assert f.masthead is None
    assert val(f.doc_number) == "某办发〔2022〕3号"


def test_forwarding_title_broken_after_its_first_organ() -> None:
    f = extract_fields(
        "某省人民政府办公厅转发省教育厅\n关于做好某某工作意见的通知\n各市人民政府：\n请遵照执行。\n"
    )
    assert val(f.title) == "某省人民政府办公厅转发省教育厅关于做好某某工作意见的通知"
    assert val(f.issuer) == "某省人民政府办公厅"


def test_title_repeated_by_the_page_is_read_once() -> None:
    f = extract_fields(
        "某县人民政府关于某某事项的通知\n某县人民政府\n关于某某事项的通知\n各乡镇人民政府：\n请执行。\n"
    )
    assert val(f.title) == "某县人民政府关于某某事项的通知"
    assert val(f.addressees) == "各乡镇人民政府"


def test_header_as_one_table_row() -> None:
    f = extract_fields(
        "某省人民政府关于同意某某的批复\t某府函〔2001〕9号\t某省人民政府\t2001年2月3日\n"
        "某市人民政府：\n你市请示收悉。\n"
    )
    assert val(f.title) == "某省人民政府关于同意某某的批复"
    assert val(f.doc_number) == "某府函〔2001〕9号"
    assert val(f.addressees) == "某市人民政府"


def test_page_metadata_block_is_no_part_of_the_document() -> None:
    """标题：/发文字号：/发布机构： lines give evidence, never the title or the 主送."""
    f = extract_fields(
        "- 索 引 号：abc/2020-001\n- 发文字号：某政发〔2020〕8号\n- 发布机构：某县人民政府\n"
        "- 名  称：某县人民政府关于某某的通知\n废止日期：\t\n"
        "某县人民政府关于某某的通知\n各乡镇人民政府：\n请认真执行。\n"
    )
    assert val(f.title) == "某县人民政府关于某某的通知"
    assert val(f.doc_number) == "某政发〔2020〕8号"
    assert val(f.addressees) == "各乡镇人民政府"
    assert "某县人民政府" in f.organ_names


def test_page_title_label_is_used_only_when_the_document_has_none() -> None:
    f = extract_fields("标题：\t某局关于某某的函\n发布机关：\t某局\n现将有关事项函告如下。\n")
    assert val(f.title) == "某局关于某某的函"
    assert val(f.doc_type) == "函"


def test_title_organ_is_an_issuer_candidate() -> None:
    f = extract_fields("某省人民政府关于设置某某的决定\n设置某某，撤销某某。\n")
    assert val(f.issuer) == "某省人民政府"
    assert f.organ_names[-1] == "某省人民政府"


def test_a_sentence_with_a_date_is_no_addressee() -> None:
    f = extract_fields(
        "某院关于设置某某的决定\n某院批准某某1957年9月1日的报告，并决定：\n设置某某。\n"
    )
    assert f.addressees is None


def test_label_lines_inside_the_text_stay_in_the_text() -> None:
    """Below the 正文's first sentence, `报名时间：…` is the document's, not a page's block."""
    f = extract_fields(
        "某县人民政府关于举办某某培训的通知\n各乡镇人民政府：\n现将有关事项通知如下。\n"
        "报名时间：2024年5月10日前\n请按时报名。\n某县人民政府\n2024年5月1日\n"
    )
    assert "报名时间：2024年5月10日前" in f.body
    assert val(f.deadline) == date(2024, 5, 10)


ANNEXED = """甘孜州财政局文件
甘财发〔2024〕12号
甘孜州财政局关于下达2024年民族地区转移支付资金的通知
各县（市）人民政府：
现将资金下达给你们，具体分配见附件。
附件：１．2024年民族地区转移支付资金分配表
　　　２．资金使用管理要求
甘孜州财政局
2024年6月3日
附件1
2024年民族地区转移支付资金分配表
"""


def test_attachment_note_is_read_with_its_numbered_lines() -> None:
    """附件说明: the `附件：` line above the 署名 and the numbered lines under it."""
    f = extract_fields(ANNEXED)
    assert val(f.attachment_note) == "1．2024年民族地区转移支付资金分配表\n2．资金使用管理要求"
    assert f.attachment_note is not None
    first = f.attachment_note.source_text.splitlines()[0]
    assert first == "附件：１．2024年民族地区转移支付资金分配表"
    assert val(f.date) == date(2024, 6, 3)


def test_an_annex_after_the_date_is_no_attachment_note() -> None:
    """The 附件 itself (after the 成文日期), or a note only its 正文 mentions, is not one."""
    note = "附件：１．2024年民族地区转移支付资金分配表\n　　　２．资金使用管理要求\n"
    text = ANNEXED.replace(note, "")
    assert extract_fields(text).attachment_note is None
    assert val(extract_fields(FULL).attachment_note) is None


def test_a_garbled_number_line_is_not_glued_onto_the_addressees() -> None:
    """A 字号 line a page garbled (no closing bracket, no 号) above the 主送 stays out of it."""
    text = ("巴塘县人民政府办公室关于印发巴塘县森林防火预案的通知\n"
            "巴府办发〔202431\n"
            "各乡（镇）人民政府，县级各部门：\n"
            "现将预案印发给你们，请认真贯彻执行。\n"
            "巴塘县人民政府办公室\n2024年3月5日\n")
    f = extract_fields(text)
    assert val(f.addressees) == "各乡（镇）人民政府，县级各部门"
    assert val(f.date) == date(2024, 3, 5)


def test_date_and_organ_under_the_title_are_read_apart_from_the_addressees() -> None:
    """A law database prints the organ, the title again, then `date，organ` above the 主送."""
    text = ("四川省民政厅关于社会组织年检有关问题的复函\n"
            "四川省民政厅\n"
            "四川省民政厅关于社会组织年检有关问题的复函\n"
            "2019年4月2日，四川省民政厅\n"
            "甘孜州民政局：\n"
            "你局来函收悉。经研究，现函复如下：社会组织年检按原规定办理。\n")
    f = extract_fields(text)
    assert val(f.date) == date(2019, 4, 2)
    assert val(f.addressees) == "甘孜州民政局"
    assert f.body.startswith("你局来函收悉")


def test_addressees_run_on_into_the_text_are_split() -> None:
    """`主送： 正文…` on one line (a page that joined the paragraphs): the 主送 is read."""
    text = ("甘孜州应急管理局关于征求应急预案修改意见的函\n"
            "州级有关部门： 为做好防汛工作，现征求意见。请于6月18日前反馈。\n"
            "甘孜州应急管理局\n2024年6月10日\n")
    f = extract_fields(text)
    assert val(f.addressees) == "州级有关部门"
    assert f.body.startswith("为做好防汛工作")
    assert val(f.deadline) == date(2024, 6, 18)


def test_a_latin_o_typed_for_zero_reads_as_a_date() -> None:
    assert parse_date("二O一一年五月十六日") == date(2011, 5, 16)
    assert parse_date("二Ｏ二四年1月5日") == date(2024, 1, 5)


def test_a_date_line_that_lost_its_last_day_character_is_the_written_date() -> None:
    text = ("九龙县人民政府办公室关于印发防汛预案的通知\n各乡（镇）人民政府：\n"
            "现将预案印发给你们，请认真贯彻执行。\n九龙县人民政府办公室\n2018年3月13\n")
    assert val(extract_fields(text).date) == date(2018, 3, 13)
