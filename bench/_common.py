"""Shared pieces of the benchmarks: a counting watcher process, a load generator, timers."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiohttp
import yaml

ROOT = Path(__file__).resolve().parents[1]

WATCHER_CODE = """
import sys
from aiohttp import web
async def ok(request):
    await request.read()
    return web.Response(status=200)
app = web.Application()
app.router.add_route("*", "/{tail:.*}", ok)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)
"""


def configmap(name: str, kind: str, sources: dict[str, dict[str, Any]], watchers: list[str]) -> str:
    """A gateway ConfigMap of ``kind``, as a registry file holds it: ``sources`` by name, each
    event delivered to ``watchers``."""
    document = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": name,
            "labels": {"gateways.dev/type": kind},
            "annotations": {"gateways.dev/watchers": yaml.safe_dump(watchers)},
        },
        "data": {source: yaml.safe_dump(config) for source, config in sources.items()},
    }
    return yaml.safe_dump(document)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def start(
    args: Sequence[str], env: dict[str, str] | None = None, log: Path | None = None
) -> subprocess.Popen[bytes]:
    """A child process in the repository root; its output goes to ``log`` (appended) or nowhere."""
    output = log.open("ab") if log is not None else None
    try:
        return subprocess.Popen(
            list(args),
            env={**os.environ, **(env or {})},
            stdout=output or subprocess.DEVNULL,
            stderr=subprocess.STDOUT if output else subprocess.DEVNULL,
            cwd=ROOT,
        )
    finally:
        if output is not None:
            output.close()


def start_watcher(port: int) -> subprocess.Popen[bytes]:
    return start([sys.executable, "-c", WATCHER_CODE, str(port)])


async def wait_http(url: str, timeout: float = 30.0, method: str = "GET") -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as session:
        while True:
            try:
                async with session.request(method, url, data=b"{}") as reply:
                    if reply.status < 500:
                        return
            except aiohttp.ClientConnectionError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(url)
            await asyncio.sleep(0.05)


async def load(
    url: str, requests: int, concurrency: int, body: bytes = b'{"n": 1}'
) -> tuple[float, int]:
    """POST ``requests`` times with ``concurrency`` workers; returns (seconds, non-2xx count)."""
    failures = 0
    remaining = iter(range(requests))
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            nonlocal failures
            for _ in remaining:
                async with session.post(
                    url, data=body, headers={"content-type": "application/json"}
                ) as reply:
                    await reply.read()
                    failures += reply.status >= 300

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - started, failures


def stop(*processes: subprocess.Popen[bytes]) -> None:
    """Terminate each process, then wait for it; one still running after 10 s is killed."""
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
