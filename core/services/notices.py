"""Chinese texts of intake notices: the return notice mailed to a sender (退回通知) and the
chat notices registry staff get for sealed, quarantined, review and returned items.

Pure: the caller passes every fact and the local receipt time. Notices on sealed (封存)
and quarantined (隔离) items name only the envelope — sender, addressee, time, item id,
envelope number — never a title or any content (DOMAIN §2).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from core.model import REASON_ZH

#: why an item was returned, as the sender should read it (DOMAIN §2)
RETURN_EXPLAINED: dict[str, str] = {
    "misdirected": "错投——来文的主送、抄送机关均不含本单位",
    "manifest_mismatch": "签收单不符——所附签收单（签收单.json）与来文不一致或编号已使用",
    "damaged": "文件损坏——所附文件无法打开，或与签收单所列校验值不符",
}

#: what staff should do with an item held back from the leaders
STAFF_ACTION: dict[str, str] = {
    "sealed": "内容已原样封存，未拆封、不推送；请通知收件人或到机要室领取。",
    "quarantine": "原件已原样保存，未推送；请核实来源后处理。",
    "review": "请阅看原件后人工分类登记（分类后即编号推送）。",
    "shunted": "原件已原样保存，未推送；请检查后用 jiyao reprocess 重新处理。",
}


@dataclass(frozen=True)
class Mail:
    subject: str
    body: str


@dataclass(frozen=True)
class Envelope:
    """What the outside of an item shows: enough to find it, nothing of its content."""

    item_id: int
    received: datetime  # local time of the office
    sender: str  # organ name and/or From address
    addressee: str
    envelope_no: str | None = None
    channel: str = "email"


def format_time(local: datetime) -> str:
    """2024年6月17日 10:00 (the office's local time)."""
    return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"


def document_label(doc_number: str | None, title: str | None) -> str:
    """川财建〔2024〕140号《…的通知》, or whichever half is known, or 来文."""
    parts = []
    if doc_number:
        parts.append(doc_number)
    if title:
        parts.append(f"《{title}》")
    return "".join(parts) or "来文"


def reason_text(reason: str | None) -> str:
    if reason is None:
        return "未注明"
    return REASON_ZH.get(reason, reason)


def return_mail(
    *,
    office: str,
    item_id: int,
    received: datetime,
    reason: str,
    sender: str | None,
    doc_number: str | None,
    title: str | None,
    subject: str | None,
    details: Sequence[str] = (),
) -> Mail:
    """The notice mailed back to the sender of a returned item (退回通知)."""
    label = document_label(doc_number, title)
    if label == "来文" and subject:
        label = f"主题为「{subject}」的来文"
    lines = [f"{sender}：" if sender else "您好：", ""]
    lines.append(
        f"贵单位于{format_time(received)}发送至{office}的{label}未予签收，现予退回。"
    )
    if doc_number:
        lines.append(f"  文号：{doc_number}")
    if title:
        lines.append(f"  标题：{title}")
    lines += ["", f"退回原因：{RETURN_EXPLAINED.get(reason, reason_text(reason))}。"]
    if details:
        lines.append("具体情况：")
        lines += [f"  - {d}" for d in details]
    lines += [
        "",
        "请更正后重新发送。如有疑问，请与本单位文书处理室联系。",
        "",
        office,
        f"（本通知由收文系统自动发出，请勿直接回复；原件已留存，收件序号 {item_id}。）",
    ]
    short = doc_number or title or subject or "来文"
    return Mail(subject=f"退回通知：{short}（{reason_text(reason)}）", body="\n".join(lines) + "\n")


def _envelope_lines(env: Envelope) -> list[str]:
    lines = [
        f"来件：{env.sender}",
        f"收件人：{env.addressee}",
        f"收到时间：{format_time(env.received)}",
    ]
    if env.envelope_no:
        lines.append(f"信封编号：{env.envelope_no}")
    return lines


def sealed_notice(env: Envelope, *, reason: str | None) -> str:
    """封存件: the envelope only; the addressee or 机要室 collects it."""
    lines = [f"【封存件】收件序号 {env.item_id}（{reason_text(reason)}）", *_envelope_lines(env)]
    lines.append(STAFF_ACTION["sealed"])
    return "\n".join(lines)


def quarantine_notice(env: Envelope, *, reason: str | None) -> str:
    """隔离: the envelope only; staff check where it came from."""
    lines = [f"【隔离】收件序号 {env.item_id}（{reason_text(reason)}）", *_envelope_lines(env)]
    lines.append(STAFF_ACTION["quarantine"])
    return "\n".join(lines)


def shunted_notice(
    *, item_id: int, received: datetime, mail_from: str | None, step: str, attempts: int
) -> str:
    """转人工: the pipeline failed on the item; nothing of it was read (it may be sealed)."""
    lines = [
        f"【待人工处理】收件序号 {item_id}（自动处理 {attempts} 次失败，步骤 {step}）",
        f"发件地址：{mail_from or '（无）'}",
        f"收到时间：{format_time(received)}",
        STAFF_ACTION["shunted"],
    ]
    return "\n".join(lines)


def _document_lines(
    sender: str | None, doc_number: str | None, title: str | None, show_title: bool,
    secrecy: str | None = None,
) -> list[str]:
    lines = [f"来文单位：{sender or '不明'}"]
    if secrecy:
        lines.append(f"【涉密件·{secrecy}】正文和附件不在聊天中发送，请到机要室阅看。")
    if doc_number:
        lines.append(f"文号：{doc_number}")
    if title:
        lines.append(f"标题：{title}" if show_title else "标题：（涉密件，标题不在聊天中显示）")
    return lines


def review_notice(
    env: Envelope,
    *,
    reason: str | None,
    sender: str | None,
    doc_number: str | None,
    title: str | None,
    show_title: bool,
    details: Sequence[str] = (),
    secrecy: str | None = None,
) -> str:
    """待分类: accepted but not classified with confidence; staff classify it."""
    via = "（传真）" if env.channel == "fax" else ""
    lines = [f"【待分类】收件序号 {env.item_id}{via}"]
    lines += _document_lines(sender, doc_number, title, show_title, secrecy)
    lines.append(f"收到时间：{format_time(env.received)}")
    lines.append(f"原因：{reason_text(reason)}" + (f"——{'；'.join(details)}" if details else ""))
    lines.append(STAFF_ACTION["review"])
    return "\n".join(lines)


def return_staff_notice(
    env: Envelope,
    *,
    reason: str | None,
    sender: str | None,
    doc_number: str | None,
    title: str | None,
    show_title: bool,
    mailed_to: str | None,
    details: Sequence[str] = (),
    secrecy: str | None = None,
) -> str:
    """退回: what was returned and whether the sender was told by mail."""
    lines = [f"【退回】收件序号 {env.item_id}"]
    lines += _document_lines(sender, doc_number, title, show_title, secrecy)
    lines.append(f"收到时间：{format_time(env.received)}")
    lines.append(f"原因：{reason_text(reason)}" + (f"——{'；'.join(details)}" if details else ""))
    if mailed_to:
        lines.append(f"已向 {mailed_to} 发送退回通知，原件留存，不编号。")
    elif env.channel == "fax":
        lines.append("传真件无法邮件退回：请电话通知来文单位更正后重新发送。原件留存，不编号。")
    else:
        lines.append("无法确定退回地址：请联系来文单位更正后重新发送。原件留存，不编号。")
    return "\n".join(lines)


def undeliverable_notice(*, item_id: int | None, to: str, error: str) -> str:
    """The smarthost refused a return notice for good: staff must tell the sender another way."""
    ref = f"收件序号 {item_id} 的" if item_id is not None else ""
    return (
        f"【退回通知未送达】{ref}退回通知无法发送至 {to}（邮件服务器拒收：{error}）。"
        "请用电话或其他方式通知来文单位。"
    )
