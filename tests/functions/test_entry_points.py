"""Both function entry points call the same code: OpenFaaS `handle(event, context)` and
a functions-framework target, each started for real and answering over HTTP."""

from __future__ import annotations

import asyncio
import importlib
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest

from tests.kit import ROOT, configmap, free_port, write_registry
from tests.watcher import RecordingWatcher


@dataclass
class OpenFaaSEvent:
    """The attributes the python3-http template's Event carries."""

    body: bytes
    headers: dict[str, str]
    method: str = "POST"
    query: dict[str, str] = field(default_factory=dict)
    path: str = "/"


def _registry(tmp_path: Path, watcher: RecordingWatcher) -> Path:
    return write_registry(
        tmp_path / "registry.yaml",
        configmap(
            "hooks", "webhook", {"example": {"endpoint": "/example"}}, watchers=[watcher.url]
        ),
    )


async def test_openfaas_handler_delivers(
    tmp_path: Path, watcher: RecordingWatcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GATEWAYS_REGISTRY_FILE", str(_registry(tmp_path, watcher)))
    monkeypatch.setenv("GATEWAYS_ADMIN_PORT", str(free_port()))
    handler = importlib.import_module("functions.webhook.handler")
    event = OpenFaaSEvent(b'{"a": 1}', {"Content-Type": "application/json"}, path="/example")
    try:
        answer = await asyncio.to_thread(handler.handle, event, None)
        assert answer["statusCode"] == 200, answer
        missing = await asyncio.to_thread(
            handler.handle, OpenFaaSEvent(b"", {}, path="/nope"), None
        )
        assert missing["statusCode"] == 404
    finally:
        await asyncio.to_thread(handler._bridge.close)
    [request] = await watcher.wait_for(1)
    assert request.event is not None and request.event.json() == {"a": 1}


async def test_functions_framework_target_delivers(
    tmp_path: Path, watcher: RecordingWatcher
) -> None:
    port = free_port()
    env = {
        **os.environ,
        "GATEWAYS_REGISTRY_FILE": str(_registry(tmp_path, watcher)),
        "GATEWAYS_ADMIN_PORT": str(free_port()),
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "functions_framework",
            "--source",
            str(ROOT / "functions/webhook/main.py"),
            "--target",
            "webhook",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        status = 0
        async with asyncio.timeout(30), aiohttp.ClientSession() as session:
            while status != 200:
                try:
                    async with session.post(
                        f"http://127.0.0.1:{port}/example", json={"b": 2}
                    ) as reply:
                        status = reply.status
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.2)
        [request] = await watcher.wait_for(1)
        assert request.event is not None and request.event.json() == {"b": 2}
    finally:
        process.terminate()
        process.wait(10)
