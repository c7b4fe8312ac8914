"""The domain's words as types: kinds, outcomes, reasons, channels."""

from __future__ import annotations

from enum import StrEnum


class Kind(StrEnum):
    """The five kinds of incoming item (DOMAIN §3)."""

    BAN = "办件"
    YUE = "阅件"
    CHAO = "抄件"
    NEIKAN = "内刊"
    JIANBAO = "简报"

    @property
    def numbered(self) -> bool:
        """办件 and 阅件 have registers; the others are not numbered."""
        return self in (Kind.BAN, Kind.YUE)


class Outcome(StrEnum):
    """What intake decided for an item (DOMAIN §2), or where it is on the way there."""

    RECEIVED = "received"  # accepted at the edge (收到), not decided yet
    SHUNTED = "shunted"  # the pipeline failed on it repeatedly: kept for staff
    REGISTER = "register"
    REVIEW = "review"
    RETURN = "return"
    QUARANTINE = "quarantine"
    SEALED = "sealed"
    REPLY = "reply"  # a 承办单位's reply to its 交办 notice, recorded as the item's 办结


class Reason(StrEnum):
    """Why an item was not simply registered."""

    MISDIRECTED = "misdirected"
    MANIFEST_MISMATCH = "manifest_mismatch"
    DAMAGED = "damaged"
    UNKNOWN_SENDER = "unknown_sender"
    PERSONAL = "personal"
    TOP_SECRET = "top_secret"  # noqa: S105 - a reason code (绝密), not a password
    SECTION = "section"
    UNREADABLE = "unreadable"
    UNPARSEABLE = "unparseable"
    OCR_DOUBTFUL = "ocr_doubtful"  # deciding evidence read by OCR below the threshold
    SENDER_UNVERIFIED = "sender_unverified"
    FAX_MISMATCH = "fax_mismatch"  # the fax station and the document name other senders


class Channel(StrEnum):
    EMAIL = "email"
    FAX = "fax"
    PAPER = "paper"


CHANNEL_ZH: dict[str, str] = {"email": "邮件", "fax": "传真", "paper": "纸质"}

OUTCOME_ZH: dict[str, str] = {
    "received": "已收到",
    "shunted": "待人工处理",
    "register": "登记",
    "review": "待分类",
    "return": "退回",
    "quarantine": "隔离",
    "sealed": "封存",
    "reply": "办结回复",
}

REASON_ZH: dict[str, str] = {
    "misdirected": "错投",
    "manifest_mismatch": "签收单不符",
    "damaged": "文件损坏",
    "unknown_sender": "来文单位不明",
    "personal": "亲启件",
    "top_secret": "绝密件",
    "section": "科室件",
    "unreadable": "无法识读",
    "unparseable": "无法解析",
    "ocr_doubtful": "识别置信度低",
    "sender_unverified": "发件人未验证",
    "fax_mismatch": "传真来源不符",
}

SECRECY_LEVELS = ("秘密", "机密", "绝密")
URGENCY_LEVELS = ("特提", "特急", "加急", "平急")

#: the 15 文种 of 党政机关公文处理工作条例 Art. 8
DOC_TYPES = (
    "决议", "决定", "命令", "公报", "公告", "通告", "意见", "通知",
    "通报", "报告", "请示", "批复", "议案", "函", "纪要",
)
