"""The full adapter path for integration tests, all real and on 127.0.0.1.

NATS -> event-source server (gRPC) -> gateway client -> HTTP -> dispatcher function (served
by gateways.hosting.server.Listener) -> recording watcher.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from nats.aio.client import Client
from nats.js.api import StorageType, StreamConfig

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


async def jetstream_stream(client: Client, name: str, subjects: list[str]) -> None:
    await client.jetstream().add_stream(
        StreamConfig(name=name, subjects=subjects, storage=StorageType.FILE)
    )


async def publish(client: Client, subject: str, count: int, **headers: str) -> None:
    js = client.jetstream()
    for number in range(count):
        body = f'{{"n": {number}}}'.encode()
        await js.publish(subject, body, headers={"x-number": str(number), **headers})


class NatsServer:
    """A nats-server of our own (JetStream, file store in ``directory``) we may restart."""

    def __init__(self, directory: Path, tls: tuple[Path, Path] | None = None) -> None:
        self.directory = directory
        self.tls = tls  # (certificate, key): clients must use TLS
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"{'tls' if self.tls else 'nats'}://127.0.0.1:{self.port}"

    async def start(self) -> NatsServer:
        binary = shutil.which("nats-server") or "/usr/sbin/nats-server"
        arguments = ["-a", "127.0.0.1", "-p", str(self.port), "-js", "-sd", str(self.directory)]
        if self.tls:
            arguments += ["--tls", "--tlscert", str(self.tls[0]), "--tlskey", str(self.tls[1])]
        self.process = subprocess.Popen(
            [binary, *arguments],
            stdout=subprocess.DEVNULL,
            stderr=(self.directory / "server.log").open("ab"),
        )
        for _ in range(100):
            with contextlib.suppress(OSError):
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            await asyncio.sleep(0.1)
        raise RuntimeError(f"nats-server on {self.url} did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.process = None


def certificates(directory: Path) -> tuple[Path, Path, Path]:
    """A CA, and a certificate for 127.0.0.1 it signed: (ca, certificate, key)."""
    ca_key, ca, key = directory / "ca.key", directory / "ca.crt", directory / "server.key"
    request, certificate = directory / "server.csr", directory / "server.crt"
    extensions = directory / "server.ext"
    extensions.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    new_key = ["-nodes", "-newkey", "rsa:2048"]
    make_ca = ["req", "-x509", "-new", *new_key, "-days", "2", "-keyout", str(ca_key)]
    make_request = ["req", "-new", *new_key, "-keyout", str(key), "-out", str(request)]
    sign = ["x509", "-req", "-in", str(request), "-CA", str(ca), "-CAkey", str(ca_key)]
    for arguments in (
        [*make_ca, "-out", str(ca), "-subj", "/CN=gateways-test-ca"],
        [*make_request, "-subj", "/CN=127.0.0.1"],
        [
            *sign,
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            str(extensions),
            "-out",
            str(certificate),
        ],
    ):
        subprocess.run(["openssl", *arguments], check=True, capture_output=True)
    return ca, certificate, key
