"""The one HTTP retry policy, shared by delivery to watchers and the adapter's dispatcher calls.

Knative's rules: a connection error, a timeout, 5xx, 404, 408, 409 and 429 are retried; any
other answer is final. A ``Retry-After`` on 429 or 503 (delay-seconds or an HTTP-date) is
honoured when it asks for longer than the backoff, up to ``retry_after_max``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Protocol, TypeVar

RETRYABLE_STATUSES = frozenset({404, 408, 409, 429})
RETRY_AFTER_STATUSES = frozenset({429, 503})


def retryable(status: int | None) -> bool:
    """Whether an answer may succeed when sent again; ``None`` is a connection error."""
    return status is None or status >= 500 or status in RETRYABLE_STATUSES


def retry_after_seconds(status: int | None, value: str | None) -> float | None:
    """``Retry-After`` of a 429/503 answer as seconds; None when absent, invalid or not asked."""
    if status not in RETRY_AFTER_STATUSES or not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, moment.timestamp() - time.time())


class Outcome(Protocol):
    """One attempt's result as the policy sees it."""

    @property
    def done(self) -> bool:
        """Nothing left to send: accepted, or refused for good."""

    @property
    def status(self) -> int | None: ...

    @property
    def retry_after(self) -> float | None: ...


OutcomeT = TypeVar("OutcomeT", bound=Outcome)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """At most ``retries`` retries, waiting ``backoff(n)`` seconds before retry ``n`` (1-based)."""

    retries: int
    backoff: Callable[[int], float]
    retry_after_max: float = 30.0

    def wait(self, retry: int, retry_after: float | None = None) -> float:
        """Seconds before retry ``retry``: the backoff, or a longer Retry-After (capped)."""
        delay = self.backoff(retry)
        if retry_after is None:
            return delay
        return max(delay, min(retry_after, self.retry_after_max))

    async def run(
        self,
        attempt: Callable[[], Awaitable[OutcomeT]],
        on_retry: Callable[[OutcomeT, int, float], None] = lambda outcome, retry, wait: None,
    ) -> tuple[OutcomeT, int]:
        """Call ``attempt`` until it is done, refused for good, or the retries are spent.

        Returns the last outcome and the number of attempts made; ``on_retry(outcome, retry,
        wait)`` is told before each wait.
        """
        attempts = 0
        while True:
            outcome = await attempt()
            attempts += 1
            if outcome.done or not retryable(outcome.status) or attempts > self.retries:
                return outcome, attempts
            wait = self.wait(attempts, outcome.retry_after)
            on_retry(outcome, attempts, wait)
            await asyncio.sleep(wait)
