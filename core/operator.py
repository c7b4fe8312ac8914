"""Who made a change from the command line (操作人): the audit log's actor.

`--operator NAME` names a configured staff member; without it the OS login is looked up in
the staff's `os_users`. A login mapped to nobody is still recorded — by its own name,
marked 未验证 — so the log never says just "staff"."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from core.config import Staff
from core.errors import InvalidInputError

UNVERIFIED = "（未验证）"


@dataclass(frozen=True)
class Operator:
    name: str
    verified: bool
    os_user: str

    @property
    def actor(self) -> str:
        """The actor recorded in the audit log and shown in show, errors and registers."""
        return self.name if self.verified else f"{self.name}{UNVERIFIED}"

    def warning(self) -> str | None:
        """The Chinese warning an unverified operator gets, else None."""
        if self.verified:
            return None
        return (f"本机用户 {self.os_user} 未对应配置中的工作人员，本次操作记为“{self.actor}”；"
                "请用 --operator 指明工作人员，或在 [[staff]] 的 os_users 中登记此用户")


def identify(staff: Sequence[Staff], *, given: str | None, os_user: str) -> Operator:
    """The operator of a CLI change: `given` (--operator) must be a staff member's name."""
    if given is not None:
        name = given.strip()
        if not any(s.name == name for s in staff):
            known = "、".join(s.name for s in staff) or "（未配置）"
            raise InvalidInputError(
                f"操作人 {given!r} 不是配置中的工作人员，应为：{known}", field="operator")
        return Operator(name, True, os_user)
    mapped = next((s.name for s in staff if os_user in s.os_users), None)
    if mapped is not None:
        return Operator(mapped, True, os_user)
    return Operator(os_user, False, os_user)
