"""Probe messages: new labelled intake messages built the way the dev corpus is.

    python tests/data/probe/generate.py OUT_DIR   # writes pNNN.eml + labels.jsonl

`generate()` returns the cases in memory (tests build them in a temp dir; no
binaries are committed). Every message mimics the corpus: `EmailMessage` sent
with the SMTP policy (encoded-word headers, base64 parts, RFC 2231 file names),
PDFs from reportlab with the STSong-Light CID font (lines cut at 34 characters),
DOCX from python-docx, OFD as a GB/T 33190 zip, bodies in UTF-8/GBK/GB18030 or
HTML, fax gateway mail with X-Fax-Remote-ID, 签收单.json manifests, forwards.

Each label is what a careful 文书处理室 decides by DOMAIN.md; where the rules
leave the answer open the label is `review`. The organs, titles and wordings
are chosen to differ from the dev corpus.
"""

from __future__ import annotations

import hashlib
import io
import json
import sys
import zipfile
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from core.reading.decide import ELEMENT_KEYS

OFD_NS = "http://www.ofdspec.org/2016"
PDF_WRAP = 34  # characters per printed line in the corpus PDFs
US = "甘孜藏族自治州人民政府 <shouwen@gzz.gov.cn>"
RELAY = ("四川省电子公文交换中心", "exchange@sc.gov.cn")
FAX_GATEWAY = ("Fax Gateway", "fax-gateway@gzz.gov.cn")
SP = "\u3000\u3000"  # the full-width gap between 印发机关 and 印发日期
SIGNER_GAP = "\u3000" * 4

#: each organ's mailbox (central and provincial party organs only reach us via the relay)
MAILBOX: dict[str, str] = {
    "四川省人民政府": "wenshu@sc.gov.cn",
    "四川省人民政府办公厅": "wenshu@sc.gov.cn",
    "四川省财政厅": "wenshu@czt.sc.gov.cn",
    "四川省应急管理厅": "wenshu@yjt.sc.gov.cn",
    "四川省教育厅": "wenshu@edu.sc.gov.cn",
    "四川省自然资源厅": "wenshu@dnr.sc.gov.cn",
    "四川省交通运输厅": "wenshu@jtt.sc.gov.cn",
    "四川省农业农村厅": "wenshu@nynct.sc.gov.cn",
    "四川省卫生健康委员会": "wenshu@wsjkw.sc.gov.cn",
    "中共甘孜州委": "wenshu@gzzw.gov.cn",
    "中共甘孜州委办公室": "wenshu@gzzw.gov.cn",
    "甘孜州人大常委会": "wenshu@gzrd.gov.cn",
    "政协甘孜州委员会": "wenshu@gzzx.gov.cn",
    "甘孜军分区": "jfq@gzz.gov.cn",
    "甘孜州发展和改革委员会": "wenshu@fgw.gzz.gov.cn",
    "甘孜州财政局": "wenshu@czj.gzz.gov.cn",
    "甘孜州应急管理局": "wenshu@yjj.gzz.gov.cn",
    "甘孜州教育和体育局": "wenshu@jtj.gzz.gov.cn",
    "甘孜州自然资源局": "wenshu@zrzyj.gzz.gov.cn",
    "甘孜州农业农村局": "wenshu@nyncj.gzz.gov.cn",
    "甘孜州卫生健康委员会": "wenshu@wjw.gzz.gov.cn",
    "甘孜州住房和城乡建设局": "wenshu@zjj.gzz.gov.cn",
    "甘孜州生态环境局": "wenshu@sthjj.gzz.gov.cn",
    "甘孜州民族宗教事务委员会": "wenshu@mzw.gzz.gov.cn",
    "甘孜州投资集团有限责任公司": "wenshu@gztz.com.cn",
    "甘孜州水电开发有限公司": "wenshu@gzsd.com.cn",
    "泸定县人民政府": "wenshu@luding.gov.cn",
    "九龙县人民政府": "wenshu@jiulong.gov.cn",
    "雅江县人民政府": "wenshu@yajiang.gov.cn",
    "道孚县人民政府": "wenshu@daofu.gov.cn",
    "炉霍县人民政府": "wenshu@luhuo.gov.cn",
    "甘孜县人民政府": "wenshu@ganzixian.gov.cn",
    "新龙县人民政府": "wenshu@xinlong.gov.cn",
    "德格县人民政府": "wenshu@dege.gov.cn",
    "白玉县人民政府": "wenshu@baiyu.gov.cn",
    "石渠县人民政府": "wenshu@shiqu.gov.cn",
    "色达县人民政府": "wenshu@seda.gov.cn",
    "巴塘县人民政府": "wenshu@batang.gov.cn",
    "乡城县人民政府": "wenshu@xiangcheng.gov.cn",
    "稻城县人民政府": "wenshu@daocheng.gov.cn",
    "得荣县人民政府": "wenshu@derong.gov.cn",
    "康定市人民政府": "wenshu@kangding.gov.cn",
}

_DOC_TYPES = (
    "决议",
    "决定",
    "命令",
    "公报",
    "公告",
    "通告",
    "意见",
    "通知",
    "通报",
    "报告",
    "请示",
    "批复",
    "议案",
    "函",
    "纪要",
)


def doc_type_of(title: str) -> str | None:
    """The 文种 a title ends with (an independent reading, for the labels)."""
    for t in sorted(_DOC_TYPES, key=len, reverse=True):
        if title.endswith(t):
            return t
    return "命令" if title.endswith("令") else None


# ------------------------------------------------------------------ documents


@dataclass
class Doc:
    """A 公文 in GB/T 9704 order; `lines()` is its printed text, line by line."""

    title: str
    organ: str  # 发文机关 (masthead name and 署名)
    number: str | None = None  # 发文字号 as printed
    to: str | None = None  # 主送, without the colon
    body: tuple[str, ...] = ()
    date: str = "2024年6月3日"
    cc: str | None = None
    signer: str | None = None  # 签发人 (upward documents)
    masthead: str | None = None  # default: organ + 文件
    copy_no: str | None = None
    secrecy: str | None = None  # e.g. 机密★3年
    urgency: str | None = None
    printed: bool = True
    note: str | None = None  # 附注 / 内部刊物 mark under the date
    signature: str | None = None

    def lines(self) -> list[str]:
        out = [m for m in (self.copy_no, self.secrecy, self.urgency) if m]
        out.append(self.masthead if self.masthead is not None else f"{self.organ}文件")
        if self.number:
            out.append(self.number + (f"{SIGNER_GAP}签发人：{self.signer}" if self.signer else ""))
        out.append(self.title)
        if self.to:
            out.append(f"{self.to}：")
        out.extend(self.body)
        out.append(self.signature or self.organ)
        out.append(self.date)
        if self.note:
            out.append(self.note)
        if self.cc:
            out.append(f"抄送：{self.cc}。")
        if self.printed:
            out.append(f"{self.organ}{SP}{_day_after(self.date)}印发")
        return [x for x in out if x]


@dataclass
class Periodical:
    """An issue of a 简报/内刊: name, 期号 line, body, editor."""

    name: str
    issue: int
    editor: str  # 编印单位
    body: tuple[str, ...]
    date: str = "2024年6月3日"
    copy_no: str | None = None
    secrecy: str | None = None
    note: str | None = None

    @property
    def title(self) -> str:
        return f"{self.name}（第{self.issue}期）"

    def lines(self) -> list[str]:
        out = [x for x in (self.copy_no, self.secrecy) if x]
        out += [self.name, f"第{self.issue}期\u3000{self.editor}编\u3000{self.date}", self.title]
        out += [*self.body, self.editor, self.date]
        if self.note:
            out.append(self.note)
        out.append(f"{self.editor}{SP}{_day_after(self.date)}印发")
        return out


def _day_after(date: str) -> str:
    y, rest = date.split("年")
    m, d = rest.rstrip("日").split("月")
    day = int(d) + 1
    return f"{y}年{m}月{day if day <= 28 else 28}日"


def _wrap(lines: list[str], width: int) -> list[str]:
    out: list[str] = []
    for line in lines:
        out.extend(line[i : i + width] for i in range(0, len(line), width))
    return out


def pdf_bytes(lines: list[str]) -> bytes:
    """A text PDF as the corpus makes them (reportlab, STSong-Light, 34 characters a line)."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    out = io.BytesIO()
    c = canvas.Canvas(out, pageCompression=1, invariant=1)
    y = 780
    for line in _wrap(lines, PDF_WRAP):
        if y < 60:
            c.showPage()
            y = 780
        text = c.beginText(60, y)
        text.setFont("STSong-Light", 12)
        text.textLine(line)
        c.drawText(text)
        y -= 20
    c.showPage()
    c.save()
    return out.getvalue()


def docx_bytes(lines: list[str]) -> bytes:
    import docx

    document = docx.Document()
    for line in lines:
        document.add_paragraph(line)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def ofd_bytes(lines: list[str], title: str, doc_id: str) -> bytes:
    """A one-page OFD package as the corpus makes them (one TextObject per line)."""
    head = '<?xml version="1.0" encoding="UTF-8"?>\n'
    ofd = (
        f'{head}<ofd:OFD xmlns:ofd="{OFD_NS}" Version="1.0" DocType="OFD"><ofd:DocBody>'
        f"<ofd:DocInfo><ofd:DocID>{doc_id}</ofd:DocID><ofd:Title>{title}</ofd:Title>"
        "<ofd:CreationDate>2024-05-20</ofd:CreationDate><ofd:Creator>公文交换系统</ofd:Creator>"
        "</ofd:DocInfo><ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>"
    )
    document = (
        f'{head}<ofd:Document xmlns:ofd="{OFD_NS}"><ofd:CommonData><ofd:MaxUnitID>'
        f"{10 + len(lines)}</ofd:MaxUnitID><ofd:PageArea><ofd:PhysicalBox>0 0 210 297"
        "</ofd:PhysicalBox></ofd:PageArea><ofd:PublicRes>PublicRes.xml</ofd:PublicRes>"
        '</ofd:CommonData><ofd:Pages><ofd:Page ID="1" BaseLoc="Pages/Page_0/Content.xml"/>'
        "</ofd:Pages></ofd:Document>"
    )
    res = (
        f'{head}<ofd:Res xmlns:ofd="{OFD_NS}" BaseLoc="Res"><ofd:Fonts><ofd:Font ID="2" '
        'FontName="宋体" FamilyName="宋体"/></ofd:Fonts></ofd:Res>'
    )
    objects = "".join(
        f'<ofd:TextObject ID="{10 + n}" Boundary="20 {20 + 7 * n} 170 7" Font="2" Size="4.2">'
        f'<ofd:TextCode X="0" Y="5">{_xml_escape(line)}</ofd:TextCode></ofd:TextObject>'
        for n, line in enumerate(lines)
    )
    page = (
        f'{head}<ofd:Page xmlns:ofd="{OFD_NS}"><ofd:Content><ofd:Layer ID="3">{objects}'
        "</ofd:Layer></ofd:Content></ofd:Page>"
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("OFD.xml", ofd)
        z.writestr("Doc_0/Document.xml", document)
        z.writestr("Doc_0/PublicRes.xml", res)
        z.writestr("Doc_0/Pages/Page_0/Content.xml", page)
    return out.getvalue()


def _xml_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def tiff_bytes(pages: int = 2) -> bytes:
    """A bilevel G4 TIFF as the fax gateway posts it (no text layer)."""
    from PIL import Image, ImageDraw

    frames = []
    for p in range(pages):
        im = Image.new("1", (400, 300), color=1)
        draw = ImageDraw.Draw(im)
        for k in range(8):
            draw.rectangle((30, 30 + 30 * k, 370 - 20 * ((k + p) % 5), 40 + 30 * k), fill=0)
        frames.append(im)
    out = io.BytesIO()
    frames[0].save(
        out, format="TIFF", compression="group4", save_all=True, append_images=frames[1:]
    )
    return out.getvalue()


# ------------------------------------------------------------------ messages

CT_PDF = ("application", "pdf")
CT_DOCX = ("application", "vnd.openxmlformats-officedocument.wordprocessingml.document")
CT_OFD = ("application", "ofd")


@dataclass
class Part:
    filename: str
    maintype: str
    subtype: str
    data: bytes


@dataclass
class Case:
    """One probe message and its label."""

    name: str
    raw: bytes
    expected: dict[str, Any]
    note: str = ""


@dataclass
class MailEnvelope:
    """Envelope of a message."""

    sender: tuple[str, str]
    subject: str
    date: str = "Mon, 03 Jun 2024 10:00:00 +0800"
    to: str = US
    headers: dict[str, str] = field(default_factory=dict)


_counter = [0]


def _message(env: MailEnvelope) -> EmailMessage:
    _counter[0] += 1
    msg = EmailMessage()
    name, addr = env.sender
    msg["From"] = f"{name} <{addr}>" if name else addr
    msg["To"] = env.to
    msg["Date"] = env.date
    domain = addr.rpartition("@")[2]
    msg["Message-ID"] = f"<1795740{_counter[0]:05d}.9386.probe.p{_counter[0]}@{domain}>"
    msg["Subject"] = env.subject
    for k, v in env.headers.items():
        msg[k] = v
    return msg


def mail(
    env: MailEnvelope,
    parts: list[Part],
    body: str = "请查收附件。",
    manifest: dict[str, Any] | None = None,
    charset: str = "utf-8",
) -> bytes:
    """multipart/mixed: a short cover note, the documents, the 签收单 last."""
    msg = _message(env)
    msg.set_content(body + "\r\n", charset=charset, cte="base64")
    for p in parts:
        msg.add_attachment(p.data, maintype=p.maintype, subtype=p.subtype, filename=p.filename)
    if manifest is not None:
        data = json.dumps(manifest, ensure_ascii=False, indent=1).encode("utf-8")
        msg.add_attachment(data, maintype="application", subtype="json", filename="签收单.json")
    return msg.as_bytes(policy=policy.SMTP)


def body_mail(env: MailEnvelope, lines: list[str], charset: str = "utf-8") -> bytes:
    """The document itself as the text/plain body (GBK/GB18030 bodies are re-encoded)."""
    msg = _message(env)
    text = "\r\n".join(lines) + "\r\n"
    if charset == "utf-8":
        msg.set_content(text, charset="utf-8", cte="base64")
    else:
        msg.set_content(text.encode(charset), maintype="text", subtype="plain", cte="base64")
        msg.set_param("charset", charset)
    return msg.as_bytes(policy=policy.SMTP)


def html_mail(env: MailEnvelope, lines: list[str], alternative: bool = False) -> bytes:
    """The document as an HTML body (one <p> a line), alone or with a plain alternative."""
    msg = _message(env)
    paragraphs = "".join(f"<p>{_xml_escape(x)}</p>\r\n" for x in lines)
    html = (
        '<html><head><meta charset="utf-8"><title>公文</title></head>'
        f'<body style="font-family:仿宋">\r\n{paragraphs}</body></html>\r\n'
    )
    if alternative:
        msg.set_content("\r\n".join(lines) + "\r\n", charset="utf-8", cte="base64")
        msg.add_alternative(html, subtype="html", charset="utf-8", cte="base64")
    else:
        msg.set_content(html, subtype="html", charset="utf-8", cte="base64")
    return msg.as_bytes(policy=policy.SMTP)


def forward_mail(env: MailEnvelope, inner: bytes, note: str) -> bytes:
    """A forward: a note, then the original message as message/rfc822."""
    from email import message_from_bytes

    msg = _message(env)
    msg.set_content(note + "\r\n", charset="utf-8", cte="base64")
    original = message_from_bytes(inner, policy=policy.default)
    msg.add_attachment(original)
    return msg.as_bytes(policy=policy.SMTP)


def fax_mail(remote: str, part: Part, pages: int = 2, date: str = "") -> bytes:
    env = MailEnvelope(
        FAX_GATEWAY,
        f"Fax from {remote} ({pages} pages)",
        date=date or "Thu, 06 Jun 2024 16:05:00 +0800",
        headers={"X-Fax-Remote-ID": remote, "X-Fax-Pages": str(pages)},
    )
    msg = _message(env)
    msg.set_content(
        f"Received fax from {remote}, {pages} pages.\r\n", charset="utf-8", cte="base64"
    )
    msg.add_attachment(
        part.data, maintype=part.maintype, subtype=part.subtype, filename=part.filename
    )
    return msg.as_bytes(policy=policy.SMTP)


def pdf_part(doc: Doc | Periodical, title: str | None = None) -> Part:
    return Part(f"{title or doc.title}.pdf", *CT_PDF, pdf_bytes(doc.lines()))


def docx_part(doc: Doc | Periodical) -> Part:
    return Part(f"{doc.title}.docx", *CT_DOCX, docx_bytes(doc.lines()))


def ofd_part(doc: Doc | Periodical, doc_id: str) -> Part:
    return Part(f"{doc.title}.ofd", *CT_OFD, ofd_bytes(doc.lines(), doc.title, doc_id))


def direct(
    organ: str, subject: str, date: str = "Mon, 03 Jun 2024 10:00:00 +0800", **kw: Any
) -> MailEnvelope:
    return MailEnvelope((organ, MAILBOX[organ]), subject, date=date, **kw)


def relayed(subject: str, date: str = "Mon, 03 Jun 2024 10:00:00 +0800", **kw: Any) -> MailEnvelope:
    return MailEnvelope(RELAY, subject, date=date, **kw)


def subject_of(doc: Doc) -> str:
    return f"{doc.number} {doc.title}" if doc.number else doc.title


def canonical(number: str | None) -> str | None:
    if number is None:
        return None
    return number.replace("[", "〔").replace("]", "〕")




def iso_date(printed: str) -> str:
    """`2024年6月3日` → `2024-06-03` (an independent reading, for the labels)."""
    y, rest = printed.split("年")
    m, d = rest.rstrip("日").split("月")
    return f"{int(y):04d}-{int(m):02d}-{int(d):02d}"


def attachment_note(body: tuple[str, ...]) -> str | None:
    """The 附件说明 a body prints (`附件：…`, numbered lines under it), for the labels."""
    for i, line in enumerate(body):
        if line.startswith("附件："):
            items = [line.removeprefix("附件：")]
            items += [x for x in body[i + 1 :] if x[:1].isdigit()]
            return "\n".join(x for x in items if x) or None
    return None


def label(
    doc: Doc | Periodical | None,
    sender: str | None,
    outcome: str = "register",
    kind: str | None = None,
    reason: str | None = None,
    opened: bool = True,
    **over: Any,
) -> dict[str, Any]:
    """The expected decision; document fields default to what the document prints
    (the elements below the title only when the document opens: `opened`)."""
    exp: dict[str, Any] = {
        "outcome": outcome,
        "kind": kind,
        "reason": reason,
        "sender": sender,
        "doc_number": None,
        "doc_type": None,
        "secrecy": None,
        "urgency": None,
        "title": None,
        **dict.fromkeys(ELEMENT_KEYS),
    }
    if isinstance(doc, Doc):
        exp.update(
            doc_number=canonical(doc.number),
            doc_type=doc_type_of(doc.title),
            title=doc.title,
            urgency=doc.urgency,
            secrecy=doc.secrecy.split("★")[0] if doc.secrecy else None,
            copy_no=doc.copy_no,
            signer=doc.signer,
            addressees=doc.to,
            cc=doc.cc,
            written_on=iso_date(doc.date),
            attachment_note=attachment_note(doc.body),
        )
    elif isinstance(doc, Periodical):
        exp.update(title=doc.title, secrecy=doc.secrecy.split("★")[0] if doc.secrecy else None,
                   copy_no=doc.copy_no, written_on=iso_date(doc.date))
    if not opened:
        exp.update(dict.fromkeys(ELEMENT_KEYS))  # of a document that does not open, none is known
    exp.update(over)
    return exp


# ------------------------------------------------------------------ the cases

DECREE_TEXT = (
    "《四川省森林草原防灭火条例实施办法》已经2024年5月20日省人民政府第48次常务会议"
    "审议通过，现予公布，自2024年8月1日起施行。"
)
PROV_ALL = "各市（州）人民政府，省政府各部门、各直属机构"
CENTRAL_ALL = "各省、自治区、直辖市人民政府，国务院各部委、各直属机构"


def _central() -> list[Case]:
    cases: list[Case] = []
    d = Doc(
        "国务院关于表彰全国民族团结进步模范集体和模范个人的决定",
        "国务院",
        "国发〔2024〕13号",
        CENTRAL_ALL,
        (
            "为表彰先进，国务院决定，授予100个集体“全国民族团结进步模范集体”称号。",
            "希望受到表彰的集体和个人珍惜荣誉，再接再厉。",
            "特此决定。",
        ),
        date="2024年9月25日",
    )
    cases.append(
        Case(
            "central_decision_commendation",
            mail(relayed(subject_of(d)), [pdf_part(d)]),
            label(d, "国务院", kind="阅件"),
            "表彰决定 asks nothing of us",
        )
    )
    d = Doc(
        "国务院办公厅关于加快构建防灾减灾救灾体系的意见",
        "国务院办公厅",
        "国办发〔2024〕21号",
        CENTRAL_ALL,
        ("各地区、各部门要把防灾减灾救灾摆在突出位置，压实各级责任。", "请结合实际认真贯彻落实。"),
        date="2024年5月10日",
    )
    cases.append(
        Case(
            "central_office_opinion_docx",
            mail(relayed(subject_of(d)), [docx_part(d)]),
            label(d, "国务院办公厅", kind="办件"),
        )
    )
    d = Doc(
        "国务院关于同意设立四川甘孜国家级自然保护区的批复",
        "国务院",
        "国函〔2024〕47号",
        "四川省人民政府",
        (
            "你省《关于设立四川甘孜国家级自然保护区的请示》收悉。",
            "同意设立四川甘孜国家级自然保护区。",
            "此复。",
        ),
        cc="生态环境部，自然资源部，甘孜藏族自治州人民政府",
        date="2024年4月12日",
    )
    cases.append(
        Case(
            "central_reply_copied_to_us_ofd",
            mail(relayed(subject_of(d)), [ofd_part(d, "p3")]),
            label(d, "国务院", kind="阅件"),
            "批复 copied to us",
        )
    )
    d = Doc(
        "国务院办公厅关于立即开展地质灾害隐患排查的紧急通知",
        "国务院办公厅",
        "国办明电〔2024〕9号",
        "各省、自治区、直辖市人民政府",
        (
            "近期西南地区连续强降雨，地质灾害风险极高。",
            "请立即组织力量对隐患点逐一排查，确保群众安全。",
        ),
        masthead="国务院办公厅明传电报",
        urgency="特提",
        printed=False,
        date="2024年7月2日",
    )
    cases.append(
        Case(
            "central_telegram_teti_body",
            body_mail(relayed(subject_of(d), date="Tue, 02 Jul 2024 23:10:00 +0800"), d.lines()),
            label(d, "国务院办公厅", kind="办件"),
        )
    )
    d = Doc(
        "应急管理部关于做好近期强降雨防范应对工作的紧急通知",
        "应急管理部",
        "应急明电〔2024〕12号",
        "各省、自治区、直辖市人民政府",
        ("据预测，未来一周西南地区将出现强降雨过程。", "各地要加强值班值守，落实防范措施。"),
        masthead="应急管理部明传电报",
        urgency="加急",
        printed=False,
        date="2024年7月15日",
    )
    cases.append(
        Case(
            "central_department_telegram",
            mail(relayed(subject_of(d)), [pdf_part(d)]),
            label(d, "应急管理部", kind="办件"),
        )
    )
    d = Doc(
        "中共中央办公厅关于开展党纪学习教育的通知",
        "中共中央办公厅",
        "中办发〔2024〕18号",
        "各省、自治区、直辖市党委，中央和国家机关各部委党组（党委）",
        (
            "为深入推进全面从严治党，中央决定在全党开展党纪学习教育。",
            "请于2024年7月31日前将开展情况报送中央办公厅。",
        ),
        date="2024年4月5日",
    )
    cases.append(
        Case(
            "party_centre_office_with_deadline",
            mail(relayed(subject_of(d)), [pdf_part(d)]),
            label(d, "中共中央办公厅", kind="阅件"),
        )
    )
    d = Doc(
        "财政部关于下达2024年中央自然灾害救灾资金预算的通知",
        "财政部",
        "财建〔2024〕210号",
        "四川省财政厅",
        ("根据有关规定，现下达你省2024年中央自然灾害救灾资金。", "请按规定及时拨付资金。"),
        cc="四川省人民政府，甘孜藏族自治州人民政府",
        date="2024年8月2日",
    )
    cases.append(
        Case(
            "central_department_copy",
            mail(relayed(subject_of(d)), [pdf_part(d)]),
            label(d, "财政部", kind="阅件"),
            "superior copies us",
        )
    )
    d = Doc(
        "自然资源部关于征求《地质灾害防治条例（修订草案）》意见的函",
        "自然资源部",
        "自然资函〔2024〕155号",
        "各省、自治区、直辖市人民政府",
        ("为做好条例修订工作，现征求你们的意见。", "请于2024年6月28日前将书面意见函复我部。"),
        masthead="自然资源部",
        date="2024年6月3日",
    )
    cases.append(
        Case(
            "central_letter_opinion",
            mail(relayed(subject_of(d)), [ofd_part(d, "p9")]),
            label(d, "自然资源部", kind="办件"),
        )
    )
    return cases


def _province() -> list[Case]:
    cases: list[Case] = []
    d = Doc(
        "四川省人民政府关于取消和调整一批行政许可事项及做好衔接落实工作的决定",
        "四川省人民政府",
        "川府发〔2024〕19号",
        PROV_ALL,
        ("经研究，省政府决定取消和调整一批行政许可事项。", "请各地各部门认真做好衔接落实工作。"),
        date="2024年6月12日",
    )
    cases.append(
        Case(
            "province_decision_long_title_pdf",
            mail(direct("四川省人民政府", subject_of(d)), [pdf_part(d)]),
            label(d, "四川省人民政府", kind="办件"),
            "a title wrapped over two lines",
        )
    )
    d = Doc(
        "四川省人民政府令",
        "四川省人民政府",
        None,
        None,
        (DECREE_TEXT,),
        masthead="四川省人民政府令",
        signature="省长\u3000某某某",
        date="2024年6月1日",
        printed=False,
    )
    lines = ["四川省人民政府令", "第258号", *d.body, "省长\u3000某某某", d.date]
    cases.append(
        Case(
            "province_decree",
            mail(
                direct("四川省人民政府", "四川省人民政府令（第258号）"),
                [Part("四川省人民政府令（第258号）.pdf", *CT_PDF, pdf_bytes(lines))],
            ),
            label(d, "四川省人民政府", kind="阅件", doc_type="命令"),
            "a 政府令 asks nothing of us",
        )
    )
    d = Doc(
        "四川省人民政府办公厅关于进一步优化营商环境的实施意见",
        "四川省人民政府办公厅",
        "川办发〔2024〕27号",
        PROV_ALL,
        ("各地各部门要把优化营商环境作为重点工作来抓。", "请结合实际认真抓好落实。"),
        date="2024年5月8日",
    )
    cases.append(
        Case(
            "province_office_opinion_html",
            html_mail(direct("四川省人民政府办公厅", subject_of(d)), d.lines()),
            label(d, "四川省人民政府办公厅", kind="办件"),
        )
    )
    d = Doc(
        "四川省人民政府办公厅关于做好省级储备粮轮换工作的函",
        "四川省人民政府办公厅",
        "川办函〔2024〕112号",
        "省发展改革委，省财政厅",
        ("现就省级储备粮轮换有关事项函告如下。", "请按照职责分工抓好落实。"),
        masthead="四川省人民政府办公厅",
        cc="各市（州）人民政府",
        date="2024年7月4日",
    )
    cases.append(
        Case(
            "province_office_group_in_cc",
            mail(direct("四川省人民政府办公厅", subject_of(d)), [pdf_part(d)]),
            label(d, "四川省人民政府办公厅", kind="阅件"),
        )
    )
    d = Doc(
        "四川省人民政府办公厅关于商请协助做好川藏铁路沿线征地拆迁工作的函",
        "四川省人民政府办公厅",
        "川办函〔2024〕131号",
        "甘孜州人民政府、阿坝州人民政府、雅安市人民政府",
        (
            "川藏铁路建设进入关键阶段，征地拆迁任务繁重。",
            "请协助做好征地拆迁工作，并于2024年8月20日前函复。",
        ),
        masthead="四川省人民政府办公厅",
        date="2024年7月22日",
    )
    cases.append(
        Case(
            "province_letter_to_three_prefectures",
            mail(direct("四川省人民政府办公厅", subject_of(d)), [docx_part(d)]),
            label(d, "四川省人民政府办公厅", kind="办件"),
        )
    )
    d = Doc(
        "四川省人民政府关于同意甘孜州设立康定高新技术产业园区的批复",
        "四川省人民政府",
        "川府函〔2024〕140号",
        "甘孜州人民政府",
        (
            "你州《关于设立康定高新技术产业园区的请示》收悉。",
            "经研究，原则同意设立康定高新技术产业园区。",
            "请你州认真组织实施，加强园区建设管理。",
            "此复。",
        ),
        masthead="四川省人民政府",
        date="2024年7月9日",
    )
    cases.append(
        Case(
            "province_reply_to_us_act",
            mail(direct("四川省人民政府", subject_of(d)), [pdf_part(d)]),
            label(d, "四川省人民政府", kind="办件"),
            "批复 asking us to implement",
        )
    )
    d = Doc(
        "四川省人民政府关于同意调整甘孜州部分县城总体规划的批复",
        "四川省人民政府",
        "川府函〔2024〕152号",
        "甘孜州人民政府",
        ("你州《关于调整部分县城总体规划的请示》收悉。", "经研究，同意调整。", "此复。"),
        masthead="四川省人民政府",
        date="2024年7月19日",
    )
    cases.append(
        Case(
            "province_reply_to_us_plain",
            mail(direct("四川省人民政府", subject_of(d)), [ofd_part(d, "p16")]),
            label(d, "四川省人民政府", kind="阅件"),
            "批复 that only answers",
        )
    )
    d = Doc(
        "四川省人民政府关于发布2024年度地质灾害防治工作方案的公告",
        "四川省人民政府",
        None,
        None,
        ("现将《四川省2024年度地质灾害防治工作方案》予以公告。", "特此公告。"),
        masthead="",
        date="2024年3月1日",
        printed=False,
    )
    cases.append(
        Case(
            "province_announcement",
            mail(direct("四川省人民政府", d.title), [pdf_part(d)]),
            label(d, "四川省人民政府", kind="阅件"),
        )
    )
    d = Doc(
        "中共四川省委关于深入学习贯彻党的二十届三中全会精神的决定",
        "中共四川省委",
        "川委发〔2024〕12号",
        "各市（州）党委和人民政府，省委各部委，省级国家机关各部门",
        (
            "全会对进一步全面深化改革作出了部署。",
            "各地各部门要把学习贯彻全会精神作为重大政治任务。",
            "请结合实际认真贯彻执行。",
        ),
        date="2024年8月2日",
    )
    cases.append(
        Case(
            "province_party_decision_relay",
            mail(relayed(subject_of(d)), [pdf_part(d)]),
            label(d, "中共四川省委", kind="办件"),
        )
    )
    d = Doc(
        "中共四川省委办公厅关于做好2024年度综合考核有关工作的通知",
        "中共四川省委办公厅",
        "川委厅〔2024〕41号",
        "各市（州）党委办公室、人民政府办公室",
        ("现就做好年度综合考核有关工作通知如下。", "请于2024年12月10日前报送自评报告。"),
        date="2024年11月4日",
    )
    cases.append(
        Case(
            "province_party_office_relay_deadline",
            mail(relayed(subject_of(d)), [ofd_part(d, "p20")]),
            label(d, "中共四川省委办公厅", kind="办件"),
        )
    )
    d = Doc(
        "四川省财政厅关于做好2024年预算执行分析工作的通知",
        "四川省财政厅",
        "川财预〔2024〕66号",
        "各市（州）财政局",
        ("为掌握预算执行情况，现部署开展预算执行分析。", "请于2024年7月15日前报送分析报告。"),
        cc="各市（州）人民政府",
        date="2024年6月20日",
    )
    cases.append(
        Case(
            "province_department_copy_to_group",
            mail(direct("四川省财政厅", subject_of(d)), [pdf_part(d)]),
            label(d, "四川省财政厅", kind="阅件"),
        )
    )
    d = Doc(
        "四川省农业农村厅关于商请支持高原特色农业示范区建设的函",
        "四川省农业农村厅",
        "川农函〔2024〕233号",
        "甘孜州人民政府",
        ("我厅拟在你州建设高原特色农业示范区。", "恳请给予支持，并请于2024年9月15日前函复。"),
        masthead="四川省农业农村厅",
        date="2024年8月26日",
    )
    cases.append(
        Case(
            "province_department_letter_docx",
            mail(direct("四川省农业农村厅", subject_of(d)), [docx_part(d)]),
            label(d, "四川省农业农村厅", kind="办件"),
        )
    )
    d = Doc(
        "四川省卫生健康委员会关于2024年上半年全省传染病防控工作情况的通报",
        "四川省卫生健康委员会",
        "川卫发〔2024〕38号",
        "各市（州）卫生健康委，各市（州）人民政府",
        ("上半年全省传染病疫情总体平稳。", "现将有关情况通报如下。", "特此通报。"),
        date="2024年7月26日",
    )
    cases.append(
        Case(
            "province_department_bulletin_ofd",
            mail(direct("四川省卫生健康委员会", subject_of(d)), [ofd_part(d, "p23")]),
            label(d, "四川省卫生健康委员会", kind="阅件"),
        )
    )
    d = Doc(
        "四川省教育厅关于2024年全省教育工作专题会议的纪要",
        "四川省教育厅",
        "川教〔2024〕118号",
        "各市（州）人民政府，各市（州）教育局",
        ("2024年9月10日，省教育厅召开全省教育工作专题会议。", "现将会议纪要印发给你们，供参阅。"),
        date="2024年9月13日",
    )
    cases.append(
        Case(
            "province_minutes_for_reference",
            mail(direct("四川省教育厅", subject_of(d)), [pdf_part(d)]),
            label(d, "四川省教育厅", kind="阅件"),
        )
    )
    d = Doc(
        "四川省应急管理厅关于全省汛期安全防范工作推进会议的纪要",
        "四川省应急管理厅",
        "川应急〔2024〕88号",
        "各市（州）人民政府",
        (
            "会议研究部署了主汛期安全防范工作。",
            "请各市（州）于2024年9月30日前将会议议定事项落实情况报送省应急管理厅。",
        ),
        date="2024年8月30日",
    )
    cases.append(
        Case(
            "province_minutes_with_request",
            mail(direct("四川省应急管理厅", subject_of(d)), [pdf_part(d)]),
            label(d, "四川省应急管理厅", kind="办件"),
        )
    )
    d = Doc(
        "四川省交通运输厅关于加强冬春季道路运输安全管理的通知",
        "四川省交通运输厅",
        "川交发〔2024〕57号",
        "各市（州）人民政府",
        ("冬春季雨雪冰冻天气多发，道路运输安全风险加大。", "请切实加强道路运输安全管理。"),
        copy_no="000034",
        secrecy="机密★3年",
        urgency="特急",
        date="2024年12月2日",
    )
    cases.append(
        Case(
            "province_department_secret_urgent",
            mail(direct("四川省交通运输厅", subject_of(d)), [pdf_part(d)]),
            label(d, "四川省交通运输厅", kind="办件"),
        )
    )
    d = Doc(
        "四川省自然资源厅关于加强地质灾害群测群防体系建设的意见",
        "四川省自然资源厅",
        "川自然资发〔2024〕29号",
        "各市（州）自然资源主管部门",
        ("各地要健全群测群防体系。", "请认真贯彻落实。"),
        cc="各市（州）人民政府",
        date="2024年5月14日",
    )
    cases.append(
        Case(
            "province_opinion_copy",
            mail(direct("四川省自然资源厅", subject_of(d)), [pdf_part(d)]),
            label(d, "四川省自然资源厅", kind="阅件"),
        )
    )
    d = Doc(
        "四川省人民政府办公厅关于近期全省森林火灾情况的通报",
        "四川省人民政府办公厅",
        "川办明电〔2024〕12号",
        "各市（州）人民政府",
        ("今年以来全省共发生森林火灾12起。", "现将有关情况通报如下，特此通报。"),
        masthead="四川省人民政府办公厅明传电报",
        urgency="加急",
        printed=False,
        date="2024年3月22日",
    )
    cases.append(
        Case(
            "province_telegram_bulletin_only",
            body_mail(direct("四川省人民政府办公厅", subject_of(d)), d.lines()),
            label(d, "四川省人民政府办公厅", kind="阅件"),
            "an urgent telegram that gives no instruction",
        )
    )
    d = Doc(
        "四川省人民政府办公厅关于2025年部分节假日安排的通知",
        "四川省人民政府办公厅",
        "川办发〔2024〕60号",
        PROV_ALL,
        ("经省政府同意，现将2025年元旦、春节等节假日安排通知如下。", "特此通知。"),
        date="2024年11月15日",
    )
    cases.append(
        Case(
            "province_notice_informs",
            mail(direct("四川省人民政府办公厅", subject_of(d)), [pdf_part(d)]),
            label(d, "四川省人民政府办公厅", kind="阅件"),
        )
    )
    d = Doc(
        "四川省应急管理厅关于开展安全生产治本攻坚三年行动的通知",
        "四川省应急管理厅",
        "川应急〔2024〕35号",
        "四川省各市（州）人民政府",
        ("为推动安全生产形势持续稳定向好，决定开展治本攻坚行动。", "请于10月15日前报送行动方案。"),
        date="2024年4月12日",
    )
    cases.append(
        Case(
            "province_deadline_without_year",
            mail(direct("四川省应急管理厅", subject_of(d)), [docx_part(d)]),
            label(d, "四川省应急管理厅", kind="办件"),
        )
    )
    return cases


def _prefecture() -> list[Case]:
    cases: list[Case] = []
    d = Doc(
        "中共甘孜州委关于加快推进全域旅游高质量发展的意见",
        "中共甘孜州委",
        "甘委发〔2024〕14号",
        "各县（市）党委、人民政府，州委各部委，州级各部门，州人民政府",
        ("各地各部门要把全域旅游作为重要抓手。", "请结合实际认真贯彻落实。"),
        date="2024年6月18日",
    )
    cases.append(
        Case(
            "prefecture_party_opinion",
            mail(direct("中共甘孜州委", subject_of(d)), [pdf_part(d)]),
            label(d, "中共甘孜州委", kind="办件"),
        )
    )
    d = Doc(
        "中共甘孜州委办公室关于报送2024年度重点工作完成情况的通知",
        "中共甘孜州委办公室",
        "甘委办〔2024〕66号",
        "各县（市）党委办公室、人民政府办公室，州委各部委办公室，州人民政府办公室",
        ("为做好年度工作总结，现就有关事项通知如下。", "请于2024年12月5日前报送重点工作完成情况。"),
        date="2024年11月20日",
    )
    cases.append(
        Case(
            "prefecture_party_office_deadline",
            mail(direct("中共甘孜州委办公室", subject_of(d)), [docx_part(d)]),
            label(d, "中共甘孜州委办公室", kind="办件"),
        )
    )
    d = Doc(
        "甘孜州人大常委会关于批准甘孜州2024年州级预算调整方案的决定",
        "甘孜州人大常委会",
        "甘人大常〔2024〕11号",
        "州人民政府",
        (
            "州十二届人大常委会第二十次会议审查了州人民政府提出的预算调整方案。",
            "会议决定：批准甘孜州2024年州级预算调整方案。",
            "特此决定。",
        ),
        date="2024年9月27日",
    )
    cases.append(
        Case(
            "prefecture_congress_decision",
            mail(direct("甘孜州人大常委会", subject_of(d)), [pdf_part(d)]),
            label(d, "甘孜州人大常委会", kind="阅件"),
        )
    )
    d = Doc(
        "甘孜州人大常委会关于交办州十二届人大四次会议代表建议的函",
        "甘孜州人大常委会",
        "甘人大常函〔2024〕7号",
        "州人民政府",
        (
            "州十二届人大四次会议期间，代表共提出建议126件。",
            "现将其中98件建议交由你们办理，请认真研究办理，并于2024年7月31日前答复代表。",
        ),
        masthead="甘孜州人大常委会",
        date="2024年3月15日",
    )
    cases.append(
        Case(
            "prefecture_congress_suggestions",
            mail(direct("甘孜州人大常委会", subject_of(d)), [docx_part(d)]),
            label(d, "甘孜州人大常委会", kind="办件"),
            "代表建议 to answer",
        )
    )
    d = Doc(
        "甘孜藏族自治州第十二届人民代表大会第四次会议公报",
        "甘孜州人大常委会",
        None,
        None,
        (
            "甘孜藏族自治州第十二届人民代表大会第四次会议于2024年1月20日至23日在康定召开。",
            "会议审议批准了州人民政府工作报告。",
        ),
        masthead="",
        signature="甘孜藏族自治州第十二届人民代表大会第四次会议主席团",
        date="2024年1月23日",
        printed=False,
    )
    cases.append(
        Case(
            "prefecture_congress_communique",
            mail(direct("甘孜州人大常委会", d.title), [pdf_part(d)]),
            label(d, "甘孜州人大常委会", kind="阅件"),
        )
    )
    d = Doc(
        "政协甘孜州委员会关于转交州政协十二届四次会议提案的函",
        "政协甘孜州委员会",
        "甘政协〔2024〕9号",
        "州人民政府",
        (
            "州政协十二届四次会议期间，委员共提交提案185件。",
            "现将经审查立案的提案转交你们，请研究办理，并于2024年8月31日前将办理结果答复提案人。",
        ),
        masthead="政协甘孜州委员会",
        date="2024年3月18日",
    )
    cases.append(
        Case(
            "prefecture_cppcc_proposals",
            mail(direct("政协甘孜州委员会", subject_of(d)), [pdf_part(d)]),
            label(d, "政协甘孜州委员会", kind="办件"),
            "提案 to answer",
        )
    )
    d = Doc(
        "甘孜军分区关于商请解决民兵训练基地建设用地的函",
        "甘孜军分区",
        "甘军〔2024〕15号",
        "州人民政府",
        ("为加强民兵队伍建设，我区拟新建民兵训练基地。", "恳请州人民政府协调解决建设用地。"),
        masthead="甘孜军分区",
        date="2024年5月6日",
    )
    cases.append(
        Case(
            "prefecture_military_letter",
            mail(direct("甘孜军分区", subject_of(d)), [ofd_part(d, "p33")]),
            label(d, "甘孜军分区", kind="办件"),
        )
    )
    d = Doc(
        "甘孜军分区关于2024年度民兵整组工作情况的通报",
        "甘孜军分区",
        "甘军〔2024〕22号",
        "各县（市）人民武装部",
        ("2024年度民兵整组工作已全面完成。", "现将有关情况通报如下，特此通报。"),
        cc="州人民政府",
        date="2024年6月11日",
    )
    cases.append(
        Case(
            "prefecture_military_copy",
            mail(direct("甘孜军分区", subject_of(d)), [pdf_part(d)]),
            label(d, "甘孜军分区", kind="阅件"),
            "a leading organ copies us",
        )
    )
    d = Doc(
        "甘孜州发展和改革委员会关于下达2024年州级预算内基本建设投资计划的请示",
        "甘孜州发展和改革委员会",
        "甘发改〔2024〕73号",
        "州人民政府",
        ("为加快项目建设进度，拟下达州级预算内基本建设投资计划。", "妥否，请审示。"),
        signer="刘某某",
        date="2024年5月20日",
    )
    cases.append(
        Case(
            "prefecture_department_request_docx",
            mail(direct("甘孜州发展和改革委员会", subject_of(d)), [docx_part(d)]),
            label(d, "甘孜州发展和改革委员会", kind="办件"),
        )
    )
    d = Doc(
        "甘孜州应急管理局关于2024年上半年全州安全生产工作情况的报告",
        "甘孜州应急管理局",
        "甘应急〔2024〕41号",
        "州人民政府",
        ("上半年全州未发生较大以上生产安全事故。", "特此报告。"),
        signer="何某某",
        date="2024年7月8日",
    )
    cases.append(
        Case(
            "prefecture_department_report_plain",
            mail(direct("甘孜州应急管理局", subject_of(d)), [pdf_part(d)]),
            label(d, "甘孜州应急管理局", kind="阅件"),
        )
    )
    d = Doc(
        "甘孜州自然资源局关于甘孜州国土空间生态修复规划编制情况的报告",
        "甘孜州自然资源局",
        "甘自然资〔2024〕52号",
        "州人民政府",
        ("规划编制工作已基本完成。", "以上报告如无不妥，请州人民政府审定后印发实施。"),
        signer="罗某某",
        date="2024年8月15日",
    )
    cases.append(
        Case(
            "prefecture_department_report_approval",
            mail(direct("甘孜州自然资源局", subject_of(d)), [ofd_part(d, "p37")]),
            label(d, "甘孜州自然资源局", kind="办件"),
        )
    )
    d = Doc(
        "甘孜州农业农村局关于做好2024年秋冬季动物疫病防控工作的通知",
        "甘孜州农业农村局",
        "甘农〔2024〕88号",
        "各县（市）农业农村局",
        ("请各地切实做好秋冬季动物疫病防控工作。",),
        cc="州人民政府，省农业农村厅",
        date="2024年10月9日",
    )
    cases.append(
        Case(
            "prefecture_department_copy",
            mail(direct("甘孜州农业农村局", subject_of(d)), [pdf_part(d)]),
            label(d, "甘孜州农业农村局", kind="抄件"),
        )
    )
    d = Doc(
        "甘孜州卫生健康委员会关于商请协调解决州人民医院新院区建设资金的函",
        "甘孜州卫生健康委员会",
        "甘卫函〔2024〕19号",
        "州人民政府办公室",
        ("州人民医院新院区建设资金缺口较大。", "恳请州政府办公室协调州财政局研究解决，请予函复。"),
        masthead="甘孜州卫生健康委员会",
        date="2024年9月3日",
    )
    cases.append(
        Case(
            "prefecture_department_letter",
            mail(direct("甘孜州卫生健康委员会", subject_of(d)), [pdf_part(d)]),
            label(d, "甘孜州卫生健康委员会", kind="办件"),
        )
    )
    p = Periodical(
        "生态环境工作动态",
        27,
        "甘孜州生态环境局",
        ("一、全州空气质量优良天数比例保持100%……", "二、中央环保督察反馈问题整改有序推进……"),
        date="2024年9月12日",
    )
    cases.append(
        Case(
            "prefecture_department_dynamics_gbk",
            body_mail(direct("甘孜州生态环境局", p.title), p.lines(), charset="gbk"),
            label(p, "甘孜州生态环境局", kind="简报"),
        )
    )
    d = Doc(
        "甘孜州民族宗教事务委员会关于2024年民族团结进步创建工作情况的报告",
        "甘孜州民族宗教事务委员会",
        "甘民宗〔2024〕23号",
        "四川省民族宗教事务委员会",
        ("今年以来，我州深入开展民族团结进步创建工作。", "特此报告。"),
        cc="州人民政府",
        signer="泽仁某某",
        date="2024年10月21日",
    )
    cases.append(
        Case(
            "prefecture_department_report_copy",
            mail(direct("甘孜州民族宗教事务委员会", subject_of(d)), [docx_part(d)]),
            label(d, "甘孜州民族宗教事务委员会", kind="抄件"),
        )
    )
    d = Doc(
        "甘孜州水电开发有限公司关于申请注入水电项目资本金的请示",
        "甘孜州水电开发有限公司",
        "甘水电〔2024〕12号",
        "州人民政府",
        ("为推进水电项目建设，公司拟申请州级注入资本金。", "以上请示妥否，请批示。"),
        signer="杨某某",
        date="2024年4月25日",
    )
    cases.append(
        Case(
            "prefecture_enterprise_request",
            mail(direct("甘孜州水电开发有限公司", subject_of(d)), [pdf_part(d)]),
            label(d, "甘孜州水电开发有限公司", kind="办件"),
        )
    )
    p = Periodical(
        "甘孜州投资集团工作简报",
        9,
        "甘孜州投资集团有限责任公司办公室",
        ("集团三季度完成投资18亿元……",),
        date="2024年10月10日",
    )
    cases.append(
        Case(
            "prefecture_enterprise_briefing",
            mail(direct("甘孜州投资集团有限责任公司", p.title), [pdf_part(p)]),
            label(p, "甘孜州投资集团有限责任公司", kind="简报"),
        )
    )
    p = Periodical(
        "甘孜信息",
        102,
        "中共甘孜州委办公室",
        ("州委常委会研究部署冬春季森林草原防灭火工作……",),
        date="2024年11月28日",
        note="（内部资料 注意保存）",
    )
    cases.append(
        Case(
            "prefecture_party_office_info",
            mail(direct("中共甘孜州委办公室", p.title), [ofd_part(p, "p45")]),
            label(p, "中共甘孜州委办公室", kind="简报"),
            "a prefecture periodical is a 简报 even when internal",
        )
    )
    return cases


def _counties() -> list[Case]:
    cases: list[Case] = []
    d = Doc(
        "道孚县人民政府关于申请解决县城供水管网改造资金的请示",
        "道孚县人民政府",
        "道府〔2024〕31号",
        "甘孜州人民政府",
        ("我县县城供水管网老化严重，改造资金缺口较大。", "妥否，请批示。"),
        signer="格某某",
        date="2024年5月13日",
    )
    cases.append(
        Case(
            "county_request_ofd",
            mail(direct("道孚县人民政府", subject_of(d)), [ofd_part(d, "p47")]),
            label(d, "道孚县人民政府", kind="办件"),
        )
    )
    d = Doc(
        "炉霍县人民政府关于2024年脱贫攻坚成果巩固工作情况的报告",
        "炉霍县人民政府",
        "炉府〔2024〕44号",
        "甘孜州人民政府",
        ("今年以来，我县持续巩固拓展脱贫攻坚成果。", "特此报告。"),
        signer="泽某某",
        date="2024年9月9日",
    )
    cases.append(
        Case(
            "county_report_plain",
            mail(direct("炉霍县人民政府", subject_of(d)), [pdf_part(d)]),
            label(d, "炉霍县人民政府", kind="阅件"),
        )
    )
    d = Doc(
        "甘孜县人民政府关于商请支持甘孜县格萨尔文化旅游节的函",
        "甘孜县人民政府",
        "甘孜县府函〔2024〕21号",
        "州人民政府办公室",
        ("我县定于8月举办格萨尔文化旅游节。", "恳请给予支持，请予函复。"),
        masthead="甘孜县人民政府",
        date="2024年6月24日",
    )
    cases.append(
        Case(
            "county_letter",
            mail(direct("甘孜县人民政府", subject_of(d)), [docx_part(d)]),
            label(d, "甘孜县人民政府", kind="办件"),
        )
    )
    p = Periodical(
        "新龙信息",
        36,
        "新龙县人民政府办公室",
        ("全县雅砻江流域生态保护工作取得新进展……",),
        date="2024年7月30日",
    )
    cases.append(
        Case(
            "county_info_periodical",
            mail(direct("新龙县人民政府", p.title), [pdf_part(p)]),
            label(p, "新龙县人民政府", kind="简报"),
        )
    )
    p = Periodical(
        "德格县情况反映",
        5,
        "德格县人民政府办公室",
        ("关于我县部分乡镇饮水安全问题的情况反映……",),
        date="2024年6月14日",
    )
    cases.append(
        Case(
            "county_situation_report_gb18030",
            body_mail(direct("德格县人民政府", p.title), p.lines(), charset="gb18030"),
            label(p, "德格县人民政府", kind="简报"),
        )
    )
    d = Doc(
        "白玉县人民政府关于印发白玉县2024年森林草原防灭火工作方案的通知",
        "白玉县人民政府",
        "白府发〔2024〕9号",
        "各乡（镇）人民政府，县级各部门",
        ("现将方案印发给你们，请认真遵照执行。",),
        cc="州人民政府，州应急管理局",
        date="2024年2月20日",
    )
    cases.append(
        Case(
            "county_notice_copy",
            mail(direct("白玉县人民政府", subject_of(d)), [pdf_part(d)]),
            label(d, "白玉县人民政府", kind="抄件"),
        )
    )
    d = Doc(
        "石渠县人民政府关于雪灾受灾情况的报告",
        "石渠县人民政府",
        "石府〔2024〕12号",
        "甘孜州人民政府",
        ("2月以来我县遭受严重雪灾，牲畜损失较大。", "恳请州人民政府给予救灾资金支持。"),
        signer="扎某某",
        date="2024年2月26日",
    )
    cases.append(
        Case(
            "county_report_asking_support",
            mail(direct("石渠县人民政府", subject_of(d)), [docx_part(d)]),
            label(d, "石渠县人民政府", kind="办件"),
        )
    )
    d = Doc(
        "色达县人民政府关于提请审议色达县2024年财政预算调整方案的议案",
        "色达县人民政府",
        "色府〔2024〕27号",
        "色达县人大常委会",
        ("根据预算法规定，现提请县人大常委会审议预算调整方案。",),
        cc="州人民政府，州财政局",
        date="2024年8月19日",
    )
    cases.append(
        Case(
            "county_bill_copy",
            mail(direct("色达县人民政府", subject_of(d)), [pdf_part(d)]),
            label(d, "色达县人民政府", kind="抄件"),
        )
    )
    d = Doc(
        "理塘县人民政府关于申请解决高原机场配套道路建设资金的请示",
        "理塘县人民政府",
        "理府〔2024〕38号",
        "甘孜州人民政府",
        ("高原机场配套道路建设资金缺口较大。", "妥否，请批示。"),
        signer="向某某",
        date="2024年6月4日",
    )
    cases.append(
        Case(
            "county_fax_pdf_text",
            fax_mail("08365322014", Part("fax.pdf", *CT_PDF, pdf_bytes(d.lines()))),
            label(d, "理塘县人民政府", kind="办件"),
        )
    )
    cases.append(
        Case(
            "county_fax_tiff",
            fax_mail("+86 836-5622015", Part("fax.tif", "image", "tiff", tiff_bytes(3)), pages=3),
            label(None, "巴塘县人民政府", outcome="review", reason="unreadable"),
        )
    )
    d = Doc(
        "乡城县人民政府关于2024年森林草原防灭火工作情况的报告",
        "乡城县人民政府",
        "乡府〔2024〕50号",
        "甘孜州人民政府",
        ("全县未发生森林草原火灾。", "特此报告。"),
        signer="王某某",
        date="2024年6月17日",
    )
    cases.append(
        Case(
            "county_report_gb18030_body",
            body_mail(direct("乡城县人民政府", subject_of(d)), d.lines(), charset="gb18030"),
            label(d, "乡城县人民政府", kind="阅件"),
        )
    )
    d = Doc(
        "稻城县人民政府关于申请设立亚丁旅游专线客运站的请示",
        "稻城县人民政府",
        "稻府〔2024〕16号",
        "甘孜州人民政府",
        ("为方便游客出行，拟设立亚丁旅游专线客运站。", "当否，请批复。"),
        signer="次某某",
        date="2024年3月27日",
    )
    cases.append(
        Case(
            "county_request_html_alternative",
            html_mail(direct("稻城县人民政府", subject_of(d)), d.lines(), alternative=True),
            label(d, "稻城县人民政府", kind="办件"),
        )
    )
    d = Doc(
        "得荣县人民政府关于县城污水处理厂建成投运情况的函",
        "得荣县人民政府",
        "得府函〔2024〕8号",
        "州人民政府办公室",
        ("我县县城污水处理厂已于5月底建成投运。", "特此函告。"),
        masthead="得荣县人民政府",
        date="2024年6月5日",
    )
    cases.append(
        Case(
            "county_letter_informs_ofd",
            mail(direct("得荣县人民政府", subject_of(d)), [ofd_part(d, "p58")]),
            label(d, "得荣县人民政府", kind="阅件"),
        )
    )
    d = Doc(
        "康定市人民政府关于折多山隧道施工期间实行交通管制的通告",
        "康定市人民政府",
        "康府发〔2024〕33号",
        None,
        ("因折多山隧道施工需要，决定对国道318线部分路段实行交通管制。", "特此通告。"),
        cc="州人民政府，州交通运输局，州公安局",
        date="2024年5月27日",
    )
    cases.append(
        Case(
            "county_announcement_copy",
            mail(direct("康定市人民政府", subject_of(d)), [pdf_part(d)]),
            label(d, "康定市人民政府", kind="抄件"),
        )
    )
    d = Doc(
        "泸定县人民政府关于2024年上半年重点项目建设情况的报告",
        "泸定县人民政府",
        "泸府〔2024〕61号",
        "甘孜州人民政府",
        (
            "上半年全县重点项目完成投资12亿元。",
            "恳请州人民政府将我县桥梁项目纳入州级重点项目予以协调。",
        ),
        signer="李某某",
        date="2024年7月16日",
    )
    cases.append(
        Case(
            "county_report_asking_coordination",
            mail(direct("泸定县人民政府", subject_of(d)), [pdf_part(d)]),
            label(d, "泸定县人民政府", kind="办件"),
        )
    )
    return cases


def _periodicals() -> list[Case]:
    cases: list[Case] = []
    p = Periodical(
        "政务要情",
        8,
        "国务院办公厅秘书局",
        ("各地政务要情摘编（内部参阅）。", "一、某省推进“高效办成一件事”……"),
        date="2024年5月6日",
        copy_no="000052",
        secrecy="机密★1年",
    )
    cases.append(
        Case(
            "central_neikan_secret",
            mail(relayed(p.title), [pdf_part(p)]),
            label(p, "国务院办公厅", kind="内刊"),
        )
    )
    p = Periodical(
        "四川信息",
        71,
        "中共四川省委办公厅",
        ("全省经济运行中需要关注的几个问题……",),
        date="2024年8月9日",
        note="（内部刊物 注意保存）",
    )
    cases.append(
        Case(
            "province_party_neikan_info",
            mail(relayed(p.title), [docx_part(p)]),
            label(p, "中共四川省委办公厅", kind="内刊"),
            "内刊 comes first even when the name says 信息",
        )
    )
    p = Periodical(
        "政务参阅",
        19,
        "四川省人民政府办公厅",
        ("本期内部资料，注意保存。", "关于进一步提升政务服务效能的思考……"),
        date="2024年6月21日",
    )
    cases.append(
        Case(
            "province_office_neikan_direct",
            mail(direct("四川省人民政府办公厅", p.title), [ofd_part(p, "p62")]),
            label(p, "四川省人民政府办公厅", kind="内刊"),
        )
    )
    p = Periodical(
        "应急管理工作简报",
        44,
        "四川省应急管理厅办公室",
        ("全省应急管理系统扎实开展汛前检查……",),
        date="2024年5月28日",
    )
    cases.append(
        Case(
            "province_department_briefing",
            mail(direct("四川省应急管理厅", p.title), [pdf_part(p)]),
            label(p, "四川省应急管理厅", kind="简报"),
        )
    )
    p = Periodical(
        "教育部简报",
        23,
        "教育部办公厅",
        ("各地扎实推进义务教育优质均衡发展……",),
        date="2024年6月7日",
    )
    cases.append(
        Case(
            "central_department_briefing",
            mail(relayed(p.title), [pdf_part(p)]),
            label(p, "教育部", kind="简报"),
        )
    )
    return cases


def _intake() -> list[Case]:
    cases: list[Case] = []
    d = Doc(
        "四川省农业农村厅关于下达2024年高标准农田建设任务的通知",
        "四川省农业农村厅",
        "川农发〔2024〕42号",
        "凉山彝族自治州人民政府",
        ("现将你州2024年高标准农田建设任务下达给你们。", "请于2024年7月20日前报送实施方案。"),
        date="2024年6月6日",
    )
    cases.append(
        Case(
            "misdirected_other_prefecture",
            mail(direct("四川省农业农村厅", subject_of(d)), [pdf_part(d)]),
            label(d, "四川省农业农村厅", outcome="return", reason="misdirected"),
        )
    )
    d = Doc(
        "四川省人民政府办公厅关于支持阿坝州灾后恢复重建的函",
        "四川省人民政府办公厅",
        "川办函〔2024〕120号",
        "阿坝藏族羌族自治州人民政府",
        ("现就支持你州灾后恢复重建有关事项函告如下。", "请抓紧编制恢复重建规划。"),
        masthead="四川省人民政府办公厅",
        date="2024年7月10日",
    )
    cases.append(
        Case(
            "misdirected_relayed",
            mail(relayed(subject_of(d)), [pdf_part(d)]),
            label(d, "四川省人民政府办公厅", outcome="return", reason="misdirected"),
        )
    )
    d = Doc(
        "泸定县人民政府关于商请协调大渡河沿线旅游公路建设的函",
        "泸定县人民政府",
        "泸府函〔2024〕19号",
        "康定市人民政府",
        ("为推进大渡河沿线旅游公路建设，需贵市协调配合。", "请予函复。"),
        masthead="泸定县人民政府",
        date="2024年6月13日",
    )
    cases.append(
        Case(
            "misdirected_to_another_county",
            mail(direct("泸定县人民政府", subject_of(d)), [pdf_part(d)]),
            label(d, "泸定县人民政府", outcome="return", reason="misdirected"),
        )
    )

    d = Doc(
        "四川省财政厅关于下达2024年地方政府新增债券资金的通知",
        "四川省财政厅",
        "川财建〔2024〕166号",
        "甘孜州人民政府",
        ("现将你州2024年新增债券资金下达给你们。", "请于2024年8月31日前报送资金使用计划。"),
        date="2024年7月29日",
    )
    part = pdf_part(d)
    good = {
        "envelope_no": "川财2024-001661",
        "from": "四川省财政厅",
        "to": "甘孜藏族自治州人民政府",
        "documents": [{"doc_number": "川财建〔2024〕166号"}],
        "sha256": hashlib.sha256(part.data).hexdigest(),
    }
    cases.append(
        Case(
            "manifest_ok",
            mail(direct("四川省财政厅", subject_of(d)), [part], manifest=good),
            label(d, "四川省财政厅", kind="办件", envelope_no="川财2024-001661"),
        )
    )
    d2 = Doc(
        "四川省财政厅关于做好2024年财政收支预测工作的通知",
        "四川省财政厅",
        "川财预〔2024〕90号",
        "各市（州）人民政府",
        ("为做好财政收支预测，现将有关事项通知如下。", "请于2024年9月10日前报送预测结果。"),
        date="2024年8月20日",
    )
    part2 = pdf_part(d2)
    reused = dict(
        good,
        documents=[{"doc_number": "川财预〔2024〕90号"}],
        sha256=hashlib.sha256(part2.data).hexdigest(),
    )
    cases.append(
        Case(
            "manifest_envelope_reused",
            mail(direct("四川省财政厅", subject_of(d2)), [part2], manifest=reused),
            label(
                d2,
                "四川省财政厅",
                outcome="return",
                reason="manifest_mismatch",
                envelope_no="川财2024-001661",
            ),
        )
    )
    d = Doc(
        "四川省农业农村厅关于做好秋季农作物病虫害防控的通知",
        "四川省农业农村厅",
        "川农发〔2024〕51号",
        "各市（州）人民政府",
        ("请切实做好秋季农作物病虫害防控。",),
        date="2024年8月12日",
    )
    part = pdf_part(d)
    wrong_from = {
        "envelope_no": "川农2024-000511",
        "from": "四川省林业和草原局",
        "to": "甘孜藏族自治州人民政府",
        "documents": [{"doc_number": "川农发〔2024〕51号"}],
        "sha256": hashlib.sha256(part.data).hexdigest(),
    }
    cases.append(
        Case(
            "manifest_wrong_from",
            mail(direct("四川省农业农村厅", subject_of(d)), [part], manifest=wrong_from),
            label(
                d,
                "四川省农业农村厅",
                outcome="return",
                reason="manifest_mismatch",
                envelope_no="川农2024-000511",
            ),
        )
    )
    d = Doc(
        "四川省自然资源厅关于开展2024年度耕地保护督察的通知",
        "四川省自然资源厅",
        "川自然资发〔2024〕61号",
        "各市（州）人民政府",
        ("请于2024年10月31日前完成自查。",),
        date="2024年9月2日",
    )
    part = docx_part(d)
    wrong_to = {
        "envelope_no": "川自然资2024-000611",
        "from": "四川省自然资源厅",
        "to": "阿坝藏族羌族自治州人民政府",
        "documents": [{"doc_number": "川自然资发〔2024〕61号"}],
        "sha256": hashlib.sha256(part.data).hexdigest(),
    }
    cases.append(
        Case(
            "manifest_wrong_to",
            mail(direct("四川省自然资源厅", subject_of(d)), [part], manifest=wrong_to),
            label(
                d,
                "四川省自然资源厅",
                outcome="return",
                reason="manifest_mismatch",
                envelope_no="川自然资2024-000611",
            ),
        )
    )
    d = Doc(
        "四川省卫生健康委员会关于加强高原病防治工作的通知",
        "四川省卫生健康委员会",
        "川卫发〔2024〕47号",
        "甘孜州人民政府",
        ("请加强高原病防治工作。",),
        date="2024年9月18日",
    )
    part = pdf_part(d)
    bad_hash = {
        "envelope_no": "川卫2024-000471",
        "from": "四川省卫生健康委员会",
        "to": "甘孜藏族自治州人民政府",
        "documents": [{"doc_number": "川卫发〔2024〕47号"}],
        "sha256": hashlib.sha256(part.data + b"x").hexdigest(),
    }
    cases.append(
        Case(
            "manifest_hash_mismatch",
            mail(direct("四川省卫生健康委员会", subject_of(d)), [part], manifest=bad_hash),
            label(
                d,
                "四川省卫生健康委员会",
                outcome="return",
                reason="damaged",
                envelope_no="川卫2024-000471",
            ),
        )
    )
    d = Doc(
        "四川省人民政府办公厅关于开展政务服务满意度评价的通知",
        "四川省人民政府办公厅",
        "川办发〔2024〕55号",
        PROV_ALL,
        ("请于2024年11月30日前报送评价结果。",),
        date="2024年10月16日",
    )
    part = ofd_part(d, "p71")
    relay_manifest = {
        "envelope_no": "川办2024-000551",
        "from": "四川省人民政府办公厅",
        "to": "甘孜藏族自治州人民政府",
        "documents": [{"doc_number": "川办发〔2024〕55号"}],
        "sha256": hashlib.sha256(part.data).hexdigest(),
    }
    cases.append(
        Case(
            "manifest_relayed_ok",
            mail(relayed(subject_of(d)), [part], manifest=relay_manifest),
            label(d, "四川省人民政府办公厅", kind="办件", envelope_no="川办2024-000551"),
        )
    )

    d = Doc(
        "甘孜州住房和城乡建设局关于申请保障性住房建设补助资金的请示",
        "甘孜州住房和城乡建设局",
        "甘住建〔2024〕58号",
        "州人民政府",
        ("请批示。",),
        signer="张某某",
        date="2024年6月25日",
    )
    data = docx_bytes(d.lines())
    cases.append(
        Case(
            "damaged_docx",
            mail(
                direct("甘孜州住房和城乡建设局", subject_of(d)),
                [Part(f"{d.title}.docx", *CT_DOCX, data[: len(data) // 3])],
            ),
            label(d, "甘孜州住房和城乡建设局", outcome="return", reason="damaged", opened=False),
        )
    )
    d = Doc(
        "四川省卫生健康委员会关于开展基层医疗卫生机构能力评估的通知",
        "四川省卫生健康委员会",
        "川卫发〔2024〕52号",
        "各市（州）人民政府",
        ("请认真组织开展评估。",),
        date="2024年10月8日",
    )
    good_ofd = ofd_bytes(d.lines(), d.title, "p74")
    broken = _break_ofd(good_ofd)
    cases.append(
        Case(
            "damaged_ofd",
            mail(
                direct("四川省卫生健康委员会", subject_of(d)),
                [Part(f"{d.title}.ofd", *CT_OFD, broken)],
            ),
            label(d, "四川省卫生健康委员会", outcome="return", reason="damaged", opened=False),
        )
    )
    d = Doc(
        "九龙县人民政府关于申请解决乡村道路水毁修复资金的请示",
        "九龙县人民政府",
        "九府〔2024〕29号",
        "甘孜州人民政府",
        ("妥否，请批示。",),
        signer="冯某某",
        date="2024年7月30日",
    )
    data = pdf_bytes(d.lines())
    cases.append(
        Case(
            "damaged_pdf",
            mail(
                direct("九龙县人民政府", subject_of(d)),
                [Part(f"{d.title}.pdf", *CT_PDF, data[: len(data) // 2])],
            ),
            label(d, "九龙县人民政府", outcome="return", reason="damaged", opened=False),
        )
    )

    d = Doc(
        "成都某某咨询有限公司关于承接政府规划编制业务的函",
        "成都某某咨询有限公司",
        None,
        "甘孜州人民政府",
        ("我公司具有甲级规划编制资质，希望承接贵单位规划编制业务。",),
        masthead="成都某某咨询有限公司",
        date="2024年5月9日",
    )
    cases.append(
        Case(
            "unknown_company",
            mail(
                MailEnvelope(("成都某某咨询有限公司", "market@cdzx-consult.com"), d.title),
                [pdf_part(d)],
            ),
            label(d, None, outcome="quarantine", reason="unknown_sender"),
        )
    )
    d = Doc(
        "四川省人民政府办公厅关于做好重要节假日值班工作的通知",
        "四川省人民政府办公厅",
        "川办发〔2024〕58号",
        PROV_ALL,
        ("请各地严格落实值班制度。",),
        date="2024年9月20日",
    )
    cases.append(
        Case(
            "unknown_lookalike_domain",
            mail(
                MailEnvelope(("四川省人民政府办公厅", "wenshu@sc-gov.cn.net"), subject_of(d)),
                [pdf_part(d)],
            ),
            label(d, None, outcome="quarantine", reason="unknown_sender"),
            "a look-alike domain is not the organ",
        )
    )
    d = Doc(
        "某某县人民政府关于申请项目资金的请示",
        "某某县人民政府",
        None,
        "甘孜州人民政府",
        ("妥否，请批示。",),
        date="2024年6月4日",
    )
    cases.append(
        Case(
            "unknown_fax_number",
            fax_mail("02866668888", Part("fax.pdf", *CT_PDF, pdf_bytes(d.lines()))),
            label(d, None, outcome="quarantine", reason="unknown_sender"),
        )
    )

    d = Doc(
        "中共四川省委办公厅关于有关干部任职的通知",
        "中共四川省委办公厅",
        "川委办〔2024〕77号",
        "甘孜州人民政府州长",
        ("（略）",),
        date="2024年10月12日",
    )
    cases.append(
        Case(
            "personal_to_display_name",
            mail(
                relayed("州长亲启", to="甘孜州人民政府州长（亲启） <shouwen@gzz.gov.cn>"),
                [pdf_part(d)],
            ),
            label(d, "中共四川省委办公厅", outcome="sealed", reason="personal"),
        )
    )
    d = Doc(
        "甘孜州人大常委会关于征求州人民政府领导意见的函",
        "甘孜州人大常委会",
        "甘人大常函〔2024〕12号",
        "某某同志",
        ("（略）",),
        masthead="甘孜州人大常委会",
        date="2024年5月21日",
    )
    cases.append(
        Case(
            "personal_subject_only",
            mail(direct("甘孜州人大常委会", "某某同志亲启"), [pdf_part(d)]),
            label(d, "甘孜州人大常委会", outcome="sealed", reason="personal"),
        )
    )
    d = Doc(
        "四川省人民政府关于有关重要事项的通知",
        "四川省人民政府",
        "川府发〔2024〕33号",
        "各市（州）人民政府",
        ("（略）",),
        copy_no="000009",
        secrecy="绝密★长期",
        urgency="特急",
        date="2024年11月5日",
    )
    cases.append(
        Case(
            "top_secret_by_marking_only",
            mail(direct("四川省人民政府", subject_of(d)), [pdf_part(d)]),
            label(d, "四川省人民政府", outcome="sealed", reason="top_secret"),
        )
    )
    d = Doc(
        "甘孜州财政局关于报送2024年州级部门预算执行情况的函",
        "甘孜州财政局",
        "甘财函〔2024〕33号",
        "州政府办公室综合科",
        ("（略）",),
        masthead="甘孜州财政局",
        date="2024年9月6日",
    )
    cases.append(
        Case(
            "section_addressed",
            mail(
                direct(
                    "甘孜州财政局", subject_of(d), to="甘孜州人民政府综合科 <shouwen@gzz.gov.cn>"
                ),
                [pdf_part(d)],
            ),
            label(d, "甘孜州财政局", outcome="sealed", reason="section"),
        )
    )

    d = Doc(
        "四川省财政厅关于提前下达2025年中央财政衔接推进乡村振兴补助资金的通知",
        "四川省财政厅",
        "川财农〔2024〕201号",
        "各市（州）人民政府，各市（州）财政局",
        ("现提前下达2025年资金预算。", "请于2024年12月31日前将资金分配结果报送省财政厅。"),
        date="2024年11月25日",
    )
    inner = mail(direct("四川省财政厅", subject_of(d)), [pdf_part(d)])
    cases.append(
        Case(
            "forwarded_within_organ",
            forward_mail(
                MailEnvelope(
                    ("四川省财政厅农业农村处", "nyc@czt.sc.gov.cn"), f"转发：{subject_of(d)}"
                ),
                inner,
                "转发此件，请查收。",
            ),
            label(d, "四川省财政厅", kind="办件"),
            "an organ's own mailbox forwards its document",
        )
    )
    d = Doc(
        "中共四川省委办公厅关于做好2025年元旦春节期间有关工作的通知",
        "中共四川省委办公厅",
        "川委厅〔2024〕88号",
        "各市（州）党委办公室、人民政府办公室",
        ("元旦春节将至，现就有关工作通知如下。", "请于2024年12月25日前报送工作安排。"),
        date="2024年12月9日",
    )
    inner = mail(relayed(subject_of(d)), [pdf_part(d)])
    cases.append(
        Case(
            "forwarded_by_another_organ",
            forward_mail(
                direct("中共甘孜州委办公室", f"转发：{subject_of(d)}"),
                inner,
                "转发省委办公厅通知，请州政府办公室一并落实。",
            ),
            label(d, "中共四川省委办公厅", kind="办件"),
            "the sender of a forward is the organ that issued the document",
        )
    )
    d = Doc(
        "四川省应急管理厅关于开展汛后地质灾害隐患排查的通知",
        "四川省应急管理厅",
        "川应急〔2024〕95号",
        "各市（州）人民政府",
        ("请于2024年10月31日前完成汛后排查并报送排查情况。",),
        date="2024年9月20日",
    )
    inner = mail(direct("四川省应急管理厅", subject_of(d)), [pdf_part(d)])
    cases.append(
        Case(
            "forwarded_by_our_colleague",
            forward_mail(
                MailEnvelope(("州政府办公室值班室", "zhiban@gzz.gov.cn"), f"Fwd: {subject_of(d)}"),
                inner,
                "此件误发至值班室邮箱，现转文书处理室。",
            ),
            label(d, "四川省应急管理厅", kind="办件"),
            "our own mailbox hands over what an organ sent",
        )
    )
    cases.append(
        Case(
            "forwarded_by_stranger",
            forward_mail(
                MailEnvelope(("张某", "zhangmou1983@qq.com"), f"转发：{subject_of(d)}"),
                inner,
                "转发给你们。",
            ),
            label(d, None, outcome="quarantine", reason="unknown_sender"),
        )
    )
    return cases


def _wordings() -> list[Case]:
    """Other ways of asking, addressing and marking that the dev corpus does not use."""
    cases: list[Case] = []
    d = Doc(
        "四川省应急管理厅关于做好森林草原防灭火紧要期工作的通知",
        "四川省应急管理厅",
        "川应急〔2024〕19号",
        "各市（州）人民政府",
        (
            "近期我省进入森林草原防灭火紧要期，火险等级持续偏高。",
            "务请各地高度重视，认真组织开展隐患排查。",
        ),
        date="2024年2月28日",
    )
    cases.append(
        Case(
            "wording_wuqing",
            mail(direct("四川省应急管理厅", subject_of(d)), [pdf_part(d)]),
            label(d, "四川省应急管理厅", kind="办件"),
            "务请… is a request",
        )
    )
    d = Doc(
        "四川省教育厅关于开展中小学校舍安全隐患排查的通知",
        "四川省教育厅",
        "川教〔2024〕131号",
        "各市（州）人民政府",
        (
            "为保障师生安全，决定开展中小学校舍安全隐患排查。",
            "各市（州）于2024年10月20日前将排查报告报送省教育厅。",
        ),
        date="2024年9月23日",
    )
    cases.append(
        Case(
            "wording_deadline_without_qing",
            mail(direct("四川省教育厅", subject_of(d)), [pdf_part(d)]),
            label(d, "四川省教育厅", kind="办件"),
            "于…前报送 with no 请",
        )
    )
    d = Doc(
        "四川省交通运输厅关于国道317线改扩建工程征地拆迁有关事宜的函",
        "四川省交通运输厅",
        "川交函〔2024〕355号",
        "甘孜州人民政府",
        ("国道317线改扩建工程征地拆迁涉及你州多个县，需你州协调解决。", "盼复。"),
        masthead="四川省交通运输厅",
        date="2024年11月26日",
    )
    cases.append(
        Case(
            "wording_letter_panfu",
            mail(direct("四川省交通运输厅", subject_of(d)), [docx_part(d)]),
            label(d, "四川省交通运输厅", kind="办件"),
            "盼复 asks for a reply",
        )
    )
    d = Doc(
        "四川省自然资源厅关于公布2024年度地质灾害危险性评估单位名录的公告",
        "四川省自然资源厅",
        None,
        None,
        (
            "现将有关事项公告如下：",
            "一、名录内单位可在全省范围内承担地质灾害危险性评估业务。",
            "二、名录实行动态管理。",
            "特此公告。",
        ),
        masthead="",
        date="2024年4月2日",
        printed=False,
    )
    cases.append(
        Case(
            "wording_announcement_rumian",
            mail(direct("四川省自然资源厅", d.title), [pdf_part(d)]),
            label(d, "四川省自然资源厅", kind="阅件"),
            "…如下： is the 正文, not a 主送",
        )
    )
    d = Doc(
        "四川省人民政府办公厅关于进一步做好稳就业工作的通知",
        "四川省人民政府办公厅",
        "川办发〔2024〕38号",
        "各市（州）和扩权试点县（市）人民政府，省政府各部门、各直属机构",
        ("各地各部门要把稳就业摆在更加突出的位置。", "请结合实际抓好贯彻落实。"),
        date="2024年6月26日",
    )
    cases.append(
        Case(
            "addressee_shared_suffix_group",
            mail(direct("四川省人民政府办公厅", subject_of(d)), [pdf_part(d)]),
            label(d, "四川省人民政府办公厅", kind="办件"),
            "各市（州）和扩权试点县（市）人民政府 includes us",
        )
    )
    d = Doc(
        "四川省农业农村厅关于商请报送青稞产业发展规划的函",
        "四川省农业农村厅",
        "川农函〔2024〕260号",
        "甘孜州、阿坝州、凉山州人民政府",
        ("为编制全省青稞产业发展规划，需你们提供有关资料。", "请于2024年10月15日前函复。"),
        masthead="四川省农业农村厅",
        date="2024年9月24日",
    )
    cases.append(
        Case(
            "addressee_shared_suffix_list",
            mail(direct("四川省农业农村厅", subject_of(d)), [pdf_part(d)]),
            label(d, "四川省农业农村厅", kind="办件"),
            "甘孜州、阿坝州、凉山州人民政府 names us",
        )
    )
    d = Doc(
        "四川省人民政府办公厅关于同意召开全省民族地区工作会议的复函",
        "四川省人民政府办公厅",
        "川办函〔2024〕141号",
        "四川省民族宗教事务委员会",
        (
            "你委《关于召开全省民族地区工作会议的请示》收悉。",
            "经省政府同意，现函复如下：同意召开会议。",
        ),
        masthead="四川省人民政府办公厅",
        cc="甘孜州人民政府办公室，阿坝州人民政府办公室",
        date="2024年8月8日",
    )
    cases.append(
        Case(
            "office_suffix_in_cc",
            mail(direct("四川省人民政府办公厅", subject_of(d)), [ofd_part(d, "h7")]),
            label(d, "四川省人民政府办公厅", kind="阅件"),
            "our office in 抄送",
        )
    )
    d = Doc(
        "四川省卫生健康委员会关于全省包虫病防治工作推进会议的纪要",
        "四川省卫生健康委员会",
        "川卫函〔2024〕66号",
        None,
        (
            "2024年10月12日，省卫生健康委在康定召开全省包虫病防治工作推进会议。",
            "现将会议主要精神纪要如下，供参阅。",
        ),
        masthead="四川省卫生健康委员会",
        cc=None,
        date="2024年10月16日",
    )
    lines = [
        *d.lines()[:-1],
        "分送：甘孜州人民政府，阿坝州人民政府，凉山州人民政府。",
        d.lines()[-1],
    ]
    cases.append(
        Case(
            "minutes_distribution_line",
            mail(
                direct("四川省卫生健康委员会", subject_of(d)),
                [Part(f"{d.title}.pdf", *CT_PDF, pdf_bytes(lines))],
            ),
            # a 纪要 has no 主送: its 分送 line is the list it is addressed to
            label(d, "四川省卫生健康委员会", kind="阅件",
                  addressees="甘孜州人民政府，阿坝州人民政府，凉山州人民政府"),
            "分送 names us",
        )
    )
    p = Periodical(
        "领导参阅",
        14,
        "四川省人民政府办公厅",
        ("本刊供领导参阅。", "关于川西民族地区产业发展的调研报告……"),
        date="2024年7月12日",
    )
    cases.append(
        Case(
            "neikan_for_leaders",
            mail(direct("四川省人民政府办公厅", p.title), [pdf_part(p)]),
            label(p, "四川省人民政府办公厅", kind="内刊"),
        )
    )
    lines = [
        "自然资源工作简报",
        "第17期",
        "自然资源部办公厅编印\u30002024年8月21日",
        "各地扎实推进自然资源领域安全生产治本攻坚……",
        "自然资源部办公厅",
        "2024年8月21日",
        "自然资源部办公厅\u3000\u30002024年8月22日印发",
    ]
    cases.append(
        Case(
            "periodical_issue_line_apart",
            mail(
                relayed("自然资源工作简报（第17期）"),
                [Part("自然资源工作简报（第17期）.pdf", *CT_PDF, pdf_bytes(lines))],
            ),
            label(None, "自然资源部", kind="简报", title="自然资源工作简报（第17期）",
                  written_on="2024-08-21"),
        )
    )
    d = Doc(
        "四川省林业和草原局关于做好冬春季林草防火工作的通知",
        "四川省林业和草原局",
        "川林发〔2024〕88号",
        "各市（州）人民政府",
        ("请切实做好冬春季林草防火工作。",),
        date="2024年11月11日",
    )
    cases.append(
        Case(
            "unknown_subdomain_organ",
            mail(
                MailEnvelope(("四川省林业和草原局", "wenshu@lcj.sc.gov.cn"), subject_of(d)),
                [pdf_part(d)],
            ),
            label(d, None, outcome="quarantine", reason="unknown_sender"),
            "an organ not in the directory at a subdomain of a known one",
        )
    )
    d = Doc(
        "中共四川省委办公厅关于有关同志职务调整的通知",
        "中共四川省委办公厅",
        "川委办〔2024〕90号",
        "甘孜州人民政府州长",
        ("（略）",),
        date="2024年12月3日",
    )
    cases.append(
        Case(
            "personal_to_header_only",
            mail(relayed(subject_of(d), to="某某州长亲启 <shouwen@gzz.gov.cn>"), [pdf_part(d)]),
            label(d, "中共四川省委办公厅", outcome="sealed", reason="personal"),
        )
    )
    d = Doc(
        "甘孜军分区关于有关人员情况的函",
        "甘孜军分区",
        "甘军〔2024〕31号",
        "州人民政府",
        ("（略）",),
        masthead="甘孜军分区",
        date="2024年8月13日",
    )
    cases.append(
        Case(
            "personal_header_flag",
            mail(
                direct("甘孜军分区", subject_of(d), headers={"X-Personal": "亲启"}), [pdf_part(d)]
            ),
            label(d, "甘孜军分区", outcome="sealed", reason="personal"),
        )
    )
    d = Doc(
        "四川省人民政府办公厅关于报送2024年政府信息公开工作年度报告的通知",
        "四川省人民政府办公厅",
        "川办函〔2024〕160号",
        "州政府办公室政务公开科",
        ("（略）",),
        masthead="四川省人民政府办公厅",
        date="2024年12月10日",
    )
    cases.append(
        Case(
            "section_in_addressee",
            mail(direct("四川省人民政府办公厅", subject_of(d)), [docx_part(d)]),
            label(d, "四川省人民政府办公厅", outcome="sealed", reason="section"),
        )
    )
    d = Doc(
        "中共甘孜州委办公室关于征求《甘孜州乡村振兴促进条例（草案）》意见的函",
        "中共甘孜州委办公室",
        "甘委办函〔2024〕23号",
        "州人民政府州长",
        ("现将条例草案送上，请提出修改意见。", "请于2024年6月20日前反馈州委办公室。"),
        masthead="中共甘孜州委办公室",
        date="2024年6月6日",
    )
    cases.append(
        Case(
            "addressed_to_leader_opened",
            mail(
                direct("中共甘孜州委办公室", subject_of(d), to="州长 <shouwen@gzz.gov.cn>"),
                [pdf_part(d)],
            ),
            label(d, "中共甘孜州委办公室", kind="办件"),
            "mail to a leader by title is opened and handled",
        )
    )
    d = Doc(
        "甘孜州财政局关于2025年州级部门预算编制工作的意见",
        "甘孜州财政局",
        "甘财〔2024〕81号",
        "州人民政府",
        (
            "为做好2025年州级部门预算编制工作，提出如下意见。",
            "以上意见如无不妥，请批转州级各部门执行。",
        ),
        signer="王某某",
        date="2024年10月28日",
    )
    cases.append(
        Case(
            "subordinate_opinion_pizhuan",
            mail(direct("甘孜州财政局", subject_of(d)), [docx_part(d)]),
            label(d, "甘孜州财政局", kind="办件"),
        )
    )
    d = Doc(
        "甘孜州人大常委会关于加强州级国有资产管理情况的决议",
        "甘孜州人大常委会",
        "甘人大常〔2024〕16号",
        "州人民政府",
        (
            "州十二届人大常委会第二十一次会议审议了州人民政府关于国有资产管理情况的报告。",
            "会议要求州人民政府认真研究处理审议意见，并于2025年3月31日前将研究处理情况报告州人大常委会。",
        ),
        date="2024年11月29日",
    )
    cases.append(
        Case(
            "congress_resolution_with_request",
            mail(direct("甘孜州人大常委会", subject_of(d)), [pdf_part(d)]),
            label(d, "甘孜州人大常委会", kind="办件"),
            "决议 asking us to report",
        )
    )
    d = Doc(
        "中共甘孜州委关于加强基层党组织建设的通知",
        "中共甘孜州委",
        "甘委〔2024〕102号",
        "各县（市）党委",
        ("请各县（市）党委认真抓好基层党组织建设。",),
        cc="州人民政府，州级各部门",
        date="2024年8月5日",
    )
    cases.append(
        Case(
            "peer_copy_asks_others",
            mail(direct("中共甘孜州委", subject_of(d)), [pdf_part(d)]),
            label(d, "中共甘孜州委", kind="阅件"),
            "a peer copies us, asks others",
        )
    )
    d = Doc(
        "巴塘县人民政府关于紧急调拨防汛物资的请示",
        "巴塘县人民政府",
        "巴府〔2024〕45号",
        "甘孜州人民政府",
        (
            "连日强降雨导致我县多处道路中断，防汛物资告急。",
            "恳请州人民政府紧急调拨防汛物资，妥否，请批示。",
        ),
        urgency="特急",
        signer="多某某",
        date="2024年7月11日",
    )
    cases.append(
        Case(
            "county_urgent_request",
            mail(direct("巴塘县人民政府", subject_of(d)), [pdf_part(d)]),
            label(d, "巴塘县人民政府", kind="办件"),
        )
    )
    d = Doc(
        "四川省应急管理厅关于一起较大道路交通事故的通报",
        "四川省应急管理厅",
        "川应急〔2024〕101号",
        "各市（州）人民政府",
        ("2024年9月某日，某地发生一起较大道路交通事故。", "现将事故情况通报如下。", "特此通报。"),
        copy_no="000128",
        secrecy="秘密★6个月",
        date="2024年9月29日",
    )
    cases.append(
        Case(
            "secret_bulletin",
            mail(direct("四川省应急管理厅", subject_of(d)), [pdf_part(d)]),
            label(d, "四川省应急管理厅", kind="阅件"),
        )
    )
    d = Doc(
        "四川省人民政府办公厅关于做好2024年冬季供暖保障工作的通知",
        "四川省人民政府办公厅",
        "川办发[2024]62号",
        "各市（州）人民政府",
        ("请各地切实做好冬季供暖保障工作。",),
        date="2024年11月18日",
    )
    cases.append(
        Case(
            "bracket_variant_number",
            mail(direct("四川省人民政府办公厅", subject_of(d)), [docx_part(d)]),
            label(d, "四川省人民政府办公厅", kind="办件"),
        )
    )
    d = Doc(
        "四川省人民政府办公厅关于切实做好近期地震灾害防范应对工作的紧急通知",
        "四川省人民政府办公厅",
        None,
        "各市（州）人民政府",
        ("据监测，近期川西地区地震活动水平偏高。", "请立即部署开展隐患排查，加强应急值守。"),
        masthead="",
        urgency="特急",
        printed=False,
        date="2024年9月5日",
    )
    telegram = [
        "特急",
        "四川省人民政府办公厅明传电报",
        "发电单位：四川省人民政府办公厅",
        "签批盖章：某某某",
        "川办明电〔2024〕52号",
        *d.lines()[1:],
    ]
    d.number = "川办明电〔2024〕52号"
    cases.append(
        Case(
            "telegram_with_sender_block",
            body_mail(direct("四川省人民政府办公厅", subject_of(d)), telegram),
            label(d, "四川省人民政府办公厅", kind="办件"),
        )
    )
    return cases


def _more_wordings() -> list[Case]:
    """Requests, reports and addressees phrased in yet other ways."""
    cases: list[Case] = []
    d = Doc(
        "甘孜州生态环境局关于甘孜州生态环境保护督察整改方案的报告",
        "甘孜州生态环境局",
        "甘环〔2024〕39号",
        "州人民政府",
        ("根据督察反馈意见，我局牵头制定了整改方案。", "现将方案随文报上，请予审核。"),
        signer="周某某",
        date="2024年7月24日",
    )
    cases.append(
        Case(
            "report_asking_review",
            mail(direct("甘孜州生态环境局", subject_of(d)), [pdf_part(d)]),
            label(d, "甘孜州生态环境局", kind="办件"),
            "请予审核 asks us to act",
        )
    )
    d = Doc(
        "甘孜州卫生健康委员会关于2024年度基本公共卫生服务项目绩效评价情况的报告",
        "甘孜州卫生健康委员会",
        "甘卫〔2024〕97号",
        "州人民政府",
        ("今年全州基本公共卫生服务项目绩效评价工作已全部完成。", "特此报告，请审阅。"),
        signer="吴某某",
        date="2024年12月6日",
    )
    cases.append(
        Case(
            "report_for_reading",
            mail(direct("甘孜州卫生健康委员会", subject_of(d)), [ofd_part(d, "m2")]),
            label(d, "甘孜州卫生健康委员会", kind="阅件"),
        )
    )
    d = Doc(
        "四川省应急管理厅关于上半年全省安全生产执法检查情况的通报",
        "四川省应急管理厅",
        "川应急〔2024〕77号",
        "各市（州）人民政府",
        ("截至2024年6月30日前，全省共检查生产经营单位1.2万家，完成整改隐患3.4万项。", "现予通报。"),
        date="2024年7月18日",
    )
    cases.append(
        Case(
            "bulletin_with_past_deadline",
            mail(direct("四川省应急管理厅", subject_of(d)), [pdf_part(d)]),
            label(d, "四川省应急管理厅", kind="阅件"),
            "截至…前 reports, asks nothing",
        )
    )
    d = Doc(
        "四川省人民政府办公厅关于调整省政府领导同志工作分工的通知",
        "四川省人民政府办公厅",
        "川办发〔2024〕48号",
        PROV_ALL,
        ("经省政府研究，现将省政府领导同志工作分工调整如下。", "特此通知，请周知。"),
        date="2024年9月11日",
    )
    cases.append(
        Case(
            "notice_for_information",
            mail(direct("四川省人民政府办公厅", subject_of(d)), [docx_part(d)]),
            label(d, "四川省人民政府办公厅", kind="阅件"),
            "请周知 asks nothing",
        )
    )
    d = Doc(
        "四川省财政厅关于下达2024年州级财政管理绩效奖励资金的通知",
        "四川省财政厅",
        "川财预〔2024〕101号",
        "甘孜州财政局",
        ("现下达你局2024年财政管理绩效奖励资金。", "请及时拨付使用。"),
        date="2024年9月2日",
    )
    cases.append(
        Case(
            "misdirected_to_our_department",
            mail(direct("四川省财政厅", subject_of(d)), [pdf_part(d)]),
            label(d, "四川省财政厅", outcome="return", reason="misdirected"),
            "主送 names only another organ and nothing that covers us",
        )
    )
    d = Doc(
        "国务院办公厅秘书局关于做好2024年国务院部门工作年度报表报送工作的通知",
        "国务院办公厅秘书局",
        "国办秘函〔2024〕33号",
        CENTRAL_ALL,
        ("请于2024年12月15日前报送年度报表。",),
        masthead="国务院办公厅秘书局",
        date="2024年11月25日",
    )
    cases.append(
        Case(
            "relay_unknown_code_known_masthead",
            mail(relayed(subject_of(d)), [pdf_part(d)]),
            label(d, "国务院办公厅", kind="办件"),
            "the issuer from its masthead when the code is not configured",
        )
    )
    d = Doc(
        "中共甘孜州委关于开展“走基层、解民忧”活动的通知",
        "中共甘孜州委",
        "甘委发〔2024〕21号",
        "各县（市）党委和人民政府",
        ("请各县（市）结合实际认真组织开展。",),
        cc="州人民政府办公室",
        date="2024年9月18日",
    )
    cases.append(
        Case(
            "peer_notice_copy_to_office",
            mail(direct("中共甘孜州委", subject_of(d)), [docx_part(d)]),
            label(d, "中共甘孜州委", kind="阅件"),
        )
    )
    d = Doc(
        "四川省教育厅关于做好2024年高校毕业生就业工作的通知",
        "四川省教育厅",
        "川教〔2024〕60号",
        "各市（州）人民政府，各普通高等学校",
        (
            "就业是最大的民生。",
            "请各地各校高度重视，于2024年8月31日前将就业工作进展情况报送省教育厅。",
        ),
        date="2024年5月29日",
    )
    cases.append(
        Case(
            "directive_mixed_addressees",
            body_mail(direct("四川省教育厅", subject_of(d)), d.lines()),
            label(d, "四川省教育厅", kind="办件"),
        )
    )
    d = Doc(
        "四川省人民政府关于表扬2023年度全省目标绩效考核优秀单位的通报",
        "四川省人民政府",
        "川府函〔2024〕30号",
        PROV_ALL,
        (
            "2023年度各地各部门扎实推进各项工作，成效明显。",
            "为树立鲜明导向，省政府决定对优秀单位予以通报表扬。",
            "希望受到表扬的单位再接再厉。",
        ),
        masthead="四川省人民政府",
        date="2024年2月7日",
    )
    cases.append(
        Case(
            "province_commendation_bulletin",
            mail(direct("四川省人民政府", subject_of(d)), [pdf_part(d)]),
            label(d, "四川省人民政府", kind="阅件"),
        )
    )
    d = Doc(
        "中共甘孜州委办公室关于印发《甘孜州2024年度督查检查考核计划》的通知",
        "中共甘孜州委办公室",
        "甘委办〔2024〕20号",
        "各县（市）党委和人民政府，州级各部门，州人民政府办公室",
        ("现将计划印发给你们，请认真遵照执行。",),
        date="2024年3月6日",
    )
    cases.append(
        Case(
            "prefecture_party_office_notice_pdf",
            mail(direct("中共甘孜州委办公室", subject_of(d)), [pdf_part(d)]),
            label(d, "中共甘孜州委办公室", kind="办件"),
        )
    )
    return cases


def _envelopes() -> list[Case]:
    """What the envelope says when the document cannot: subjects, names on the To line."""
    cases: list[Case] = []
    d = Doc(
        "炉霍县人民政府关于调整县城区禁止燃放烟花爆竹区域的公告",
        "炉霍县人民政府",
        "炉府发〔2024〕12号",
        None,
        ("为保障公共安全，现对县城区禁止燃放烟花爆竹区域调整如下。", "特此公告。"),
        date="2024年1月15日",
    )
    cases.append(
        Case(
            "subordinate_announcement_unaddressed",
            mail(direct("炉霍县人民政府", subject_of(d)), [pdf_part(d)]),
            label(d, "炉霍县人民政府", outcome="review"),
            "a county's 公告 with no 主送 or 抄送: 抄件 or 阅件 is for staff",
        )
    )
    lines = [
        "中华人民共和国国务院令",
        "第790号",
        "《地质灾害防治条例（修订）》已经2024年8月30日国务院第40次常务会议通过，现予公布，自2025年1月1日起施行。",
        "总理\u3000某某某",
        "2024年9月10日",
    ]
    cases.append(
        Case(
            "state_council_decree_relay",
            mail(
                relayed("中华人民共和国国务院令（第790号）"),
                [Part("中华人民共和国国务院令（第790号）.pdf", *CT_PDF, pdf_bytes(lines))],
            ),
            label(None, "国务院", kind="阅件", doc_type="命令", title="中华人民共和国国务院令",
                  written_on="2024-09-10"),
            "a national organ's formal name",
        )
    )
    d = Doc(
        "四川省农业农村厅关于公布第二批省级现代农业园区名单的通知（第二批）",
        "四川省农业农村厅",
        "川农发〔2024〕77号",
        "各市（州）人民政府",
        ("经评审，认定20个园区为第二批省级现代农业园区。", "特此通知。"),
        date="2024年10月30日",
    )
    cases.append(
        Case(
            "title_with_trailing_remark",
            mail(direct("四川省农业农村厅", subject_of(d)), [ofd_part(d, "e3")]),
            label(d, "四川省农业农村厅", kind="阅件", doc_type="通知"),
        )
    )
    d = Doc(
        "甘孜州自然资源局关于申请开展全州地籍调查经费的请示",
        "甘孜州自然资源局",
        "甘自然资〔2024〕71号",
        "州人民政府",
        ("妥否，请批示。",),
        signer="罗某某",
        date="2024年10月17日",
    )
    data = pdf_bytes(d.lines())
    cases.append(
        Case(
            "damaged_title_then_number_subject",
            mail(
                direct("甘孜州自然资源局", f"{d.title}（{d.number}）"),
                [Part("请示.pdf", *CT_PDF, data[:400])],
            ),
            label(d, "甘孜州自然资源局", outcome="return", reason="damaged", opened=False),
        )
    )
    d = Doc(
        "道孚县人民政府关于申请解决城区集中供暖项目资金的请示",
        "道孚县人民政府",
        "道府〔2024〕40号",
        "甘孜州人民政府",
        ("妥否，请批示。",),
        signer="格某某",
        date="2024年10月8日",
    )
    cases.append(
        Case(
            "scanned_pdf_by_mail",
            mail(
                direct("道孚县人民政府", subject_of(d)),
                [Part(f"{d.title}.pdf", *CT_PDF, _scanned_pdf())],
            ),
            label(d, "道孚县人民政府", outcome="review", reason="unreadable", opened=False),
            "a scan without text layer: staff read it; the envelope names it",
        )
    )
    d = Doc(
        "甘孜州发展和改革委员会关于报送2024年州级重点项目调度情况的函",
        "甘孜州发展和改革委员会",
        "甘发改函〔2024〕40号",
        "州政府办公室综合科",
        ("（略）",),
        masthead="甘孜州发展和改革委员会",
        date="2024年8月9日",
    )
    cases.append(
        Case(
            "section_with_receipt_word",
            mail(
                direct(
                    "甘孜州发展和改革委员会", subject_of(d), to="综合科（收） <shouwen@gzz.gov.cn>"
                ),
                [pdf_part(d)],
            ),
            label(d, "甘孜州发展和改革委员会", outcome="sealed", reason="section"),
        )
    )
    d = Doc(
        "四川省应急管理厅关于做好国庆假期安全防范工作的通知",
        "四川省应急管理厅",
        "川应急〔2024〕93号",
        "各市（州）人民政府",
        ("请于2024年9月28日前完成安全隐患排查。",),
        date="2024年9月19日",
    )
    cases.append(
        Case(
            "registry_room_by_name",
            mail(
                direct(
                    "四川省应急管理厅",
                    f"【加急】{subject_of(d)}",
                    to="甘孜州人民政府机要室 <jiyao@gzz.gov.cn>",
                ),
                [docx_part(d)],
            ),
            label(d, "四川省应急管理厅", kind="办件"),
            "the registry's own room is not a section to seal for",
        )
    )
    return cases


def _scanned_pdf() -> bytes:
    """A PDF page that is only an image (a scan): no text layer."""
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    c = canvas.Canvas(out, invariant=1)
    image = io.BytesIO(tiff_bytes(1))
    from PIL import Image

    png = io.BytesIO()
    Image.open(image).convert("L").save(png, format="PNG")
    png.seek(0)
    c.drawImage(ImageReader(png), 60, 400, width=400, height=300)
    c.showPage()
    c.save()
    return out.getvalue()


_TOPICS = (
    "安全生产大检查",
    "防汛备汛",
    "招商引资项目推进",
    "重点民生实事",
    "耕地保护",
    "生态环境问题整改",
    "乡村振兴衔接资金使用",
    "营商环境优化",
    "信访突出问题化解",
    "森林草原防灭火",
    "冬春季农田水利建设",
    "城乡居民医保征缴",
)


def _sweep() -> list[Case]:
    """One message from every organ of the directory, with a template that fits how it
    stands to us, on carriers in turn: organ-specific names, codes and mailboxes."""
    import tomllib

    config = tomllib.loads(
        (Path(__file__).resolve().parents[3] / "config.example.toml").read_text(encoding="utf-8")
    )
    carriers = ("pdf", "docx", "ofd", "body", "html")
    cases: list[Case] = []
    for n, org in enumerate(config["org"]):
        name, level, branch = org["name"], org["level"], org["branch"]
        topic = _TOPICS[n % len(_TOPICS)]
        codes = [c for c in org["codes"] if "明电" not in c]
        plain = [c for c in codes if "函" not in c and "办" not in c[1:]] or codes
        letter = next((c for c in codes if "函" in c), plain[0])
        number = f"{plain[0]}〔2024〕{n + 3}号"
        date = f"2024年{n % 12 + 1}月{n % 27 + 1}日"
        variant = n % 3
        if level == "central" or name in ("中共四川省委", "中共四川省委办公厅"):
            to = (
                "各省、自治区、直辖市人民政府"
                if level == "central"
                else "各市（州）党委和人民政府，省委各部委"
            )
            d = Doc(
                f"{name}关于做好{topic}工作的通知",
                name,
                number,
                to,
                (f"请于2024年12月{n % 20 + 5}日前报送{topic}工作情况。",),
                date=date,
            )
            kind = "阅件" if branch == "party" and level == "central" else "办件"
            env: MailEnvelope = relayed(subject_of(d))
        elif level == "province":
            if variant == 0:
                d = Doc(
                    f"{name}关于征求{topic}工作意见的函",
                    name,
                    f"{letter}〔2024〕{n + 3}号",
                    "各市（州）人民政府",
                    ("请研究提出意见，于2024年11月20日前函复。",),
                    masthead=name,
                    date=date,
                )
                kind = "办件"
            elif variant == 1:
                d = Doc(
                    f"{name}关于{topic}工作情况的通报",
                    name,
                    number,
                    "各市（州）人民政府",
                    (f"今年以来全省{topic}工作总体平稳。", "特此通报。"),
                    date=date,
                )
                kind = "阅件"
            else:
                d = Doc(
                    f"{name}关于加强{topic}工作的通知",
                    name,
                    number,
                    "各市（州）有关部门",
                    ("请认真抓好落实。",),
                    cc="各市（州）人民政府",
                    date=date,
                )
                kind = "阅件"
            env = _organ_env(org, subject_of(d))
        elif branch in ("party", "congress", "cppcc", "military"):
            if variant == 1:
                d = Doc(
                    f"{name}关于{topic}工作情况的通报",
                    name,
                    number,
                    "各县（市）有关单位",
                    ("现将有关情况通报如下。", "特此通报。"),
                    cc="州人民政府",
                    date=date,
                )
                kind = "阅件"
            else:
                d = Doc(
                    f"{name}关于商请支持{topic}工作的函",
                    name,
                    f"{letter}〔2024〕{n + 3}号",
                    "州人民政府",
                    ("恳请州人民政府给予支持，请予函复。",),
                    masthead=name,
                    date=date,
                )
                kind = "办件"
            env = _organ_env(org, subject_of(d))
        else:  # 州级部门, 州属企业, county governments: subordinates
            if variant == 0:
                d = Doc(
                    f"{name}关于申请{topic}工作经费的请示",
                    name,
                    number,
                    "州人民政府",
                    ("妥否，请批示。",),
                    signer="某某某",
                    date=date,
                )
                kind = "办件"
            elif variant == 1:
                d = Doc(
                    f"{name}关于{topic}工作情况的报告",
                    name,
                    number,
                    "州人民政府",
                    (f"今年以来，{topic}工作有序推进。", "特此报告。"),
                    signer="某某某",
                    date=date,
                )
                kind = "阅件"
            else:
                d = Doc(
                    f"{name}关于做好{topic}工作的通知",
                    name,
                    number,
                    "各有关单位",
                    ("请认真组织实施。",),
                    cc="州人民政府",
                    date=date,
                )
                kind = "抄件"
            env = _organ_env(org, subject_of(d))
        carrier = carriers[n % len(carriers)]
        if org.get("faxes") and n % 2 == 0:
            raw = fax_mail(org["faxes"][0], Part("fax.pdf", *CT_PDF, pdf_bytes(d.lines())))
        else:
            raw = _on_carrier(env, d, carrier, f"s{n}")
        cases.append(Case(f"sweep_{name}", raw, label(d, name, kind=kind)))
    return cases


def _organ_env(org: dict[str, Any], subject: str) -> MailEnvelope:
    if not org.get("addresses") and not org.get("domains"):
        return relayed(subject)
    address = org["addresses"][0] if org.get("addresses") else f"wenshu@{org['domains'][0]}"
    return MailEnvelope((org["name"], address), subject)


def _on_carrier(env: MailEnvelope, doc: Doc, carrier: str, doc_id: str) -> bytes:
    if carrier == "pdf":
        return mail(env, [pdf_part(doc)])
    if carrier == "docx":
        return mail(env, [docx_part(doc)])
    if carrier == "ofd":
        return mail(env, [ofd_part(doc, doc_id)])
    if carrier == "body":
        return body_mail(env, doc.lines(), charset="gbk")
    return html_mail(env, doc.lines())


def _carriers() -> list[Case]:
    """Several parts, attachments out of order, other charsets, faxes without a header."""
    cases: list[Case] = []
    d = Doc(
        "四川省财政厅关于下达2024年民族地区转移支付资金的通知",
        "四川省财政厅",
        "川财预〔2024〕120号",
        "甘孜州人民政府，阿坝州人民政府，凉山州人民政府",
        (
            "现将2024年民族地区转移支付资金下达给你们，具体分配见附件。",
            "请于2024年11月30日前报送资金使用情况。",
            "附件：2024年民族地区转移支付资金分配表",
        ),
        date="2024年10月14日",
    )
    annex = [
        "附件",
        "2024年民族地区转移支付资金分配表",
        "单位：万元",
        "甘孜州　52000",
        "阿坝州　41000",
        "凉山州　68000",
    ]
    main, extra = pdf_part(d), Part("附件：资金分配表.pdf", *CT_PDF, pdf_bytes(annex))
    manifest = {
        "envelope_no": "川财2024-001201",
        "from": "四川省财政厅",
        "to": "甘孜藏族自治州人民政府",
        "documents": [
            {"doc_number": "川财预〔2024〕120号", "sha256": hashlib.sha256(main.data).hexdigest()},
            {"title": "资金分配表", "sha256": hashlib.sha256(extra.data).hexdigest()},
        ],
    }
    cases.append(
        Case(
            "two_documents_with_manifest",
            mail(direct("四川省财政厅", subject_of(d)), [main, extra], manifest=manifest),
            label(d, "四川省财政厅", kind="办件", envelope_no="川财2024-001201"),
        )
    )
    d = Doc(
        "甘孜州教育和体育局关于申请追加寄宿制学校运行经费的请示",
        "甘孜州教育和体育局",
        "甘教体〔2024〕47号",
        "州人民政府",
        ("妥否，请批示。",),
        signer="赵某某",
        date="2024年11月4日",
    )
    annex = ["附件", "寄宿制学校运行经费测算表"]
    cases.append(
        Case(
            "annex_first_then_main",
            mail(
                direct("甘孜州教育和体育局", subject_of(d)),
                [Part("附件：经费测算表.docx", *CT_DOCX, docx_bytes(annex)), docx_part(d)],
            ),
            label(d, "甘孜州教育和体育局", kind="办件"),
            "the 公文 is the second part",
        )
    )
    d = Doc(
        "甘孜州应急管理局关于申请地质灾害应急处置经费的请示",
        "甘孜州应急管理局",
        "甘应急〔2024〕60号",
        "州人民政府",
        ("妥否，请批示。",),
        signer="何某某",
        date="2024年8月1日",
    )
    annex_pdf = pdf_bytes(["附件", "应急处置经费明细表"])
    cases.append(
        Case(
            "annex_damaged",
            mail(
                direct("甘孜州应急管理局", subject_of(d)),
                [pdf_part(d), Part("附件：经费明细表.pdf", *CT_PDF, annex_pdf[:300])],
            ),
            label(d, "甘孜州应急管理局", outcome="return", reason="damaged"),
            "every document part must open",
        )
    )
    d = Doc(
        "康定市人民政府关于2024年康定情歌节筹备情况的报告",
        "康定市人民政府",
        "康府〔2024〕52号",
        "甘孜州人民政府",
        ("情歌节各项筹备工作已基本就绪。", "特此报告。"),
        signer="李某某",
        date="2024年8月2日",
    )
    cases.append(
        Case(
            "fax_without_header_id",
            _fax_without_header("08362822001", pdf_bytes(d.lines())),
            label(d, "康定市人民政府", kind="阅件"),
            "the station id only in the subject",
        )
    )
    d = Doc(
        "雅江县人民政府关于申请解决县城防洪堤建设资金的请示",
        "雅江县人民政府",
        "雅府〔2024〕25号",
        "甘孜州人民政府",
        ("妥否，请批示。",),
        signer="邓某某",
        date="2024年5月30日",
    )
    cases.append(
        Case(
            "fax_formatted_number_pdf",
            fax_mail("0836-5122005", Part("fax.pdf", *CT_PDF, pdf_bytes(d.lines()))),
            label(d, "雅江县人民政府", kind="办件"),
        )
    )
    d = Doc(
        "四川省人民政府办公厅关于开展2024年度政务服务“好差评”工作的通知",
        "四川省人民政府办公厅",
        "川办函〔2024〕101号",
        "各市（州）人民政府",
        ("请于2024年8月15日前报送工作总结。",),
        masthead="四川省人民政府办公厅",
        date="2024年6月28日",
    )
    cases.append(
        Case(
            "html_gbk_body",
            _html_gbk(direct("四川省人民政府办公厅", subject_of(d)), d.lines()),
            label(d, "四川省人民政府办公厅", kind="办件"),
        )
    )
    d = Doc(
        "四川省交通运输厅关于加强农村公路养护管理的通知",
        "四川省交通运输厅",
        "川交发〔2024〕66号",
        "各市（州）人民政府，省公路局",
        ("各地要落实农村公路养护责任。", "请于2024年12月20日前报送养护工作情况。"),
        cc="省政府办公厅",
        date="2024年11月22日",
    )
    cases.append(
        Case(
            "relayed_department_document",
            mail(relayed(subject_of(d)), [ofd_part(d, "c7")]),
            label(d, "四川省交通运输厅", kind="办件"),
        )
    )
    scan = Part("fax.pdf", *CT_PDF, _scanned_pdf())
    cases.append(
        Case(
            "fax_scanned_pdf",
            fax_mail("08365922018", scan),
            label(None, "得荣县人民政府", outcome="review", reason="unreadable"),
        )
    )
    tiff = Part("fax.tif", "image", "tiff", tiff_bytes(1))
    cases.append(
        Case(
            "fax_unknown_station_tiff",
            fax_mail("02811112222", tiff),
            label(None, None, outcome="quarantine", reason="unknown_sender"),
        )
    )
    cut = Part("fax.tif", "image", "tiff", tiff_bytes(2)[:200])
    cases.append(
        Case(
            "fax_truncated_tiff",
            fax_mail("08367322007", cut),
            label(None, "炉霍县人民政府", outcome="return", reason="damaged"),
        )
    )
    d = Doc(
        "新龙县人民政府关于申请解决雅砻江沿岸防洪工程配套资金的请示",
        "新龙县人民政府",
        "新府〔2024〕33号",
        "甘孜州人民政府",
        ("妥否，请批示。",),
        signer="降某某",
        date="2024年6月19日",
    )
    cases.append(
        Case(
            "empty_attachment",
            mail(direct("新龙县人民政府", subject_of(d)), [Part(f"{d.title}.pdf", *CT_PDF, b"")]),
            label(d, "新龙县人民政府", outcome="return", reason="damaged", opened=False),
        )
    )
    return cases


def _fax_without_header(remote: str, pdf: bytes) -> bytes:
    env = MailEnvelope(
        FAX_GATEWAY, f"Fax from {remote} (1 pages)", date="Fri, 02 Aug 2024 09:12:00 +0800"
    )
    msg = _message(env)
    msg.set_content(f"Received fax from {remote}, 1 pages.\r\n", charset="utf-8", cte="base64")
    msg.add_attachment(pdf, maintype="application", subtype="pdf", filename="fax.pdf")
    return msg.as_bytes(policy=policy.SMTP)


def _html_gbk(env: MailEnvelope, lines: list[str]) -> bytes:
    msg = _message(env)
    paragraphs = "".join(f"<div>{_xml_escape(x)}</div>\r\n" for x in lines)
    html = (
        '<html><head><meta http-equiv="Content-Type" content="text/html; charset=gbk">'
        f"</head><body>\r\n{paragraphs}</body></html>\r\n"
    )
    msg.set_content(html.encode("gbk"), maintype="text", subtype="html", cte="base64")
    msg.set_param("charset", "gbk")
    return msg.as_bytes(policy=policy.SMTP)


def _break_ofd(data: bytes) -> bytes:
    """The same package with its page XML cut off mid-element."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name in src.namelist():
            content = src.read(name)
            if name.endswith("Content.xml"):
                content = content[: len(content) // 2]
            z.writestr(name, content)
    return out.getvalue()


def generate(out_dir: Path | None = None) -> list[Case]:
    """All probe cases in a stable order; written to out_dir (pNNN.eml, labels.jsonl) if given."""
    _counter[0] = 0
    cases = [
        *_central(),
        *_province(),
        *_prefecture(),
        *_counties(),
        *_periodicals(),
        *_intake(),
        *_wordings(),
        *_more_wordings(),
        *_envelopes(),
        *_carriers(),
        *_sweep(),
    ]
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        rows = []
        for n, case in enumerate(cases, 1):
            file = f"p{n:03d}.eml"
            (out_dir / file).write_bytes(case.raw)
            rows.append(
                json.dumps({"file": file, "case": case.name, **case.expected}, ensure_ascii=False)
            )
        (out_dir / "labels.jsonl").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return cases


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("probe-out")
    print(f"{len(generate(target))} messages written to {target}")
