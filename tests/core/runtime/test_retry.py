"""The one HTTP retry policy: which answers retry, Retry-After, and the retry loop."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from gateways.retry import RetryPolicy, retry_after_seconds, retryable


@pytest.mark.parametrize("status", [None, 404, 408, 409, 429, 500, 502, 503, 504])
def test_knative_retryable_answers(status: int | None) -> None:
    assert retryable(status)


@pytest.mark.parametrize("status", [200, 202, 301, 400, 401, 403, 405, 413, 415, 422])
def test_other_answers_are_final(status: int) -> None:
    assert not retryable(status)


def test_retry_after_as_seconds_or_http_date_only_on_429_and_503() -> None:
    assert retry_after_seconds(503, "7") == 7.0
    assert retry_after_seconds(429, " 3 ") == 3.0
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=20), usegmt=True)
    assert 15.0 < (retry_after_seconds(503, later) or 0) <= 20.0
    past = format_datetime(datetime.now(UTC) - timedelta(seconds=20), usegmt=True)
    assert retry_after_seconds(429, past) == 0.0
    assert retry_after_seconds(500, "7") is None
    assert retry_after_seconds(503, "soon") is None
    assert retry_after_seconds(503, None) is None


def test_wait_is_the_backoff_or_a_longer_capped_retry_after() -> None:
    policy = RetryPolicy(3, lambda retry: 0.1 * retry, retry_after_max=5.0)
    assert policy.wait(2) == pytest.approx(0.2)
    assert policy.wait(2, 0.01) == pytest.approx(0.2)
    assert policy.wait(2, 3.0) == 3.0
    assert policy.wait(2, 60.0) == 5.0


@dataclass(frozen=True)
class Answer:
    status: int | None
    retry_after: float | None = None

    @property
    def done(self) -> bool:
        return self.status is not None and self.status < 300


async def run(policy: RetryPolicy, *statuses: int | None) -> tuple[Answer, int, list[float]]:
    answers = iter(statuses)
    waits: list[float] = []

    async def attempt() -> Answer:
        return Answer(next(answers))

    answer, attempts = await policy.run(attempt, lambda a, retry, wait: waits.append(wait))
    return answer, attempts, waits


async def test_run_retries_until_accepted() -> None:
    policy = RetryPolicy(5, lambda retry: 0.001 * retry)
    answer, attempts, waits = await run(policy, 503, None, 409, 200)
    assert (answer.status, attempts) == (200, 4)
    assert waits == pytest.approx([0.001, 0.002, 0.003])


async def test_run_stops_at_a_final_answer() -> None:
    answer, attempts, waits = await run(RetryPolicy(5, lambda r: 0.0), 503, 400, 200)
    assert (answer.status, attempts, len(waits)) == (400, 2, 1)


async def test_run_gives_up_after_the_retries() -> None:
    answer, attempts, _ = await run(RetryPolicy(2, lambda r: 0.0), 503, 503, 503, 200)
    assert (answer.status, attempts) == (503, 3)
