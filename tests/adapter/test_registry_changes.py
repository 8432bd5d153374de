"""The registry changes while the adapter runs: sources start, stop, and a bad one is refused
with its field while the others keep delivering."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import pytest
from nats.aio.client import Client

from tests.adapter.kit import (
    DispatcherService,
    nats_registry,
    start_adapter,
    status,
    wait_for_state,
)
from tests.kit import unique, wait_until
from tests.servicekit import NatsService
from tests.watcher import RecordingWatcher

pytestmark = pytest.mark.nats


def subjects_seen(watcher: RecordingWatcher) -> list[str]:
    return [r.event.attributes.get("subject", "") for r in watcher.requests if r.event]


async def delivered(client: Client, watcher: RecordingWatcher, subject: str) -> None:
    """Publish to ``subject`` until one message of it reaches the watcher."""

    async def arrived() -> bool:
        # Core NATS drops what is published before the subscription exists: publish again.
        await client.publish(subject, b'{"ping": true}')
        await client.flush()
        with contextlib.suppress(TimeoutError):
            await wait_until(lambda: subject in subjects_seen(watcher), timeout=0.5)
        return subject in subjects_seen(watcher)

    async with asyncio.timeout(10):
        while not await arrived():
            pass


async def test_sources_follow_the_registry(
    tmp_path: Path, nats_service: NatsService, client: Client, watcher: RecordingWatcher
) -> None:
    prefix = unique("registry")
    path = tmp_path / "registry.yaml"

    def source(name: str) -> dict[str, str]:
        return {"url": nats_service.url, "subject": f"{prefix}.{name}"}

    nats_registry(path, {"first": source("first")}, watcher.url)
    dispatcher = await DispatcherService(path).start()
    adapter = await start_adapter(path, dispatcher.url)
    try:
        await wait_for_state(adapter, "first", "running")
        await delivered(client, watcher, f"{prefix}.first")

        # Added at run time: a good source and a bad one.
        bad = {"url": nats_service.url, "subject": f"{prefix}.bad thing"}
        nats_registry(
            path,
            {"first": source("first"), "second": source("second"), "broken": bad},
            watcher.url,
        )
        rejected = await wait_for_state(adapter, "broken", "rejected")
        assert rejected.reason.startswith("nats/broken: subject: ")
        assert "is not a NATS subject" in rejected.reason
        await wait_for_state(adapter, "second", "running")
        await delivered(client, watcher, f"{prefix}.second")
        await delivered(client, watcher, f"{prefix}.first")  # the others keep delivering

        # Removed at run time: its messages go nowhere any more.
        nats_registry(path, {"second": source("second")}, watcher.url)
        await wait_until(lambda: status(adapter, "first") is None)
        before = subjects_seen(watcher).count(f"{prefix}.first")
        await client.publish(f"{prefix}.first", b"{}")
        await delivered(client, watcher, f"{prefix}.second")
        assert subjects_seen(watcher).count(f"{prefix}.first") == before

        # Changed at run time: restarted with the new subject.
        nats_registry(path, {"second": source("renamed")}, watcher.url)
        await delivered(client, watcher, f"{prefix}.renamed")
        found = status(adapter, "second")
        assert found is not None and found.state == "running"
    finally:
        await adapter.stop()
        await dispatcher.stop()
