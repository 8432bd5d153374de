"""Pub/Sub through the whole adapter path, against the pstest server from scripts/services:
a thousand messages, ordering keys, a refusing watcher, an adapter killed mid-stream.

pstest -> adapter (streaming pull) -> HTTP -> dispatcher function -> watcher, on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path
from typing import Any

import pytest
from google.api_core.exceptions import NotFound

from adapters.gcp_pubsub.client import default_subscription
from tests.adapter.kit import DispatcherService, start_adapter
from tests.kinds.gcp_pubsub.conftest import publish, registry, source
from tests.kit import free_port, unique, wait_until
from tests.servicekit import PubsubService
from tests.watcher import RecordingWatcher

pytestmark = [pytest.mark.pubsub, pytest.mark.timeout(180)]
KIND = "gcp-pubsub"


def accepted_ids(watcher: RecordingWatcher) -> list[str]:
    return [r.event.id for r in watcher.requests if r.status == 200 and r.event is not None]


async def test_a_thousand_messages_become_a_thousand_cloudevents(
    tmp_path: Path,
    pubsub_service: PubsubService,
    publisher: Any,
    topic: str,
    watcher: RecordingWatcher,
) -> None:
    count = 1000
    gateway = unique("thousand-")
    path = registry(
        tmp_path / "r.yaml", {"orders": source(pubsub_service, topic)}, watcher.url, gateway
    )
    dispatcher = await DispatcherService(path).start()
    adapter = await start_adapter(path, dispatcher.url, kind=KIND)
    try:
        ids = await asyncio.to_thread(publish, publisher, pubsub_service.project, topic, count)
        requests = await watcher.wait_for(count, timeout=90)
    finally:
        await adapter.stop()
        await dispatcher.stop()
    assert len(watcher.requests) == count  # nothing failed, so nothing came back
    events = {r.event.id: r.event for r in requests if r.event is not None}
    assert set(events) == set(ids) and len(ids) == count
    event = events[ids[7]]
    assert event.type == "dev.gateways.gcp-pubsub.message"
    assert event.source == f"/gateways/{gateway}/orders"
    assert event.attributes["subject"] == topic
    assert event.attributes["number"] == "7"  # an attribute, as an extension
    assert event.attributes["time"].endswith("Z")
    assert event.content_type == "application/json"
    assert event.json() == {"n": 7}
    assert sorted(e.json()["n"] for e in events.values()) == list(range(count))


async def test_messages_of_one_ordering_key_arrive_in_order(
    tmp_path: Path,
    pubsub_service: PubsubService,
    publisher: Any,
    topic: str,
    watcher: RecordingWatcher,
) -> None:
    count = 200
    path = registry(tmp_path / "r.yaml", {"orders": source(pubsub_service, topic)}, watcher.url)
    dispatcher = await DispatcherService(path).start()
    adapter = await start_adapter(path, dispatcher.url, kind=KIND, max_in_flight=64)
    try:
        ids = await asyncio.to_thread(
            publish, publisher, pubsub_service.project, topic, count, ordering_key="customer-1"
        )
        requests = await watcher.wait_for(count, timeout=60)
    finally:
        await adapter.stop()
        await dispatcher.stop()
    assert [r.event.id for r in requests if r.event] == ids  # one at a time, in order
    assert {r.event.attributes["pubsuborderingkey"] for r in requests if r.event} == {"customer-1"}


async def test_every_message_arrives_after_the_watcher_refused_for_a_while(
    tmp_path: Path,
    pubsub_service: PubsubService,
    publisher: Any,
    topic: str,
    watcher: RecordingWatcher,
) -> None:
    count = 200
    watcher.answer(*[503] * 150)  # then 200 for ever
    no_retries = {"retry": 0}
    path = registry(
        tmp_path / "r.yaml",
        {"orders": source(pubsub_service, topic)},
        watcher.url,
        delivery=no_retries,
    )
    dispatcher = await DispatcherService(path).start()
    adapter = await start_adapter(path, dispatcher.url, kind=KIND, dispatch_retries=0)
    try:
        ids = await asyncio.to_thread(publish, publisher, pubsub_service.project, topic, count)
        await wait_until(lambda: set(accepted_ids(watcher)) == set(ids), timeout=90)
    finally:
        await adapter.stop()
        await dispatcher.stop()
    refused = [r for r in watcher.requests if r.status == 503]
    assert len(refused) == 150  # each of them came back from Pub/Sub and got through
    print(f"{count} messages, {len(accepted_ids(watcher)) - count} duplicates")


async def test_an_adapter_killed_mid_stream_loses_nothing(
    tmp_path: Path,
    pubsub_service: PubsubService,
    publisher: Any,
    topic: str,
    watcher: RecordingWatcher,
) -> None:
    count = 300
    watcher.delay = 0.02  # slow enough that the kill lands mid-stream
    gateway = unique("killed-")
    path = registry(
        tmp_path / "r.yaml", {"orders": source(pubsub_service, topic)}, watcher.url, gateway
    )
    dispatcher = await DispatcherService(path).start()
    env = {
        **os.environ,
        "GATEWAYS_REGISTRY_FILE": str(path),
        "GATEWAYS_DISPATCH": "http",
        "GATEWAYS_DISPATCHER_URL": dispatcher.url,
        "GATEWAYS_MAX_IN_FLIGHT": "8",
    }
    env.pop("K_SINK", None)
    log = tmp_path / "adapter.log"

    async def adapter() -> asyncio.subprocess.Process:
        env["GATEWAYS_ADMIN_PORT"] = str(free_port())
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "adapters.gcp_pubsub", env=env, stderr=log.open("ab")
        )

    process = await adapter()
    subscriber = pubsub_service.subscriber()
    subscription = subscriber.subscription_path(
        pubsub_service.project, default_subscription(gateway, "orders")
    )

    def subscribed() -> bool:  # what is published before the subscription exists is not kept
        try:
            subscriber.get_subscription(subscription=subscription, timeout=2)
        except NotFound:
            return False
        return True

    try:
        await wait_until(subscribed, timeout=30)
        ids = await asyncio.to_thread(publish, publisher, pubsub_service.project, topic, count)
        await wait_until(lambda: len(accepted_ids(watcher)) >= 40, timeout=30)
        process.send_signal(signal.SIGKILL)
        await process.wait()
        killed_at = len(accepted_ids(watcher))
        assert killed_at < count, "the kill must land mid-stream"
        process = await adapter()  # the same subscription: unacked messages come back
        await wait_until(lambda: set(accepted_ids(watcher)) == set(ids), timeout=120)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        await dispatcher.stop()
        subscriber.close()
    print(f"killed after {killed_at}; {len(accepted_ids(watcher)) - count} duplicates")
