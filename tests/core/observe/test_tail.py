"""`gateways tail` as a user runs it, against a real `gateways up`: the events a test sends
appear in order, one line each (or one JSON object each), without secrets; Ctrl-C ends it
with status 0 and no traceback."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from tests.kit import ROOT, GatewaysUp, configmap, free_port, write_registry
from tests.watcher import RecordingWatcher

API_KEY = "tail-api-key-s3cret"
QUERY_TOKEN = "tail-query-s3cret"


class Tail:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    async def lines(self, count: int, timeout: float = 15) -> list[str]:
        assert self.process.stdout is not None
        found = []
        async with asyncio.timeout(timeout):
            while len(found) < count:
                line = await self.process.stdout.readline()
                assert line, f"tail ended after {found}"
                found.append(line.decode().rstrip("\n"))
        return found

    async def interrupt(self) -> tuple[int, str]:
        self.process.send_signal(signal.SIGINT)
        async with asyncio.timeout(10):
            code = await self.process.wait()
        assert self.process.stderr is not None
        return code, (await self.process.stderr.read()).decode()


async def start_tail(*arguments: str) -> Tail:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "gateways",
        "tail",
        *arguments,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    return Tail(process)


@pytest.fixture
async def up(
    tmp_path: Path, watcher: RecordingWatcher, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[GatewaysUp, str]]:
    port = free_port()
    registry = write_registry(
        tmp_path / "registry.yaml",
        configmap(
            "hooks",
            "webhook",
            {
                "first": {"port": port, "endpoint": "/first"},
                "second": {"port": port, "endpoint": "/second"},
            },
            watchers=[watcher.url],
        ),
    )
    monkeypatch.setenv("GATEWAYS_STATE_DIR", str(tmp_path / "state"))
    async with GatewaysUp(registry) as gateway:
        yield gateway, f"http://127.0.0.1:{port}"


async def send(url: str, number: int, headers: dict[str, str] | None = None) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            url, json={"n": number}, headers={"content-type": "application/json", **(headers or {})}
        ) as reply,
    ):
        assert reply.status == 200


async def test_tail_prints_the_events_sent_in_order_and_stops_cleanly_on_ctrl_c(
    up: tuple[GatewaysUp, str], watcher: RecordingWatcher
) -> None:
    gateway, hooks = up
    tail = await start_tail("first", "--admin", f"http://127.0.0.1:{gateway.admin_port}")
    for number in range(6):
        await send(f"{hooks}/{'first' if number % 3 else 'second'}", number)
    received = await watcher.wait_for(6)
    expected = [r.event.id for r in received if r.event and r.event.source.endswith("/first")]
    lines = await tail.lines(len(expected))
    assert [line.split()[3] for line in lines] == expected
    for line in lines:
        time_, source, type_, _, outcome = line.split()
        assert source == "hooks/first" and type_ == "dev.gateways.webhook.request"
        assert outcome == "delivered" and time_.endswith("Z")
    # Events after the first lines keep coming while it follows.
    await send(f"{hooks}/first", 99)
    late = (await watcher.wait_for(7))[-1].event
    [line] = await tail.lines(1)
    assert late is not None and line.split()[3] == late.id
    code, errors = await tail.interrupt()
    assert code == 0 and "Traceback" not in errors, errors


async def test_tail_json_is_one_object_per_line_without_secrets(
    up: tuple[GatewaysUp, str], watcher: RecordingWatcher
) -> None:
    gateway, hooks = up
    tail = await start_tail("--json", "--admin", f"http://127.0.0.1:{gateway.admin_port}")
    secret_headers = {"x-api-key": API_KEY, "cookie": f"session={API_KEY}"}
    await send(f"{hooks}/first?token={QUERY_TOKEN}", 1, secret_headers)
    await send(f"{hooks}/second", 2)
    received = await watcher.wait_for(2)
    lines = await tail.lines(2)
    events = [json.loads(line) for line in lines]
    assert [e["attributes"]["id"] for e in events] == [r.event.id for r in received if r.event]
    assert events[0]["data"] == '{"n": 1}' and events[0]["watchers"][0]["url"] == watcher.url
    assert API_KEY not in "".join(lines) and QUERY_TOKEN not in "".join(lines)
    # The watcher got the headers it is meant to (only the page and the tail hide them).
    assert API_KEY in received[0].event.attributes["httpheaders"]  # type: ignore[union-attr]
    code, errors = await tail.interrupt()
    assert code == 0 and "Traceback" not in errors, errors


async def test_tail_with_nothing_listening_says_so_and_exits_1() -> None:
    tail = await start_tail("--admin", f"http://127.0.0.1:{free_port()}")
    async with asyncio.timeout(20):
        code = await tail.process.wait()
    assert tail.process.stderr is not None
    errors = (await tail.process.stderr.read()).decode()
    assert code == 1 and "no gateway answers at http://127.0.0.1:" in errors
    assert "Traceback" not in errors
