"""The full adapter path for integration tests, all real and on 127.0.0.1.

broker -> event-source server (gRPC) -> gateway client -> HTTP -> dispatcher function (served
by gateways.hosting.server.Listener) -> recording watcher. The adapter tests drive NATS
sources; NATS's own helpers (a server of our own, JetStream streams) are in
``tests/kinds/nats/server.py``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from functions.dispatcher.app import DispatcherFunction
from gateways.adapter import AdapterRuntime, AdapterSettings
from gateways.hosting.server import Listener
from gateways.registry.status import SourceStatus
from gateways.settings import Settings
from tests.kit import configmap, free_port, wait_until, write_registry

# Fast enough for tests: the dispatcher retries a watcher twice, 50 ms apart.
FAST_DELIVERY = {"retry": 2, "backoffPolicy": "linear", "backoffDelay": "PT0.05S"}
FAST_BACKOFF = {"duration": "100ms", "factor": 2, "jitter": 0, "cap": "1s"}


def nats_registry(
    path: Path,
    sources: Mapping[str, Mapping[str, Any] | str],
    watcher_url: str,
    gateway: str = "streams",
    delivery: Mapping[str, Any] = FAST_DELIVERY,
) -> Path:
    return write_registry(
        path, configmap(gateway, "nats", sources, watchers=[watcher_url], delivery=delivery)
    )


@dataclass
class DispatcherService:
    """The dispatcher function over HTTP, reading the same registry for watchers and delivery."""

    registry: Path
    port: int = 0
    app: DispatcherFunction | None = None
    listener: Listener | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    async def start(self) -> DispatcherService:
        self.app = DispatcherFunction(Settings(registry_file=self.registry, admin_port=free_port()))
        await self.app.startup()
        self.listener = Listener(self.app, "127.0.0.1", self.port)
        await self.listener.start()
        self.port = self.listener.port
        return self

    async def stop(self) -> None:
        if self.listener is not None:
            await self.listener.stop()
            self.listener = None
        if self.app is not None:
            await self.app.shutdown()
            self.app = None


async def start_adapter(
    registry: Path, dispatcher_url: str | None = None, kind: str = "nats", **options: Any
) -> AdapterRuntime:
    """The adapter as ``run_adapter`` builds it, but in-process; ``http`` mode given a URL."""
    base = Settings(
        registry_file=registry,
        admin_port=free_port(),
        max_in_flight=options.pop("max_in_flight", 256),
    )
    settings = AdapterSettings(kind, base)
    if dispatcher_url is not None:
        settings = replace(settings, dispatch="http", dispatcher_url=dispatcher_url)
    runtime = AdapterRuntime(replace(settings, **options))
    await runtime.start()
    return runtime


def status(runtime: AdapterRuntime, name: str) -> SourceStatus | None:
    return next((s for s in runtime.reconciler.status() if s.name == name), None)


async def wait_for_state(
    runtime: AdapterRuntime, name: str, state: str, timeout: float = 10.0
) -> SourceStatus:
    def reached() -> bool:
        found = status(runtime, name)
        return found is not None and found.state == state

    await wait_until(reached, timeout=timeout)
    found = status(runtime, name)
    assert found is not None
    return found


async def publish_until(
    client: Any,
    subject: str,
    payload: bytes,
    arrived: Callable[[], bool],
    headers: Mapping[str, str] | None = None,
    timeout: float = 20.0,
) -> None:
    """Publish on core NATS until ``arrived()``: what is published before the adapter's
    subscription exists is dropped, so publish again every half second."""
    async with asyncio.timeout(timeout):
        while not arrived():
            await client.publish(subject, payload, headers=dict(headers or {}) or None)
            await client.flush()
            try:
                await wait_until(arrived, timeout=0.5)
            except TimeoutError:
                continue
