"""Delivery over real HTTP: encodings, fan-out, backpressure, connection reuse, console."""

import asyncio
import io
import json
from datetime import timedelta

from cloudevents.http import from_http as sdk_from_http

from gateways.delivery import Deliverer, DeliverySpec, Watcher
from gateways.delivery.watchers import CONSOLE_WATCHER
from gateways.events.http import STRUCTURED_TYPE, from_json
from gateways.events.model import CloudEvent
from tests.conftest import MakeWatcher
from tests.kit import delivery_metrics
from tests.watcher import RecordingWatcher

FAST = DeliverySpec(retry=2, backoff_delay=timedelta(milliseconds=10), timeout=timedelta(seconds=5))


def make_event(event_id: str = "e-1", data: bytes | None = b'{"hello": "world"}') -> CloudEvent:
    attributes = {
        "specversion": "1.0",
        "id": event_id,
        "source": "/gateways/hooks/example",
        "type": "dev.gateways.webhook.request",
        "subject": "/orders/new order",
        "time": "2024-05-01T12:00:00Z",
        "webhookmethod": "POST",
        "webhooknote": 'caf\u00e9 "50%"',
    }
    if data is not None:
        attributes["datacontenttype"] = "application/json"
    return CloudEvent(attributes, data)


async def test_binary_mode_headers_and_body(watcher: RecordingWatcher) -> None:
    event = make_event()
    async with Deliverer([Watcher(watcher.url)], FAST) as deliverer:
        report = await deliverer.deliver(event)

    assert report.ok
    (request,) = await watcher.wait_for(1)
    assert request.method == "POST"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["ce-specversion"] == "1.0"
    assert request.headers["ce-id"] == "e-1"
    assert request.headers["ce-source"] == "/gateways/hooks/example"
    assert request.headers["ce-type"] == "dev.gateways.webhook.request"
    assert request.headers["ce-subject"] == "/orders/new%20order"  # percent-encoded space
    assert request.body == b'{"hello": "world"}'
    assert request.event is not None
    assert request.event.attributes == event.attributes
    # An independent decoder agrees: the official CloudEvents SDK. (It does not percent-decode
    # header values, so only attributes without space, '"', '%' or non-ASCII are compared.)
    decoded = sdk_from_http(request.headers, request.body)
    for name in ("specversion", "id", "source", "type", "time", "webhookmethod"):
        assert decoded[name] == event.attributes[name]
    assert decoded["datacontenttype"] == "application/json"
    assert decoded.data == {"hello": "world"}


async def test_binary_mode_without_data_adds_no_content_type(watcher: RecordingWatcher) -> None:
    async with Deliverer([Watcher(watcher.url)], FAST) as deliverer:
        assert (await deliverer.deliver(make_event(data=None))).ok

    (request,) = await watcher.wait_for(1)
    assert "content-type" not in request.headers
    assert request.body == b""
    assert request.event is not None and "datacontenttype" not in request.event.attributes


async def test_structured_mode(watcher: RecordingWatcher) -> None:
    event = make_event()
    async with Deliverer([Watcher(watcher.url, "structured")], FAST) as deliverer:
        assert (await deliverer.deliver(event)).ok

    (request,) = await watcher.wait_for(1)
    assert request.headers["content-type"] == STRUCTURED_TYPE
    assert not any(name.startswith("ce-") for name in request.headers)
    document = json.loads(request.body)
    assert document["id"] == "e-1"
    assert document["data"] == {"hello": "world"}  # JSON travels as JSON, not base64
    assert request.event is not None and request.event.attributes == event.attributes
    decoded = sdk_from_http(request.headers, request.body)
    assert decoded["webhookmethod"] == "POST"
    assert decoded.data == {"hello": "world"}


async def test_fan_out_to_three_watchers_concurrently(make_watcher: MakeWatcher) -> None:
    watchers = [await make_watcher(delay=0.3) for _ in range(3)]
    async with Deliverer([Watcher(w.url) for w in watchers], FAST) as deliverer:
        report = await deliverer.deliver(make_event())

    assert report.ok
    assert [o.url for o in report.outcomes] == [w.url for w in watchers]
    requests = [(await w.wait_for(1))[0] for w in watchers]
    # Every watcher had the request before any of them answered: they overlapped.
    assert max(r.received_at for r in requests) < min(r.answered_at for r in requests)
    assert [delivery_metrics(w.url)["delivered"] for w in watchers] == [1, 1, 1]


async def test_one_failing_watcher_fails_the_report_but_not_the_others(
    make_watcher: MakeWatcher,
) -> None:
    good, bad = await make_watcher(), await make_watcher(default=400)
    async with Deliverer([Watcher(good.url), Watcher(bad.url)], FAST) as deliverer:
        report = await deliverer.deliver(make_event())

    assert not report.ok
    assert [o.ok for o in report.outcomes] == [True, False]
    assert report.failures() == [f"{bad.url}: HTTP 400 after 1 attempt(s)"]
    assert delivery_metrics(good.url)["delivered"] == 1
    assert delivery_metrics(bad.url)["failed"] == 1


async def test_in_flight_deliveries_are_bounded(make_watcher: MakeWatcher) -> None:
    slow = await make_watcher(delay=0.1)
    async with Deliverer([Watcher(slow.url)], FAST, max_in_flight=2) as deliverer:
        reports = await asyncio.gather(*(deliverer.deliver(make_event(f"e-{n}")) for n in range(8)))

    assert all(r.ok for r in reports)
    assert len(slow.requests) == 8
    assert slow.max_concurrent == 2


async def test_deliveries_in_flight_share_a_bounded_number_of_connections(
    make_watcher: MakeWatcher,
) -> None:
    slow = await make_watcher(delay=0.05)
    deliverer = Deliverer([Watcher(slow.url)], FAST, max_in_flight=40, connections=4)
    async with deliverer:
        reports = await asyncio.gather(
            *(deliverer.deliver(make_event(f"e-{n}")) for n in range(40))
        )

    assert all(r.ok for r in reports)
    assert len(slow.requests) == 40
    assert slow.max_concurrent == 4  # the rest waited for a connection, none was refused
    assert len(slow.client_ports) == 4


async def test_connections_are_reused(watcher: RecordingWatcher) -> None:
    async with Deliverer([Watcher(watcher.url)], FAST) as deliverer:
        for n in range(50):
            assert (await deliverer.deliver(make_event(f"e-{n}"))).ok

    await watcher.wait_for(50)
    assert len(watcher.client_ports) <= 2


async def test_console_watcher_prints_one_json_line_per_event() -> None:
    console = io.StringIO()
    async with Deliverer([CONSOLE_WATCHER], FAST, console=console) as deliverer:
        assert (await deliverer.deliver(make_event("e-1"))).ok
        assert (await deliverer.deliver(make_event("e-2"))).ok

    lines = console.getvalue().splitlines()
    assert len(lines) == 2
    first = json.loads(lines[0])
    assert first["id"] == "e-1"
    assert first["data"] == {"hello": "world"}
    assert from_json(first).attributes == make_event("e-1").attributes
