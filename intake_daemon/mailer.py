"""Return notices (退回通知): drain the outbox's `mail` events through the smarthost.

At least once: an event is marked done only after the smarthost accepted the message;
a failure is recorded and retried later (core.retry.MAIL). A refusal
for good (5xx) is not retried: staff are told in chat to reach the sender another way.
"""

from __future__ import annotations

import logging
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import aiosmtplib

from core.retry import MAIL
from core.services import delivery, notices, outbox
from core.services.context import Context
from core.services.runner import Runner

log = logging.getLogger("intake_daemon.mailer")

POLL_SECONDS = 1.0
BATCH = 20


def build_message(ctx: Context, payload: dict[str, object], *, now: datetime) -> EmailMessage:
    settings = ctx.settings
    sender = settings.smarthost.from_address or settings.office.addresses[0]
    msg = EmailMessage()
    msg["From"] = f"{settings.office.name} <{sender}>"
    msg["To"] = str(payload["to"])
    msg["Subject"] = str(payload["subject"])
    msg["Date"] = format_datetime(now.astimezone(settings.tz))
    # a 交办 notice carries the id it was recorded with: its reply names it (In-Reply-To)
    given = payload.get("message_id")
    msg["Message-ID"] = (f"<{given}>" if given
                         else make_msgid(domain=sender.rpartition("@")[2] or None))
    # RFC 3834: an automatic reply; autoresponders must not answer it (no mail loops)
    msg["Auto-Submitted"] = "auto-replied"
    reply_to = payload.get("in_reply_to")
    if reply_to:
        msg["In-Reply-To"] = f"<{reply_to}>"
        msg["References"] = f"<{reply_to}>"
    msg.set_content(str(payload["body"]), charset="utf-8")
    return msg


def _permanent(exc: Exception) -> bool:
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        return all(r.code >= 500 for r in exc.recipients)
    return isinstance(exc, aiosmtplib.SMTPResponseException) and exc.code >= 500


class ReturnMailer(Runner):
    """Component: mails pending return notices, polling about once a second."""

    name = "退回通知"

    def __init__(self, ctx: Context, *, poll: float = POLL_SECONDS) -> None:
        # a send in progress may take the smarthost's whole timeout
        super().__init__(ctx, poll=poll, grace=ctx.settings.smarthost.timeout + 5)

    async def starting(self) -> None:
        host = self.ctx.settings.smarthost
        log.info("退回通知经 %s:%d 发送", host.host, host.port)

    async def pump(self) -> bool:
        await self.drain()
        return False

    async def drain(self) -> int:
        """Send what is due now; returns how many were accepted by the smarthost."""
        sent = 0
        events = await outbox.due_mail(self.ctx, self.ctx.clock(), limit=BATCH)
        for event in events:
            if self.stopping:
                break
            if await self._send(event):
                sent += 1
        return sent

    async def _send(self, event: outbox.Event) -> bool:
        host = self.ctx.settings.smarthost
        now = self.ctx.clock()
        message = build_message(self.ctx, event.payload, now=now)
        try:
            await aiosmtplib.send(
                message, hostname=host.host, port=host.port, timeout=host.timeout,
                start_tls=False,
            )
        except (aiosmtplib.SMTPException, OSError) as exc:
            await self._failed(event, exc)
            return False
        await delivery.mail_sent(self.ctx, event)
        log.info("退回通知已发送：收件序号 %s → %s", event.item_id, event.target)
        return True

    async def _failed(self, event: outbox.Event, exc: Exception) -> None:
        error = f"{type(exc).__name__}: {exc}"
        if _permanent(exc):
            text = notices.undeliverable_notice(
                item_id=event.item_id, to=event.target, error=str(exc)[:200]
            )
            await delivery.mail_refused(self.ctx, event, error=error, notice=text)
            log.error("退回通知被拒收（不再重试）：收件序号 %s → %s：%s",
                      event.item_id, event.target, error)
        else:
            retry_at = self.ctx.clock() + MAIL.delay(event.attempts)
            await delivery.record_failure(self.ctx, event, error=error, retry_at=retry_at,
                                          maybe_sent=False)
            log.warning("退回通知发送失败（第 %d 次），%s 后重试：%s",
                        event.attempts + 1, retry_at.isoformat(timespec="seconds"), error)
