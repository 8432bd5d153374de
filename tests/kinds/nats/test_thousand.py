"""1,000 NATS messages through the whole adapter path arrive as 1,000 CloudEvents.

NATS (JetStream) -> event-source server -> gRPC -> gateway client -> HTTP -> dispatcher
function -> watcher, every piece real and on 127.0.0.1.
"""

from __future__ import annotations

import json
from pathlib import Path

import aiohttp
import pytest
from nats.aio.client import Client

from tests.adapter.kit import FAST_BACKOFF, DispatcherService, nats_registry, start_adapter
from tests.kinds.nats.server import jetstream_stream, publish
from tests.kit import unique
from tests.servicekit import NatsService
from tests.watcher import RecordingWatcher

pytestmark = pytest.mark.nats
COUNT = 1000


async def test_a_thousand_messages_become_a_thousand_cloudevents(
    tmp_path: Path, nats_service: NatsService, client: Client, watcher: RecordingWatcher
) -> None:
    stream, subject = unique("THOUSAND"), unique("thousand.")
    await jetstream_stream(client, stream, [f"{subject}.>"])
    source = {
        "url": nats_service.url,
        "subject": f"{subject}.>",
        "jetStream": {"stream": stream, "durable": "gateway", "deliverPolicy": "all"},
        "backoff": FAST_BACKOFF,
    }
    gateway = unique("thousand-")  # metrics are per process: keep this test's labels its own
    registry = nats_registry(tmp_path / "registry.yaml", {"orders": source}, watcher.url, gateway)
    dispatcher = await DispatcherService(registry).start()
    adapter = await start_adapter(registry, dispatcher.url)
    try:
        await publish(client, f"{subject}.created", COUNT, origin="test")
        requests = await watcher.wait_for(COUNT, timeout=60)
        admin = f"http://127.0.0.1:{adapter.settings.base.admin_port}"
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{admin}/readyz") as ready:
                assert ready.status == 200
            async with session.get(f"{admin}/metrics") as reply:
                metrics = await reply.text()
    finally:
        await adapter.stop()
        await dispatcher.stop()

    assert len(watcher.requests) == COUNT  # nothing failed, so nothing was redelivered
    events = [r.event for r in requests]
    assert all(e is not None for e in events)
    by_id = {e.id: e for e in events if e is not None}
    assert set(by_id) == {f"{stream}:{sequence}" for sequence in range(1, COUNT + 1)}

    event = by_id[f"{stream}:1"]
    assert event.attributes["specversion"] == "1.0"
    assert event.type == "dev.gateways.nats.message"
    assert event.source == f"/gateways/{gateway}/orders"
    assert event.attributes["subject"] == f"{subject}.created"
    assert event.attributes["time"].endswith("Z")
    assert event.content_type == "application/json"
    assert event.attributes["natsstream"] == stream
    assert event.attributes["natssequence"] == "1"
    assert event.attributes["natsconsumer"] == "gateway"
    assert event.attributes["natsdelivered"] == "1"
    assert json.loads(event.attributes["natsheaders"]) == {"x-number": "0", "origin": "test"}
    assert event.json() == {"n": 0}  # JSON data travels as JSON
    numbers = sorted(e.json()["n"] for e in by_id.values())
    assert numbers == list(range(COUNT))
    assert requests[0].headers["ce-specversion"] == "1.0"  # binary mode

    labels = f'gateway="{gateway}",kind="nats",source="orders"'
    assert f"gateways_adapter_events_delivered_total{{{labels}}} {COUNT:.1f}" in metrics
    assert f"gateways_adapter_events_in_flight{{{labels}}} 0.0" in metrics
    assert "gateways_adapter_delivery_latency_seconds_bucket" in metrics
