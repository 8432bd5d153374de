"""The dispatcher function over real HTTP: raw events from adapters and plain CloudEvents."""

from __future__ import annotations

import base64
import itertools
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml

from functions.dispatcher.app import DispatcherFunction
from gateways.events import http as ce_http
from gateways.events.model import CloudEvent
from gateways.hosting.server import Listener
from gateways.settings import Settings
from gateways.source import RawEvent
from tests.kit import REFERENCE_DATA, configmap, free_port, write_registry
from tests.watcher import RecordingWatcher

SHARED = REFERENCE_DATA


async def _serve(
    tmp_path: Path, watchers: list[str], delivery: dict[str, Any]
) -> tuple[Listener, DispatcherFunction]:
    registry = write_registry(
        tmp_path / "registry.yaml",
        configmap("streams", "nats", {}, watchers=watchers, delivery=delivery),
    )
    settings = Settings(registry_file=registry, admin_port=free_port(), watchers=tuple(watchers))
    app = DispatcherFunction(settings)
    await app.startup()
    listener = Listener(app)
    await listener.start()
    return listener, app


@pytest.fixture
async def dispatcher(tmp_path: Path, watcher: RecordingWatcher) -> AsyncIterator[str]:
    listener, app = await _serve(tmp_path, [watcher.url], {"retry": 2, "backoffDelay": "PT0.1S"})
    yield listener.url
    await listener.stop()
    await app.shutdown()


async def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, Any]:
    skip = () if "content-type" in headers else ("Content-Type",)
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=body, headers=headers, skip_auto_headers=skip) as reply,
    ):
        text = await reply.read()
        return reply.status, json.loads(text) if text else None


def _raw_batch(*raws: RawEvent, gateway: str = "streams") -> bytes:
    return json.dumps(
        {
            "gateway": gateway,
            "source": "orders",
            "kind": "nats",
            "events": [r.to_wire() for r in raws],
        }
    ).encode()


async def test_raw_batch_becomes_cloudevents(dispatcher: str, watcher: RecordingWatcher) -> None:
    raws = [
        RawEvent(
            b'{"n": 1}',
            id="s/1",
            subject="orders.eu",
            action="message",
            extensions={"natssubject": "orders.eu"},
        ),
        RawEvent(bytes([0, 255, 1]), id="s/2", subject="orders.us", action="message"),
    ]
    status, document = await _post(
        dispatcher, _raw_batch(*raws), {"content-type": "application/json"}
    )
    assert status == 200, document
    assert [r["ok"] for r in document["results"]] == [True, True]
    requests = await watcher.wait_for(2)
    events = {r.event.id: r.event for r in requests if r.event}
    first, second = events["s/1"], events["s/2"]
    assert first.type == "dev.gateways.nats.message"
    assert first.source == "/gateways/streams/orders"
    assert first.attributes["subject"] == "orders.eu"
    assert first.attributes["natssubject"] == "orders.eu"
    assert first.json() == {"n": 1}
    assert second.data == bytes([0, 255, 1])
    assert second.content_type == "application/octet-stream"


async def test_503_is_retried_with_backoff(dispatcher: str, watcher: RecordingWatcher) -> None:
    watcher.answer(503, 503)
    status, document = await _post(
        dispatcher, _raw_batch(RawEvent(b"x", id="a")), {"content-type": "application/json"}
    )
    assert status == 200, document
    attempts = await watcher.wait_for(3)
    gaps = [
        later.received_at - earlier.answered_at for earlier, later in itertools.pairwise(attempts)
    ]
    # exponential from PT0.1S: about 0.2 s, then 0.4 s (Knative: delay * 2^n)
    assert gaps[0] >= 0.15 and gaps[1] >= 0.3 and gaps[1] > gaps[0]


async def test_400_is_not_retried_and_the_failure_is_reported(
    dispatcher: str, watcher: RecordingWatcher
) -> None:
    watcher.answer(400)
    status, document = await _post(
        dispatcher,
        _raw_batch(RawEvent(b"x", id="bad"), RawEvent(b"y", id="good")),
        {"content-type": "application/json"},
    )
    assert status == 503
    results = {r["id"]: r for r in document["results"]}
    assert results["good"]["ok"] is True
    assert results["bad"]["ok"] is False and "400" in results["bad"]["error"]
    await watcher.wait_for(2)
    assert sum(1 for r in watcher.requests if r.event and r.event.id == "bad") == 1


async def test_dead_letter_sink_gets_knativeerror_extensions(tmp_path: Path, make_watcher) -> None:
    watcher, dead = await make_watcher(default=503), await make_watcher()
    listener, app = await _serve(
        tmp_path, [watcher.url], {"retry": 1, "backoffDelay": "PT0.01S", "deadLetterSink": dead.url}
    )
    try:
        status, _ = await _post(
            listener.url,
            _raw_batch(RawEvent(b'{"k": 1}', id="dl")),
            {"content-type": "application/json"},
        )
        assert status == 200
        [request] = await dead.wait_for(1)
        assert request.event is not None
        assert request.event.id == "dl"
        assert request.event.attributes["knativeerrordest"] == watcher.url
        assert request.event.attributes["knativeerrorcode"] == "503"
    finally:
        await listener.stop()
        await app.shutdown()


async def test_malformed_requests_get_400_naming_the_field(dispatcher: str) -> None:
    status, document = await _post(
        dispatcher,
        b'{"source": "s", "kind": "k", "events": []}',
        {"content-type": "application/json"},
    )
    assert status == 400 and "gateway" in document["error"]
    body = json.dumps(
        {"gateway": "streams", "source": "s", "kind": "nats", "events": [{"data_base64": "%%"}]}
    )
    status, document = await _post(dispatcher, body.encode(), {"content-type": "application/json"})
    assert status == 400 and "events[0]: raw event: data_base64" in document["error"]


def _conformance_events() -> list[CloudEvent]:
    events = []
    for name in ("v1.yaml", "v1.0/v1_minimum.yaml"):
        for case in yaml.safe_load_all(
            (SHARED / "cloudevents-conformance" / "yaml" / name).read_text()
        ):
            context = dict(case["ContextAttributes"])
            extensions = context.pop("Extensions", {}) or {}
            attributes = {k: _as_text(v) for k, v in {**context, **extensions}.items()}
            data = case.get("Data")
            events.append(CloudEvent(attributes, None if data is None else data.encode()))
    return events


def _as_text(value: Any) -> str:
    if hasattr(value, "isoformat"):
        return value.isoformat().replace("+00:00", "Z")
    return str(value)


@pytest.mark.parametrize("mode", ["binary", "structured"])
async def test_conformance_cases_pass_through_unchanged(
    dispatcher: str, watcher: RecordingWatcher, mode: str
) -> None:
    cases = _conformance_events()
    assert len(cases) == 8
    for event in cases:
        encode = ce_http.to_binary if mode == "binary" else ce_http.to_structured
        headers, body = encode(event)
        status, document = await _post(dispatcher, body, headers)
        assert status == 200, document
    requests = await watcher.wait_for(len(cases))
    for sent, request in zip(cases, requests, strict=True):
        received = request.event
        assert received is not None, request.event_error
        assert received.attributes == sent.attributes
        if (sent.content_type and "json" in sent.content_type) or sent.content_type is None:
            assert json.loads(received.data or b"null") == json.loads(sent.data or b"null")
        else:
            assert received.data == sent.data


async def test_structured_data_base64_and_batches(
    dispatcher: str, watcher: RecordingWatcher
) -> None:
    document = [
        {
            "specversion": "1.0",
            "id": "b1",
            "source": "/s",
            "type": "t",
            "datacontenttype": "image/png",
            "data_base64": base64.b64encode(b"\x89PNG").decode(),
        },
        {"specversion": "1.0", "id": "b2", "source": "/s", "type": "t", "data": {"a": 1}},
    ]
    status, _ = await _post(
        dispatcher, json.dumps(document).encode(), {"content-type": ce_http.BATCH_TYPE}
    )
    assert status == 200
    events = {r.event.id: r.event for r in await watcher.wait_for(2) if r.event}
    assert events["b1"].data == b"\x89PNG"
    assert events["b2"].json() == {"a": 1}


@pytest.mark.parametrize(
    "event",
    [
        {"data": "\ud800"},
        {"data": "ok", "subject": "\udcff"},
        {"data": "ok", "extensions": {"x": "\ud800"}},
        {"data_base64": "\u0080"},
        {"data": "ok", "contenttype": "\u001f"},
    ],
    ids=["data", "subject", "extension", "data_base64", "contenttype"],
)
async def test_text_that_is_not_unicode_or_a_media_type_is_a_400(
    dispatcher: str, watcher: RecordingWatcher, event: dict[str, Any]
) -> None:
    body = json.dumps({"gateway": "streams", "source": "s", "kind": "nats", "events": [event]})
    status, answer = await _post(dispatcher, body.encode(), {"content-type": "application/json"})
    if "contenttype" in event:  # a transport's broken content type: sniffed, delivered
        assert status == 200, answer
        (request,) = await watcher.wait_for(1)
        assert request.headers["content-type"] == "text/plain; charset=utf-8"
    else:
        assert status == 400, answer
        assert "events[0]: raw event:" in answer["error"]


async def test_without_a_registry_it_serves_the_admin_endpoints(
    watcher: RecordingWatcher,
) -> None:
    settings = Settings(admin_port=free_port(), watchers=(watcher.url,))
    app = DispatcherFunction(settings)
    await app.startup()
    try:
        async with aiohttp.ClientSession() as session:
            for path in ("/healthz", "/readyz", "/metrics", "/status"):
                url = f"http://127.0.0.1:{settings.admin_port}{path}"
                async with session.get(url) as reply:
                    assert reply.status == 200, path
    finally:
        await app.shutdown()


async def test_its_status_page_counts_what_it_dispatched(tmp_path: Path, make_watcher: Any) -> None:
    """The events adapters hand over, and those passed through, are counted where delivered."""
    watcher = await make_watcher()
    listener, app = await _serve(tmp_path, [watcher.url], {"retry": 0})
    try:
        raws = [RawEvent(b"1", id="s/1"), RawEvent(b"2", id="s/2")]
        status, _ = await _post(
            listener.url, _raw_batch(*raws), {"content-type": "application/json"}
        )
        assert status == 200
        headers = {"ce-specversion": "1.0", "ce-type": "t", "ce-source": "/x", "ce-id": "pass-1"}
        assert (await _post(listener.url, b"x", headers))[0] == 200
        log = app.dispatcher.recorder.log("streams", "orders")
        assert log is not None and (log.received, log.delivered, log.failed) == (2, 2, 0)
        passed = app.dispatcher.recorder.log("-", "passed-through")
        assert passed is not None and passed.delivered == 1
    finally:
        await listener.stop()
        await app.shutdown()
    assert len(watcher.requests) == 3
