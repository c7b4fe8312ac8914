"""The WeCom parts built from `[wecom]` settings, for the composition root.

A missing or malformed secret is a `ConfigError` said in Chinese before anything starts,
not a failure at the first callback.
"""

from __future__ import annotations

from bot.wecom.callback import CallbackHandler, CallbackServer, Journal
from bot.wecom.client import WeComClient
from bot.wecom.crypto import BadKeyError, MsgCrypt
from core.config import Settings
from core.errors import ConfigError


def _required(value: str | None, key: str, problem: str) -> str:
    if not value:
        raise ConfigError("-", key, problem)
    return value


def crypt_from(settings: Settings) -> MsgCrypt:
    """The callback crypto of the configured app."""
    w = settings.wecom
    token = _required(w.token.get_secret_value() if w.token else None, "wecom.token",
                      "未配置企业微信回调 Token")
    key = _required(
        settings.wecom_aes_key(), "wecom.encoding_aes_key",
        "未配置 EncodingAESKey（环境变量 JIYAO_WECOM__ENCODING_AES_KEY 或 aes_key_file）",
    )
    corp_id = _required(w.corp_id, "wecom.corp_id", "未配置企业ID（corp_id）")
    try:
        return MsgCrypt(token, key, corp_id)
    except BadKeyError as exc:
        raise ConfigError("-", "wecom.encoding_aes_key", str(exc)) from exc


def client_from(settings: Settings) -> WeComClient:
    """The API client of the configured app (close it with `aclose`)."""
    w = settings.wecom
    if w.agent_id is None:
        raise ConfigError("-", "wecom.agent_id", "未配置应用 AgentId（agent_id）")
    secret = _required(settings.wecom_secret(), "wecom.secret",
                       "未配置应用 Secret（环境变量 JIYAO_WECOM__SECRET 或 secret_file）")
    corp_id = _required(w.corp_id, "wecom.corp_id", "未配置企业ID（corp_id）")
    return WeComClient(corp_id=corp_id, agent_id=w.agent_id, secret=secret,
                       base_url=w.base_url)


def callback_from(settings: Settings, handler: CallbackHandler,
                  journal: Journal | None = None) -> CallbackServer:
    """The callback server of the configured app, not yet started."""
    w = settings.wecom
    return CallbackServer(crypt_from(settings), handler, host=w.callback_host,
                          port=w.callback_port, path=w.callback_path, agent_id=w.agent_id,
                          journal=journal)
