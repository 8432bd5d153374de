"""The embedded default as a user meets it: `gateways up` in a real process, edited live."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from tests.kit import (
    REFERENCE_DATA,
    configmap,
    free_port,
    start_gateway,
    status_of,
    wait_until,
    write_registry,
)
from tests.watcher import RecordingWatcher

SHARED_EXAMPLES = REFERENCE_DATA / "argo-events-v0.10-examples"


class Gateway:
    def __init__(self, process: asyncio.subprocess.Process, admin_port: int) -> None:
        self.process = process
        self.admin = f"http://127.0.0.1:{admin_port}"
        self.lines: list[str] = []
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.process.stdout is not None
        async for line in self.process.stdout:
            self.lines.append(line.decode())

    async def stop(self) -> None:
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(self.process.wait(), 10)
        await self._reader

    def status(self) -> tuple[int, str]:
        done = subprocess.run(
            [sys.executable, "-m", "gateways.cli", "status", "--admin", self.admin],
            capture_output=True,
            text=True,
            timeout=10,
        )
        return done.returncode, done.stdout + done.stderr


async def _up(*args: str, env: dict[str, str] | None = None) -> Gateway:
    admin_port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "gateways.cli",
        "up",
        "--admin-port",
        str(admin_port),
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
    )
    gateway = Gateway(process, admin_port)
    await wait_until(
        lambda: any(line.startswith("gateways: running") for line in gateway.lines), timeout=20
    )
    return gateway


async def _post(url: str, body: bytes = b'{"hello": "world"}', method: str = "POST") -> int:
    try:
        async with (
            aiohttp.ClientSession() as session,
            session.request(
                method, url, data=body, headers={"content-type": "application/json"}
            ) as reply,
        ):
            return reply.status
    except aiohttp.ClientConnectionError:
        return 0


async def _eventually_status(url: str, expected: int, timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while await _post(url) != expected:
            await asyncio.sleep(0.1)


@pytest.fixture
async def bundled(tmp_path: Path) -> AsyncIterator[Gateway]:
    gateway = await _up(env={"GATEWAYS_STATE_DIR": str(tmp_path / "state")})
    yield gateway
    await gateway.stop()


async def test_bundled_default_prints_the_curl_line_and_prints_events(bundled: Gateway) -> None:
    banner = "".join(bundled.lines)
    assert "curl -X POST" in banner and "http://127.0.0.1:12000/example" in banner
    assert await _post("http://127.0.0.1:12000/example") == 200
    await wait_until(
        lambda: any('"dev.gateways.webhook.request"' in line for line in bundled.lines), timeout=5
    )
    event = json.loads(
        next(line for line in bundled.lines if '"dev.gateways.webhook.request"' in line)
    )
    assert (
        event["data"] == {"hello": "world"}
        and event["source"] == "/gateways/webhook-gateway/example"
    )
    # The bundled calendar source ticks every ten seconds.
    await wait_until(
        lambda: any('"dev.gateways.calendar.tick"' in line for line in bundled.lines), timeout=15
    )


async def test_registry_edits_apply_while_running(
    tmp_path: Path, watcher: RecordingWatcher
) -> None:
    port = free_port()
    registry = tmp_path / "gateways.yaml"

    def write(sources: dict[str, object]) -> None:
        write_registry(registry, configmap("hooks", "webhook", sources, watchers=[watcher.url]))

    write({"a": {"port": port, "endpoint": "/a"}})
    gateway = await _up(
        "--file", str(registry), env={"GATEWAYS_STATE_DIR": str(tmp_path / "state")}
    )
    try:
        base = f"http://127.0.0.1:{port}"
        assert await _post(base + "/a") == 200
        write({"a": {"port": port, "endpoint": "/a"}, "b": {"port": port, "endpoint": "/b"}})
        await _eventually_status(base + "/b", 200)
        write({"b": {"port": port, "endpoint": "/b"}})
        await _eventually_status(base + "/a", 404)
        write(
            {
                "b": {"port": port, "endpoint": "/b"},
                "bad": {"port": port, "endpoint": "/bad", "method": "FETCH"},
            }
        )
        async with asyncio.timeout(10):
            while "rejected" not in gateway.status()[1]:
                await asyncio.sleep(0.1)
        code, text = gateway.status()
        assert code == 1
        assert "webhook/bad: method: 'FETCH' is not an HTTP method" in text
        assert await _post(base + "/b") == 200
        assert gateway.process.returncode is None  # never restarted
        assert len(await watcher.wait_for(3)) == 3
    finally:
        await gateway.stop()


async def test_seed_era_examples_run_on_their_own_ports(
    tmp_path: Path, watcher: RecordingWatcher
) -> None:
    webhook = await start_gateway(
        SHARED_EXAMPLES / "webhook.yaml",
        tmp_path / "w",
        gateway_type="webhook",
        watchers=(watcher.url,),
    )
    calendar = await start_gateway(
        SHARED_EXAMPLES / "calendar.yaml",
        tmp_path / "c",
        gateway_type="calendar",
        watchers=(watcher.url,),
    )
    try:
        assert await _post("http://127.0.0.1:12000/example") == 200
        assert await _post("http://127.0.0.1:14000/example3", method="PUT") == 200
        assert await _post("http://127.0.0.1:14000/example4") == 200
        secure = status_of(webhook, "example-secure")
        assert (
            secure.state == "failed"
            and "serverCertPath: /bin/webhook-secure/crt does not exist" in secure.reason
        )
        assert {s.state for s in calendar.reconciler.status()} == {"running"}
        # example-with-interval ticks every 10 s.
        await wait_until(
            lambda: any(e.type == "dev.gateways.calendar.tick" for e in watcher.events), timeout=15
        )
        sources = {e.source for e in watcher.events}
        assert "/gateways/webhook-event-source/example" in sources
        assert "/gateways/calendar-event-source/example-with-interval" in sources
    finally:
        await webhook.stop()
        await calendar.stop()
