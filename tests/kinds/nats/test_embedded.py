"""NATS in the embedded default (in-process, direct), the example file, and the adapter's
own entry point (``python -m adapters.streams.nats``) from start to SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from pathlib import Path

import nats
import pytest

from gateways.config import parse_source
from gateways.registry.file import load_file
from tests.adapter.kit import nats_registry
from tests.kit import ROOT, free_port, start_gateway, status_of, unique, wait_until
from tests.servicekit import NatsService
from tests.watcher import RecordingWatcher

EXAMPLE = ROOT / "examples" / "nats.yaml"


def test_the_example_is_valid_and_points_at_local_nats() -> None:
    gateways, problems = load_file(EXAMPLE)
    assert problems == []
    (gateway,) = gateways
    assert gateway.kind == "nats" and "console" in (gateway.watchers or "")
    for entry in gateway.entries.values():
        config = parse_source(entry.kind, entry.name, entry.value)
        assert config.url == "nats://127.0.0.1:4222"
    assert parse_source("nats", "jobs", gateway.entries["jobs"].value).jetstream


@pytest.mark.nats
async def test_the_embedded_default_runs_nats_in_process(
    tmp_path: Path, nats_service: NatsService, watcher: RecordingWatcher
) -> None:
    subject = unique("embedded.")
    source = {"url": nats_service.url, "subject": f"{subject}.*", "queue": "gateways"}
    registry = nats_registry(tmp_path / "registry.yaml", {"orders": source}, watcher.url)
    runtime = await start_gateway(registry, tmp_path)
    client = await nats.connect(nats_service.url)
    try:
        assert status_of(runtime, "orders").state == "running"
        for number in range(20):
            await client.publish(f"{subject}.created", f'{{"n": {number}}}'.encode())
        await client.flush()
        requests = await watcher.wait_for(20, timeout=10)
    finally:
        await client.close()
        await runtime.stop()
    assert sorted(r.event.json()["n"] for r in requests if r.event) == list(range(20))
    assert {r.event.attributes["subject"] for r in requests if r.event} == {f"{subject}.created"}


@pytest.mark.nats
async def test_the_adapter_entry_point_runs_until_sigterm(
    tmp_path: Path, nats_service: NatsService, watcher: RecordingWatcher
) -> None:
    subject = unique("entry.")
    source = {"url": nats_service.url, "subject": subject}
    registry = nats_registry(tmp_path / "registry.yaml", {"orders": source}, watcher.url)
    admin = free_port()
    env = {
        **os.environ,
        "GATEWAYS_REGISTRY_FILE": str(registry),
        "GATEWAYS_ADMIN_PORT": str(admin),
        "GATEWAYS_DISPATCH": "direct",
    }
    env.pop("K_SINK", None)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "adapters.streams.nats", env=env, stderr=asyncio.subprocess.PIPE
    )
    client = await nats.connect(nats_service.url)
    try:

        async def delivered() -> bool:
            # Core NATS drops what is published before the subscription exists: publish again.
            await client.publish(subject, b'{"hello": "adapter"}')
            await client.flush()
            with contextlib.suppress(TimeoutError):
                await wait_until(lambda: bool(watcher.requests), timeout=0.2)
            return bool(watcher.requests)

        async with asyncio.timeout(20):
            while not await delivered():
                pass
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), 20)
    finally:
        await client.close()
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 0, stderr.decode()
    assert b"shutting down" in stderr
    assert watcher.requests[0].event is not None
    assert watcher.requests[0].event.json() == {"hello": "adapter"}
