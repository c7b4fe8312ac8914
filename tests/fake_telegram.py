"""A fake Telegram Bot API server on loopback, for end-to-end tests of the real PTB stack.

    async with FakeTelegram() as fake:
        app = Application.builder().token("123:ABC").base_url(fake.base_url).build()
        fake.inject_command(100001, "/counts 2026")
        call = await fake.wait_for("sendMessage")

It runs in the test's own event loop (aiohttp), answers `/bot<token>/<method>` for any
token with JSON, form-encoded or multipart bodies, keeps the messages the bot sent (so a
reply or a button press can refer to them), records every call, and injects faults
(429 with retry_after, 5xx, lost replies) and Telegram's own refusals (blocked chat,
unchanged edit, bad HTML, callback data > 64 bytes). Injection methods are synchronous:
they wake waiting `getUpdates` through a pulse event rather than an asyncio.Condition,
whose lock would force every caller to await.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import random
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from types import TracebackType
from typing import Any

from aiohttp import web

#: methods that post a new message: counted for rate checks and returned by `sent()`
SEND_METHODS = ("sendMessage", "sendDocument", "sendPhoto")
#: the most buttons Telegram takes under one message
INLINE_BUTTONS = 100

#: methods the random error rate spares by default: start-up, polling and shutdown
_LIFECYCLE = frozenset(
    {"getme", "getupdates", "deletewebhook", "getwebhookinfo", "close", "logout"}
)

#: parameters that are plain strings in a form body (PTB JSON-encodes only non-strings)
_STRING_PARAMS = frozenset(
    {
        "text", "caption", "parse_mode", "callback_query_id", "data", "description",
        "short_description", "name", "language_code", "title", "url", "inline_message_id",
        "business_connection_id", "message_effect_id", "emoji", "action",
    }
)  # fmt: skip

_ERROR_TEXT = {
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}

_HTML_TAGS = frozenset(
    {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler", "a",
     "code", "pre", "blockquote", "tg-emoji"}
)  # fmt: skip
_BARE_LT = re.compile(r"<(?!/?[A-Za-z])")
_BARE_AMP = re.compile(r"&(?!(?:[A-Za-z]+|#\d+|#x[0-9A-Fa-f]+);)")
_COMMAND = re.compile(r"[a-z0-9_]{1,32}")


@dataclass(frozen=True)
class Upload:
    """A file the bot uploaded in a multipart body."""

    filename: str
    content_type: str
    data: bytes


@dataclass
class Call:
    """One request the bot made: what it asked, when (time.monotonic()), how it ended."""

    method: str
    params: dict[str, Any]
    time: float
    token: str
    ok: bool = True
    status: int = 200
    result: Any = None
    #: why it failed, as answered to the bot
    description: str = ""
    #: the call took effect but its answer was dropped (lose_reply_next)
    lost: bool = False

    @property
    def failed(self) -> bool:
        return not self.ok

    @property
    def chat_id(self) -> int | str | None:
        """The chat as an int; a channel username stays a string."""
        value = self.params.get("chat_id")
        if value is None:
            return None
        try:
            return int(value)
        except (TypeError, ValueError):
            return str(value)

    @property
    def text(self) -> str | None:
        """The text or caption as sent (before HTML parsing)."""
        value = self.params.get("text", self.params.get("caption"))
        return None if value is None else str(value)


class ApiError(Exception):
    """An error answer of the Bot API."""

    def __init__(self, status: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after


@dataclass
class _Fault:
    status: int
    retry_after: int
    description: str | None


@dataclass
class _ErrorRate:
    rate: float = 0.0
    statuses: tuple[int, ...] = (429, 500, 502)
    retry_after: int = 1
    methods: frozenset[str] | None = None
    rng: random.Random = field(default_factory=random.Random)


@dataclass
class _Limits:
    per_chat: int | None
    total: int | None
    window: float
    retry_after: int


def _error_description(status: int, retry_after: int) -> str:
    if status == 429:
        return f"Too Many Requests: retry after {retry_after}"
    return _ERROR_TEXT.get(status, "Error")


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


class _TelegramHTML(HTMLParser):
    """Telegram's HTML subset: known tags, balanced, entities for < and &; yields plain text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _HTML_TAGS:
            raise ApiError(
                400, f'Bad Request: can\'t parse entities: Unsupported start tag "{tag}"'
            )
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            raise ApiError(400, f'Bad Request: can\'t parse entities: Unexpected end tag "{tag}"')
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def html_to_text(source: str) -> str:
    """The plain text Telegram shows for `source` in parse_mode HTML; ApiError when invalid.

    Stricter than Telegram on a bare '&' (Telegram's documentation asks for &amp; too).
    """
    if _BARE_LT.search(source) or _BARE_AMP.search(source):
        raise ApiError(400, "Bad Request: can't parse entities: unescaped '<' or '&'")
    parser = _TelegramHTML()
    parser.feed(source)
    parser.close()
    if parser.stack:
        raise ApiError(
            400,
            "Bad Request: can't parse entities: Can't find end tag corresponding to start tag "
            f'"{parser.stack[-1]}"',
        )
    return "".join(parser.parts)


def _decode_form_value(name: str, raw: str) -> Any:
    """Form values are JSON for non-strings (PTB's RequestData); strings come as they are."""
    if name in _STRING_PARAMS:
        return raw
    try:
        return json.loads(raw)
    except ValueError:
        return raw


class FakeTelegram:
    """The fake Bot API server; use as `async with FakeTelegram() as fake:`."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        username: str = "jiyao_test_bot",
        first_name: str = "机要测试",
    ) -> None:
        self.host = host
        self.port = port
        self.username = username
        self.first_name = first_name
        self.calls: list[Call] = []
        #: uploads by file_id
        self.files: dict[str, Upload] = {}
        self._runner: web.AppRunner | None = None
        self._pulse = asyncio.Event()
        self._closing = False
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1)
        self._message_ids: dict[int, itertools.count[int]] = {}
        self._messages: dict[tuple[int, int], dict[str, Any]] = {}
        self._callbacks: dict[str, dict[str, Any]] = {}
        self._callback_ids = itertools.count(1)
        self._file_ids = itertools.count(1)
        self._commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.menu_buttons: dict[int | None, dict[str, Any]] = {}
        self._faults: dict[str, list[_Fault]] = {}
        self._lose: dict[str, int] = {}
        self._delay: tuple[float, frozenset[str] | None] = (0.0, None)
        self._errors = _ErrorRate()
        self._limits: _Limits | None = None
        self._blocked: set[int] = set()
        self._sends: list[tuple[float, int]] = []
        self._poll_generation: dict[str, int] = {}

    # ------------------------------------------------------------ lifecycle
    @property
    def base_url(self) -> str:
        """What to pass to ApplicationBuilder.base_url (the token is appended by PTB)."""
        return f"http://{self.host}:{self.port}/bot"

    async def __aenter__(self) -> FakeTelegram:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_route("*", "/{tail:.*}", self._not_found)
        self._runner = web.AppRunner(
            app, access_log=None, handle_signals=False, handler_cancellation=True,
            shutdown_timeout=1.0,
        )  # fmt: skip
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._closing = True
        self._wake()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def _wake(self) -> None:
        """Wake everything waiting for a change (long polls, wait_for)."""
        self._pulse.set()
        self._pulse = asyncio.Event()

    async def _changed(self, timeout: float) -> None:
        """Wait for the next change, at most `timeout` seconds."""
        pulse = self._pulse
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(pulse.wait(), timeout=max(timeout, 0.0))

    # ------------------------------------------------------------ fault injection
    def fail_next(
        self,
        method: str,
        n: int = 1,
        status: int = 429,
        retry_after: int = 1,
        description: str | None = None,
    ) -> None:
        """The next `n` calls of `method` fail with `status` (429 carries retry_after)."""
        self._faults.setdefault(method.lower(), []).extend(
            _Fault(status, retry_after, description) for _ in range(n)
        )

    def set_error_rate(
        self,
        rate: float,
        statuses: Iterable[int] = (429, 500, 502),
        retry_after: int = 1,
        seed: int | None = None,
        methods: Iterable[str] | None = None,
    ) -> None:
        """Fail each call with probability `rate`, status drawn from `statuses`.

        `methods` None: every method except start-up, polling and shutdown (getMe, getUpdates,
        deleteWebhook, getWebhookInfo, close, logOut).
        """
        chosen = None if methods is None else frozenset(m.lower() for m in methods)
        self._errors = _ErrorRate(rate, tuple(statuses), retry_after, chosen, random.Random(seed))

    def lose_reply_next(self, method: str, n: int = 1) -> None:
        """The next `n` calls of `method` take effect, but the answer is lost (connection drops)."""
        self._lose[method.lower()] = self._lose.get(method.lower(), 0) + n

    def set_delay(self, seconds: float, methods: Iterable[str] | None = None) -> None:
        """Answer `methods` (None: all but getUpdates) only after `seconds`."""
        chosen = None if methods is None else frozenset(m.lower() for m in methods)
        self._delay = (seconds, chosen)

    def enforce_rate(
        self,
        per_chat: int | None = None,
        total: int | None = None,
        window: float = 1.0,
        retry_after: int = 1,
    ) -> None:
        """Answer 429 to a send that would exceed `per_chat` / `total` sends within `window` s."""
        self._limits = _Limits(per_chat, total, window, retry_after)

    def block(self, chat_id: int) -> None:
        """The user blocked the bot: sends to this chat get 403."""
        self._blocked.add(chat_id)

    # ------------------------------------------------------------ injecting updates
    def _user(self, user_id: int, first_name: str, username: str | None = None) -> dict[str, Any]:
        user: dict[str, Any] = {
            "id": user_id,
            "is_bot": False,
            "first_name": first_name,
            "language_code": "zh-hans",
        }
        if username:
            user["username"] = username
        return user

    @staticmethod
    def _chat(chat_id: int) -> dict[str, Any]:
        if chat_id > 0:
            return {"id": chat_id, "type": "private", "first_name": f"用户{chat_id}"}
        kind = "supergroup" if str(chat_id).startswith("-100") else "group"
        return {"id": chat_id, "type": kind, "title": f"群{chat_id}"}

    def _next_message_id(self, chat_id: int) -> int:
        return next(self._message_ids.setdefault(chat_id, itertools.count(1)))

    def inject_update(self, payload: dict[str, Any]) -> int:
        """Queue a raw update (without update_id); returns its update_id."""
        update_id = next(self._update_ids)
        self._updates.append({"update_id": update_id, **payload})
        self._wake()
        return update_id

    def inject_message(
        self,
        chat_id: int,
        text: str,
        from_id: int | None = None,
        reply_to_message_id: int | None = None,
        first_name: str = "测试用户",
        username: str | None = None,
        entities: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """A user's text message; a reply carries the replied-to message. Returns the message."""
        sender = from_id if from_id is not None else (chat_id if chat_id > 0 else 1)
        message: dict[str, Any] = {
            "message_id": self._next_message_id(chat_id),
            "date": int(time.time()),
            "chat": self._chat(chat_id),
            "from": self._user(sender, first_name, username),
            "text": text,
        }
        if entities:
            message["entities"] = entities
        if reply_to_message_id is not None:
            message["reply_to_message"] = self.message(chat_id, reply_to_message_id)
        self._messages[(chat_id, message["message_id"])] = message
        self.inject_update({"message": message})
        return message

    def inject_command(
        self, chat_id: int, command: str, from_id: int | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        """A command message such as "/counts 2026", with its bot_command entity."""
        if not command.startswith("/"):
            raise ValueError(f"not a command: {command!r}")
        head = command.split(maxsplit=1)[0]
        entity = {"type": "bot_command", "offset": 0, "length": _utf16_len(head)}
        return self.inject_message(chat_id, command, from_id=from_id, entities=[entity], **kwargs)

    def inject_callback(
        self,
        chat_id: int,
        message_id: int,
        data: str,
        from_id: int | None = None,
        first_name: str = "测试用户",
    ) -> str:
        """A button press on a stored message; returns the callback query id."""
        message = self.message(chat_id, message_id)
        sender = from_id if from_id is not None else (chat_id if chat_id > 0 else 1)
        query_id = f"cbq-{next(self._callback_ids)}"
        query = {
            "id": query_id,
            "from": self._user(sender, first_name),
            "message": message,
            "chat_instance": str(chat_id),
            "data": data,
        }
        self._callbacks[query_id] = {"query": query, "answered": False}
        self.inject_update({"callback_query": query})
        return query_id

    # ------------------------------------------------------------ inspecting
    def message(self, chat_id: int, message_id: int) -> dict[str, Any]:
        """A stored message (as edited since); KeyError when the fake never saw it."""
        try:
            return self._messages[(chat_id, message_id)]
        except KeyError:
            raise KeyError(f"no message {message_id} in chat {chat_id}") from None

    def bot_messages(self, chat_id: int | None = None) -> list[dict[str, Any]]:
        """Messages the bot sent (current state after edits), in order."""
        return [
            m
            for (chat, _), m in self._messages.items()
            if m["from"].get("is_bot") and (chat_id is None or chat == chat_id)
        ]

    def calls_of(self, method: str, *, include_failed: bool = False) -> list[Call]:
        return [c for c in self.calls if c.method == method and (include_failed or c.ok)]

    def sent(self, chat_id: int | None = None) -> list[Call]:
        """Successful sendMessage/sendDocument/sendPhoto calls, to one chat or all."""
        return [
            c
            for c in self.calls
            if c.ok and c.method in SEND_METHODS and (chat_id is None or c.chat_id == chat_id)
        ]

    def callback_answered(self, query_id: str) -> bool:
        return bool(self._callbacks[query_id]["answered"])

    def commands(
        self, scope: dict[str, Any] | None = None, language_code: str = ""
    ) -> list[dict[str, Any]]:
        """The command list set for a scope (default scope when None)."""
        return list(self._commands.get(self._commands_key(scope, language_code), []))

    async def wait_until(self, condition: Callable[[], bool], timeout: float = 5.0) -> None:
        """Wait until `condition()` holds; TimeoutError after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while not condition():
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"条件未在 {timeout} 秒内满足；已记录调用：{self._summary()}")
            await self._changed(left)

    async def wait_for(
        self,
        method: str,
        predicate: Callable[[Call], bool] | None = None,
        timeout: float = 5.0,
        *,
        since: int = 0,
        include_failed: bool = False,
    ) -> Call:
        """The first recorded call of `method` (from index `since`) matching `predicate`."""
        found: list[Call] = []

        def match() -> bool:
            for call in self.calls[since:]:
                if (
                    call.method == method
                    and (include_failed or call.ok)
                    and (predicate is None or predicate(call))
                ):
                    found.append(call)
                    return True
            return False

        await self.wait_until(match, timeout)
        return found[0]

    def _summary(self) -> str:
        names = [c.method + ("" if c.ok else f"!{c.status}") for c in self.calls]
        return ", ".join(n for n in names if n != "getUpdates") or "无"

    # ------------------------------------------------------------ rates
    def send_times(self, chat_id: int | None = None) -> list[float]:
        """Monotonic times of successful sends, to one chat or all."""
        return [t for t, chat in self._sends if chat_id is None or chat == chat_id]

    def max_in_window(self, window: float = 1.0, chat_id: int | None = None) -> int:
        """Most successful sends (to `chat_id`, or in total) within any `window` seconds."""
        times = sorted(self.send_times(chat_id))
        best = start = 0
        for end, t in enumerate(times):
            while t - times[start] >= window:
                start += 1
            best = max(best, end - start + 1)
        return best

    def max_rate_per_chat(self, window: float = 1.0) -> float:
        """Highest sends per second to any one chat, over any `window` seconds."""
        chats = {chat for _, chat in self._sends}
        return max((self.max_in_window(window, c) / window for c in chats), default=0.0)

    def max_rate_total(self, window: float = 1.0) -> float:
        """Highest sends per second over all chats, over any `window` seconds."""
        return self.max_in_window(window) / window

    # ------------------------------------------------------------ HTTP
    async def _not_found(self, request: web.Request) -> web.Response:
        return self._error(ApiError(404, "Not Found"))

    @staticmethod
    def _error(err: ApiError) -> web.Response:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": err.status,
            "description": err.description,
        }
        if err.retry_after is not None:
            body["parameters"] = {"retry_after": err.retry_after}
        return web.json_response(body, status=err.status)

    @staticmethod
    async def _params(request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = {k: _decode_form_value(k, v) for k, v in request.query.items()}
        if request.content_type == "application/json":
            body = await request.read()
            if body:
                params.update(json.loads(body))
            return params
        form = await request.post()
        for name, value in form.items():
            if isinstance(value, web.FileField):
                params[name] = Upload(value.filename, value.content_type, value.file.read())
            elif isinstance(value, str):
                params[name] = _decode_form_value(name, value)
            else:
                params[name] = _decode_form_value(name, bytes(value).decode())
        return params

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        token = request.match_info["token"]
        method = request.match_info["method"]
        key = method.lower()
        params = await self._params(request)
        call = Call(method, params, time.monotonic(), token)
        self.calls.append(call)
        try:
            self._inject_fault(key, call)
            delay, delayed = self._delay
            if delay and key != "getupdates" and (delayed is None or key in delayed):
                await asyncio.sleep(delay)
            handler = self._handlers().get(key)
            if handler is None:
                raise ApiError(404, "Not Found")
            call.result = await handler(token, params)
        except ApiError as err:
            call.ok, call.status, call.description = False, err.status, err.description
            self._wake()
            return self._error(err)
        except asyncio.CancelledError:
            # The client went away (PTB cancels its pending getUpdates on stop).
            call.ok, call.status, call.description = False, 499, "client closed request"
            raise
        self._wake()
        if self._lose.get(key):
            self._lose[key] -= 1
            call.lost = True
            if request.transport is not None:
                request.transport.close()
        return web.json_response({"ok": True, "result": call.result})

    def _inject_fault(self, key: str, call: Call) -> None:
        queued = self._faults.get(key)
        if queued:
            fault = queued.pop(0)
            description = fault.description or _error_description(fault.status, fault.retry_after)
            retry = fault.retry_after if fault.status == 429 else None
            raise ApiError(fault.status, description, retry)
        errors = self._errors
        applies = key not in _LIFECYCLE if errors.methods is None else key in errors.methods
        if errors.rate and applies and errors.rng.random() < errors.rate:
            status = errors.rng.choice(errors.statuses)
            retry = errors.retry_after if status == 429 else None
            raise ApiError(status, _error_description(status, errors.retry_after), retry)
        if call.method in SEND_METHODS and self._limits is not None:
            self._check_limits(call)

    def _check_limits(self, call: Call) -> None:
        limits = self._limits
        assert limits is not None
        now = time.monotonic()
        recent = [(t, c) for t, c in self._sends if now - t < limits.window]
        too_many_chat = limits.per_chat is not None and (
            sum(1 for _, c in recent if c == call.chat_id) >= limits.per_chat
        )
        too_many_total = limits.total is not None and len(recent) >= limits.total
        if too_many_chat or too_many_total:
            raise ApiError(429, _error_description(429, limits.retry_after), limits.retry_after)

    def _handlers(self) -> dict[str, Callable[[str, dict[str, Any]], Any]]:
        return {
            "getme": self._get_me,
            "deletewebhook": self._true,
            "getwebhookinfo": self._get_webhook_info,
            "getupdates": self._get_updates,
            "sendmessage": self._send_message,
            "senddocument": self._send_document,
            "sendphoto": self._send_photo,
            "sendchataction": self._true,
            "editmessagetext": self._edit_message_text,
            "editmessagereplymarkup": self._edit_message_reply_markup,
            "deletemessage": self._delete_message,
            "answercallbackquery": self._answer_callback_query,
            "setmycommands": self._set_my_commands,
            "deletemycommands": self._delete_my_commands,
            "getmycommands": self._get_my_commands,
            "setchatmenubutton": self._set_chat_menu_button,
            "close": self._true,
            "logout": self._true,
        }

    # ------------------------------------------------------------ methods
    def bot_user(self, token: str) -> dict[str, Any]:
        head = token.split(":", 1)[0]
        return {
            "id": int(head) if head.isdigit() else 1,
            "is_bot": True,
            "first_name": self.first_name,
            "username": self.username,
            "can_join_groups": False,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    async def _true(self, token: str, params: dict[str, Any]) -> bool:
        return True

    async def _get_me(self, token: str, params: dict[str, Any]) -> dict[str, Any]:
        return self.bot_user(token)

    async def _get_webhook_info(self, token: str, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }

    async def _get_updates(self, token: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        limit = max(1, min(int(params.get("limit") or 100), 100))
        timeout = float(params.get("timeout") or 0)
        if offset > 0:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        elif offset < 0:
            self._updates = self._updates[offset:]
        # A newer getUpdates for the same token ends this one with 409, as Telegram does
        # when two bot instances poll at once.
        generation = self._poll_generation.get(token, 0) + 1
        self._poll_generation[token] = generation
        deadline = time.monotonic() + timeout
        while not self._updates and not self._closing:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            await self._changed(left)
            if self._poll_generation.get(token) != generation:
                raise ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; make sure that only "
                    "one bot instance is running",
                )
        return self._updates[:limit]

    def _check_chat(self, params: dict[str, Any]) -> int:
        chat = params.get("chat_id")
        if chat is None or chat == "":
            raise ApiError(400, "Bad Request: chat_id is empty")
        try:
            chat_id = int(chat)
        except (TypeError, ValueError):
            raise ApiError(400, "Bad Request: chat not found") from None
        if chat_id in self._blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        return chat_id

    @staticmethod
    def _check_markup(markup: Any) -> dict[str, Any] | None:
        """Inline keyboards are echoed on the message; other keyboards are not. Telegram
        refuses more than 100 buttons (tginfo/Telegram-Limits: 100 inline buttons)."""
        if not isinstance(markup, dict) or "inline_keyboard" not in markup:
            return None
        if sum(len(row) for row in markup["inline_keyboard"]) > INLINE_BUTTONS:
            raise ApiError(400, "Bad Request: reply markup is too long")
        for row in markup["inline_keyboard"]:
            for button in row:
                data = button.get("callback_data")
                if data is not None and not 1 <= len(str(data).encode()) <= 64:
                    raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
        return dict(markup)

    @staticmethod
    def _shown(text: str, parse_mode: Any) -> str:
        return html_to_text(text) if str(parse_mode or "").upper() == "HTML" else text

    def _new_bot_message(self, token: str, chat_id: int, params: dict[str, Any]) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": self._next_message_id(chat_id),
            "date": int(time.time()),
            "chat": self._chat(chat_id),
            "from": self.bot_user(token),
        }
        markup = self._check_markup(params.get("reply_markup"))
        if markup is not None:
            message["reply_markup"] = markup
        reply = params.get("reply_parameters")
        reply_id = reply.get("message_id") if isinstance(reply, dict) else None
        reply_id = reply_id or params.get("reply_to_message_id")
        if reply_id:
            replied = self._messages.get((chat_id, int(reply_id)))
            if replied is not None:
                message["reply_to_message"] = replied
            elif not (isinstance(reply, dict) and reply.get("allow_sending_without_reply")):
                raise ApiError(400, "Bad Request: message to be replied not found")
        return message

    def _store_sent(self, chat_id: int, message: dict[str, Any]) -> dict[str, Any]:
        self._messages[(chat_id, message["message_id"])] = message
        self._sends.append((time.monotonic(), chat_id))
        return message

    async def _send_message(self, token: str, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = self._check_chat(params)
        raw = str(params.get("text") or "")
        text = self._shown(raw, params.get("parse_mode"))
        if not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if _utf16_len(text) > 4096:
            raise ApiError(400, "Bad Request: message is too long")
        message = self._new_bot_message(token, chat_id, params)
        message["text"] = text
        return self._store_sent(chat_id, message)

    def _caption(self, params: dict[str, Any], message: dict[str, Any]) -> None:
        raw = params.get("caption")
        if raw:
            caption = self._shown(str(raw), params.get("parse_mode"))
            if _utf16_len(caption) > 1024:
                raise ApiError(400, "Bad Request: message caption is too long")
            message["caption"] = caption

    def _file(self, value: Any, default_name: str) -> tuple[str, Upload]:
        """(file_id, upload) for an uploaded file or a file_id sent before."""
        if isinstance(value, Upload):
            file_id = f"file-{next(self._file_ids)}"
            upload = Upload(value.filename or default_name, value.content_type, value.data)
            self.files[file_id] = upload
            return file_id, upload
        if isinstance(value, str) and value in self.files:
            return value, self.files[value]
        raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")

    async def _send_document(self, token: str, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = self._check_chat(params)
        file_id, upload = self._file(params.get("document"), "document")
        message = self._new_bot_message(token, chat_id, params)
        message["document"] = {
            "file_id": file_id,
            "file_unique_id": f"u{file_id}",
            "file_name": upload.filename,
            "mime_type": upload.content_type,
            "file_size": len(upload.data),
        }
        self._caption(params, message)
        return self._store_sent(chat_id, message)

    async def _send_photo(self, token: str, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = self._check_chat(params)
        file_id, upload = self._file(params.get("photo"), "photo.jpg")
        message = self._new_bot_message(token, chat_id, params)
        message["photo"] = [
            {
                "file_id": file_id,
                "file_unique_id": f"u{file_id}",
                "width": 90,
                "height": 90,
                "file_size": len(upload.data),
            }
        ]
        self._caption(params, message)
        return self._store_sent(chat_id, message)

    def _editable(self, params: dict[str, Any]) -> dict[str, Any] | None:
        """The bot message an edit refers to; None for inline messages."""
        if params.get("inline_message_id"):
            return None
        chat_id = self._check_chat(params)
        message = self._messages.get((chat_id, int(params.get("message_id") or 0)))
        if message is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        if not message["from"].get("is_bot"):
            raise ApiError(400, "Bad Request: message can't be edited")
        return message

    @staticmethod
    def _apply_edit(message: dict[str, Any], field_name: str, value: Any, markup: Any) -> None:
        if message.get(field_name) == value and message.get("reply_markup") == markup:
            raise ApiError(
                400,
                "Bad Request: message is not modified: specified new message content and "
                "reply markup are exactly the same as a current content and reply markup "
                "of the message",
            )
        if field_name:
            message[field_name] = value
        # Telegram drops the inline keyboard when an edit does not repeat it.
        if markup is None:
            message.pop("reply_markup", None)
        else:
            message["reply_markup"] = markup
        message["edit_date"] = int(time.time())

    async def _edit_message_text(self, token: str, params: dict[str, Any]) -> Any:
        message = self._editable(params)
        text = self._shown(str(params.get("text") or ""), params.get("parse_mode"))
        if not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if _utf16_len(text) > 4096:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        markup = self._check_markup(params.get("reply_markup"))
        if message is None:
            return True
        if "text" not in message:
            raise ApiError(400, "Bad Request: there is no text in the message to edit")
        self._apply_edit(message, "text", text, markup)
        return message

    async def _edit_message_reply_markup(self, token: str, params: dict[str, Any]) -> Any:
        message = self._editable(params)
        markup = self._check_markup(params.get("reply_markup"))
        if message is None:
            return True
        self._apply_edit(message, "", None, markup)
        return message

    async def _delete_message(self, token: str, params: dict[str, Any]) -> bool:
        chat_id = self._check_chat(params)
        if self._messages.pop((chat_id, int(params.get("message_id") or 0)), None) is None:
            raise ApiError(400, "Bad Request: message to delete not found")
        return True

    async def _answer_callback_query(self, token: str, params: dict[str, Any]) -> bool:
        entry = self._callbacks.get(str(params.get("callback_query_id") or ""))
        if entry is None or entry["answered"]:
            raise ApiError(
                400,
                "Bad Request: query is too old and response timeout expired or query ID is invalid",
            )
        entry["answered"] = True
        return True

    @staticmethod
    def _commands_key(scope: Any, language_code: Any) -> tuple[str, str]:
        scope = scope if isinstance(scope, dict) else {"type": "default"}
        return json.dumps(scope, sort_keys=True), str(language_code or "")

    async def _set_my_commands(self, token: str, params: dict[str, Any]) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise ApiError(400, "Bad Request: commands list is invalid")
        for item in commands:
            if not _COMMAND.fullmatch(str(item.get("command", ""))):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(str(item.get("description", ""))) <= 256:
                raise ApiError(400, "Bad Request: command description is invalid")
        key = self._commands_key(params.get("scope"), params.get("language_code"))
        self._commands[key] = [dict(c) for c in commands]
        return True

    async def _delete_my_commands(self, token: str, params: dict[str, Any]) -> bool:
        self._commands.pop(
            self._commands_key(params.get("scope"), params.get("language_code")), None
        )
        return True

    async def _get_my_commands(self, token: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        key = self._commands_key(params.get("scope"), params.get("language_code"))
        return self._commands.get(key, [])

    async def _set_chat_menu_button(self, token: str, params: dict[str, Any]) -> bool:
        chat = params.get("chat_id")
        button = params.get("menu_button")
        self.menu_buttons[None if chat is None else int(chat)] = (
            button if isinstance(button, dict) else {"type": "default"}
        )
        return True
