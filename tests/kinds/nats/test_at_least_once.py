"""At least once with JetStream: whatever fails on the way, every message arrives afterwards.

Duplicates are allowed (and counted); a lost message is not.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nats
import pytest
from nats.aio.client import Client
from prometheus_client import REGISTRY

from tests.adapter.kit import (
    FAST_BACKOFF,
    DispatcherService,
    nats_registry,
    start_adapter,
    status,
    wait_for_state,
)
from tests.kinds.nats.server import NatsServer, jetstream_stream, publish
from tests.kit import unique, wait_until
from tests.servicekit import NatsService
from tests.watcher import RecordingWatcher

pytestmark = pytest.mark.nats


def accepted_ids(watcher: RecordingWatcher) -> list[str]:
    return [r.event.id for r in watcher.requests if r.status == 200 and r.event is not None]


def failed_events(gateway: str) -> float:
    labels = {"kind": "nats", "gateway": gateway, "source": "orders"}
    return REGISTRY.get_sample_value("gateways_adapter_events_failed_total", labels) or 0.0


def jetstream_source(url: str, stream: str, subject: str, **jet_stream: Any) -> dict[str, Any]:
    return {
        "url": url,
        "subject": subject,
        "jetStream": {"stream": stream, "durable": "gateway", "deliverPolicy": "all", **jet_stream},
        "backoff": FAST_BACKOFF,
    }


async def test_every_message_arrives_after_the_watcher_refused_for_a_while(
    tmp_path: Path, nats_service: NatsService, client: Client, watcher: RecordingWatcher
) -> None:
    count = 200
    stream, subject = unique("REFUSED"), unique("refused.")
    await jetstream_stream(client, stream, [f"{subject}.>"])
    watcher.answer(*[503] * 150)  # then 200 for ever
    source = jetstream_source(nats_service.url, stream, f"{subject}.>")
    # No retries on the way: a refused event goes back to JetStream, which redelivers it.
    no_retries = {"retry": 0}
    path = tmp_path / "registry.yaml"
    registry = nats_registry(path, {"orders": source}, watcher.url, delivery=no_retries)
    dispatcher = await DispatcherService(registry).start()
    adapter = await start_adapter(registry, dispatcher.url, dispatch_retries=0)
    try:
        await publish(client, f"{subject}.created", count)
        expected = {f"{stream}:{n}" for n in range(1, count + 1)}
        await wait_until(lambda: set(accepted_ids(watcher)) == expected, timeout=60)
    finally:
        await adapter.stop()
        await dispatcher.stop()
    redelivered = [
        r.event
        for r in watcher.requests
        if r.status == 200 and r.event is not None and r.event.attributes["natsdelivered"] != "1"
    ]
    assert redelivered, "some messages must have come back from JetStream"
    duplicates = len(accepted_ids(watcher)) - count
    print(f"{count} messages, {len(redelivered)} redelivered, {duplicates} duplicates")


async def test_every_message_arrives_across_a_dispatcher_restart(
    tmp_path: Path, nats_service: NatsService, client: Client, watcher: RecordingWatcher
) -> None:
    count = 300
    stream, subject = unique("RESTART"), unique("restart.")
    await jetstream_stream(client, stream, [f"{subject}.>"])
    source = jetstream_source(nats_service.url, stream, f"{subject}.>")
    gateway = unique("restart-")  # metrics are per process: keep this test's labels its own
    path = tmp_path / "registry.yaml"
    registry = nats_registry(path, {"orders": source}, watcher.url, gateway)
    dispatcher = await DispatcherService(registry).start()
    watcher.delay = 0.01
    adapter = await start_adapter(registry, dispatcher.url, dispatch_retries=1, max_in_flight=8)
    try:
        await publish(client, f"{subject}.created", count)
        await wait_until(lambda: len(accepted_ids(watcher)) >= 40, timeout=30)
        await dispatcher.stop()  # scale to zero, in the middle of the stream
        # Down until the adapter has felt it: events failed, left to JetStream to redeliver.
        await wait_until(lambda: failed_events(gateway) > 0, timeout=30)
        dispatcher = await DispatcherService(registry, port=dispatcher.port).start()
        expected = {f"{stream}:{n}" for n in range(1, count + 1)}
        await wait_until(lambda: set(accepted_ids(watcher)) == expected, timeout=60)
    finally:
        await adapter.stop()
        await dispatcher.stop()
    assert len(accepted_ids(watcher)) >= count


async def test_a_nats_server_restart_loses_nothing(
    tmp_path: Path, watcher: RecordingWatcher
) -> None:
    count = 300
    server = await NatsServer(tmp_path).start()
    client = await nats.connect(server.url)
    watcher.delay = 0.02  # slow enough that the restart lands mid-stream
    try:
        await jetstream_stream(client, "ORDERS", ["orders.>"])
        await publish(client, "orders.created", count)
        await client.close()
        source = jetstream_source(server.url, "ORDERS", "orders.>", ackWait="2s")
        registry = nats_registry(tmp_path / "registry.yaml", {"orders": source}, watcher.url)
        dispatcher = await DispatcherService(registry).start()
        adapter = await start_adapter(registry, dispatcher.url, max_in_flight=4)
        try:
            await wait_until(lambda: len(accepted_ids(watcher)) >= 30, timeout=30)
            server.stop()
            degraded = await wait_for_state(adapter, "orders", "degraded")
            assert server.url in degraded.reason
            await server.start()
            await wait_for_state(adapter, "orders", "running", timeout=20)
            expected = {f"ORDERS:{n}" for n in range(1, count + 1)}
            await wait_until(lambda: set(accepted_ids(watcher)) == expected, timeout=60)
            found = status(adapter, "orders")
            assert found is not None and found.state == "running"
        finally:
            await adapter.stop()
            await dispatcher.stop()
    finally:
        server.stop()
    print(f"{count} messages, {len(accepted_ids(watcher)) - count} duplicates")
