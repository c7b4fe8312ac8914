"""What WeCom members do in the app, turned into the same core services Telegram calls.

- A card button (template_card_event) carries the callback key (``r:17``…): 已阅, 传下一位,
  同意拟办, a review item's kind, or 批示, which asks for the 批示 as the member's next text
  (WeCom messages carry no reply-to). The card is then marked done with the press's
  response code (update_template_card).
- A text is a 批示 when it names its item (收件序号 12 … / 办2026-0001 …) or follows a 批示
  press; anything else gets a short hint.
- Members the directory does not know are refused and audited; so are callbacks that fail
  their checks (forged signature, replay, another app).
- A transient failure (callback.is_transient: WeCom busy or away while answering, the
  database busy) is raised, so that the callback server tries the whole callback again
  later; a second try repeats nothing that was recorded (a 批示 is known by its source
  message: the text's MsgId, or the button press's key for 同意拟办).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from datetime import timedelta

from bot.wecom import render
from bot.wecom.callback import ButtonPressed, Received, Refusal, TextReceived, is_transient
from bot.wecom.client import WeComError
from bot.wecom.port import WeComPort
from core.chat import answers
from core.chat.address import WECOM
from core.chat.address import wecom as wecom_address
from core.chat.message import (
    ACCEPT,
    INSTRUCT,
    KIND,
    PASS_ON,
    READ,
    Callback,
    parse_callback,
)
from core.chat.refs import named_item
from core.errors import ConflictError, JiyaoError, NotFoundError, PermissionDeniedError
from core.permissions import Can, Principal, principal_at
from core.services import access, circulation, delivery, instructions, push, registry
from core.services.context import Context

log = logging.getLogger("bot.wecom.handler")

REFUSAL = "您无权使用本应用。如需开通，请联系机要室。"
HINT = ("如需批示，请在推送卡片上点“批示”后发送批示内容，"
        "或发送“收件序号 12 批示内容”（也可写登记号，如“办2026-0001 批示内容”）。")
STALE = "此按钮已失效。"
#: how long after pressing 批示 the next text is taken as that 批示
PROMPT_WINDOW = timedelta(hours=2)


class WeComHandler:
    """The callback server's handler: who sent it, what it means, which service to call."""

    def __init__(self, ctx: Context, port: WeComPort, wake: Callable[[], None]) -> None:
        self.ctx = ctx
        self.port = port
        self.wake = wake

    async def _say(self, user: str, text: str, *, again: bool = True) -> None:
        """Answer `user`; a transient failure is raised (the callback is tried again) unless
        not `again`, a refusal retrying cannot cure is only logged."""
        try:
            await self.port.say(user, text)
        except WeComError as exc:
            if again and exc.retryable:
                raise
            log.warning("企业微信答复未能发送：%s", exc)

    async def _done(self, event: ButtonPressed, label: str) -> None:
        if not event.response_code or event.selected:
            return  # a drop-down card lists other items, whose buttons must stay
        try:
            await self.port.mark_done(event.user, event.response_code, label)
        except WeComError as exc:
            log.warning("企业微信卡片未能更新：%s", exc)

    # ------------------------------------------------------------ callbacks
    async def on_refused(self, refusal: Refusal) -> None:
        await access.callback_refused(self.ctx, channel=WECOM, reason=refusal.reason,
                                      detail=refusal.detail, remote=refusal.remote)

    async def on_event(self, event: Received) -> None:
        if not isinstance(event, ButtonPressed | TextReceived):
            return  # entering the app, pictures, voice…: nothing to do
        principal = principal_at(self.ctx.settings, wecom_address(event.user))
        if principal is None:
            what = f"button {event.key}" if isinstance(event, ButtonPressed) else "message"
            await access.refuse_address(self.ctx, channel=WECOM, address=event.user, what=what)
            log.warning("拒绝未授权的企业微信成员 %s", event.user[:64])
            await self._say(event.user, REFUSAL, again=False)  # audited: once
            return
        try:
            if isinstance(event, ButtonPressed):
                await self._button(event, principal)
            else:
                await self._text(event, principal)
        except PermissionDeniedError as exc:
            await self._say(event.user, f"{exc}。")
        except NotFoundError:
            await self._say(event.user, "此件已不存在。")
        except ConflictError as exc:
            await self._say(event.user, str(exc))
        except JiyaoError as exc:
            if is_transient(exc):  # the database busy, WeCom away: tried again later
                raise
            await self._say(event.user, f"未能完成：{exc}"[:500])

    # ------------------------------------------------------------ buttons
    async def _button(self, event: ButtonPressed, principal: Principal) -> None:
        cb = parse_callback(event.key)
        if cb is not None and cb.item_id == render.SELECTED:
            # a drop-down card's button: the item is the option chosen
            chosen = event.selected
            cb = (Callback(cb.action, int(chosen), cb.kind)
                  if chosen.isdecimal() and len(chosen) <= 12 else None)
        if cb is None:
            await self._say(event.user, STALE)
            return
        ctx = self.ctx
        if cb.action == READ and principal.can(Can.READ):
            result = await circulation.mark_read(ctx, item_id=cb.item_id,
                                                 chat_id=principal.chat_id)
            await self._done(event, "已阅")
            if not result.already:
                self.wake()
            if principal.is_leader:
                await self._say(event.user, answers.read_answer(result)
                                + f"\n如需批示，请发送“收件序号 {cb.item_id} 批示内容”。")
        elif cb.action == PASS_ON and principal.is_leader:
            result = await circulation.pass_on(ctx, item_id=cb.item_id,
                                               chat_id=principal.chat_id)
            await self._done(event, "已传下一位")
            self.wake()
            await self._say(event.user, answers.passed_answer(result))
        elif cb.action == INSTRUCT:
            await instructions.require_instructor(ctx, cb.item_id, principal.chat_id)
            view = await push.push_view(ctx, cb.item_id)
            if view is None:
                raise NotFoundError("收件", str(cb.item_id))
            await self._done(event, "待批示")
            ref = await self.port.say(
                event.user, answers.prompt_text(view.number or "此件", cb.item_id,
                                                by_reply=False))
            await delivery.record_prompt(ctx, item_id=cb.item_id, message_ref=ref,
                                         to=wecom_address(event.user))
        elif cb.action == ACCEPT and principal.can(Can.INSTRUCT):
            done = await instructions.accept_proposal(ctx, item_id=cb.item_id,
                                                      chat_id=principal.chat_id,
                                                      source_message=press_source(event))
            await self._done(event, "已同意拟办")
            self.wake()
            await self._say(event.user, answers.accepted_answer(done))
        elif cb.action == KIND and cb.kind is not None and principal.can(Can.REVIEW):
            try:
                registered = await registry.classify_review(
                    ctx, item_id=cb.item_id, kind=cb.kind, actor=principal.actor)
            except ConflictError:
                await self._done(event, "已分类")
                await self._say(event.user, "此件已分类。")
                return
            await self._done(event, f"已登记为{registered.kind}")
            self.wake()
            number = registered.number or "（不编号）"
            await self._say(event.user, f"收件序号 {registered.id} 已分类为{registered.kind}，"
                                        f"登记号 {number}，已按分工推送。")
        else:
            await self._say(event.user, STALE)

    # ------------------------------------------------------------ texts
    async def _text(self, event: TextReceived, principal: Principal) -> None:
        text = event.text.strip()
        if not principal.is_leader or not text:
            await self._say(event.user, HINT if principal.is_leader else
                            "本应用接收推送与按钮操作；命令请在收文系统中使用。")
            return
        # WeCom's MsgId is a 64-bit number: it keeps a retried callback from recording twice
        source = int(event.msg_id) if event.msg_id.isdecimal() else None
        if source is not None and source >= 2**63:
            source = None
        if source is not None:
            # tried again after its 批示 was recorded (its answer failed): the prompt it
            # answered is closed by now, so the 批示 is found by its message
            again = await instructions.recorded_from(self.ctx, chat_id=principal.chat_id,
                                                     source_message=source)
            if again is not None:
                await self._say(event.user, answers.instructed_answer(again))
                return
        item_id: int | None = None
        named = named_item(text)
        if named is not None:
            try:
                item_id = await instructions.item_of_ref(self.ctx, named.ref)
                text = named.text
            except JiyaoError as exc:  # names none: perhaps a prompt's 批示 after all
                if is_transient(exc):
                    raise
                item_id = None
        if item_id is None:
            item_id = await delivery.prompted_item(
                self.ctx, wecom_address(event.user), chat_id=principal.chat_id,
                within=PROMPT_WINDOW)
        if item_id is None:
            await self._say(event.user, HINT)
            return
        done = await instructions.instruct(self.ctx, item_id=item_id, chat_id=principal.chat_id,
                                           text=text, source_message=source)
        if not done.duplicate:
            self.wake()
        await self._say(event.user, answers.instructed_answer(done))


def press_source(event: ButtonPressed) -> int:
    """The source message of a 批示 made by a button press, which has no MsgId: a negative
    63-bit number from what a retry of the press has in common with it (a MsgId and a
    Telegram message id are positive), so that the press tried twice records once."""
    what = "\x1f".join((event.user, str(event.created), event.key, event.task_id,
                         event.selected))
    digest = hashlib.sha256(what.encode("utf-8")).digest()
    return -(int.from_bytes(digest[:8], "big") >> 1) - 1
