"""The environment a SinkBinding injects, in full: ``K_SINK`` and ``K_CE_OVERRIDES``.

The NATS adapter's own entry point, run as test_ksink_every_kind.py runs every kind, with
``K_CE_OVERRIDES`` set as well: each CloudEvent at the sink carries the override extensions.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.adapter.test_ksink_every_kind import SOURCE, _nats, _parse, run_until_delivered
from tests.kit import unique
from tests.watcher import RecordingWatcher

OVERRIDES = {"extensions": {"cluster": "east", "team": "payments"}}


@pytest.mark.nats
async def test_k_ce_overrides_extensions_reach_the_sink(
    request: pytest.FixtureRequest, tmp_path: Path, watcher: RecordingWatcher
) -> None:
    gateway = unique("binding-")
    overrides = {"K_CE_OVERRIDES": json.dumps(OVERRIDES)}
    async with _nats(request, tmp_path) as scenario:
        _, log = await run_until_delivered("nats", gateway, scenario, tmp_path, watcher, overrides)

    event = _parse(watcher.requests[0])
    assert event["source"] == f"/gateways/{gateway}/{SOURCE}"
    assert event["type"] == scenario.type
    assert event["cluster"] == "east" and event["team"] == "payments", log.read_text()[-2000:]
