"""A fake WeCom server API on loopback, for tests of the WeCom client and callback server.

    async with FakeWeCom(users={"zhangsan"}) as fake:
        async with WeComClient(corp_id=fake.corp_id, agent_id=fake.agent_id,
                               secret=fake.secret, base_url=fake.base_url) as client:
            await client.send_text("zhangsan", "请阅")
        assert fake.shown("zhangsan") == [...]

Like WeCom it issues access tokens (the lifetime it reports and the one it enforces can
differ, to test a token revoked early), answers 42001/40014 for an expired or unknown
token, 40001 for a wrong secret, 81013 for an unknown member, 45002 for content over
2,048 bytes and 45009 when told to; it honours `enable_duplicate_check`, and beyond the
per-member limit it still answers ok but drops the message (recorded in `dropped`).
Uploads return media ids a file message must name. `deliver` encrypts and signs a
callback and POSTs it to jiyao's callback server, retrying (three times, like WeCom) when
the answer is slow, lost or not 200.
"""

from __future__ import annotations

import itertools
import json
import secrets
import time
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any
from xml.sax.saxutils import escape

import aiohttp
from aiohttp import web

from bot.wecom.crypto import MsgCrypt

CONTENT_LIMIT = 2048
#: per member: 30 a minute, 1,000 an hour (tests pass shorter windows)
MEMBER_LIMITS: tuple[tuple[int, float], ...] = ((30, 60.0), (1000, 3600.0))
#: WeCom waits this long for an answer, then retries up to three times
CALLBACK_TIMEOUT = 5.0
CALLBACK_RETRIES = 3


@dataclass
class Message:
    """One message/send WeCom accepted."""

    user: str
    msgtype: str
    body: dict[str, Any]
    at: float
    msgid: str
    #: what the member sees: False when dropped (pacing) or a recognised duplicate
    shown: bool = True
    why_hidden: str = ""

    @property
    def content(self) -> str:
        part = self.body.get(self.msgtype, {})
        return str(part.get("content", "")) if isinstance(part, dict) else ""


@dataclass
class Attempt:
    """One POST of a callback: its HTTP status (None: timed out or answer lost)."""

    status: int | None
    seconds: float


@dataclass
class _Token:
    value: str
    until: float


@dataclass
class Callback:
    """A callback delivered to jiyao: every attempt WeCom made."""

    attempts: list[Attempt] = field(default_factory=list)

    @property
    def accepted(self) -> bool:
        return any(a.status == 200 for a in self.attempts)


class FakeWeCom:
    def __init__(
        self,
        *,
        users: Iterable[str] = (),
        corp_id: str = "ww0123456789abcdef",
        agent_id: int = 1000002,
        secret: str = "app-secret-0123456789",
        token: str = "callbacktoken",
        encoding_aes_key: str = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C",
        expires_in: int = 7200,
        token_lifetime: float | None = None,
        member_limits: Sequence[tuple[int, float]] = MEMBER_LIMITS,
        callback_timeout: float = CALLBACK_TIMEOUT,
    ) -> None:
        self.users = set(users)
        self.corp_id = corp_id
        self.agent_id = agent_id
        self.secret = secret
        self.crypt = MsgCrypt(token, encoding_aes_key, corp_id)
        self.token = token
        self.encoding_aes_key = encoding_aes_key
        #: what gettoken reports, and how long a token really lasts (default: that)
        self.expires_in = expires_in
        self.token_lifetime = float(expires_in) if token_lifetime is None else token_lifetime
        self.member_limits = tuple(member_limits)
        self.callback_timeout = callback_timeout
        self.messages: list[Message] = []
        self.media: dict[str, tuple[str, bytes]] = {}
        self.cards: dict[str, Message] = {}
        #: response codes used by update_template_card, with the replacement shown
        self.updated: dict[str, tuple[list[str], str]] = {}
        #: (api, errcode) of every call refused
        self.refusals: list[tuple[str, int]] = []
        self.tokens_issued = 0
        #: errcodes the next message/send calls answer with (45009, -1 …)
        self.fail_next: deque[int] = deque()
        #: errcodes the next message/send calls to one member answer with
        self.fail_next_to: dict[str, deque[int]] = {}
        self._tokens: dict[str, _Token] = {}
        self._windows: dict[str, deque[float]] = {}
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self.port = 0
        app = web.Application(client_max_size=32 * 1024 * 1024)
        app.router.add_get("/cgi-bin/gettoken", self._gettoken)
        app.router.add_post("/cgi-bin/message/send", self._send)
        app.router.add_post("/cgi-bin/media/upload", self._upload)
        app.router.add_post("/cgi-bin/message/update_template_card", self._update_card)
        self.app = app

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def __aenter__(self) -> FakeWeCom:
        self._runner = web.AppRunner(self.app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        self._session = aiohttp.ClientSession()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    # ------------------------------------------------------------ what was sent
    def shown(self, user: str) -> list[Message]:
        return [m for m in self.messages if m.user == user and m.shown]

    def dropped(self, user: str | None = None) -> list[Message]:
        return [m for m in self.messages
                if m.why_hidden == "rate" and (user is None or m.user == user)]

    def revoke_tokens(self) -> None:
        """Every issued token becomes invalid at once (as after a secret reset)."""
        self._tokens.clear()

    # ------------------------------------------------------------ API
    @staticmethod
    def _error(errcode: int, errmsg: str) -> web.Response:
        return web.json_response({"errcode": errcode, "errmsg": errmsg})

    def _refuse(self, api: str, errcode: int, errmsg: str) -> web.Response:
        self.refusals.append((api, errcode))
        return self._error(errcode, errmsg)

    async def _gettoken(self, request: web.Request) -> web.Response:
        q = request.query
        if q.get("corpid") != self.corp_id:
            return self._refuse("gettoken", 40013, "invalid corpid")
        if q.get("corpsecret") != self.secret:
            return self._refuse("gettoken", 40001, "invalid credential")
        value = secrets.token_urlsafe(24)
        self._tokens[value] = _Token(value, time.monotonic() + self.token_lifetime)
        self.tokens_issued += 1
        return web.json_response({"errcode": 0, "errmsg": "ok", "access_token": value,
                                  "expires_in": self.expires_in})

    def _token_problem(self, api: str, request: web.Request) -> web.Response | None:
        token = self._tokens.get(request.query.get("access_token", ""))
        if token is None:
            return self._refuse(api, 40014, "invalid access_token")
        if time.monotonic() >= token.until:
            return self._refuse(api, 42001, "access_token expired")
        return None

    def _over_limit(self, user: str, now: float) -> bool:
        window = self._windows.setdefault(user, deque())
        longest = max(seconds for _, seconds in self.member_limits)
        while window and window[0] <= now - longest:
            window.popleft()
        for count, seconds in self.member_limits:
            if sum(1 for t in window if t > now - seconds) >= count:
                return True
        window.append(now)
        return False

    def _duplicate(self, body: dict[str, Any], now: float) -> bool:
        if not body.get("enable_duplicate_check"):
            return False
        interval = float(body.get("duplicate_check_interval", 1800))
        return any(m.shown and m.body == body and now - m.at < interval
                   for m in self.messages)

    async def _send(self, request: web.Request) -> web.Response:
        problem = self._token_problem("message/send", request)
        if problem is not None:
            return problem
        body = json.loads(await request.read())
        if self.fail_next:
            code = self.fail_next.popleft()
            return self._refuse("message/send", code, "api freq out of limit"
                                if code == 45009 else "system busy")
        if body.get("agentid") != self.agent_id:
            return self._refuse("message/send", 40056, "invalid agentid")
        user = str(body.get("touser", ""))
        if self.fail_next_to.get(user):
            return self._refuse("message/send", self.fail_next_to[user].popleft(),
                                "system busy")
        if user not in self.users:
            return self._refuse("message/send", 81013, "user & party & tag all invalid")
        msgtype = str(body.get("msgtype", ""))
        part = body.get(msgtype)
        if not isinstance(part, dict):
            return self._refuse("message/send", 40008, "invalid message type")
        if msgtype in ("text", "markdown"):
            content = str(part.get("content", ""))
            if not content:
                return self._refuse("message/send", 44004, "empty content")
            if len(content.encode("utf-8")) > CONTENT_LIMIT:
                return self._refuse("message/send", 45002, "content size out of limit")
        if msgtype == "template_card" and not _valid_card(part):
            return self._refuse("message/send", 40058, "template_card invalid")
        if msgtype == "file" and part.get("media_id") not in self.media:
            return self._refuse("message/send", 40007, "invalid media_id")
        now = time.monotonic()
        message = Message(user, msgtype, body, now, f"msg{next(self._ids)}")
        if self._duplicate(body, now):
            message.shown, message.why_hidden = False, "duplicate"
        elif self._over_limit(user, now):
            # WeCom's silent per-member limit: ok to the caller, nothing to the member
            message.shown, message.why_hidden = False, "rate"
        self.messages.append(message)
        answer: dict[str, Any] = {"errcode": 0, "errmsg": "ok", "msgid": message.msgid}
        if msgtype == "template_card":
            response_code = f"rc{next(self._ids)}"
            self.cards[response_code] = message
            answer["response_code"] = response_code
        return web.json_response(answer)

    async def _upload(self, request: web.Request) -> web.Response:
        problem = self._token_problem("media/upload", request)
        if problem is not None:
            return problem
        form = await request.post()
        media = form.get("media")
        if not isinstance(media, web.FileField):
            return self._refuse("media/upload", 41001, "media data missing")
        data = media.file.read()
        if request.query.get("type") == "file" and len(data) < 5:
            return self._refuse("media/upload", 40006, "invalid media size")
        media_id = f"media{next(self._ids)}"
        self.media[media_id] = (media.filename, data)
        return web.json_response({"errcode": 0, "errmsg": "ok", "type": "file",
                                  "media_id": media_id, "created_at": str(int(time.time()))})

    async def _update_card(self, request: web.Request) -> web.Response:
        problem = self._token_problem("message/update_template_card", request)
        if problem is not None:
            return problem
        body = json.loads(await request.read())
        code = str(body.get("response_code", ""))
        if code not in self.cards or code in self.updated:
            return self._refuse("message/update_template_card", 40127, "invalid response_code")
        self.updated[code] = (list(body.get("userids", [])),
                              str(body.get("button", {}).get("replace_name", "")))
        return web.json_response({"errcode": 0, "errmsg": "ok", "invaliduser": []})

    # ------------------------------------------------------------ callbacks to jiyao
    def text_xml(self, user: str, content: str, msg_id: str, created: int | None = None) -> str:
        return self._xml(user, created, MsgType="text", Content=content, MsgId=msg_id)

    def card_event_xml(self, user: str, key: str, task_id: str, response_code: str,
                       created: int | None = None, selected: str | None = None) -> str:
        """A card button pressed; `selected`: the option chosen in its drop-down, sent as
        WeCom does (SelectedItems/SelectedItem with QuestionKey and OptionIds)."""
        xml = self._xml(user, created, MsgType="event", Event="template_card_event",
                        EventKey=key, TaskId=task_id, CardType="button_interaction",
                        ResponseCode=response_code)
        if selected is None:
            return xml
        chosen = ("<SelectedItems><SelectedItem><QuestionKey><![CDATA[item]]></QuestionKey>"
                  f"<OptionIds><OptionId><![CDATA[{selected}]]></OptionId></OptionIds>"
                  "</SelectedItem></SelectedItems>")
        return xml.replace("</xml>", chosen + "</xml>")

    def _xml(self, user: str, created: int | None, **fields: str) -> str:
        parts = {"ToUserName": self.corp_id, "FromUserName": user,
                 "CreateTime": str(int(time.time()) if created is None else created),
                 **fields, "AgentID": str(self.agent_id)}
        inner = "".join(f"<{k}><![CDATA[{v}]]></{k}>" for k, v in parts.items())
        return f"<xml>{inner}</xml>"

    def signed_query(self, ciphertext: str, *, forge: bool = False) -> dict[str, str]:
        timestamp, nonce = str(int(time.time())), secrets.token_hex(5)
        signature = self.crypt.sign(timestamp, nonce, ciphertext)
        if forge:
            signature = ("0" if signature[0] != "0" else "1") + signature[1:]
        return {"msg_signature": signature, "timestamp": timestamp, "nonce": nonce}

    def envelope(self, plain_xml: str) -> tuple[str, str]:
        """(ciphertext, the POST body WeCom sends) of one plaintext message."""
        ciphertext = self.crypt.encrypt(plain_xml.encode("utf-8"))
        body = (f"<xml><ToUserName><![CDATA[{escape(self.corp_id)}]]></ToUserName>"
                f"<Encrypt><![CDATA[{ciphertext}]]></Encrypt>"
                f"<AgentID><![CDATA[{self.agent_id}]]></AgentID></xml>")
        return ciphertext, body

    async def deliver(self, url: str, plain_xml: str, *, lose_answers: int = 0,
                      forge: bool = False) -> Callback:
        """POST one encrypted callback; like WeCom, try again (up to three times) while
        the answer is slower than `callback_timeout`, not 200, or (`lose_answers` times,
        as if the network lost it) never arrives."""
        assert self._session is not None
        ciphertext, body = self.envelope(plain_xml)
        query = self.signed_query(ciphertext, forge=forge)
        callback = Callback()
        for _ in range(1 + CALLBACK_RETRIES):
            started = time.monotonic()
            status: int | None
            try:
                async with self._session.post(
                    url, params=query, data=body.encode("utf-8"),
                    timeout=aiohttp.ClientTimeout(total=self.callback_timeout),
                ) as response:
                    await response.read()
                    status = response.status
            except (TimeoutError, aiohttp.ClientError):
                status = None
            if status == 200 and lose_answers > 0:
                lose_answers -= 1
                status = None
            callback.attempts.append(Attempt(status, time.monotonic() - started))
            if status == 200 or (status is not None and 400 <= status < 500):
                break
        return callback

    async def verify(self, url: str, *, forge: bool = False) -> tuple[int, str, str]:
        """The URL check of 设置API接收: (status, answer, the echostr plaintext sent)."""
        assert self._session is not None
        plain = str(secrets.randbelow(10**19))
        echostr = self.crypt.encrypt(plain.encode("ascii"))
        query = {**self.signed_query(echostr, forge=forge), "echostr": echostr}
        async with self._session.get(url, params=query) as response:
            return response.status, await response.text(), plain


def _valid_card(card: dict[str, Any]) -> bool:
    """A button_interaction card as WeCom takes it: 1–6 buttons with distinct keys, and a
    drop-down (button_selection) of 1–10 distinct options whose selected_id is one of them."""
    buttons = card.get("button_list") or []
    keys = [b.get("key") for b in buttons]
    if not 1 <= len(buttons) <= 6 or len(set(keys)) != len(keys):
        return False
    selection = card.get("button_selection")
    if selection is None:
        return True
    ids = [o.get("id") for o in selection.get("option_list") or []]
    return (bool(selection.get("question_key")) and 1 <= len(ids) <= 10
            and len(set(ids)) == len(ids) and selection.get("selected_id") in ids)
