"""Retries, backoff, Retry-After and dead-lettering over real HTTP."""

import asyncio
import base64
import itertools
import logging
from datetime import timedelta

import pytest
from cloudevents.http import from_http as sdk_from_http

from gateways.delivery import Deliverer, DeliverySpec, Watcher
from tests.conftest import MakeWatcher
from tests.core.delivery.test_sender import FAST, make_event
from tests.kit import delivery_metrics
from tests.watcher import RecordingWatcher, Reply


def gaps(watcher: RecordingWatcher) -> list[float]:
    arrivals = [r.received_at for r in watcher.requests]
    return [later - earlier for earlier, later in itertools.pairwise(arrivals)]


async def test_503_is_retried_with_exponential_backoff(watcher: RecordingWatcher) -> None:
    watcher.answer(503, 503, 503, 200)
    spec = DeliverySpec(
        retry=3, backoff_policy="exponential", backoff_delay=timedelta(seconds=0.05)
    )
    async with Deliverer([Watcher(watcher.url)], spec) as deliverer:
        report = await deliverer.deliver(make_event())

    (outcome,) = report.outcomes
    assert (outcome.ok, outcome.status, outcome.attempts) == (True, 200, 4)
    assert delivery_metrics(watcher.url)["retried"] == 3
    first, second, third = gaps(watcher)  # expected 0.1 s, 0.2 s, 0.4 s
    assert 0.08 <= first < 1.0
    assert 0.16 <= second < 2.0
    assert 0.32 <= third < 4.0
    assert first < second < third


async def test_linear_backoff(watcher: RecordingWatcher) -> None:
    watcher.answer(500, 502, 200)
    spec = DeliverySpec(retry=3, backoff_policy="linear", backoff_delay=timedelta(seconds=0.1))
    async with Deliverer([Watcher(watcher.url)], spec) as deliverer:
        assert (await deliverer.deliver(make_event())).ok

    first, second = gaps(watcher)  # expected 0.1 s, 0.2 s
    assert 0.08 <= first < 1.0
    assert 0.16 <= second < 2.0


@pytest.mark.parametrize("status", [404, 408, 409, 429, 500, 502, 503, 504])
async def test_retryable_statuses_are_retried(watcher: RecordingWatcher, status: int) -> None:
    watcher.answer(status, 200)
    async with Deliverer([Watcher(watcher.url)], FAST) as deliverer:
        report = await deliverer.deliver(make_event())

    assert report.ok
    assert report.outcomes[0].attempts == 2
    assert [r.status for r in watcher.requests] == [status, 200]


@pytest.mark.parametrize("status", [400, 401, 403, 405, 413, 415, 422, 301])
async def test_other_answers_are_not_retried(watcher: RecordingWatcher, status: int) -> None:
    watcher.answer(status)
    async with Deliverer([Watcher(watcher.url)], FAST) as deliverer:
        report = await deliverer.deliver(make_event())

    (outcome,) = report.outcomes
    assert (outcome.ok, outcome.status, outcome.attempts) == (False, status, 1)
    assert len(watcher.requests) == 1
    assert delivery_metrics(watcher.url)["retried"] == 0


async def test_retries_run_out(make_watcher: MakeWatcher) -> None:
    failing = await make_watcher(default=503)
    async with Deliverer([Watcher(failing.url)], FAST) as deliverer:
        report = await deliverer.deliver(make_event())

    (outcome,) = report.outcomes
    assert (outcome.ok, outcome.status, outcome.attempts) == (False, 503, 3)
    assert len(failing.requests) == 3
    assert report.failures() == [f"{failing.url}: HTTP 503 after 3 attempt(s)"]
    assert delivery_metrics(failing.url) == {
        "delivered": 0,
        "retried": 2,
        "failed": 1,
        "dead_lettered": 0,
    }


async def test_connection_refused_is_retried_then_fails(make_watcher: MakeWatcher) -> None:
    down = await make_watcher(up=False)
    async with Deliverer([Watcher(down.url)], FAST) as deliverer:
        report = await deliverer.deliver(make_event())

    (outcome,) = report.outcomes
    assert (outcome.ok, outcome.status, outcome.attempts) == (False, None, 3)
    assert outcome.error is not None and "Cannot connect" in outcome.error
    metrics = delivery_metrics(down.url)
    assert (metrics["retried"], metrics["failed"]) == (2, 1)


async def test_a_watcher_coming_back_gets_the_event(make_watcher: MakeWatcher) -> None:
    late = await make_watcher(up=False)
    spec = DeliverySpec(retry=5, backoff_policy="linear", backoff_delay=timedelta(seconds=0.1))
    async with Deliverer([Watcher(late.url)], spec) as deliverer:
        report, _ = await asyncio.gather(deliverer.deliver(make_event()), _start_later(late, 0.15))

    assert report.ok and report.outcomes[0].attempts > 1
    assert late.events[0].id == "e-1"


async def test_timeout_per_attempt_is_retried(make_watcher: MakeWatcher) -> None:
    slow = await make_watcher(delay=0.5)
    spec = DeliverySpec(
        retry=1, backoff_delay=timedelta(milliseconds=10), timeout=timedelta(seconds=0.1)
    )
    async with Deliverer([Watcher(slow.url)], spec) as deliverer:
        report = await deliverer.deliver(make_event())

    (outcome,) = report.outcomes
    assert (outcome.ok, outcome.status, outcome.attempts) == (False, None, 2)
    assert outcome.error is not None and "timed out" in outcome.error
    await slow.wait_for(2)


async def test_retry_after_is_honoured(watcher: RecordingWatcher) -> None:
    watcher.answer(Reply(429, headers={"Retry-After": "1"}), 200)
    async with Deliverer([Watcher(watcher.url)], FAST) as deliverer:
        assert (await deliverer.deliver(make_event())).ok

    (gap,) = gaps(watcher)
    assert 0.9 <= gap < 5.0  # the backoff alone would have been 0.02 s


async def test_retry_after_is_capped_by_retry_after_max(watcher: RecordingWatcher) -> None:
    watcher.answer(Reply(503, headers={"Retry-After": "3600"}), 200)
    spec = DeliverySpec(
        backoff_delay=timedelta(milliseconds=10), retry_after_max=timedelta(seconds=0.2)
    )
    async with Deliverer([Watcher(watcher.url)], spec) as deliverer:
        assert (await deliverer.deliver(make_event())).ok

    (gap,) = gaps(watcher)
    assert 0.15 <= gap < 2.0


async def test_dead_letter_sink_gets_the_event_with_knative_error_extensions(
    make_watcher: MakeWatcher,
) -> None:
    refusing = await make_watcher(default=Reply(400, b'{"error": "no sku"}'))
    sink = await make_watcher()
    spec = DeliverySpec(
        retry=2, backoff_delay=timedelta(milliseconds=10), dead_letter_sink=sink.url
    )
    event = make_event()
    async with Deliverer([Watcher(refusing.url, "structured")], spec) as deliverer:
        report = await deliverer.deliver(event)

    assert report.ok
    (outcome,) = report.outcomes
    assert (outcome.ok, outcome.dead_lettered, outcome.status, outcome.attempts) == (
        True,
        True,
        400,
        1,
    )
    metrics = delivery_metrics(refusing.url)
    assert (metrics["dead_lettered"], metrics["failed"], metrics["delivered"]) == (1, 0, 0)
    (request,) = await sink.wait_for(1)
    assert request.headers["ce-id"] == event.id  # binary mode, same event
    assert request.body == event.data
    assert request.headers["ce-knativeerrordest"] == refusing.url
    assert request.headers["ce-knativeerrorcode"] == "400"
    assert base64.b64decode(request.headers["ce-knativeerrordata"]) == b'{"error": "no sku"}'
    decoded = sdk_from_http(request.headers, request.body)
    assert decoded["knativeerrorcode"] == "400"
    assert decoded.data == {"hello": "world"}


async def test_dead_letter_after_retries_run_out(make_watcher: MakeWatcher) -> None:
    failing = await make_watcher(default=Reply(503, b"overloaded"))
    sink = await make_watcher()
    spec = DeliverySpec(
        retry=2, backoff_delay=timedelta(milliseconds=10), dead_letter_sink=sink.url
    )
    async with Deliverer([Watcher(failing.url)], spec) as deliverer:
        report = await deliverer.deliver(make_event())

    assert report.ok and report.outcomes[0].dead_lettered
    assert len(failing.requests) == 3
    (request,) = await sink.wait_for(1)
    assert request.headers["ce-knativeerrorcode"] == "503"
    assert base64.b64decode(request.headers["ce-knativeerrordata"]) == b"overloaded"


async def test_dead_letter_after_connection_errors_has_no_code(make_watcher: MakeWatcher) -> None:
    down = await make_watcher(up=False)
    sink = await make_watcher()
    spec = DeliverySpec(
        retry=1, backoff_delay=timedelta(milliseconds=10), dead_letter_sink=sink.url
    )
    async with Deliverer([Watcher(down.url)], spec) as deliverer:
        assert (await deliverer.deliver(make_event())).ok

    (request,) = await sink.wait_for(1)
    assert request.headers["ce-knativeerrordest"] == down.url
    assert "ce-knativeerrorcode" not in request.headers
    data = base64.b64decode(request.headers["ce-knativeerrordata"]).decode()
    assert data.startswith("dispatch error: ") and "Cannot connect" in data


async def test_error_data_is_truncated_as_knative_does(make_watcher: MakeWatcher) -> None:
    refusing = await make_watcher(default=Reply(500, b"x" * 5000))
    sink = await make_watcher()
    spec = DeliverySpec(retry=0, dead_letter_sink=sink.url)
    async with Deliverer([Watcher(refusing.url)], spec) as deliverer:
        assert (await deliverer.deliver(make_event())).ok

    (request,) = await sink.wait_for(1)
    assert len(request.headers["ce-knativeerrordata"]) == 1024
    assert set(base64.b64decode(request.headers["ce-knativeerrordata"])) == {ord("x")}


async def test_dead_letter_sink_down_fails_the_outcome(make_watcher: MakeWatcher) -> None:
    refusing = await make_watcher(default=400)
    sink = await make_watcher(up=False)
    spec = DeliverySpec(
        retry=1, backoff_delay=timedelta(milliseconds=10), dead_letter_sink=sink.url
    )
    async with Deliverer([Watcher(refusing.url)], spec) as deliverer:
        report = await deliverer.deliver(make_event())

    assert not report.ok
    (outcome,) = report.outcomes
    assert (outcome.ok, outcome.dead_lettered, outcome.status) == (False, False, 400)
    (failure,) = report.failures()
    assert refusing.url in failure and "HTTP 400" in failure
    assert f"dead-letter sink {sink.url} failed" in failure
    metrics = delivery_metrics(refusing.url)
    assert (metrics["failed"], metrics["dead_lettered"]) == (1, 0)


async def test_failures_are_logged_without_secrets(
    make_watcher: MakeWatcher, caplog: pytest.LogCaptureFixture
) -> None:
    refusing = await make_watcher(default=400)
    sink = await make_watcher()
    secret_url = refusing.url.replace("http://", "http://user:hunter2@") + "?token=hunter2"
    spec = DeliverySpec(retry=0, dead_letter_sink=sink.url)
    with caplog.at_level(logging.WARNING, logger="gateways.delivery"):
        async with Deliverer([Watcher(secret_url)], spec) as deliverer:
            report = await deliverer.deliver(make_event("e-42"))

    (record,) = [r for r in caplog.records if r.levelno == logging.WARNING]
    message = record.getMessage()
    assert "e-42" in message and refusing.url in message
    assert "hunter2" not in message
    assert "hunter2" not in report.outcomes[0].url
    (request,) = await sink.wait_for(1)
    assert request.headers["ce-knativeerrordest"] == refusing.url


async def _start_later(watcher: RecordingWatcher, seconds: float) -> None:
    await asyncio.sleep(seconds)
    await watcher.start()
