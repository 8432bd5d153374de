"""1,000 SQS messages through the whole adapter path arrive as 1,000 CloudEvents, and the queue
is empty afterwards (each deleted once delivered).

ElasticMQ -> event-source server -> gRPC -> gateway client -> HTTP -> dispatcher function ->
watcher, every piece real and on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest

from tests.adapter.kit import FAST_DELIVERY, DispatcherService, start_adapter
from tests.kinds.aws_sqs.kit import Queues, source
from tests.kit import configmap, unique, wait_until, write_registry
from tests.watcher import RecordingWatcher

pytestmark = [pytest.mark.sqs, pytest.mark.timeout(120)]
COUNT = 1000


async def test_a_thousand_messages_become_a_thousand_cloudevents(
    tmp_path: Path, queues: Queues, watcher: RecordingWatcher
) -> None:
    queue = queues.make()
    ids = await asyncio.to_thread(queues.send, queue, range(COUNT), origin="test")
    gateway = unique("sqs-thousand-")  # metrics are per process: keep this test's labels its own
    registry = write_registry(
        tmp_path / "registry.yaml",
        configmap(
            gateway,
            "aws-sqs",
            {"orders": source(queues.service, queue)},
            watchers=[watcher.url],
            delivery=FAST_DELIVERY,
        ),
    )
    dispatcher = await DispatcherService(registry).start()
    adapter = await start_adapter(registry, dispatcher.url, kind="aws-sqs")
    try:
        requests = await watcher.wait_for(COUNT, timeout=60)
        await wait_until(lambda: queues.left(queue) == 0, timeout=20)  # every one deleted
        admin = f"http://127.0.0.1:{adapter.settings.base.admin_port}"
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{admin}/readyz") as ready:
                assert ready.status == 200
            async with session.get(f"{admin}/metrics") as reply:
                metrics = await reply.text()
    finally:
        await adapter.stop()
        await dispatcher.stop()

    assert len(watcher.requests) == COUNT  # nothing failed, so nothing came twice
    events = [r.event for r in requests]
    assert all(e is not None for e in events)
    by_id = {e.id: e for e in events if e is not None}
    assert set(by_id) == set(ids)

    event = by_id[ids[0]]
    assert event.attributes["specversion"] == "1.0"
    assert event.type == "dev.gateways.aws-sqs.message"
    assert event.source == f"/gateways/{gateway}/orders"
    assert event.attributes["subject"] == queue
    assert event.attributes["time"].endswith("Z")
    assert event.attributes["sqsqueue"] == queue
    assert event.attributes["sqsreceivecount"] == "1"
    assert event.attributes["origin"] == "test"  # a message attribute
    assert event.json() == {"n": 0}
    numbers = sorted(e.json()["n"] for e in by_id.values())
    assert numbers == list(range(COUNT))
    assert requests[0].headers["ce-specversion"] == "1.0"  # binary mode

    labels = f'gateway="{gateway}",kind="aws-sqs",source="orders"'
    assert f"gateways_adapter_events_delivered_total{{{labels}}} {COUNT:.1f}" in metrics
    assert f"gateways_adapter_events_in_flight{{{labels}}} 0.0" in metrics
