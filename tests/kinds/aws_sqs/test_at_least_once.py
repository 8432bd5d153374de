"""At least once against ElasticMQ: a message is deleted only after delivery. A watcher that
refuses for a while, and an adapter killed with SIGKILL mid-stream and started again, lose
nothing (duplicates are allowed and counted); a FIFO queue's groups arrive in order."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from tests.adapter.kit import DispatcherService, start_adapter
from tests.kinds.aws_sqs.kit import Queues, source
from tests.kit import configmap, free_port, unique, wait_until, write_registry
from tests.watcher import RecordingWatcher

pytestmark = [pytest.mark.sqs, pytest.mark.timeout(180)]
NO_RETRIES = {"retry": 0}  # a refused event goes back to SQS, which hands it out again


def accepted(watcher: RecordingWatcher) -> list[Any]:
    return [r.event for r in watcher.requests if r.status == 200 and r.event is not None]


def accepted_ids(watcher: RecordingWatcher) -> set[str]:
    return {e.id for e in accepted(watcher)}


def registry(path: Path, sources: dict[str, Any], watcher: RecordingWatcher) -> Path:
    document = configmap(
        unique("sqs-"), "aws-sqs", sources, watchers=[watcher.url], delivery=NO_RETRIES
    )
    return write_registry(path, document)


async def test_every_message_arrives_after_the_watcher_refused_for_a_while(
    tmp_path: Path, queues: Queues, watcher: RecordingWatcher
) -> None:
    count = 200
    queue = queues.make()
    ids = set(await asyncio.to_thread(queues.send, queue, range(count)))
    watcher.answer(*[503] * 150)  # then 200 for ever
    path = registry(tmp_path / "registry.yaml", {"orders": source(queues.service, queue)}, watcher)
    dispatcher = await DispatcherService(path).start()
    adapter = await start_adapter(path, dispatcher.url, kind="aws-sqs", dispatch_retries=0)
    try:
        await wait_until(lambda: accepted_ids(watcher) == ids, timeout=60)
        await wait_until(lambda: queues.left(queue) == 0, timeout=20)
    finally:
        await adapter.stop()
        await dispatcher.stop()
    refused = [r for r in watcher.requests if r.status == 503]
    assert len(refused) == 150
    again = [e for e in accepted(watcher) if e.attributes["sqsreceivecount"] != "1"]
    assert again, "refused messages must have come back from SQS"
    print(f"{count} messages, {len(again)} received again, {len(accepted(watcher)) - count} dup")


async def test_a_fifo_queue_keeps_each_group_in_order_through_refusals(
    tmp_path: Path, queues: Queues, watcher: RecordingWatcher
) -> None:
    per_group = 60
    queue = queues.make(fifo=True)
    groups = ("alpha", "beta", "gamma")
    for group in groups:
        await asyncio.to_thread(queues.send, queue, range(per_group), group=group)
    watcher.answer(*[503] * 40)
    path = registry(tmp_path / "registry.yaml", {"orders": source(queues.service, queue)}, watcher)
    dispatcher = await DispatcherService(path).start()
    adapter = await start_adapter(path, dispatcher.url, kind="aws-sqs", dispatch_retries=0)
    try:
        await wait_until(lambda: len(accepted_ids(watcher)) == per_group * len(groups), 60)
        await wait_until(lambda: queues.left(queue) == 0, timeout=20)
    finally:
        await adapter.stop()
        await dispatcher.stop()
    delivered: dict[str, list[int]] = defaultdict(list)
    for event in accepted(watcher):
        delivered[event.attributes["sqsgroupid"]].append(event.json()["n"])
    assert set(delivered) == set(groups)
    for group in groups:
        assert delivered[group] == list(range(per_group)), group  # in order, each once


async def test_the_adapter_killed_mid_stream_and_restarted_loses_nothing(
    tmp_path: Path, queues: Queues, make_watcher: Any
) -> None:
    count = 600
    watcher = await make_watcher(delay=0.005)
    queue = queues.make()
    ids = set(await asyncio.to_thread(queues.send, queue, range(count)))
    # Received but not deleted when the process dies: visible again after 2 s.
    config = source(queues.service, queue, visibilityTimeout="2s")
    path = registry(tmp_path / "registry.yaml", {"orders": config}, watcher)
    dispatcher = await DispatcherService(path).start()
    env = {
        **os.environ,
        "GATEWAYS_REGISTRY_FILE": str(path),
        "GATEWAYS_DISPATCHER_URL": dispatcher.url,
        "GATEWAYS_STATE_DIR": str(tmp_path / "state"),
        "GATEWAYS_MAX_IN_FLIGHT": "16",
        "GATEWAYS_DISPATCH_RETRIES": "0",
    }

    def adapter() -> subprocess.Popen[bytes]:
        env["GATEWAYS_ADMIN_PORT"] = str(free_port())
        log = (tmp_path / "adapter.log").open("ab")
        return subprocess.Popen(
            [sys.executable, "-m", "adapters.aws_sqs"], env=env, stdout=log, stderr=log
        )

    first = adapter()
    second: subprocess.Popen[bytes] | None = None
    try:
        await wait_until(lambda: len(accepted_ids(watcher)) >= 100, timeout=60)
        first.send_signal(signal.SIGKILL)
        await asyncio.to_thread(first.wait, 10)
        at_kill = len(accepted_ids(watcher))
        assert at_kill < count, "the kill must land mid-stream"
        second = adapter()
        await wait_until(lambda: accepted_ids(watcher) == ids, timeout=90)
        await wait_until(lambda: queues.left(queue) == 0, timeout=20)
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.terminate()
                await asyncio.to_thread(process.wait, 20)
        await dispatcher.stop()
    duplicates = len(accepted(watcher)) - count
    print(f"{count} messages, killed after {at_kill}, {duplicates} delivered twice")
    assert duplicates <= 2 * 16 + 10  # what was in flight or awaiting deletion at the kill
