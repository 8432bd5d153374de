"""The environment a SinkBinding injects, in full: ``K_SINK`` and ``K_CE_OVERRIDES``.

The NATS adapter's own entry point, run as test_ksink_every_kind.py runs every kind, with
``K_CE_OVERRIDES`` set as well: each CloudEvent at the sink carries the override extensions.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.adapter.test_ksink_every_kind import (
    SOURCE,
    _environment,
    _module,
    _nats,
    _parse,
    _state,
)
from tests.kit import configmap, unique, wait_until, write_registry
from tests.watcher import RecordingWatcher

OVERRIDES = {"extensions": {"cluster": "east", "team": "payments"}}


@pytest.mark.nats
async def test_k_ce_overrides_extensions_reach_the_sink(
    request: pytest.FixtureRequest, tmp_path: Path, watcher: RecordingWatcher
) -> None:
    gateway = unique("binding-")
    async with _nats(request, tmp_path) as scenario:
        registry = write_registry(
            tmp_path / "registry.yaml", configmap(gateway, "nats", {SOURCE: scenario.source})
        )
        env = _environment(
            registry, tmp_path, watcher.url, {"K_CE_OVERRIDES": json.dumps(OVERRIDES)}
        )
        log = tmp_path / "adapter.log"
        with log.open("wb") as stderr:
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", _module("nats"), env=env, stderr=stderr
            )
        produced: list[Any] = []
        admin_port = int(env["GATEWAYS_ADMIN_PORT"])
        try:
            await wait_until(lambda: _state(admin_port).startswith("running"), 60)
            async with asyncio.timeout(60):
                while not watcher.requests:
                    produced.append(await scenario.produce(len(produced)))
                    try:
                        await wait_until(lambda: bool(watcher.requests), scenario.every)
                    except TimeoutError:
                        continue
        finally:
            if process.returncode is None:
                process.terminate()
                await asyncio.wait_for(process.wait(), 30)

    event = _parse(watcher.requests[0])
    assert event["source"] == f"/gateways/{gateway}/{SOURCE}"
    assert event["type"] == scenario.type
    assert event["cluster"] == "east" and event["team"] == "payments", log.read_text()[-2000:]
