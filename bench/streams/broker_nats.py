"""NATS for a run: a fresh nats-server with JetStream on a free port, one stream per run.

Paths that read at least once (the JetStream floor, ours) get a subject ``bench<tag>.<path>``
inside the stream ``BENCH<tag>`` and a durable consumer of their own; core paths (the
fire-and-forget floor, the OpenFaaS connector) get ``bench<tag>core.<path>``, outside it. The
publisher sends core NATS messages either way (JetStream stores those on its subjects).
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nats
from nats.aio.client import Client

from bench._common import free_port, start, stop
from bench.streams.broker import Unavailable, body, publish_async

FLOOR = [sys.executable, "-m", "bench.streams.floor_nats"]
CORE_PATHS = frozenset({"fire", "peer"})


@dataclass
class NATSChannel:
    client: Client
    url: str
    subject: str
    stream: str | None  # None: core NATS
    durable: str
    kind: str = "nats"

    def floor(self, mode: str, watcher: str) -> list[str]:
        if mode == "fire":
            return [*FLOOR, "fire", self.url, self.subject, watcher]
        return [*FLOOR, "alo", self.url, self.subject, str(self.stream), self.durable, watcher]

    def source(self) -> dict[str, Any]:
        jet_stream = {"stream": self.stream, "durable": self.durable, "deliverPolicy": "all"}
        return {"url": self.url, "subject": self.subject, "jetStream": jet_stream}

    async def publish(self, first: int, count: int, rate: float | None) -> float:
        async def send(number: int) -> None:
            await self.client.publish(self.subject, body(number))

        started = await publish_async(send, first, count, rate)
        await self.client.flush()
        return started


class NATSBroker:
    kind = "nats"

    def __init__(self, url: str, server: subprocess.Popen[bytes], client: Client) -> None:
        self.url = url
        self.title = "NATS (a fresh nats-server with JetStream)"
        self._server = server
        self._client = client
        tag = f"{int(time.time())}{uuid.uuid4().hex[:6]}"
        self._prefix = f"bench{tag}"
        self._stream = f"BENCH{tag}"

    @classmethod
    async def open(cls, directory: Path) -> NATSBroker:
        binary = shutil.which("nats-server") or "/usr/sbin/nats-server"
        if not Path(binary).exists():
            raise Unavailable("nats-server is not installed")
        port = free_port()
        store = directory / "nats"
        server = start([binary, "-a", "127.0.0.1", "-p", str(port), "-js", "-sd", str(store)])
        url = f"nats://127.0.0.1:{port}"
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    stop(server)
                    raise Unavailable(f"nats-server did not start on {url}") from None
                await asyncio.sleep(0.05)
        broker = cls(url, server, await nats.connect(url))
        stream = broker._stream
        await broker._client.jetstream().add_stream(name=stream, subjects=[f"{broker._prefix}.>"])
        return broker

    async def channel(self, path: str) -> NATSChannel:
        if path in CORE_PATHS:
            return NATSChannel(self._client, self.url, f"{self._prefix}core.{path}", None, "")
        subject = f"{self._prefix}.{path}"
        return NATSChannel(self._client, self.url, subject, self._stream, f"{self._prefix}-{path}")

    async def close(self) -> None:
        await self._client.close()
        stop(self._server)
