"""Direct (the Dispatcher in-process) and http (the dispatcher function): the same CloudEvents.

In http mode the adapter's K_SINK is still a CloudEvents destination: it gets, from the adapter
itself, the events too large for any request to the dispatcher function.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from nats.aio.client import Client

from gateways.adapter import AdapterRuntime, AdapterSettings
from gateways.adapter.invoker import DispatcherInvoker
from gateways.delivery import Deliverer, Watcher
from gateways.dispatch import Dispatcher
from gateways.source import Origin, RawEvent
from tests.adapter.kit import DispatcherService, nats_registry, wait_for_state
from tests.conftest import MakeWatcher
from tests.kit import free_port, unique, wait_until
from tests.servicekit import NatsService
from tests.watcher import RecordingWatcher

ORIGIN = Origin("streams", "orders", "nats")
RAWS = [
    RawEvent(
        payload=b'{"order": 7}',
        id="ORDERS:7",
        subject="orders.created",
        time=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        action="message",
        extensions={"natsstream": "ORDERS", "natsheaders": '{"x-a":"b c"}'},
        headers={"x-a": "b c"},
        binding="nats",
    ),
    RawEvent(
        payload=b"\x00\x01binary",
        id="bin-1",
        content_type="application/octet-stream",
        time=datetime(2026, 1, 2, 3, 4, 6, tzinfo=UTC),
    ),
    RawEvent(
        payload=b'{"paid": true}',
        content_type="application/json",
        headers={
            "ce-specversion": "1.0",
            "ce-id": "upstream-1",
            "ce-source": "/billing",
            "ce-type": "com.example.paid",
        },
        binding="nats",
    ),
]


async def test_both_modes_make_the_same_cloudevents(
    tmp_path: Path, make_watcher: MakeWatcher
) -> None:
    direct_watcher, http_watcher = await make_watcher(), await make_watcher()

    dispatcher = Dispatcher()
    dispatcher.set_deliverer(ORIGIN.gateway, Deliverer([Watcher(direct_watcher.url)]))
    emit = dispatcher.emitter(ORIGIN)
    for raw in RAWS:
        await emit(raw)
    await dispatcher.close()

    registry = nats_registry(tmp_path / "registry.yaml", {}, http_watcher.url, ORIGIN.gateway)
    service = await DispatcherService(registry).start()
    invoker = DispatcherInvoker(service.url, linger=0.0)
    try:
        emit = invoker.emitter(ORIGIN)
        for raw in RAWS:
            await emit(raw)
    finally:
        await invoker.close()
        await service.stop()

    direct = [r.event for r in direct_watcher.requests]
    over_http = [r.event for r in http_watcher.requests]
    assert len(direct) == len(over_http) == len(RAWS)
    for one, other in zip(direct, over_http, strict=True):
        assert one is not None and other is not None
        assert one.attributes == other.attributes
        assert one.data == other.data
    assert [e.id for e in direct if e] == ["ORDERS:7", "bin-1", "upstream-1"]


@pytest.mark.nats
async def test_in_http_mode_k_sink_gets_what_no_request_to_the_dispatcher_can_carry(
    tmp_path: Path, nats_service: NatsService, client: Client, make_watcher: MakeWatcher
) -> None:
    gateway_watcher, k_sink = await make_watcher(), await make_watcher()
    subject = unique("ksink-http.")
    registry = nats_registry(
        tmp_path / "registry.yaml",
        {"orders": {"url": nats_service.url, "subject": subject}},
        gateway_watcher.url,
    )
    dispatcher = await DispatcherService(registry).start()
    settings = AdapterSettings.from_env(
        "nats",
        {
            "GATEWAYS_REGISTRY_FILE": str(registry),
            "GATEWAYS_ADMIN_PORT": str(free_port()),
            "GATEWAYS_DISPATCHER_URL": dispatcher.url,
            "GATEWAYS_MAX_REQUEST_BYTES": "4096",
            "K_SINK": k_sink.url,
        },
    )
    assert settings.dispatch == "http"
    adapter = AdapterRuntime(settings)
    await adapter.start()
    small, large = {"size": "small"}, {"size": "large", "fill": "x" * 20_000}

    def sizes(watcher: RecordingWatcher) -> set[str]:
        return {e.json()["size"] for e in watcher.events}

    async def publish_until(body: dict[str, str], arrived: Callable[[], bool]) -> None:
        # Core NATS drops what is published before the subscription exists: publish again.
        async with asyncio.timeout(20):
            while True:
                await client.publish(subject, json.dumps(body).encode())
                await client.flush()
                try:
                    await wait_until(arrived, timeout=0.5)
                    return
                except TimeoutError:
                    continue

    try:
        await wait_for_state(adapter, "orders", "running")
        await publish_until(small, lambda: "small" in sizes(gateway_watcher))
        await publish_until(large, lambda: "large" in sizes(k_sink))
        await wait_until(lambda: "large" in sizes(gateway_watcher))
    finally:
        await adapter.stop()
        await dispatcher.stop()
    assert sizes(k_sink) == {"large"}  # the small ones went through the dispatcher function
    event = next(e for e in k_sink.events if e.json()["size"] == "large")
    assert event.type == "dev.gateways.nats.message" and event.source == "/gateways/streams/orders"
