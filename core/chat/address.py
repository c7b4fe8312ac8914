"""Chat addresses: a (channel, address) pair, and the outbox target that carries it.

Every person in the directory has a Telegram `chat_id`, which is also the person's key in
the records of 已阅, 批示 and 传阅; a `wecom_user` reaches the same person on WeCom when
`[wecom] enabled`. Outbox targets stay as they were for Telegram (the decimal chat id); a
WeCom target is ``wecom:<userid>``.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.config import Duty, Leader, Settings, Staff

TELEGRAM = "telegram"
WECOM = "wecom"
_WECOM_TARGET = "wecom:"


@dataclass(frozen=True)
class Address:
    channel: str
    address: str

    @property
    def target(self) -> str:
        """The outbox `target` of a message to this address."""
        return self.address if self.channel == TELEGRAM else f"{self.channel}:{self.address}"


def telegram(chat_id: int) -> Address:
    return Address(TELEGRAM, str(chat_id))


def wecom(user: str) -> Address:
    return Address(WECOM, user)


def of_target(target: str) -> Address | None:
    """The address an outbox target names; None for a malformed one."""
    target = target.strip()
    if target.startswith(_WECOM_TARGET) and len(target) > len(_WECOM_TARGET):
        return wecom(target[len(_WECOM_TARGET):])
    if target.lstrip("-").isdecimal():
        return telegram(int(target))
    return None


def is_wecom_target(target: str) -> bool:
    return target.startswith(_WECOM_TARGET)


def _people(settings: Settings) -> tuple[Leader | Staff | Duty, ...]:
    return (*settings.leader, *settings.staff, *settings.duty)


def wecom_user_of(settings: Settings, chat_id: int) -> str | None:
    """The WeCom userid of the person whose key is `chat_id`, if any."""
    for person in _people(settings):
        if person.chat_id == chat_id and person.wecom_user:
            return person.wecom_user
    return None


def addresses_of(settings: Settings, chat_id: int) -> tuple[Address, ...]:
    """Where the person `chat_id` is reached: Telegram, and WeCom when they have a userid
    and the office runs WeCom."""
    found = [telegram(chat_id)]
    user = wecom_user_of(settings, chat_id) if settings.wecom.enabled else None
    if user:
        found.append(wecom(user))
    return tuple(found)


def person_of(settings: Settings, address: Address) -> int | None:
    """The person's key (their chat_id) behind an address; None for a stranger's WeCom id."""
    if address.channel == TELEGRAM:
        return int(address.address) if address.address.lstrip("-").isdecimal() else None
    if address.channel == WECOM:
        wanted = address.address.lower()  # WeCom userids compare case-insensitively
        for person in _people(settings):
            if person.wecom_user and person.wecom_user.lower() == wanted:
                return person.chat_id
    return None
