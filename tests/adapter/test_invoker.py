"""The HTTP invoker: batches, a bounded window, retries of exactly the events not delivered.

A recording watcher stands in for the dispatcher function, answering as scripted.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest

from gateways.adapter.invoker import DispatcherInvoker, DispatchError
from gateways.config.common import Backoff
from gateways.source import Origin, RawEvent
from tests.conftest import MakeWatcher
from tests.watcher import RecordingWatcher, Reply

ORIGIN = Origin("nats-gateway", "orders", "nats")
FAST = Backoff(timedelta(milliseconds=10), 2.0, 0.0, 0, timedelta(milliseconds=50))


def invoker(url: str, **options: Any) -> DispatcherInvoker:
    options.setdefault("backoff", FAST)
    return DispatcherInvoker(url, **options)


def batches(watcher: RecordingWatcher) -> list[list[str]]:
    return [[e["data"] for e in json.loads(r.body)["events"]] for r in watcher.requests]


def results(*oks: bool) -> Reply:
    body = {"results": [{"id": str(i), "ok": ok} for i, ok in enumerate(oks)]}
    return Reply(503, json.dumps(body).encode(), {"content-type": "application/json"})


async def emit_all(target: DispatcherInvoker, count: int) -> list[BaseException | None]:
    emit = target.emitter(ORIGIN)
    outcomes = await asyncio.gather(
        *(emit(RawEvent(payload=str(n).encode())) for n in range(count)), return_exceptions=True
    )
    return list(outcomes)


async def test_request_form_and_batching_by_size_and_linger(watcher: RecordingWatcher) -> None:
    target = invoker(watcher.url, batch_size=4, linger=0.05)
    try:
        assert await emit_all(target, 10) == [None] * 10
    finally:
        await target.close()
    assert batches(watcher) == [["0", "1", "2", "3"], ["4", "5", "6", "7"], ["8", "9"]]
    request = json.loads(watcher.requests[0].body)
    assert (request["gateway"], request["source"], request["kind"]) == (
        "nats-gateway",
        "orders",
        "nats",
    )
    assert watcher.requests[0].headers["content-type"] == "application/json"


async def test_only_events_answered_ok_count_as_delivered(watcher: RecordingWatcher) -> None:
    watcher.answer(results(True, False, True), 200)
    target = invoker(watcher.url, batch_size=3, linger=1.0)
    try:
        assert await emit_all(target, 3) == [None] * 3
    finally:
        await target.close()
    assert batches(watcher) == [["0", "1", "2"], ["1"]]


async def test_an_event_whose_retries_ran_out_raises(watcher: RecordingWatcher) -> None:
    watcher.answer(*[results(True, False)] * 3)
    target = invoker(watcher.url, batch_size=2, linger=1.0, retries=2)
    try:
        outcomes = await emit_all(target, 2)
    finally:
        await target.close()
    assert outcomes[0] is None
    assert isinstance(outcomes[1], DispatchError)
    assert "HTTP 503" in str(outcomes[1])
    assert batches(watcher) == [["0", "1"], ["1"], ["1"]]


async def test_client_errors_are_not_retried(watcher: RecordingWatcher) -> None:
    watcher.answer(Reply(400, b'{"error": "events[0]: data_base64: not valid base64"}'))
    target = invoker(watcher.url, linger=0.0)
    try:
        (outcome,) = await emit_all(target, 1)
    finally:
        await target.close()
    assert isinstance(outcome, DispatchError)
    assert "HTTP 400: events[0]: data_base64: not valid base64" in str(outcome)
    assert len(watcher.requests) == 1


@pytest.mark.parametrize("status", [404, 408, 409, 429, 500, 502, 503])
async def test_retryable_answers_are_retried(watcher: RecordingWatcher, status: int) -> None:
    watcher.answer(status, status)
    target = invoker(watcher.url, linger=0.0)
    try:
        assert await emit_all(target, 1) == [None]
    finally:
        await target.close()
    assert [r.status for r in watcher.requests] == [status, status, 200]


async def test_retry_after_as_an_http_date_is_honoured(watcher: RecordingWatcher) -> None:
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=2), usegmt=True)
    watcher.answer(Reply(503, b"busy", {"retry-after": later}), 200)
    target = invoker(watcher.url, linger=0.0)
    try:
        assert await emit_all(target, 1) == [None]
    finally:
        await target.close()
    first, second = watcher.requests
    # HTTP dates have whole seconds: at least one second, far more than the 10 ms backoff.
    assert second.received_at - first.received_at >= 0.9


async def test_connection_errors_are_retried_until_the_dispatcher_is_up(
    make_watcher: MakeWatcher,
) -> None:
    dispatcher = await make_watcher(up=False)
    target = invoker(dispatcher.url, linger=0.0, retries=50)

    async def come_up_later() -> None:
        await asyncio.sleep(0.2)
        await dispatcher.start()

    try:
        outcomes, _ = await asyncio.gather(emit_all(target, 5), come_up_later())
    finally:
        await target.close()
    assert outcomes == [None] * 5
    assert sorted(n for batch in batches(dispatcher) for n in batch) == ["0", "1", "2", "3", "4"]


async def test_requests_in_flight_are_bounded(make_watcher: MakeWatcher) -> None:
    dispatcher = await make_watcher(delay=0.05)
    target = invoker(dispatcher.url, batch_size=1, linger=0.0, max_requests=3)
    try:
        assert await emit_all(target, 12) == [None] * 12
    finally:
        await target.close()
    assert len(dispatcher.requests) == 12
    assert dispatcher.max_concurrent == 3


async def test_sources_are_batched_separately(watcher: RecordingWatcher) -> None:
    target = invoker(watcher.url, batch_size=10, linger=0.02)
    other = Origin("nats-gateway", "payments", "nats")
    try:
        await asyncio.gather(
            target.emitter(ORIGIN)(RawEvent(payload=b"a")),
            target.emitter(other)(RawEvent(payload=b"b")),
        )
    finally:
        await target.close()
    sources = sorted(json.loads(r.body)["source"] for r in watcher.requests)
    assert sources == ["orders", "payments"]


async def test_an_idle_source_sends_at_once_a_busy_one_batches(make_watcher: MakeWatcher) -> None:
    dispatcher = await make_watcher(delay=0.1)
    target = invoker(dispatcher.url, batch_size=100, linger=0.05)
    emit = target.emitter(ORIGIN)
    try:
        first = asyncio.create_task(emit(RawEvent(payload=b"0")))
        await asyncio.sleep(0.02)  # the first request is on its way: the source is busy
        rest = []
        for number in range(1, 5):
            rest.append(asyncio.create_task(emit(RawEvent(payload=str(number).encode()))))
            await asyncio.sleep(0.005)
        await asyncio.gather(first, *rest)
    finally:
        await target.close()
    assert batches(dispatcher) == [["0"], ["1", "2", "3", "4"]]
