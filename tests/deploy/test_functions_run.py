"""Each function started the way the deploy files start it, answering a real request.

- the container command of its Knative Service (the same as the image's CMD), as a process on
  a free 127.0.0.1 port over a registry file;
- its OpenFaaS ``handle(event, context)``, in process with a python3-http-like event;
- the python3-http image layout that stack.yml produces (handler folder plus the
  ``configuration.copy`` paths under ``function/``, PYTHONPATH from stack.yml), imported by a
  Python that sees nothing of this checkout but that layout.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
import sysconfig
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml

from functions.calendar.state import FileStateStore
from gateways.source import Origin
from tests.deploy.manifests import ROOT, load
from tests.deploy.test_stack import stack
from tests.kit import configmap, free_port, write_registry
from tests.watcher import RecordingWatcher

WEBHOOK = configmap(
    "webhook-gateway", "webhook", {"example": {"endpoint": "/example", "method": "POST"}}
)
CALENDAR = configmap("calendar-gateway", "calendar", {"every-minute": {"interval": "1m"}})
EVENT = {
    "ce-specversion": "1.0",
    "ce-id": "deploy-1",
    "ce-source": "tests/deploy",
    "ce-type": "dev.gateways.test",
    "content-type": "application/json",
}
# (function, path, headers, body, CloudEvent type the watcher must get, events expected)
REQUESTS = {
    "webhook": (
        "/example",
        {"content-type": "application/json"},
        b'{"n": 1}',
        "dev.gateways.webhook.request",
        1,
    ),
    "dispatcher": ("/", EVENT, b'{"n": 1}', "dev.gateways.test", 1),
    "calendar": (
        "/",
        {"x-connector": "cron-connector", "x-topic": "cron-function"},
        b"",
        "dev.gateways.calendar.tick",
        2,
    ),
}


def _command(function: str) -> list[str]:
    service = next(m for m in load(ROOT / "knative") if m.kind == "Service" and m.name == function)
    return list(service.body["spec"]["template"]["spec"]["containers"][0]["command"])


async def _seed_calendar_state(state_dir: Path) -> None:
    """The calendar last fired 150 s ago, so a trigger now has two 1-minute ticks due."""
    store = FileStateStore(state_dir / "calendar-state.json")
    last = datetime.now(UTC) - timedelta(seconds=150)
    await store.save(Origin("calendar-gateway", "every-minute", "calendar"), last)


def _env(tmp_path: Path, watcher: RecordingWatcher, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GATEWAYS_", "K_"))}
    env.pop("NAMESPACE", None)
    registry = write_registry(tmp_path / "registry.yaml", WEBHOOK, CALENDAR)
    return env | {
        "GATEWAYS_REGISTRY_FILE": str(registry),
        "GATEWAYS_WATCHERS": watcher.url,
        "GATEWAYS_HOST": "127.0.0.1",
        "GATEWAYS_ADMIN_PORT": str(free_port()),
        "GATEWAYS_STATE_DIR": str(tmp_path / "state"),
        **extra,
    }


async def _post(url: str, headers: Mapping[str, str], body: bytes) -> tuple[int, bytes]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, headers=dict(headers), data=body) as reply,
    ):
        return reply.status, await reply.read()


async def _wait_ready(admin_port: int, process: asyncio.subprocess.Process) -> None:
    async with asyncio.timeout(30), aiohttp.ClientSession() as session:
        while True:
            if process.returncode is not None:
                raise AssertionError(f"exited with {process.returncode}")
            try:
                async with session.get(f"http://127.0.0.1:{admin_port}/readyz") as reply:
                    if reply.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)


@pytest.fixture
async def started() -> AsyncIterator[list[asyncio.subprocess.Process]]:
    processes: list[asyncio.subprocess.Process] = []
    yield processes
    for process in processes:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                process.kill()
                await process.wait()


@pytest.mark.parametrize("function", sorted(REQUESTS))
async def test_container_command_serves_the_function(
    function: str, tmp_path: Path, watcher: RecordingWatcher, started: list[Any]
) -> None:
    command = _command(function)
    assert shutil.which(command[0]), f"{command[0]} is not installed (pip install -e .)"
    port = free_port()
    env = _env(tmp_path, watcher, PORT=str(port))
    if function == "calendar":
        await _seed_calendar_state(tmp_path / "state")
    process = await asyncio.create_subprocess_exec(
        *command,
        env=env,
        cwd=tmp_path,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    started.append(process)
    await _wait_ready(int(env["GATEWAYS_ADMIN_PORT"]), process)

    path, headers, body, event_type, count = REQUESTS[function]
    status, answer = await _post(f"http://127.0.0.1:{port}{path}", headers, body)

    assert 200 <= status < 300, answer
    received = await watcher.wait_for(count, timeout=10)
    assert {r.event.type for r in received if r.event} == {event_type}


class FakeEvent:
    """What the python3-http template hands ``handle``: body, headers, method, query, path."""

    def __init__(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> None:
        self.body = body
        self.headers = dict(headers)
        self.method = method
        self.query: dict[str, str] = {}
        self.path = path


class FakeContext:
    hostname = "localhost"


@pytest.mark.parametrize("function", sorted(REQUESTS))
async def test_openfaas_handle_answers(
    function: str, tmp_path: Path, watcher: RecordingWatcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in _env(tmp_path, watcher).items():
        monkeypatch.setenv(name, value)
    if function == "calendar":
        await _seed_calendar_state(tmp_path / "state")
    module = __import__(f"functions.{function}.handler", fromlist=["handle"])
    path, headers, body, event_type, count = REQUESTS[function]
    try:
        answer = await asyncio.to_thread(
            module.handle, FakeEvent("POST", path, headers, body), FakeContext()
        )
    finally:
        await asyncio.to_thread(module._bridge.close)

    assert 200 <= answer["statusCode"] < 300, answer
    assert isinstance(answer["body"], str) and isinstance(answer["headers"], dict)
    received = await watcher.wait_for(count, timeout=10)
    assert {r.event.type for r in received if r.event} == {event_type}


_PROBE = """
import importlib.metadata, json, os, sys
sys.path.append(os.environ["PROBE_SITE_PACKAGES"])  # the dependencies, no .pth files
sys.path.insert(0, os.getcwd())                      # python index.py runs in /home/app
from function import handler                         # as the template's index.py does

class Event:
    body = json.loads(os.environ["PROBE_BODY"]).encode()
    headers = json.loads(os.environ["PROBE_HEADERS"])
    method, query, path = "POST", {}, os.environ["PROBE_PATH"]

class Context:
    hostname = "localhost"

answer = handler.handle(Event(), Context())
handler._bridge.close()
modules = {n: getattr(m, "__file__", None) for n, m in list(sys.modules.items())
           if n.split(".")[0] in ("gateways", "functions", "adapters", "function")}
import gateways.entrypoints
try:
    installed = str(importlib.metadata.distribution("gateways")._path)
except importlib.metadata.PackageNotFoundError:
    installed = ""
print(json.dumps({"answer": answer, "modules": modules, "installed": installed,
                  "table": str(gateways.entrypoints.PYPROJECT)}))
"""


def _dependencies_only(mirror: Path) -> Path:
    """This interpreter's site-packages without the project's own install, as in the image."""
    mirror.mkdir()
    for entry in Path(sysconfig.get_paths()["purelib"]).iterdir():
        if not entry.name.startswith(("gateways", "__editable__")):
            (mirror / entry.name).symlink_to(entry)
    return mirror


def _image_layout(home: Path, function: str) -> Path:
    """/home/app of the python3-http image faas-cli builds for ``function``: the handler folder
    is function/, and each configuration.copy path lands at function/<path>."""
    document = stack()
    target = home / "function"
    shutil.copytree(
        ROOT / document["functions"][function]["handler"],
        target,
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    (target / "__init__.py").touch()
    for path in document["configuration"]["copy"]:
        source = ROOT / path
        if source.is_dir():
            shutil.copytree(source, target / path, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, target / path)
    return target


@pytest.mark.parametrize("function", sorted(REQUESTS))
async def test_python3_http_image_layout_imports_and_answers(
    function: str, tmp_path: Path, watcher: RecordingWatcher
) -> None:
    home = tmp_path / "home" / "app"
    _image_layout(home, function)
    environment = stack()["functions"][function]["environment"]
    pythonpath = environment["PYTHONPATH"].replace("/home/app", str(home))
    path, headers, body, _event_type, count = REQUESTS[function]
    if function == "calendar":
        await _seed_calendar_state(tmp_path / "state")
    env = _env(tmp_path, watcher) | {
        "PYTHONPATH": pythonpath,
        "PROBE_SITE_PACKAGES": str(_dependencies_only(tmp_path / "site-packages")),
        "PROBE_BODY": json.dumps(body.decode()),
        "PROBE_HEADERS": json.dumps(headers),
        "PROBE_PATH": path,
    }
    # -S: no site, so neither this checkout's editable install nor any .pth file is seen.
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-S",
        "-c",
        _PROBE,
        env=env,
        cwd=home,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err.decode()[-3000:]
    report = json.loads(out.decode().strip().splitlines()[-1])

    assert 200 <= report["answer"]["statusCode"] < 300, report["answer"]
    outside = {n: f for n, f in report["modules"].items() if f and not f.startswith(str(home))}
    assert outside == {}, "imported from outside the image layout"
    assert report["installed"] == "", "the image layout does not install the project"
    assert report["table"] == str(home / "function" / "pyproject.toml"), "kinds not from the copy"
    await watcher.wait_for(count, timeout=10)


def test_requests_cover_every_function() -> None:
    assert set(REQUESTS) == set(yaml.safe_load((ROOT / "stack.yml").read_text())["functions"])
