"""The registry changes while the Pub/Sub adapter runs: a source is added, a bad one is
refused with its field, a removed one deletes its subscription when configured."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from google.api_core.exceptions import NotFound

from adapters.gcp_pubsub.client import default_subscription
from tests.adapter.kit import DispatcherService, start_adapter, status, wait_for_state
from tests.kinds.gcp_pubsub.conftest import publish, registry, source
from tests.kit import start_gateway, status_of, unique, wait_until
from tests.servicekit import PubsubService
from tests.watcher import RecordingWatcher

pytestmark = [pytest.mark.pubsub, pytest.mark.timeout(90)]
KIND = "gcp-pubsub"


def subjects_seen(watcher: RecordingWatcher) -> list[str]:
    return [r.event.attributes.get("subject", "") for r in watcher.requests if r.event]


async def test_sources_follow_the_registry(
    tmp_path: Path,
    pubsub_service: PubsubService,
    publisher: Any,
    topic: str,
    watcher: RecordingWatcher,
) -> None:
    project = pubsub_service.project
    second = unique("gw-topic-")
    publisher.create_topic(name=publisher.topic_path(project, second))
    gateway = unique("registry-")
    path = tmp_path / "r.yaml"
    first = source(pubsub_service, topic)
    registry(path, {"first": first}, watcher.url, gateway)
    dispatcher = await DispatcherService(path).start()
    adapter = await start_adapter(path, dispatcher.url, kind=KIND)
    try:
        await wait_for_state(adapter, "first", "running")
        await asyncio.to_thread(publish, publisher, project, topic, 3)
        await wait_until(lambda: subjects_seen(watcher).count(topic) == 3, timeout=20)

        # Added at run time: a good source and a bad one (refused, naming its field).
        bad = {"projectID": project, "topic": "no spaces allowed"}
        sources = {"first": first, "second": source(pubsub_service, second), "broken": bad}
        registry(path, sources, watcher.url, gateway)
        rejected = await wait_for_state(adapter, "broken", "rejected")
        assert rejected.reason.startswith("gcp-pubsub/broken: topic: "), rejected.reason
        await wait_for_state(adapter, "second", "running")
        await asyncio.to_thread(publish, publisher, project, second, 2)
        await wait_until(lambda: subjects_seen(watcher).count(second) == 2, timeout=20)

        # Removed at run time: its messages go nowhere any more.
        registry(path, {"second": source(pubsub_service, second)}, watcher.url, gateway)
        await wait_until(lambda: status(adapter, "first") is None, timeout=20)
        await asyncio.to_thread(publish, publisher, project, topic, 2)
        await asyncio.to_thread(publish, publisher, project, second, 1)
        await wait_until(lambda: subjects_seen(watcher).count(second) == 3, timeout=20)
        assert subjects_seen(watcher).count(topic) == 3  # the removed source took nothing
    finally:
        await adapter.stop()
        await dispatcher.stop()


async def test_a_removed_source_deletes_its_subscription_when_configured(
    tmp_path: Path,
    pubsub_service: PubsubService,
    publisher: Any,
    topic: str,
    watcher: RecordingWatcher,
) -> None:
    # In the embedded default: the reconciler tells the source it left the registry. (An
    # adapter's event-source server is not told, so there the subscription stays.)
    gateway = unique("delete-")
    path = tmp_path / "r.yaml"
    kept = source(pubsub_service, topic)
    deleting = source(pubsub_service, topic, deleteSubscriptionOnFinish=True)
    registry(path, {"kept": kept, "deleting": deleting}, watcher.url, gateway)
    subscriber = pubsub_service.subscriber()
    paths = {
        name: subscriber.subscription_path(
            pubsub_service.project, default_subscription(gateway, name)
        )
        for name in ("kept", "deleting")
    }

    def exists(name: str) -> bool:
        try:
            subscriber.get_subscription(subscription=paths[name], timeout=2)
        except NotFound:
            return False
        return True

    runtime = await start_gateway(path, tmp_path)
    try:
        assert status_of(runtime, "deleting").state == "running"
        assert exists("kept") and exists("deleting")
        registry(path, {"kept": kept}, watcher.url, gateway)
        await wait_until(lambda: not exists("deleting"), timeout=20)
        assert exists("kept")
        # A stop that is not a removal (shutting down) keeps the subscription.
        registry(path, {"kept": kept, "deleting": deleting}, watcher.url, gateway)
        await wait_until(lambda: exists("deleting"), timeout=20)
    finally:
        await runtime.stop()
    try:
        assert exists("deleting") and exists("kept")
        for name in paths.values():
            subscriber.delete_subscription(subscription=name)
    finally:
        subscriber.close()


async def test_a_missing_subscription_degrades_naming_the_field(
    tmp_path: Path, pubsub_service: PubsubService, watcher: RecordingWatcher
) -> None:
    missing = {
        "projectID": pubsub_service.project,
        "subscription": unique("gw-missing-"),
        "endpoint": pubsub_service.emulator_host,
    }
    path = registry(tmp_path / "r.yaml", {"orders": missing}, watcher.url)
    adapter = await start_adapter(path, kind=KIND)
    try:
        degraded = await wait_for_state(adapter, "orders", "degraded")
    finally:
        await adapter.stop()
    assert "subscription: no subscription" in degraded.reason, degraded.reason
    assert pubsub_service.emulator_host in degraded.reason
