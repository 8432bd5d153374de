"""Gateways that name their event-source server, spoken to in that server's generation.

The embedded runtime (what ``gateways up`` runs) routes a gateway with the
``gateways.dev/event-source-server`` annotation to that server; the client finds out whether it
is a v0.10-style server (version in field 4) from its refusal, or a v0.12-style one (no
acknowledged stream). The stand-in servers are in seed_fakes.py; the real ones are driven in
tests/seed_servers/.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from gateways.adapter.remote import RemoteServers
from gateways.registry.validate import check_file
from gateways.runtime import GatewayRuntime
from gateways.settings import Settings
from tests.adapter.kit import FAST_DELIVERY
from tests.adapter.seed_fakes import SeedServer
from tests.kit import configmap, free_port, self_signed, status_of, wait_until, write_registry
from tests.watcher import RecordingWatcher

SOURCE = "interval-ms: 30\n"


def seed_configmap(
    server: Mapping[str, Any] | str,
    sources: Mapping[str, str],
    watcher: RecordingWatcher,
    labels: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    document = configmap("seed", "calendar", sources, [watcher.url], FAST_DELIVERY)
    metadata = document["metadata"]
    text = server if isinstance(server, str) else yaml.safe_dump(dict(server))
    metadata["annotations"]["gateways.dev/event-source-server"] = text
    metadata["labels"].update(labels or {})
    return document


@pytest.fixture
async def servers() -> AsyncIterator[list[SeedServer]]:
    started: list[SeedServer] = []
    yield started
    for server in started:
        await server.stop()


async def run(tmp_path: Path, *documents: dict[str, Any], remote: bool = True) -> GatewayRuntime:
    registry = write_registry(tmp_path / "registry.yaml", *documents)
    settings = Settings(registry_file=registry, admin_port=free_port())
    runtime = GatewayRuntime(settings, remote=RemoteServers() if remote else None)
    await runtime.start()
    return runtime


async def test_a_v010_server_is_recognised_by_its_refusal_and_its_events_arrive(
    tmp_path: Path, servers: list[SeedServer], watcher: RecordingWatcher
) -> None:
    server = await SeedServer(version="v0.10").start()
    servers.append(server)
    runtime = await run(tmp_path, seed_configmap(server.address, {"ticks": SOURCE}, watcher))
    try:
        await wait_until(lambda: len(watcher.events) >= 3)
        assert server.seen[:2] == ["calendar", "v0.10"]  # refused once, then its own version
        assert set(server.seen[1:]) == {"v0.10"}
        assert status_of(runtime, "ticks").state == "running"
        assert status_of(runtime, "ticks").address == server.address
    finally:
        await runtime.stop()
    event = watcher.events[0]
    assert event.type == "dev.gateways.calendar.event"  # the declared kind, never a version
    assert event.source == "/gateways/seed/ticks"
    assert event.attributes["subject"] == "ticks"  # the name the seed-era event carries
    assert event.json() == {"n": 1}


async def test_the_seed_era_label_names_the_generation_up_front(
    tmp_path: Path, servers: list[SeedServer], watcher: RecordingWatcher
) -> None:
    server = await SeedServer(version="v0.11").start()
    servers.append(server)
    labels = {"argo-events-event-source-version": "v0.11"}
    document = seed_configmap(server.address, {"ticks": SOURCE}, watcher, labels)
    runtime = await run(tmp_path, document)
    try:
        await wait_until(lambda: len(watcher.events) >= 1)
    finally:
        await runtime.stop()
    assert set(server.seen) == {"v0.11"}


async def test_a_servers_own_reason_refuses_a_source_and_the_others_run(
    tmp_path: Path, servers: list[SeedServer], watcher: RecordingWatcher
) -> None:
    server = await SeedServer(version="v0.10").start()
    servers.append(server)
    sources = {"ticks": SOURCE, "broken": "interval-ms: soon\n"}
    runtime = await run(tmp_path, seed_configmap(server.address, sources, watcher))
    try:
        await wait_until(lambda: status_of(runtime, "broken").state == "failed")
        reason = status_of(runtime, "broken").reason
        assert reason.startswith("calendar/broken: interval-ms must be a number of milliseconds")
        await wait_until(lambda: any(e.source.endswith("/ticks") for e in watcher.events))
    finally:
        await runtime.stop()


async def test_a_v012_server_over_a_unix_socket_gets_the_type_and_the_seed_stream(
    tmp_path: Path, servers: list[SeedServer], watcher: RecordingWatcher
) -> None:
    server = await SeedServer().start(f"unix:{tmp_path / 'seed.sock'}")
    servers.append(server)
    runtime = await run(tmp_path, seed_configmap(server.address, {"ticks": SOURCE}, watcher))
    try:
        await wait_until(lambda: len(watcher.events) >= 2)
    finally:
        await runtime.stop()
    assert set(server.seen) == {"calendar"} and server.streams == 1


async def test_a_server_over_tls_is_trusted_only_with_its_ca(
    tmp_path: Path, servers: list[SeedServer], watcher: RecordingWatcher
) -> None:
    (tmp_path / "server").mkdir()
    (tmp_path / "other").mkdir()
    cert, key = self_signed(tmp_path / "server")
    other, _ = self_signed(tmp_path / "other")
    server = await SeedServer().start(tls=(cert.read_bytes(), key.read_bytes()))
    servers.append(server)
    sources = {"ticks": SOURCE}
    trusted = seed_configmap(
        {"address": server.address, "tls": {"caCertPath": str(cert)}}, sources, watcher
    )
    runtime = await run(tmp_path, trusted)
    try:
        await wait_until(lambda: len(watcher.events) >= 1)
    finally:
        await runtime.stop()
    assert server.streams == 1
    untrusted = seed_configmap(
        {"address": server.address, "tls": {"caCertPath": str(other)}}, sources, watcher
    )
    runtime = await run(tmp_path, untrusted)
    try:
        await wait_until(lambda: status_of(runtime, "ticks").state == "degraded", timeout=20)
    finally:
        await runtime.stop()
    assert server.streams == 1  # nothing was started over a connection it could not trust


async def test_a_fixed_generation_is_spoken_from_the_first_request(
    tmp_path: Path, servers: list[SeedServer], watcher: RecordingWatcher
) -> None:
    server = await SeedServer(version="v0.10").start()
    servers.append(server)
    spec = {"address": server.address, "protocol": "v0.10"}
    runtime = await run(tmp_path, seed_configmap(spec, {"ticks": SOURCE}, watcher))
    try:
        await wait_until(lambda: len(watcher.events) >= 1)
    finally:
        await runtime.stop()
    assert set(server.seen) == {"v0.10"}


async def test_acked_against_a_seed_era_server_fails_and_says_why(
    tmp_path: Path, servers: list[SeedServer], watcher: RecordingWatcher
) -> None:
    server = await SeedServer().start()
    servers.append(server)
    spec = {"address": server.address, "protocol": "acked"}
    runtime = await run(tmp_path, seed_configmap(spec, {"ticks": SOURCE}, watcher))
    try:
        await wait_until(lambda: status_of(runtime, "ticks").state == "failed")
        reason = status_of(runtime, "ticks").reason
        assert f"{server.address} has no StartEventSourceAcked" in reason
    finally:
        await runtime.stop()
    assert not watcher.events


async def test_an_edit_of_the_annotation_moves_the_sources_to_the_new_server(
    tmp_path: Path, servers: list[SeedServer], watcher: RecordingWatcher
) -> None:
    first = await SeedServer(version="v0.10").start()
    second = await SeedServer().start()
    servers.extend([first, second])
    runtime = await run(tmp_path, seed_configmap(first.address, {"ticks": SOURCE}, watcher))
    try:
        await wait_until(lambda: first.streams == 1 and len(watcher.events) >= 1)
        registry = runtime.settings.registry_file
        assert registry is not None
        write_registry(registry, seed_configmap(second.address, {"ticks": SOURCE}, watcher))
        await wait_until(lambda: second.streams == 1, timeout=15)
        await wait_until(lambda: status_of(runtime, "ticks").address == second.address)
    finally:
        await runtime.stop()


async def test_a_process_that_runs_only_built_in_sources_says_where_they_run(
    tmp_path: Path, watcher: RecordingWatcher
) -> None:
    document = seed_configmap("127.0.0.1:9", {"ticks": SOURCE}, watcher)
    runtime = await run(tmp_path, document, remote=False)
    try:
        found = status_of(runtime, "ticks")
    finally:
        await runtime.stop()
    assert found.state == "rejected"
    assert "gateways.dev/event-source-server" in found.reason
    assert "python -m gateways.adapter calendar" in found.reason


def test_a_bad_server_annotation_names_the_file_configmap_and_field(tmp_path: Path) -> None:
    watcher = RecordingWatcher()
    spec = {"address": "seed", "protocol": "v0.9", "tls": {"insecureSkipVerify": True}}
    registry = write_registry(
        tmp_path / "registry.yaml", seed_configmap(spec, {"ticks": SOURCE}, watcher)
    )
    problems = check_file(registry).problems
    where = f"{registry}: document 1: configmap/seed: metadata.annotations."
    field = where + "gateways.dev/event-source-server"
    assert f"{field}: address: 'seed' is not host:port (or unix:/path)" in problems
    assert any(p.startswith(f"{field}: protocol: 'v0.9' is not auto, acked") for p in problems)
    assert any(p.startswith(f"{field}: tls.insecureSkipVerify: not offered") for p in problems)
