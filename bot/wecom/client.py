"""An async client of WeCom's server API for one self-built app (自建应用), on httpx.

- `gettoken` is cached and refreshed before its `expires_in` runs out; a call refused with
  40014/42001 (the token was revoked or expired early) is retried once with a fresh one,
  and concurrent callers share one refresh.
- `message/send`: text and markdown split at line boundaries into parts of at most
  2,048 UTF-8 bytes; files through `media/upload`; `template_card` button cards (the
  button keys carry the callback data the bot already uses, e.g. ``r:17``) and
  `update_template_card` to grey a pressed card's buttons.
- Every send asks for `enable_duplicate_check`: WeCom drops a request whose JSON equals
  one sent to the same member within `duplicate_check_interval`, so resending a message
  whose answer was lost (or that was in flight at a crash) shows it once. Requests are
  encoded deterministically for that reason.
- Pacing: WeCom silently drops what goes beyond 30 messages a minute or 1,000 an hour to
  one member while still answering ok, so each member's sends are spaced by `Pacer`.

Errors are `WeComError`s carrying errcode/errmsg, with `retryable` telling the caller
whether a later attempt can succeed. Neither the secret nor the access token is ever
logged or put in an error message.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import httpx
from pydantic import SecretStr

from core.chat import pace
from core.errors import InvalidInputError, JiyaoError

log = logging.getLogger("bot.wecom")

DEFAULT_BASE_URL = "https://qyapi.weixin.qq.com"
#: text and markdown content limit, in UTF-8 bytes
CONTENT_LIMIT = 2048
#: WeCom keeps identical requests apart for at most 4 hours
DUPLICATE_CHECK_MAX = 4 * 3600
#: long enough for a crash and restart; short, so a repeated reminder is not taken for one
DUPLICATE_CHECK_DEFAULT = 1800
#: refresh a token this long before WeCom says it expires (at most a tenth of its life)
REFRESH_MARGIN = 300.0
#: per member: at most 30 a minute and 1,000 an hour (发送应用消息 频率限制)
WECOM_LIMITS = pace.WECOM_MEMBER
#: a card's drop-down (button_selection) holds at most 10 options; its question key
SELECTION_OPTIONS = 10
SELECTION_KEY = "item"
#: a file message's file: 5 bytes to 20 MB (上传临时素材)
FILE_MIN, FILE_MAX = 5, 20 * 1024 * 1024

#: user ids are letters, digits and _-@. ; checked because `touser` joins ids with "|"
USER_ID = re.compile(r"[A-Za-z0-9_.@\-]{1,64}")
_TASK_ID = re.compile(r"[A-Za-z0-9_\-@]{1,128}")

TOKEN_ERRORS = frozenset({40014, 42001})
CREDENTIAL_ERRORS = frozenset({40001, 40013, 40056, 60020})
UNKNOWN_USER_ERRORS = frozenset({81013})
RATE_ERRORS = frozenset({45009, 45033})
BUSY_ERRORS = frozenset({-1})
CONTENT_ERRORS = frozenset({44004, 45002, 40006, 40007})


# ------------------------------------------------------------------ errors
class WeComError(JiyaoError):
    """WeCom refused a call or could not be reached; `retryable` says if trying later helps."""

    retryable = False

    def __init__(self, api: str, errcode: int | None, errmsg: str) -> None:
        self.api = api
        self.errcode = errcode
        self.errmsg = errmsg
        code = f" 返回错误码 {errcode}" if errcode is not None else ""
        super().__init__(f"企业微信接口 {api}{code}：{errmsg}"[:500])


class TransportError(WeComError):
    """No usable answer (network error, timeout, HTTP error, not JSON). The request may
    still have taken effect: resend it unchanged, the duplicate check keeps it single."""

    retryable = True


class BusyError(WeComError):
    """errcode -1: WeCom is busy; its documentation advises a few retries."""

    retryable = True


class RateLimitedError(WeComError):
    """45009/45033: the app called an API too often (not the per-member limit, which is
    silent)."""

    retryable = True


class AccessTokenError(WeComError):
    """40014/42001 even with a freshly fetched token."""

    retryable = True


class CredentialsError(WeComError):
    """The app is misconfigured: secret (40001), corp id (40013), agent id (40056), or the
    server's IP is not among the app's trusted IPs (60020)."""


class UnknownUserError(WeComError):
    """81013, or the member listed in `invaliduser`: no such member, or outside the app's
    visible range (可见范围)."""

    def __init__(self, api: str, errcode: int | None, errmsg: str, user: str) -> None:
        super().__init__(api, errcode, errmsg)
        self.user = user


class ContentError(WeComError):
    """The message itself is refused (empty, too large, bad media)."""


class PacedError(WeComError):
    """The member's pace allows the next message only after `retry_after` seconds, longer
    than the caller wanted to wait. Nothing was sent."""

    retryable = True

    def __init__(self, user: str, retry_after: float) -> None:
        super().__init__("pacing", None, f"{user} 的发送额度已满，{retry_after:.0f} 秒后可再发")
        self.user = user
        self.retry_after = retry_after


def error_for(api: str, errcode: int, errmsg: str, user: str = "") -> WeComError:
    """The specific error of one errcode."""
    if errcode in UNKNOWN_USER_ERRORS:
        return UnknownUserError(api, errcode, errmsg, user)
    for codes, kind in (
        (TOKEN_ERRORS, AccessTokenError), (CREDENTIAL_ERRORS, CredentialsError),
        (RATE_ERRORS, RateLimitedError), (BUSY_ERRORS, BusyError),
        (CONTENT_ERRORS, ContentError),
    ):
        if errcode in codes:
            return kind(api, errcode, errmsg)
    return WeComError(api, errcode, errmsg)


# ------------------------------------------------------------------ splitting
def split_text(text: str, limit: int = CONTENT_LIMIT) -> list[str]:
    """Parts of at most `limit` UTF-8 bytes whose concatenation is `text`, cut after a
    line end wherever a line fits, else between characters (never inside one)."""
    if limit < 4:
        raise ValueError("limit must hold one UTF-8 character")
    parts: list[str] = []
    current: list[str] = []
    size = 0
    for line in text.splitlines(keepends=True):
        n = len(line.encode("utf-8"))
        if size + n > limit and current:
            parts.append("".join(current))
            current, size = [], 0
        if n <= limit:
            current.append(line)
            size += n
            continue
        for ch in line:  # one line longer than a message: cut between characters
            c = len(ch.encode("utf-8"))
            if size + c > limit:
                parts.append("".join(current))
                current, size = [], 0
            current.append(ch)
            size += c
    if current:
        parts.append("".join(current))
    return parts


# ------------------------------------------------------------------ pacing
class Pacer(pace.Pacer):
    """core.chat.pace's per-member windows (WeCom's limits by default), and `acquire` for
    a send that waits for its slot."""

    def __init__(
        self,
        limits: Sequence[tuple[int, float]] = WECOM_LIMITS,
        *,
        margin: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(limits, margin=margin, clock=clock)

    async def acquire(self, user: str, max_wait: float | None = None) -> None:
        """Wait for `user`'s next slot; PacedError (nothing booked) if it is further away
        than `max_wait` seconds."""
        wait = self.delay(user)
        if max_wait is not None and wait > max_wait:
            raise PacedError(user, wait)
        wait = self.reserve(user)
        if wait > 0:
            await asyncio.sleep(wait)


# ------------------------------------------------------------------ messages
@dataclass(frozen=True)
class Button:
    """A card button: its label and the key WeCom returns as EventKey when pressed."""

    text: str
    key: str
    #: 1–4: WeCom's button styles (1 blue, 2 grey, 3 red, 4 …)
    style: int = 1

    def __post_init__(self) -> None:
        if not self.text or not self.key or len(self.key.encode("utf-8")) > 1024:
            raise ValueError("a button needs a label and a key of 1–1024 bytes")
        if not 1 <= self.style <= 4:
            raise ValueError("button style is 1–4")


@dataclass(frozen=True)
class Card:
    """A button_interaction template card. `task_id` must be unique within the app (a
    resend of the same card reuses it, so the duplicate check recognises the resend)."""

    task_id: str
    title: str
    buttons: tuple[Button, ...]
    desc: str = ""
    #: key–value lines (horizontal_content_list), at most 6
    fields: tuple[tuple[str, str], ...] = ()
    #: a paragraph under the title (sub_title_text)
    text: str = ""
    #: the small source line at the top (source.desc)
    source: str = ""
    #: a drop-down (button_selection) of (option id, text), the first one selected: the
    #: buttons then act on the option chosen, returned as the event's SelectedItems
    options: tuple[tuple[str, str], ...] = ()
    options_title: str = ""

    def __post_init__(self) -> None:
        if not _TASK_ID.fullmatch(self.task_id):
            raise ValueError("task_id: 1–128 letters, digits or _-@")
        if not self.title:
            raise ValueError("a card needs a title")
        if not 1 <= len(self.buttons) <= 6:
            raise ValueError("a card has 1–6 buttons")
        if len({b.key for b in self.buttons}) != len(self.buttons):
            raise ValueError("button keys must differ")
        if len(self.fields) > 6:
            raise ValueError("a card has at most 6 fields")
        if len(self.options) > SELECTION_OPTIONS or len({i for i, _ in self.options}) != len(
                self.options):
            raise ValueError(f"a drop-down has at most {SELECTION_OPTIONS} distinct options")

    def payload(self) -> dict[str, Any]:
        card: dict[str, Any] = {
            "card_type": "button_interaction",
            "main_title": {"title": self.title, **({"desc": self.desc} if self.desc else {})},
            "task_id": self.task_id,
            "button_list": [{"text": b.text, "style": b.style, "key": b.key}
                            for b in self.buttons],
        }
        if self.source:
            card["source"] = {"desc": self.source}
        if self.text:
            card["sub_title_text"] = self.text
        if self.fields:
            card["horizontal_content_list"] = [{"keyname": k, "value": v}
                                               for k, v in self.fields]
        if self.options:
            card["button_selection"] = {
                "question_key": SELECTION_KEY, "title": self.options_title or "选择",
                "option_list": [{"id": i, "text": t} for i, t in self.options],
                "selected_id": self.options[0][0],
            }
        return card


@dataclass(frozen=True)
class Sent:
    """One message WeCom accepted: its id, and for a card the code to update it."""

    user: str
    msgid: str
    response_code: str | None = None


@dataclass
class _Token:
    value: str
    fresh_until: float


def _check_user(user: str) -> str:
    if not USER_ID.fullmatch(user):
        raise InvalidInputError(f"企业微信成员账号不合法：{user[:80]!r}", field="touser")
    return user


def _encode(payload: Mapping[str, Any]) -> bytes:
    """The same request always encodes to the same bytes (the duplicate check compares
    requests)."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"),
                      sort_keys=True).encode("utf-8")


# ------------------------------------------------------------------ the client
class WeComClient:
    """The API of one self-built app. Use as `async with WeComClient(...) as client:`."""

    def __init__(
        self,
        *,
        corp_id: str,
        agent_id: int,
        secret: SecretStr | str,
        base_url: str = DEFAULT_BASE_URL,
        pacer: Pacer | None = None,
        duplicate_check_interval: int = DUPLICATE_CHECK_DEFAULT,
        timeout: float = 10.0,
        http: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not corp_id:
            raise ValueError("corp_id is required")
        if not 0 < duplicate_check_interval <= DUPLICATE_CHECK_MAX:
            raise ValueError("duplicate_check_interval is 1 s to 4 h")
        self.corp_id = corp_id
        self.agent_id = agent_id
        self._secret = secret if isinstance(secret, SecretStr) else SecretStr(secret)
        self.pacer = pacer or Pacer(clock=clock)
        self.duplicate_check_interval = duplicate_check_interval
        self._clock = clock
        self._own_http = http is None
        self._http = http or httpx.AsyncClient(base_url=base_url.rstrip("/") + "/",
                                               timeout=timeout)
        self._token: _Token | None = None
        self._token_lock = asyncio.Lock()
        #: access tokens fetched (a refresh storm would show here)
        self.tokens_fetched = 0
        # httpx logs each request URL at INFO; gettoken's URL holds the secret
        logging.getLogger("httpx").setLevel(max(logging.WARNING,
                                                logging.getLogger("httpx").level))

    def __repr__(self) -> str:
        return f"WeComClient(corp_id={self.corp_id!r}, agent_id={self.agent_id})"

    async def __aenter__(self) -> WeComClient:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._own_http:
            await self._http.aclose()

    # ------------------------------------------------------------ token
    async def access_token(self) -> str:
        """The cached token, fetched anew once it is near its end."""
        token = self._token
        if token is not None and self._clock() < token.fresh_until:
            return token.value
        async with self._token_lock:
            token = self._token
            if token is None or self._clock() >= token.fresh_until:
                token = self._token = await self._fetch_token()
            return token.value

    async def _fetch_token(self) -> _Token:
        data = await self._get_json("gettoken", {
            "corpid": self.corp_id, "corpsecret": self._secret.get_secret_value(),
        })
        errcode = int(data.get("errcode", 0))
        if errcode:
            raise error_for("gettoken", errcode, str(data.get("errmsg", "")))
        value = data.get("access_token")
        if not isinstance(value, str) or not value:
            raise TransportError("gettoken", None, "应答中没有 access_token")
        expires_in = float(data.get("expires_in", 7200))
        self.tokens_fetched += 1
        log.info("企业微信 access_token 已获取，有效期 %d 秒", expires_in)
        margin = min(REFRESH_MARGIN, expires_in / 10)
        return _Token(value, self._clock() + expires_in - margin)

    def _forget(self, value: str) -> None:
        """Drop the cached token if it is still the one refused (not a newer one)."""
        if self._token is not None and self._token.value == value:
            self._token = None

    # ------------------------------------------------------------ transport
    async def _get_json(self, api: str, params: Mapping[str, str]) -> dict[str, Any]:
        return await self._request(api, self._http.build_request(
            "GET", f"cgi-bin/{api}", params=params))

    async def _request(self, api: str, request: httpx.Request) -> dict[str, Any]:
        try:
            response = await self._http.send(request)
        except httpx.HTTPError as exc:
            # the exception's text never holds the URL (token, secret); its type does say
            raise TransportError(api, None, f"无法连接（{type(exc).__name__}）") from exc
        if response.status_code != 200:
            raise TransportError(api, None, f"HTTP {response.status_code}")
        try:
            data = response.json()
        except ValueError as exc:
            raise TransportError(api, None, "应答不是 JSON") from exc
        if not isinstance(data, dict):
            raise TransportError(api, None, "应答不是 JSON 对象")
        return data

    async def call(
        self,
        api: str,
        *,
        body: Mapping[str, Any] | None = None,
        params: Mapping[str, str] | None = None,
        files: Mapping[str, tuple[str, bytes, str]] | None = None,
        user: str = "",
    ) -> dict[str, Any]:
        """POST `cgi-bin/<api>` with the access token; a token refused as invalid or
        expired is replaced and the call made once more."""
        content = None if body is None else _encode(body)
        for attempt in (1, 2):
            token = await self.access_token()
            request = self._http.build_request(
                "POST", f"cgi-bin/{api}", params={**(params or {}), "access_token": token},
                content=content, files=files,
                headers={"Content-Type": "application/json"} if content is not None else None,
            )
            data = await self._request(api, request)
            errcode = int(data.get("errcode", 0))
            if errcode in TOKEN_ERRORS and attempt == 1:
                log.info("企业微信 access_token 失效（%d），重新获取", errcode)
                self._forget(token)
                continue
            if errcode:
                raise error_for(api, errcode, str(data.get("errmsg", "")), user)
            return data
        raise AssertionError("unreachable")  # pragma: no cover

    # ------------------------------------------------------------ sending
    async def _send(self, user: str, msgtype: str, content: Mapping[str, Any], *,
                    safe: bool = False, max_wait: float | None = None) -> Sent:
        _check_user(user)
        body: dict[str, Any] = {
            "touser": user, "msgtype": msgtype, "agentid": self.agent_id,
            msgtype: dict(content),
            "enable_duplicate_check": 1,
            "duplicate_check_interval": self.duplicate_check_interval,
        }
        if safe:
            body["safe"] = 1
        await self.pacer.acquire(user, max_wait)
        data = await self.call("message/send", body=body, user=user)
        invalid = {u.lower() for u in str(data.get("invaliduser") or "").split("|") if u}
        if user.lower() in invalid:
            raise UnknownUserError("message/send", None, "成员不存在或不在应用可见范围内", user)
        sent = Sent(user, str(data.get("msgid", "")), data.get("response_code") or None)
        log.debug("企业微信 %s → %s：%s", msgtype, user, sent.msgid)
        return sent

    async def _send_parts(self, user: str, msgtype: str, text: str, *, safe: bool,
                          max_wait: float | None) -> list[Sent]:
        parts = [p for p in split_text(text) if p.strip()]
        if not parts:
            raise ContentError("message/send", 44004, "消息内容为空")
        return [await self._send(user, msgtype, {"content": part}, safe=safe,
                                 max_wait=max_wait) for part in parts]

    async def send_text(self, user: str, text: str, *, safe: bool = False,
                        max_wait: float | None = None) -> list[Sent]:
        """A text message, in as many parts as its 2,048-byte limit needs; `safe` makes it
        a 保密消息 (watermarked, not forwardable)."""
        return await self._send_parts(user, "text", text, safe=safe, max_wait=max_wait)

    async def send_markdown(self, user: str, text: str, *,
                            max_wait: float | None = None) -> list[Sent]:
        """A markdown message (企业微信 shows it; the WeChat plugin does not)."""
        return await self._send_parts(user, "markdown", text, safe=False, max_wait=max_wait)

    async def upload(self, data: bytes, filename: str, kind: str = "file") -> str:
        """Upload a temporary media file (kept 3 days by WeCom); its media_id."""
        if kind == "file" and not FILE_MIN <= len(data) <= FILE_MAX:
            raise ContentError("media/upload", 40006, f"文件大小 {len(data)} 字节超出 5 B–20 MB")
        answer = await self.call("media/upload", params={"type": kind},
                                 files={"media": (filename, data, "application/octet-stream")})
        media_id = answer.get("media_id")
        if not isinstance(media_id, str) or not media_id:
            raise TransportError("media/upload", None, "应答中没有 media_id")
        return media_id

    async def send_file(self, user: str, data: bytes, filename: str, *, safe: bool = False,
                        max_wait: float | None = None) -> Sent:
        """Upload `data` and send it to `user` as a file message."""
        _check_user(user)
        media_id = await self.upload(data, filename)
        return await self._send(user, "file", {"media_id": media_id}, safe=safe,
                                max_wait=max_wait)

    async def send_card(self, user: str, card: Card, *,
                        max_wait: float | None = None) -> Sent:
        """A button card; its `response_code` updates it once (within 72 h)."""
        return await self._send(user, "template_card", card.payload(), max_wait=max_wait)

    async def update_card(self, users: Iterable[str], response_code: str,
                          replace_name: str) -> None:
        """Turn the buttons of a sent card into one greyed label (e.g. 已阅) for `users`.
        A response_code serves once: the one from send, or the one of a button press."""
        ids = [_check_user(u) for u in users]
        await self.call("message/update_template_card", body={
            "userids": ids, "agentid": self.agent_id, "response_code": response_code,
            "button": {"replace_name": replace_name},
        }, user=ids[0] if len(ids) == 1 else "")
