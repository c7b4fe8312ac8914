"""Per-recipient pacing, the same for every chat platform: sliding windows of
(count, seconds) that a recipient's sends may never exceed.

WeCom silently drops what goes beyond 30 messages a minute or 1,000 an hour to one member
(while answering ok); Telegram allows about one message a second to a chat and 20 a minute
to a group. A sliding window, not a token bucket: a full bucket of 30 refilled at 30 a
minute lets 60 through in the first minute, which WeCom would drop.

`reserve` books the recipient's next slot at once (so concurrent senders queue rather
than race) and says how long to wait for it; `delay(..., spare=n)` is the wait for a send
that must leave `n` slots of every window free (ordinary messages keep room for 特急).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Sequence

Limits = tuple[tuple[int, float], ...]

#: per WeCom member: 30 a minute and 1,000 an hour (发送应用消息 频率限制)
WECOM_MEMBER: Limits = ((30, 60.0), (1000, 3600.0))
#: per Telegram chat: about one a second
TELEGRAM_CHAT: Limits = ((1, 1.0),)
#: per Telegram group (a negative chat id): one a second and 20 a minute
TELEGRAM_GROUP: Limits = ((1, 1.0), (20, 60.0))


def telegram_limits(address: str) -> Limits:
    return TELEGRAM_GROUP if address.startswith("-") else TELEGRAM_CHAT


class Pacer:
    """Per-recipient sliding windows: never more than `count` sends in any `seconds` (plus
    `margin`, for clock and network jitter), for each (count, seconds) of the recipient's
    limits (`limits`, or `limits(address)` when it is a function)."""

    def __init__(
        self,
        limits: Sequence[tuple[int, float]] | Callable[[str], Sequence[tuple[int, float]]] = (
            WECOM_MEMBER),
        *,
        margin: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._limits_of = limits if callable(limits) else None
        fixed: Limits = () if callable(limits) else tuple(limits)
        if not callable(limits) and (
                not fixed or any(count < 1 or seconds <= 0 for count, seconds in fixed)):
            raise ValueError("limits must be positive (count, seconds) pairs")
        self.limits = fixed
        self.margin = margin
        self._clock = clock
        self._times: dict[str, deque[float]] = {}
        self._sent: dict[str, int] = {}

    def limits_of(self, user: str) -> Limits:
        return tuple(self._limits_of(user)) if self._limits_of is not None else self.limits

    def _slot(self, user: str, now: float, spare: int = 0) -> float:
        times = self._times.get(user)
        if not times:
            return now
        limits = self.limits_of(user)
        horizon = max(seconds for _, seconds in limits) + self.margin
        while times and times[0] <= now - horizon:
            times.popleft()
        at = max(now, times[-1]) if times else now
        for count, seconds in limits:
            # a window of one (one a second) has nothing to spare
            room = max(1, count - spare) if count > 1 else count
            if len(times) >= room:
                at = max(at, times[-room] + seconds + self.margin)
        return at

    def delay(self, user: str, *, spare: int = 0) -> float:
        """Seconds until `user` may receive the next message (0 when at once), leaving
        `spare` slots of each window (of more than one) free."""
        now = self._clock()
        return self._slot(user, now, spare) - now

    def reserve(self, user: str) -> float:
        """Book `user`'s next slot; the seconds to wait before sending in it."""
        now = self._clock()
        at = self._slot(user, now)
        self._times.setdefault(user, deque()).append(at)
        self._sent[user] = self._sent.get(user, 0) + 1
        return at - now

    def finished(self, user: str) -> None:
        """The latest send to `user` has been answered: its window counts from now (the
        request may have taken a while to reach the platform)."""
        times = self._times.get(user)
        if times:
            times[-1] = max(times[-1], self._clock())

    def last(self, user: str) -> float | None:
        """When the latest booked send to `user` goes (the pacer's clock)."""
        times = self._times.get(user)
        return times[-1] if times else None

    def sent(self, user: str) -> int:
        """Messages booked to `user` since this pacer was made."""
        return self._sent.get(user, 0)

    def recent(self, user: str, seconds: float) -> int:
        """Messages booked to `user` in the last `seconds` (booked slots ahead included)."""
        now = self._clock()
        return sum(1 for t in self._times.get(user, ()) if t > now - seconds)
