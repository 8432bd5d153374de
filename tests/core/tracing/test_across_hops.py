"""A W3C ``traceparent`` sent with an event reaches the watcher on the CloudEvent: through the
embedded default (a webhook POST), and through adapter -> dispatcher function -> watcher (a
NATS message's header). Every delivery also carries the W3C headers of its hop."""

from __future__ import annotations

import re
from pathlib import Path

import aiohttp
import pytest
from nats.aio.client import Client

from gateways.events import CloudEvent
from tests.adapter.kit import (
    DispatcherService,
    nats_registry,
    publish_until,
    start_adapter,
    wait_for_state,
)
from tests.conftest import MakeWatcher
from tests.kit import configmap, free_port, start_gateway, unique, write_registry
from tests.servicekit import NatsService
from tests.watcher import Recorded, RecordingWatcher

PARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
STATE = "rojo=00f067aa0ba902b7"
TRACE_ID = PARENT[3:35]
W3C = re.compile(r"00-(?P<trace>[0-9a-f]{32})-(?P<parent>[0-9a-f]{16})-(?P<flags>[0-9a-f]{2})")


def _parsed(value: object) -> re.Match[str]:
    """The traceparent as the watcher received it: version 00, 32-hex trace id, 16-hex id."""
    assert isinstance(value, str)
    match = W3C.fullmatch(value)
    assert match is not None, value
    return match


def _event(recorded: Recorded) -> CloudEvent:
    assert recorded.event is not None, recorded.event_error
    return recorded.event


async def _post(url: str, headers: dict[str, str], body: bytes = b'{"n": 1}') -> int:
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=body, headers=headers) as reply,
    ):
        return reply.status


async def test_a_webhook_posts_traceparent_reaches_the_watcher_through_the_embedded_default(
    tmp_path: Path, make_watcher: MakeWatcher
) -> None:
    binary, structured = await make_watcher(), await make_watcher()
    port = free_port()
    registry = write_registry(
        tmp_path / "registry.yaml",
        configmap(
            "hooks",
            "webhook",
            {"example": {"port": port, "endpoint": "/example"}},
            watchers=[binary.url, {"url": structured.url, "mode": "structured"}],
        ),
    )
    runtime = await start_gateway(registry, tmp_path)
    url = f"http://127.0.0.1:{port}/example"
    try:
        headers = {"content-type": "application/json", "traceparent": PARENT, "tracestate": STATE}
        assert await _post(url, headers) == 200
        assert await _post(url, {"content-type": "application/json"}, b'{"n": 2}') == 200
        sent, started = await binary.wait_for(2), await structured.wait_for(2)
    finally:
        await runtime.stop()

    # Binary mode: the attribute as ce-traceparent, and the hop's W3C headers.
    event = _event(sent[0])
    assert event.attributes["traceparent"] == PARENT
    assert event.attributes["tracestate"] == STATE
    assert sent[0].headers["ce-traceparent"] == PARENT
    assert _parsed(sent[0].headers["traceparent"])["trace"] == TRACE_ID
    assert sent[0].headers["tracestate"] == STATE
    # Structured mode: the attribute in the JSON, and the same W3C headers.
    document = _event(started[0])
    assert document.attributes["traceparent"] == PARENT
    assert _parsed(started[0].headers["traceparent"])["trace"] == TRACE_ID

    # None sent: one is started, the same at both watchers, and it parses.
    fresh = _event(sent[1]).attributes["traceparent"]
    assert _parsed(fresh)["trace"] != TRACE_ID
    assert _event(started[1]).attributes["traceparent"] == fresh
    assert _parsed(sent[1].headers["traceparent"])["trace"] == _parsed(fresh)["trace"]


async def test_an_incoming_cloudevent_keeps_its_own_traceparent(
    tmp_path: Path, watcher: RecordingWatcher
) -> None:
    port = free_port()
    registry = write_registry(
        tmp_path / "registry.yaml",
        configmap("hooks", "webhook", {"ce": {"port": port, "endpoint": "/ce"}}, [watcher.url]),
    )
    own = "00-0af7651916cd43dd8448eb211c80319c-b9c7c989f97918e1-01"
    runtime = await start_gateway(registry, tmp_path)
    try:
        headers = {
            "ce-specversion": "1.0",
            "ce-id": "upstream-1",
            "ce-source": "/billing",
            "ce-type": "com.example.paid",
            "ce-traceparent": own,
            "traceparent": PARENT,  # the hop that brought it: not the event's trace
            "content-type": "application/json",
        }
        assert await _post(f"http://127.0.0.1:{port}/ce", headers) == 200
        (recorded,) = await watcher.wait_for(1)
    finally:
        await runtime.stop()
    assert _event(recorded).id == "upstream-1"
    assert _event(recorded).attributes["traceparent"] == own


@pytest.mark.nats
async def test_a_nats_messages_traceparent_reaches_the_watcher_through_the_dispatcher_function(
    tmp_path: Path, nats_service: NatsService, client: Client, watcher: RecordingWatcher
) -> None:
    subject = unique("traced.")
    registry = nats_registry(
        tmp_path / "registry.yaml",
        {"orders": {"url": nats_service.url, "subject": subject}},
        watcher.url,
    )
    dispatcher = await DispatcherService(registry).start()
    adapter = await start_adapter(registry, dispatcher.url)

    def numbers() -> set[int]:
        return {e.json()["n"] for e in watcher.events}

    async def publish(number: int, headers: dict[str, str]) -> None:
        payload = b'{"n": %d}' % number
        await publish_until(client, subject, payload, lambda: number in numbers(), headers)

    try:
        await wait_for_state(adapter, "orders", "running")
        await publish(1, {"traceparent": PARENT, "tracestate": STATE})
        await publish(2, {})
    finally:
        await adapter.stop()
        await dispatcher.stop()

    traced = next(r for r in watcher.requests if r.event and r.event.json()["n"] == 1)
    event = _event(traced)
    assert event.type == "dev.gateways.nats.message"
    assert event.attributes["traceparent"] == PARENT  # the same trace, across both hops
    assert event.attributes["tracestate"] == STATE
    assert _parsed(traced.headers["traceparent"])["trace"] == TRACE_ID
    untraced = next(r for r in watcher.requests if r.event and r.event.json()["n"] == 2)
    assert _parsed(_event(untraced).attributes["traceparent"])["trace"] != TRACE_ID
