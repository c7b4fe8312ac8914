"""The WeCom callback server (接收消息与事件): aiohttp on `[wecom] callback_host/port/path`.

- GET with msg_signature, timestamp, nonce and echostr: URL verification, answered with
  the decrypted echostr.
- POST: an XML envelope whose `Encrypt` holds the message. It is verified, decrypted,
  parsed (a DTD is refused: no entity expansion), turned into a small typed event and
  put on a queue; WeCom gets its empty 200 at once (it gives up after 5 s and retries
  three times), and one worker hands events to the handler in arrival order.
- WeCom's retries are recognised: a message by its MsgId, an event by (FromUserName,
  CreateTime, Event, EventKey, TaskId), remembered for `max_age` seconds; a callback
  whose signed timestamp is older than that is refused as a replay.
- With a `journal` (jiyao's: core.services.chat_inbox), each callback is kept durably
  before the 200 and marked handled after: what a stop or a crash left unhandled is
  handed over at the next start, and a retry is recognised across a restart.
- A handling that raises is not marked handled. A transient failure (`is_transient`:
  WeCom or the network briefly away, rate limits, the database busy) is tried again
  after the journal's backoff, without holding up the callbacks behind it, in this run
  or after a restart; anything else, or the last try, is marked failed by the journal
  (which keeps the reason and tells registry staff).
- Anything refused (bad signature, undecryptable, another corp or app, stale, malformed)
  is answered 4xx and reported to the handler as a `Refusal`, so the caller can audit it.

The handler is the core-facing glue: it decides who the sender is and what the event
means; this module only says what arrived.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol
from xml.etree import ElementTree as ET

from aiohttp import web

from bot.wecom.client import WeComError
from bot.wecom.crypto import CryptoError, DecryptError, MsgCrypt, SignatureError
from core.errors import StorageError

log = logging.getLogger("bot.wecom.callback")

#: WeCom's callbacks are small; anything larger is not one
MAX_BODY = 64 * 1024
DEFAULT_PATH = "/wecom/callback"
#: seconds a callback's timestamp may differ from our clock, and a key is remembered
MAX_AGE = 600.0
QUEUE_SIZE = 1000
#: seconds `stop()` waits for queued events to reach the handler
STOP_GRACE = 5.0


# ------------------------------------------------------------------ events
@dataclass(frozen=True)
class Received:
    """Something a member sent or did in the app; `fields` holds the whole message."""

    user: str
    created: int
    agent_id: str
    fields: Mapping[str, str] = field(repr=False)


@dataclass(frozen=True)
class TextReceived(Received):
    """A text message from `user`."""

    text: str = ""
    msg_id: str = ""


@dataclass(frozen=True)
class ButtonPressed(Received):
    """A template card button pressed (template_card_event): `key` is the button's key,
    `response_code` updates that member's card once."""

    key: str = ""
    task_id: str = ""
    response_code: str = ""
    card_type: str = ""
    #: the option chosen in the card's drop-down (button_selection), if it has one
    selected: str = ""


@dataclass(frozen=True)
class OtherReceived(Received):
    """Any other message (image, voice, file…) or event (enter_agent, subscribe…)."""

    msg_type: str = ""
    event: str = ""


@dataclass(frozen=True)
class Refusal:
    """A callback refused: `reason` is a short code, `detail` says it in Chinese."""

    reason: str
    detail: str
    remote: str | None
    forwarded_for: str | None = None


class CallbackHandler(Protocol):
    async def on_event(self, event: Received) -> None: ...

    async def on_refused(self, refusal: Refusal) -> None: ...


class _Refused(Exception):  # noqa: N818 - internal signal, becomes a Refusal
    def __init__(self, status: int, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.reason = reason
        self.detail = detail


# ------------------------------------------------------------------ XML
class _NoDoctype(ET.TreeBuilder):
    def doctype(self, name: str, pubid: str | None, system: str | None) -> None:
        raise _Refused(400, "xml", "XML 含 DTD 声明，拒绝解析")


def parse_xml(data: bytes | str) -> dict[str, str]:
    """The children of a WeCom XML message as {tag: text}; nested ones as "Outer/Inner".
    A DTD is refused before any entity is declared."""
    parser = ET.XMLParser(target=_NoDoctype())  # noqa: S314 - a DTD is refused
    try:
        parser.feed(data)
        root = parser.close()
    except ET.ParseError as exc:
        raise _Refused(400, "xml", "不是有效的 XML") from exc
    out: dict[str, str] = {}

    def walk(element: ET.Element, prefix: str) -> None:
        for child in element:
            key = prefix + child.tag
            if len(child):
                walk(child, key + "/")
            else:
                out.setdefault(key, (child.text or "").strip())

    walk(root, "")
    return out


def event_of(fields: Mapping[str, str]) -> Received:
    """The typed event of one decrypted message."""
    try:
        created = int(fields.get("CreateTime", "0"))
    except ValueError as exc:
        raise _Refused(400, "xml", "CreateTime 不是整数") from exc
    user = fields.get("FromUserName", "")
    if not user:
        raise _Refused(400, "xml", "消息缺少 FromUserName")
    agent = fields.get("AgentID", "")
    whole = dict(fields)
    msg_type = fields.get("MsgType", "")
    event = fields.get("Event", "")
    if msg_type == "text":
        return TextReceived(user, created, agent, whole, text=fields.get("Content", ""),
                            msg_id=fields.get("MsgId", ""))
    if msg_type == "event" and event == "template_card_event":
        return ButtonPressed(user, created, agent, whole, key=fields.get("EventKey", ""),
                             task_id=fields.get("TaskId", ""),
                             response_code=fields.get("ResponseCode", ""),
                             card_type=fields.get("CardType", ""),
                             selected=fields.get(SELECTED_OPTION, ""))
    return OtherReceived(user, created, agent, whole, msg_type=msg_type, event=event)


#: where a template_card_event names the drop-down option chosen
SELECTED_OPTION = "SelectedItems/SelectedItem/OptionIds/OptionId"


def dedupe_key(fields: Mapping[str, str]) -> tuple[str, ...]:
    """What a retry of the same callback has in common with the first (WeCom's advice:
    MsgId for messages, FromUserName + CreateTime for events)."""
    if fields.get("MsgId"):
        return ("msg", fields["MsgId"])
    return ("event", *(fields.get(k, "") for k in
                       ("FromUserName", "CreateTime", "Event", "EventKey", "TaskId",
                        SELECTED_OPTION)))


class Left(Protocol):
    """A callback kept and not handled: its journal key, its fields, and the seconds until
    its next try is due (0: now)."""

    @property
    def key(self) -> str: ...

    @property
    def fields(self) -> Mapping[str, str]: ...

    @property
    def due_in(self) -> float: ...


class Journal(Protocol):
    """Where callbacks are kept between their answer and their handling."""

    async def keep(self, key: str, fields: Mapping[str, str]) -> bool:
        """Keep a callback durably; False when one with `key` was kept before."""

    async def done(self, key: str) -> None:
        """The callback was handled."""

    async def retry(self, key: str, error: str) -> float | None:
        """A try failed transiently: seconds until the next one, or None when the tries ran
        out (the journal then marks it failed and tells staff)."""

    async def failed(self, key: str, error: str) -> None:
        """A try failed for good: marked failed with `error`, staff told."""

    async def waiting(self) -> Sequence[Left]:
        """Callbacks kept, neither handled nor failed, oldest first."""


def is_transient(exc: BaseException) -> bool:
    """A failure that trying again later may cure: WeCom busy, rate-limited, its token or
    the network away (`WeComError.retryable`), the database busy or its write refused,
    a connection or a timeout. Anything else (a bug, bad input) is permanent."""
    if isinstance(exc, WeComError):
        return exc.retryable
    if isinstance(exc, StorageError):
        return True
    if isinstance(exc, sqlite3.OperationalError):
        text = str(exc).lower()
        return "locked" in text or "busy" in text
    return isinstance(exc, TimeoutError | ConnectionError)


def reason_of(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:500]


def journal_key(key: tuple[str, ...]) -> str:
    return "\x1f".join(key)


# ------------------------------------------------------------------ the server
class CallbackServer:
    """Receives WeCom's callbacks for one app and hands them to `handler`."""

    def __init__(
        self,
        crypt: MsgCrypt,
        handler: CallbackHandler,
        *,
        host: str = "127.0.0.1",
        port: int = 8090,
        path: str = DEFAULT_PATH,
        agent_id: int | str | None = None,
        max_age: float = MAX_AGE,
        queue_size: int = QUEUE_SIZE,
        clock: Callable[[], float] = time.time,
        journal: Journal | None = None,
        transient: Callable[[BaseException], bool] = is_transient,
    ) -> None:
        self.crypt = crypt
        self.handler = handler
        self.host = host
        self.port = port
        self.path = path if path.startswith("/") else "/" + path
        self.agent_id = None if agent_id is None else str(agent_id)
        self.max_age = max_age
        self._clock = clock
        if queue_size < 2:
            raise ValueError("queue_size must be at least 2")
        self.journal = journal
        self._transient = transient
        #: retries waiting for their time (asyncio timer handles), cancelled at a stop
        self._later: set[asyncio.TimerHandle] = set()
        #: tries that failed transiently and were scheduled again; callbacks given up
        self.retried = 0
        self.failed = 0
        self._left: list[tuple[str, Received]] = []
        self._left_done = asyncio.Event()
        #: 1 while an event is being handled (counted in what a stop leaves)
        self._busy = 0
        #: an event with its journal key ("" without a journal), or a refusal
        self._queue: asyncio.Queue[tuple[str, Received] | Refusal] = asyncio.Queue(queue_size)
        self._seen: OrderedDict[tuple[str, ...], float] = OrderedDict()
        self._runner: web.AppRunner | None = None
        self._worker: asyncio.Task[None] | None = None
        #: counts of what arrived: events, retries recognised, refusals
        self.received = 0
        self.duplicates = 0
        self.refused = 0
        #: refusals not handed to the handler because the queue was half full
        self.unreported = 0
        self.app = web.Application(client_max_size=MAX_BODY)
        self.app.router.add_get(self.path, self._get)
        self.app.router.add_post(self.path, self._post)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}{self.path}"

    async def start(self) -> None:
        """Listen (port 0 picks a free one, then `port` holds it) and start the worker."""
        # read before listening: a callback kept from now on comes through the queue
        left = [] if self.journal is None else list(await self.journal.waiting())
        if left:
            log.warning("企业微信回调：上次停止前有 %d 条已收到未处理，现在处理", len(left))
        self._left = []
        for kept in left:
            try:
                event = event_of(kept.fields)
            except _Refused as exc:  # kept by a run that parsed it: cannot be
                await self._give_up(kept.key, f"{exc.reason}: {exc.detail}")
                continue
            if kept.due_in > 0:
                self._schedule(kept.due_in, kept.key, event)
            else:
                self._left.append((kept.key, event))
        self._left_done = asyncio.Event()
        self._runner = web.AppRunner(self.app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        self._worker = asyncio.create_task(self._work(), name="wecom-callbacks")
        log.info("企业微信回调服务已启动：%s", self.url)

    async def stop(self, grace: float = STOP_GRACE) -> None:
        """Stop listening, give queued events `grace` seconds to be handled, then stop."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        later, self._later = self._later, set()
        for handle in later:  # kept in the journal: the next start tries them
            handle.cancel()
        if self._worker is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._drained(), grace)
            waiting = self._queue.qsize() + len(self._left) + self._busy + len(later)
            if waiting and self.journal is not None:
                log.warning("企业微信回调：停止时仍有 %d 条未处理，下次启动时处理", waiting)
            elif waiting:
                log.error("企业微信回调：停止时仍有 %d 条未处理", waiting)
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
            self._worker = None

    async def __aenter__(self) -> CallbackServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ------------------------------------------------------------ worker
    async def _drained(self) -> None:
        """Until what the last run left and everything queued since is handled."""
        await self._left_done.wait()
        await self._queue.join()

    async def _work(self) -> None:
        while self._left:  # what the last run kept and did not handle, first
            left = self._left.pop(0)
            self._busy = 1
            await self._handle(left)
            self._busy = 0
        self._left_done.set()
        while True:
            item = await self._queue.get()
            self._busy = 1
            try:
                await self._handle(item)
            finally:
                self._busy = 0
                self._queue.task_done()

    async def _handle(self, item: tuple[str, Received] | Refusal) -> None:
        if isinstance(item, Refusal):
            try:
                await self.handler.on_refused(item)
            except Exception:
                log.exception("企业微信回调处理出错（Refusal）")
            return
        key, event = item
        try:
            await self.handler.on_event(event)
        except Exception as exc:
            # (a stop that cancels the handling leaves it to the next start)
            await self._failed(key, event, exc)
            return
        if self.journal is not None:
            try:
                await self.journal.done(key)
            except Exception:
                log.exception("企业微信回调：无法记为已处理，下次启动时将再处理")

    async def _failed(self, key: str, event: Received, exc: Exception) -> None:
        """A handling raised: try again later when that may help, else give it up."""
        what = type(event).__name__
        reason = reason_of(exc)
        if self.journal is None:
            log.error("企业微信回调处理出错（%s），无回调记录，不再重试", what, exc_info=exc)
            self.failed += 1
            return
        if not self._transient(exc):
            log.error("企业微信回调处理出错（%s），不再重试", what, exc_info=exc)
            await self._give_up(key, reason)
            return
        try:
            delay = await self.journal.retry(key, reason)
        except Exception:
            # still waiting in the journal: the next start tries it again
            log.exception("企业微信回调处理出错（%s）且无法记录重试，下次启动时再处理：%s",
                          what, reason)
            return
        if delay is None:
            self.failed += 1
            log.error("企业微信回调处理出错（%s），重试次数已用完，已记为失败并通知机要室：%s",
                      what, reason)
            return
        self.retried += 1
        log.warning("企业微信回调处理出错（%s），%.1f 秒后重试：%s", what, delay, reason)
        self._schedule(delay, key, event)

    async def _give_up(self, key: str, reason: str) -> None:
        self.failed += 1
        if self.journal is None:
            return
        try:
            await self.journal.failed(key, reason)
        except Exception:
            log.exception("企业微信回调：无法记为失败，下次启动时将再处理")

    def _schedule(self, delay: float, key: str, event: Received) -> None:
        """Queue `event` again after `delay` seconds (while the server runs)."""
        loop = asyncio.get_running_loop()
        handle: asyncio.TimerHandle | None = None

        def due() -> None:
            assert handle is not None
            self._later.discard(handle)
            try:
                self._queue.put_nowait((key, event))
            except asyncio.QueueFull:  # a burst: a little later
                self._schedule(1.0, key, event)

        handle = loop.call_later(delay, due)
        self._later.add(handle)

    # ------------------------------------------------------------ requests
    def _refuse(self, request: web.Request, refused: _Refused) -> web.Response:
        self.refused += 1
        refusal = Refusal(refused.reason, refused.detail, request.remote,
                          (request.headers.get("X-Forwarded-For") or "")[:200] or None)
        log.warning("企业微信回调被拒绝（%s）：%s，来自 %s", refused.reason, refused.detail,
                    refusal.remote)
        # refusals may fill only half the queue: a flood of forged requests must not
        # crowd out WeCom's genuine callbacks
        if self._queue.qsize() < self._queue.maxsize // 2:
            self._queue.put_nowait(refusal)
        else:
            self.unreported += 1
            log.error("企业微信回调：拒绝过多，本条未交给处理方（共 %d 条）", self.unreported)
        return web.Response(status=refused.status, text=refused.reason)

    def _signed(self, request: web.Request) -> tuple[str, str, str]:
        q = request.query
        values = (q.get("msg_signature", ""), q.get("timestamp", ""), q.get("nonce", ""))
        if not all(values):
            raise _Refused(400, "missing", "缺少 msg_signature、timestamp 或 nonce")
        return values

    def _fresh(self, timestamp: str) -> None:
        try:
            at = int(timestamp)
        except ValueError as exc:
            raise _Refused(400, "missing", "timestamp 不是整数") from exc
        if abs(self._clock() - at) > self.max_age:
            raise _Refused(403, "stale", "回调时间戳过旧或超前（疑为重放）")

    def _open(self, signature: str, timestamp: str, nonce: str, ciphertext: str) -> bytes:
        try:
            return self.crypt.open(signature, timestamp, nonce, ciphertext)
        except SignatureError as exc:
            raise _Refused(403, "signature", str(exc)) from exc
        except DecryptError as exc:
            raise _Refused(400, "decrypt", str(exc)) from exc
        except CryptoError as exc:
            raise _Refused(403, "receiver", str(exc)) from exc

    def _verified(self, request: web.Request) -> str:
        signature, timestamp, nonce = self._signed(request)
        # the query's "+" reads as a space; echostr is Base64, which has none
        echostr = request.query.get("echostr", "").replace(" ", "+")
        if not echostr:
            raise _Refused(400, "missing", "缺少 echostr")
        plain = self._open(signature, timestamp, nonce, echostr)
        self._fresh(timestamp)
        return plain.decode("utf-8", "replace")

    async def _get(self, request: web.Request) -> web.Response:
        try:
            plain = self._verified(request)
        except _Refused as refused:
            return self._refuse(request, refused)
        log.info("企业微信回调地址验证通过")
        return web.Response(text=plain)

    async def _message(self, request: web.Request) -> tuple[dict[str, str], Received]:
        signature, timestamp, nonce = self._signed(request)
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge as exc:
            raise _Refused(413, "xml", "回调内容过大") from exc
        ciphertext = parse_xml(body).get("Encrypt", "")
        if not ciphertext:
            raise _Refused(400, "xml", "回调缺少 Encrypt")
        plain = self._open(signature, timestamp, nonce, ciphertext)
        self._fresh(timestamp)
        fields = parse_xml(plain)
        if self.agent_id and fields.get("AgentID", self.agent_id) != self.agent_id:
            raise _Refused(403, "agent", "消息属于另一个应用（AgentID 不符）")
        return fields, event_of(fields)

    def _remembered(self, key: tuple[str, ...], now: float) -> bool:
        while self._seen and next(iter(self._seen.values())) <= now - self.max_age:
            self._seen.popitem(last=False)
        return key in self._seen

    async def _post(self, request: web.Request) -> web.Response:
        try:
            fields, event = await self._message(request)
        except _Refused as refused:
            return self._refuse(request, refused)
        key = dedupe_key(fields)
        now = self._clock()
        if self._remembered(key, now):
            return self._duplicate(key)
        if self._queue.full():
            # not remembered: WeCom's retry gets another chance once the queue drains
            log.error("企业微信回调：队列已满，请企业微信稍后重试")
            return web.Response(status=503, text="busy")
        kept = journal_key(key) if self.journal is not None else ""
        if self.journal is not None:
            try:
                new = await self.journal.keep(kept, fields)
            except Exception:
                log.exception("企业微信回调无法保存，请企业微信稍后重试")
                return web.Response(status=503, text="busy")
            if not new:  # handled before a restart
                self._seen[key] = now
                return self._duplicate(key)
        self._seen[key] = now
        await self._queue.put((kept, event))
        self.received += 1
        return web.Response(text="")

    def _duplicate(self, key: tuple[str, ...]) -> web.Response:
        self.duplicates += 1
        log.info("企业微信回调重试已忽略：%s", key[0])
        return web.Response(text="")
