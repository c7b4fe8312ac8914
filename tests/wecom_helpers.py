"""The example office with WeCom switched on: some people carry a `wecom_user`."""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import SecretStr

from core.config import Settings

#: chat_id → WeCom userid of the example office's people reached on WeCom in tests
WECOM_USERS: dict[int, str] = {
    100002: "changwu",    # 常务副州长
    100005: "yingji",     # 分管应急副州长
    200001: "wenshu",     # 文书处理室
    200010: "zhiban",     # 值班
}


def with_wecom(settings: Settings, users: Mapping[int, str] = WECOM_USERS, *,
               base_url: str | None = None, corp_id: str = "ww0123456789abcdef",
               agent_id: int = 1000002, token: str = "callbacktoken",
               secret: str | None = None, aes_key: str | None = None,
               callback_port: int = 0) -> Settings:
    """`settings` with `[wecom] enabled` and the given people's userids."""

    def reach(people: list) -> list:  # type: ignore[type-arg]
        return [p.model_copy(update={"wecom_user": users.get(p.chat_id, p.wecom_user)})
                for p in people]

    wecom = settings.wecom.model_copy(update={
        "enabled": True, "corp_id": corp_id, "agent_id": agent_id,
        "token": SecretStr(token), "callback_port": callback_port,
        **({"base_url": base_url} if base_url else {}),
        **({"secret": SecretStr(secret)} if secret else {}),
        **({"encoding_aes_key": SecretStr(aes_key)} if aes_key else {}),
    })
    return settings.model_copy(update={
        "wecom": wecom, "leader": reach(settings.leader), "staff": reach(settings.staff),
        "duty": reach(settings.duty),
    })
