"""Requests to the dispatcher stay within GATEWAYS_MAX_REQUEST_BYTES: a batch is split to fit,
and an event no request can carry is delivered by the adapter itself with the gateway's own
watchers and delivery spec, or fails with the reason (never retried for ever).

The real dispatcher function is served over HTTP with the same limit.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from functions.dispatcher.app import DispatcherFunction
from gateways.adapter.invoker import DispatcherInvoker, EventTooLargeError
from gateways.dispatch import Dispatcher
from gateways.hosting.server import Listener
from gateways.registry.file import load_file
from gateways.settings import Settings
from gateways.source import Origin, RawEvent
from tests.conftest import MakeWatcher
from tests.kit import configmap, free_port, write_registry
from tests.watcher import RecordingWatcher

LIMIT = 1 << 20
ORIGIN = Origin("streams", "big", "nats")


@pytest.fixture
def registry(tmp_path: Path, watcher: RecordingWatcher) -> Path:
    return write_registry(
        tmp_path / "registry.yaml",
        configmap("streams", "nats", {}, watchers=[watcher.url], delivery={"retry": 0}),
    )


@pytest.fixture
async def dispatcher(registry: Path) -> AsyncIterator[str]:
    settings = Settings(registry_file=registry, admin_port=free_port(), max_request_bytes=LIMIT)
    app = DispatcherFunction(settings)
    await app.startup()
    listener = Listener(app)
    await listener.start()
    yield listener.url
    await listener.stop()
    await app.shutdown()


def payload(n: int, size: int) -> RawEvent:
    return RawEvent(payload=json.dumps({"n": n, "fill": "x" * size}).encode(), id=f"e{n}")


async def test_two_700_kb_events_go_in_two_requests_within_the_limit(
    dispatcher: str, watcher: RecordingWatcher
) -> None:
    invoker = DispatcherInvoker(dispatcher, linger=0.05, max_request_bytes=LIMIT)
    emit = invoker.emitter(ORIGIN)
    try:
        await asyncio.gather(emit(payload(1, 700_000)), emit(payload(2, 700_000)))
    finally:
        await invoker.close()
    received = await watcher.wait_for(2)
    assert sorted(r.event.id for r in received if r.event) == ["e1", "e2"]


async def test_a_batch_is_split_to_fit(make_watcher: MakeWatcher) -> None:
    recording = await make_watcher()
    invoker = DispatcherInvoker(recording.url, linger=0.05, max_request_bytes=64 * 1024)
    emit = invoker.emitter(ORIGIN)
    try:
        await asyncio.gather(*(emit(payload(n, 10_000)) for n in range(20)))
    finally:
        await invoker.close()
    sizes = [len(r.body) for r in recording.requests]
    assert len(sizes) > 1 and max(sizes) <= 64 * 1024
    sent = [e["id"] for r in recording.requests for e in json.loads(r.body)["events"]]
    assert sorted(sent) == sorted(f"e{n}" for n in range(20))


async def test_an_oversized_event_fails_with_the_reason_and_is_not_sent(
    make_watcher: MakeWatcher,
) -> None:
    recording = await make_watcher()
    invoker = DispatcherInvoker(recording.url, max_request_bytes=64 * 1024)
    try:
        with pytest.raises(EventTooLargeError, match="over GATEWAYS_MAX_REQUEST_BYTES"):
            await invoker.emitter(ORIGIN)(payload(1, 100_000))
    finally:
        await invoker.close()
    assert recording.requests == []


async def test_an_oversized_event_is_delivered_directly_to_the_gateways_watchers(
    dispatcher: str, registry: Path, watcher: RecordingWatcher
) -> None:
    small = 256 * 1024  # the recording watcher itself takes at most 1 MiB
    invoker = DispatcherInvoker(dispatcher, max_request_bytes=small, direct=Dispatcher())
    gateways, problems = load_file(registry)
    assert not problems
    await invoker.configure(gateways[0])
    try:
        await invoker.emitter(ORIGIN)(payload(1, 500_000))
    finally:
        await invoker.close()
    (request,) = await watcher.wait_for(1)
    assert request.event is not None and request.event.id == "e1"
    assert len(request.body) > small


async def test_the_dispatcher_refuses_a_request_over_its_limit_with_413(dispatcher: str) -> None:
    invoker = DispatcherInvoker(dispatcher, max_request_bytes=4 * LIMIT, retries=3)
    try:
        with pytest.raises(Exception, match="HTTP 413"):
            await invoker.emitter(ORIGIN)(payload(1, 2_000_000))
    finally:
        await invoker.close()
