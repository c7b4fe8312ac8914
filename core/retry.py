"""The one retry policy of everything jiyao sends (chat pushes, return mail): exponential
backoff with jitter, from tenacity's wait strategies.

The outbox keeps each event's attempt count and next due time in the database, so retries
survive a restart; the policy therefore computes the wait for an attempt count instead of
sleeping in a retry loop.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from tenacity import RetryCallState, Retrying, wait_exponential, wait_random
from tenacity.wait import wait_base

#: tenacity's strategies read the attempt number from a call state; ours has no call
_RETRYING = Retrying()


@dataclass(frozen=True)
class RetryPolicy:
    """Wait `first` seconds after the first failure, doubling up to `cap`, plus up to 20 %
    of `first` at random so that retries of many events do not arrive together."""

    first: float
    cap: float
    _wait: wait_base = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        wait = wait_exponential(multiplier=self.first, max=self.cap) + wait_random(
            0, 0.2 * self.first
        )
        object.__setattr__(self, "_wait", wait)

    def delay(self, attempts: int) -> timedelta:
        """Wait before the next try after `attempts` failed ones."""
        state = RetryCallState(_RETRYING, None, (), {})
        state.attempt_number = max(1, attempts + 1)
        return timedelta(seconds=self._wait(state))


#: chat pushes: from 1 s to 5 min (Telegram or the network is briefly away)
CHAT = RetryPolicy(first=1.0, cap=300.0)
#: return mail through the smarthost: from 30 s to 1 h (a mail server is down for a while)
MAIL = RetryPolicy(first=30.0, cap=3600.0)
