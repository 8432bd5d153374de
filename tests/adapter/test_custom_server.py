"""A custom event-source server in another process, built from the README's protocol section
and the .proto alone, driven end to end by the gateway client (``GATEWAYS_EVENT_SOURCE_SERVER``)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from grpc_tools import protoc

from gateways.adapter import AdapterRuntime, AdapterSettings
from gateways.config.server import ServerSpec
from gateways.kinds import kinds
from gateways.settings import Settings
from tests.adapter.kit import FAST_DELIVERY, status, wait_for_state
from tests.kit import GatewaysUp, configmap, free_port, wait_until, write_registry
from tests.watcher import RecordingWatcher

HERE = Path(__file__).resolve().parent
PROTO = HERE.parents[1] / "gateways" / "protocol" / "eventing.proto"


@pytest.fixture
def custom_server(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """The server running in its own process; (port, file of acknowledged origin ids)."""
    stubs = tmp_path / "stubs"
    stubs.mkdir()
    shutil.copy(PROTO, stubs / "eventing.proto")
    shutil.copy(HERE / "custom_server.py", stubs / "custom_server.py")
    arguments = ["protoc", f"-I{stubs}", f"--python_out={stubs}", f"--grpc_python_out={stubs}"]
    assert protoc.main([*arguments, str(stubs / "eventing.proto")]) == 0
    port, acked = free_port(), tmp_path / "acked.txt"
    acked.touch()
    process = subprocess.Popen(
        [sys.executable, str(stubs / "custom_server.py"), str(port), str(acked)],
        cwd=stubs,
        env={**os.environ, "PYTHONPATH": str(stubs)},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None and process.stdout.readline().strip() == "ready"
        yield port, acked
    finally:
        process.terminate()
        process.wait(10)


async def test_a_custom_server_is_driven_end_to_end(
    tmp_path: Path, custom_server: tuple[int, Path], watcher: RecordingWatcher
) -> None:
    port, acked = custom_server
    sources = {
        "ten": "count: 10\nprefix: ten\nbackoff: {duration: 100ms, jitter: 0}\n",
        "broken": "count: ten\n",
    }
    registry = write_registry(
        tmp_path / "registry.yaml",
        configmap("tickers", "ticker", sources, watchers=[watcher.url], delivery=FAST_DELIVERY),
    )
    watcher.answer(*[503] * 6)  # the first events are refused: the server must resend them
    base = Settings(registry_file=registry, admin_port=free_port())
    settings = replace(
        AdapterSettings("ticker", base), event_source_server=ServerSpec(f"127.0.0.1:{port}")
    )
    adapter = AdapterRuntime(settings)
    await adapter.start()
    try:
        broken = await wait_for_state(adapter, "broken", "failed")
        assert broken.reason.startswith("ticker/broken: count: 'ten' is not an integer")
        expected = {f"ten-{n}" for n in range(10)}
        accepted = lambda: {r.event.id for r in watcher.requests if r.status == 200 and r.event}  # noqa: E731
        await wait_until(lambda: accepted() == expected, timeout=20)
        await wait_until(lambda: set(acked.read_text().split()) == expected)
        found = status(adapter, "ten")
        assert found is not None and found.state == "running"
        assert found.address == f"127.0.0.1:{port}"
    finally:
        await adapter.stop()
    assert "ticker" not in kinds()  # the pass-through schema is never a kind of its own

    event = next(r.event for r in watcher.requests if r.status == 200 and r.event)
    assert event.type == "dev.gateways.ticker.tick"
    assert event.source == "/gateways/tickers/ten"
    assert event.attributes["subject"] == "ticks"
    assert event.content_type == "application/json"
    assert event.json()["number"] == int(event.attributes["tickernumber"])


async def test_gateways_up_runs_a_gateway_on_the_server_its_annotation_names(
    tmp_path: Path, custom_server: tuple[int, Path], watcher: RecordingWatcher
) -> None:
    port, acked = custom_server
    document = configmap("tickers", "ticker", {"five": "count: 5\nprefix: up\n"}, [watcher.url])
    document["metadata"]["annotations"]["gateways.dev/event-source-server"] = f"127.0.0.1:{port}"
    async with GatewaysUp(write_registry(tmp_path / "registry.yaml", document)) as gateway:
        expected = {f"up-{n}" for n in range(5)}
        await wait_until(lambda: {e.id for e in watcher.events} == expected, timeout=20)
        await wait_until(lambda: set(acked.read_text().split()) == expected)
        assert (await gateway.sources())["five"]["state"] == "running"
    assert {e.type for e in watcher.events} == {"dev.gateways.ticker.tick"}
