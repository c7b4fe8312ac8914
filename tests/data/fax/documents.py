"""Documents with known text for the fax pages: what each printed line says, how it
is set (GB/T 9704 elements: 份号/紧急程度, 版头, 字号 with 签发人, 标题, 主送, 正文,
署名, 成文日期, 印发机关), and the fields a reader must get exactly.

The text is the office's kind of text — counties asking for money, a province
sending a 明传电报, a joint 报告 with a two-column 版头, a periodical — with numbers,
dates, brackets and full-width punctuation where OCR goes wrong.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Style = Literal[
    "marker",  # 份号, 密级, 紧急程度: 黑体 三号, top left
    "masthead",  # 版头: red 小标宋, large, centred
    "docno",  # 发文字号 (and 签发人 at the right)
    "rule",  # the red separator line under the 版头
    "title",  # 标题: 小标宋 二号, centred
    "body",  # 正文 and 主送: 仿宋 三号
    "signature",  # 署名 and 成文日期, right-aligned
    "imprint",  # 抄送, 印发机关 and 印发日期: 仿宋 四号
]
Align = Literal["left", "center", "right", "indent"]


@dataclass(frozen=True)
class Line:
    """One printed line, or a paragraph the renderer wraps (`indent`: 正文 with its two
    characters of indent): `text` at `align`, and `right` at the right margin of the same
    line (签发人 beside a left-aligned 字号, a date beside the 印发机关)."""

    text: str
    style: Style = "body"
    align: Align = "left"
    right: str = ""


@dataclass(frozen=True)
class JointHead:
    """A joint 版头 (联合行文): organ names stacked, `文件` at their right, centred on them."""

    organs: tuple[str, ...]
    suffix: str = "文件"


@dataclass(frozen=True)
class FaxDocument:
    """A document with known text and the fields a reader must get exactly."""

    name: str
    head: JointHead | None
    lines: tuple[Line, ...]
    #: the 版头 as one line (what fields read as masthead): e.g. 康定市人民政府文件
    masthead: str
    doc_number: str | None
    title: str
    font: Literal["serif", "sans"] = "serif"
    #: index into `lines` of the first line printed on page 2 (None: one page)
    page_break: int | None = None


def _body(*pieces: str) -> tuple[Line, ...]:
    """Paragraphs of 正文 from pieces of text: a piece that ends a sentence ends its paragraph."""
    paragraphs, current = [], ""
    for piece in pieces:
        current += piece
        if current.endswith(("。", "：", "！")):
            paragraphs.append(current)
            current = ""
    if current:
        paragraphs.append(current)
    return tuple(Line(p, "body", "indent") for p in paragraphs)


COUNTY_REQUEST = FaxDocument(
    name="county_request",
    head=None,
    masthead="康定市人民政府文件",
    doc_number="康府〔2025〕17号",
    title="康定市人民政府关于申请解决2025年春季森林草原防灭火专项经费的请示",
    page_break=10,
    lines=(
        Line("康定市人民政府文件", "masthead", "center"),
        Line("康府〔2025〕17号", "docno", "indent", right="签发人：李明远"),
        Line("", "rule"),
        Line("康定市人民政府关于申请解决2025年春季", "title", "center"),
        Line("森林草原防灭火专项经费的请示", "title", "center"),
        Line("甘孜州人民政府："),
        *_body(
            "今年入春以来，我市降水偏少，气温偏高，森林草原火险等级持续偏高。",
            "截至3月15日，全市共排查火灾隐患1286处，已整改1102处，",
            "尚需购置扑火机具、修建防火隔离带，资金缺口386.5万元。",
            "为确保不发生重特大森林草原火灾，恳请州政府安排专项经费",
            "300万元，用于防火隔离带建设（45公里）和扑火物资储备。",
            "妥否，请批示。",
        ),
        Line("附件：康定市2025年春季防灭火经费测算表", "body", "indent"),
        Line("康定市人民政府", "signature", "right"),
        Line("2025年3月18日", "signature", "right"),
        Line("（联系人：王晓东，电话：0836-2822001）", "body", "indent"),
        Line("康定市人民政府办公室", "imprint", "indent", right="2025年3月18日印发"),
    ),
)

PROVINCE_NOTICE = FaxDocument(
    name="province_notice",
    head=None,
    masthead="四川省应急管理厅文件",
    doc_number="川应急〔2025〕23号",
    title="四川省应急管理厅关于做好2025年汛期地质灾害防范应对工作的通知",
    lines=(
        Line("四川省应急管理厅文件", "masthead", "center"),
        Line("川应急〔2025〕23号", "docno", "center"),
        Line("", "rule"),
        Line("四川省应急管理厅关于做好2025年汛期", "title", "center"),
        Line("地质灾害防范应对工作的通知", "title", "center"),
        Line("各市（州）人民政府，省级有关部门："),
        *_body(
            "据气象部门预测，今年汛期我省降水总体偏多二至三成，",
            "地质灾害防范形势严峻。现就有关事项通知如下。",
        ),
        Line("一、压紧压实防范责任", "body", "indent"),
        *_body(
            "各地要落实“谁主管、谁负责”要求，对全省3.2万处隐患点",
            "逐一明确监测责任人，于5月31日前完成汛前排查。",
        ),
        Line("二、强化监测预警", "body", "indent"),
        *_body(
            "收到橙色以上预警后，须在1小时内转移受威胁群众。",
        ),
        Line("四川省应急管理厅", "signature", "right"),
        Line("2025年4月28日", "signature", "right"),
        Line("抄送：应急管理部，省委办公厅，省政府办公厅。", "imprint", "indent"),
    ),
)

URGENT_TELEGRAM = FaxDocument(
    name="urgent_telegram",
    head=None,
    masthead="四川省人民政府办公厅明传电报",
    doc_number="川办明电〔2025〕9号",
    title="四川省人民政府办公厅关于切实做好当前强降雨防范应对工作的紧急通知",
    font="sans",
    lines=(
        Line("特急", "marker", "left"),
        Line("四川省人民政府办公厅明传电报", "masthead", "center"),
        Line("川办明电〔2025〕9号", "docno", "center"),
        Line("", "rule"),
        Line("四川省人民政府办公厅关于切实做好当前", "title", "center"),
        Line("强降雨防范应对工作的紧急通知", "title", "center"),
        Line("各市（州）人民政府，省政府各部门："),
        *_body(
            "7月12日至14日，我省盆地西部和川西高原将出现暴雨到大暴雨，",
            "局地累计雨量可达250毫米以上。经省政府同意，现就有关事项紧急",
            "通知如下：各地要立即启动Ⅳ级应急响应，主要负责同志在岗带班，",
            "对甘孜、阿坝等地的山洪沟道和在建工地开展拉网式巡查，",
            "重要情况于每日17时前报省政府总值班室（电话：028-86601234）。",
        ),
        Line("四川省人民政府办公厅", "signature", "right"),
        Line("2025年7月11日", "signature", "right"),
    ),
)

JOINT_REPORT = FaxDocument(
    name="joint_report",
    head=JointHead(("甘孜州财政局", "甘孜州农业农村局")),
    masthead="甘孜州财政局",
    doc_number="甘财〔2025〕45号",
    title="甘孜州财政局 甘孜州农业农村局关于2024年度农业保险保费补贴资金使用情况的报告",
    lines=(
        Line("甘财〔2025〕45号", "docno", "indent", right="签发人：赵国强 陈晓梅"),
        Line("", "rule"),
        Line("甘孜州财政局 甘孜州农业农村局", "title", "center"),
        Line("关于2024年度农业保险保费补贴资金", "title", "center"),
        Line("使用情况的报告", "title", "center"),
        Line("甘孜州人民政府："),
        *_body(
            "2024年，全州共拨付农业保险保费补贴资金5872.6万元，",
            "其中中央资金3105万元、省级资金1698.2万元、州县配套1069.4万元，",
            "承保牦牛、青稞等品种12个，参保农户4.3万户次。",
            "现将有关情况报告如下：一是资金全部按时拨付到位；",
            "二是理赔兑现率达到98.7%；三是未发现截留挪用问题。",
            "特此报告。",
        ),
        Line("甘孜州财政局", "signature", "right"),
        Line("甘孜州农业农村局", "signature", "right"),
        Line("2025年2月26日", "signature", "right"),
    ),
)

COUNTY_LETTER = FaxDocument(
    name="county_letter",
    head=None,
    masthead="泸定县人民政府",
    doc_number="泸府函〔2025〕6号",
    title="泸定县人民政府关于商请协调解决G318线泸定段交通安全设施改造的函",
    font="sans",
    lines=(
        Line("000137", "marker", "left"),
        Line("加急", "marker", "left"),
        Line("泸定县人民政府", "masthead", "center"),
        Line("泸府函〔2025〕6号", "docno", "right"),
        Line("", "rule"),
        Line("泸定县人民政府关于商请协调解决G318线", "title", "center"),
        Line("泸定段交通安全设施改造的函", "title", "center"),
        Line("甘孜州交通运输局："),
        *_body(
            "G318线泸定段K2856至K2871路段弯多坡陡，2024年发生交通事故",
            "17起。为消除安全隐患，我县拟对该路段护栏、标志标线进行改造，",
            "概算投资1260万元。恳请贵局协调省交通运输厅给予支持。",
        ),
        Line("泸定县人民政府", "signature", "right"),
        Line("2025年5月9日", "signature", "right"),
    ),
)

BULLETIN = FaxDocument(
    name="bulletin",
    head=None,
    masthead="政务信息",
    doc_number=None,
    title="丹巴县多措并举推进高半山区群众安置",
    lines=(
        Line("政务信息", "masthead", "center"),
        Line("第12期", "docno", "center"),
        Line("甘孜州人民政府办公室编", "imprint", "left", right="2025年4月2日"),
        Line("", "rule"),
        Line("丹巴县多措并举推进高半山区群众安置", "title", "center"),
        *_body(
            "今年以来，丹巴县把高半山区群众安置作为头等大事，",
            "累计投入资金2.36亿元，建成安置点9个，搬迁群众1480户6215人。",
            "该县坚持“先建后搬、以岗定搬”，新增就业岗位860个，",
            "搬迁群众人均年收入由2020年的8650元提高到15230元。",
        ),
        Line("报：州委、州政府领导。", "imprint", "left"),
        Line("送：州级各部门，各县（市）人民政府。", "imprint", "left"),
    ),
)

DOCUMENTS: tuple[FaxDocument, ...] = (
    COUNTY_REQUEST,
    PROVINCE_NOTICE,
    URGENT_TELEGRAM,
    JOINT_REPORT,
    COUNTY_LETTER,
    BULLETIN,
)
