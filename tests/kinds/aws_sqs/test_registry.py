"""The registry changes while the adapter runs: an SQS source added starts delivering, a bad
one is refused naming its field while the others keep delivering, a removed one stops taking
messages (they stay in its queue), a changed one follows its new queue."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from tests.adapter.kit import (
    FAST_DELIVERY,
    DispatcherService,
    start_adapter,
    status,
    wait_for_state,
)
from tests.kinds.aws_sqs.kit import Queues, source
from tests.kit import configmap, unique, wait_until, write_registry
from tests.watcher import RecordingWatcher

pytestmark = [pytest.mark.sqs, pytest.mark.timeout(120)]


def numbers_from(watcher: RecordingWatcher, queue: str) -> set[int]:
    return {
        r.event.json()["n"]
        for r in watcher.requests
        if r.event is not None and r.event.attributes.get("sqsqueue") == queue
    }


async def test_sources_follow_the_registry(
    tmp_path: Path, queues: Queues, watcher: RecordingWatcher
) -> None:
    path = tmp_path / "registry.yaml"
    gateway = unique("sqs-registry-")
    first, second, renamed = queues.make(), queues.make(), queues.make()

    def write(sources: dict[str, Any]) -> None:
        document = configmap(
            gateway, "aws-sqs", sources, watchers=[watcher.url], delivery=FAST_DELIVERY
        )
        write_registry(path, document)

    async def send(queue: str, *numbers: int) -> None:
        await asyncio.to_thread(queues.send, queue, numbers)

    async def arrived(queue: str, *numbers: int) -> None:
        await wait_until(lambda: set(numbers) <= numbers_from(watcher, queue), timeout=20)

    write({"first": source(queues.service, first)})
    dispatcher = await DispatcherService(path).start()
    adapter = await start_adapter(path, dispatcher.url, kind="aws-sqs")
    try:
        await wait_for_state(adapter, "first", "running")
        await send(first, 1)
        await arrived(first, 1)

        # Added at run time: a good source and a bad one.
        bad = source(queues.service, "whatever", waitTimeSeconds=30)
        write(
            {
                "first": source(queues.service, first),
                "second": source(queues.service, second),
                "broken": bad,
            }
        )
        rejected = await wait_for_state(adapter, "broken", "rejected")
        assert rejected.reason == "aws-sqs/broken: waitTimeSeconds: 30 is more than 20"
        await wait_for_state(adapter, "second", "running")
        await send(second, 2)
        await send(first, 3)
        await arrived(second, 2)
        await arrived(first, 3)  # the others keep delivering

        # Removed at run time: its messages stay in its queue.
        write({"second": source(queues.service, second)})
        await wait_until(lambda: status(adapter, "first") is None)
        await send(first, 4)
        await send(second, 5)
        await arrived(second, 5)
        assert 4 not in numbers_from(watcher, first)
        assert await asyncio.to_thread(queues.left, first) == 1

        # Changed at run time: restarted on the new queue.
        write({"second": source(queues.service, renamed)})
        await send(renamed, 6)
        await arrived(renamed, 6)
        found = status(adapter, "second")
        assert found is not None and found.state == "running"

        # A queue that does not exist: degraded, naming it, and retried until it does.
        missing = unique("gw-later-")
        write({"second": source(queues.service, renamed), "later": source(queues.service, missing)})
        degraded = await wait_for_state(adapter, "later", "degraded")
        assert "no such queue" in degraded.reason and missing in degraded.reason
        await asyncio.to_thread(queues.create, missing)
        await wait_for_state(adapter, "later", "running", timeout=20)
        await send(missing, 7)
        await arrived(missing, 7)
    finally:
        await adapter.stop()
        await dispatcher.stop()
