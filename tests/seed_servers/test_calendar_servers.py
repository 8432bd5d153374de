"""The gateway client against Argo Events' own v0.10 and v0.12 calendar gateway servers.

Each server runs unmodified, in a network namespace holding only loopback, reached through a
Unix socket (seedkit.py). The client is told nothing but the server's address: it finds the
generation out itself (v0.10 by its refusal naming the version, v0.12 by its lack of the
acknowledged stream), except where a test names it.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from cloudevents.http import from_http

from gateways.adapter.remote import RemoteServers
from gateways.runtime import GatewayRuntime
from gateways.settings import Settings
from tests.adapter.kit import FAST_DELIVERY
from tests.kit import (
    REFERENCE_DATA,
    GatewaysUp,
    configmap,
    free_port,
    status_of,
    wait_until,
    wait_until_async,
    write_registry,
)
from tests.seed_servers.conftest import StartSeed
from tests.seed_servers.seedkit import SeedServer
from tests.watcher import RecordingWatcher

SERVER = "gateways.dev/event-source-server"
VERSIONS = ["v0.10", "v0.12"]
# Each release's reason for a source with neither schedule nor interval.
NEITHER = {
    "v0.10": "failed to validate event source. err: must have either schedule or interval",
    "v0.12": "must have either schedule or interval",
}


def calendar_gateway(
    server: SeedServer, sources: Mapping[str, str], watcher: RecordingWatcher
) -> dict[str, Any]:
    document = configmap("calendar-gateway", "calendar", sources, [watcher.url], FAST_DELIVERY)
    document["metadata"]["annotations"][SERVER] = server.address
    return document


@pytest.fixture
async def runtimes() -> AsyncIterator[list[GatewayRuntime]]:
    started: list[GatewayRuntime] = []
    yield started
    for runtime in started:
        await runtime.stop()


async def run(tmp_path: Path, document: dict[str, Any], into: list[GatewayRuntime]) -> Path:
    registry = write_registry(tmp_path / "registry.yaml", document)
    runtime = GatewayRuntime(
        Settings(registry_file=registry, admin_port=free_port()), remote=RemoteServers()
    )
    into.append(runtime)
    await runtime.start()
    return registry


@pytest.mark.parametrize("version", VERSIONS)
async def test_the_servers_own_reasons_refuse_bad_sources_and_good_ones_run(
    version: str,
    tmp_path: Path,
    seed_server: StartSeed,
    watcher: RecordingWatcher,
    runtimes: list[GatewayRuntime],
) -> None:
    server = await seed_server(version)
    sources = {
        "every-second": "interval: 1s\n",
        "neither": "timezone: UTC\n",
        "bad-interval": "interval: soon\n",
    }
    await run(tmp_path, calendar_gateway(server, sources, watcher), runtimes)
    runtime = runtimes[0]
    await wait_until(lambda: status_of(runtime, "neither").state == "failed", timeout=15)
    assert status_of(runtime, "neither").reason.startswith(f"calendar/neither: {NEITHER[version]}")
    await wait_until(lambda: status_of(runtime, "bad-interval").state == "failed")
    assert 'time: invalid duration "soon"' in status_of(runtime, "bad-interval").reason
    await wait_until(lambda: len(watcher.events) >= 2, timeout=15)
    assert status_of(runtime, "every-second").state == "running"


@pytest.mark.parametrize("version", VERSIONS)
async def test_the_seed_eras_calendar_configmap_runs_under_gateways_up(
    version: str, tmp_path: Path, seed_server: StartSeed, watcher: RecordingWatcher
) -> None:
    """The v0.10 example ConfigMap, as the seed era shipped it, plus the server's address."""
    server = await seed_server(version)
    document = yaml.safe_load(
        (REFERENCE_DATA / "argo-events-v0.10-examples/calendar.yaml").read_text()
    )
    document["metadata"]["annotations"] = {SERVER: server.address}
    if version != "v0.10":  # the ConfigMap's label says v0.10; this server is v0.12
        document["metadata"]["annotations"][SERVER] = (
            f"{{address: '{server.address}', protocol: {version}}}"
        )
    document["metadata"]["annotations"]["gateways.dev/watchers"] = yaml.safe_dump([watcher.url])
    registry = write_registry(tmp_path / "calendar.yaml", document)
    async with GatewaysUp(registry, "--type", "calendar") as gateway:
        await wait_until(lambda: bool(watcher.requests), timeout=25)
        sources = await gateway.sources()
    interval = sources["example-with-interval"]
    assert interval["state"] == "running" and interval["kind"] == "calendar"
    request = watcher.requests[0]
    event = from_http(dict(request.headers), request.body)  # the CloudEvents SDK's reading
    assert event["specversion"] == "1.0"
    assert event["type"] == "dev.gateways.calendar.event"
    name = event["source"].rsplit("/", 1)[-1]
    assert event["source"] == f"/gateways/calendar-event-source/{name}"
    assert name in ("example-with-interval", "schedule-in-specific-timezone")
    assert event["subject"] == name
    assert event["datacontenttype"] == "application/json"
    payload = event.get_data()
    payload = json.loads(payload) if isinstance(payload, bytes | str) else payload
    assert set(payload) == {"eventTime", "userPayload"}


@pytest.mark.parametrize("version", VERSIONS)
async def test_a_killed_server_is_reconnected_once_it_is_back(
    version: str,
    tmp_path: Path,
    seed_server: StartSeed,
    watcher: RecordingWatcher,
    runtimes: list[GatewayRuntime],
) -> None:
    server = await seed_server(version)
    sources = {"ticks": "interval: 1s\nbackoff: {duration: 200ms, factor: 1, jitter: 0}\n"}
    await run(tmp_path, calendar_gateway(server, sources, watcher), runtimes)
    runtime = runtimes[0]
    await wait_until(lambda: len(watcher.events) >= 1, timeout=15)
    server.kill_server()
    await wait_until(lambda: status_of(runtime, "ticks").state == "degraded", timeout=15)
    before = len(watcher.events)
    await server.start_server_again()
    await wait_until(lambda: len(watcher.events) >= before + 2, timeout=20)
    assert status_of(runtime, "ticks").state == "running"


@pytest.mark.parametrize("version", VERSIONS)
async def test_a_registry_edit_restarts_the_stream_with_the_new_config(
    version: str,
    tmp_path: Path,
    seed_server: StartSeed,
    watcher: RecordingWatcher,
    runtimes: list[GatewayRuntime],
) -> None:
    server = await seed_server(version)
    first = {"ticks": 'interval: 1s\nuserPayload: {"edit": 1}\n'}
    registry = await run(tmp_path, calendar_gateway(server, first, watcher), runtimes)
    await wait_until(
        lambda: any(e.json()["userPayload"] == {"edit": 1} for e in watcher.events), timeout=15
    )
    second = {"ticks": 'interval: 1s\nuserPayload: {"edit": 2}\n'}
    write_registry(registry, calendar_gateway(server, second, watcher))
    await wait_until(
        lambda: any(e.json()["userPayload"] == {"edit": 2} for e in watcher.events), timeout=15
    )
    edited = next(i for i, e in enumerate(watcher.events) if e.json()["userPayload"] == {"edit": 2})
    assert all(e.json()["userPayload"] == {"edit": 2} for e in watcher.events[edited:])


async def test_the_status_page_names_the_server_a_source_runs_on(
    tmp_path: Path, seed_server: StartSeed, watcher: RecordingWatcher
) -> None:
    server = await seed_server("v0.10")
    registry = write_registry(
        tmp_path / "registry.yaml", calendar_gateway(server, {"ticks": "interval: 1s\n"}, watcher)
    )
    async with GatewaysUp(registry) as gateway:

        async def running() -> bool:
            return (await gateway.sources()).get("ticks", {}).get("state") == "running"

        await wait_until_async(running, timeout=15)
        assert (await gateway.sources())["ticks"]["address"] == server.address
