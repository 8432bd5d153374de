"""A real HTTP watcher for tests: an aiohttp server on 127.0.0.1 that records every request.

    watcher = RecordingWatcher()
    await watcher.start()
    watcher.answer(503, 503, 200)            # then 200 for ever (``default``)
    ... deliver to watcher.url ...
    requests = await watcher.wait_for(3, timeout=5)
    assert requests[-1].event.id == "1"
    await watcher.down()                      # the port now refuses connections
    await watcher.stop()

Import it from any test; the ``watcher`` and ``make_watcher`` fixtures in tests/conftest.py
start and stop it.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field

from aiohttp import web

from gateways.errors import EventFormatError
from gateways.events.http import from_http
from gateways.events.model import CloudEvent


@dataclass(frozen=True, slots=True)
class Reply:
    """One scripted answer: status, body, headers, and an optional delay before answering."""

    status: int = 200
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass(frozen=True, slots=True)
class Recorded:
    """One request as the watcher saw it. ``headers`` has lower-case names."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    event: CloudEvent | None
    event_error: str | None
    client_port: int
    received_at: float  # time.monotonic() when the request arrived
    answered_at: float  # time.monotonic() when the answer was sent
    status: int


class RecordingWatcher:
    """Records requests and answers with a script of replies, then with ``default``."""

    def __init__(self, default: Reply | int = 200, *, delay: float = 0.0) -> None:
        self.default = default if isinstance(default, Reply) else Reply(default)
        self.delay = delay
        self.requests: list[Recorded] = []
        self.concurrent = 0
        self.max_concurrent = 0
        self._script: deque[Reply] = deque()
        self._arrived = asyncio.Condition()
        self._socket: socket.socket | None = None
        self._runner: web.AppRunner | None = None
        self.port = _reserve_port()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def events(self) -> list[CloudEvent]:
        return [r.event for r in self.requests if r.event is not None]

    @property
    def client_ports(self) -> set[int]:
        return {r.client_port for r in self.requests}

    def answer(self, *replies: Reply | int) -> None:
        """Answer the next requests with these replies, in order, then with ``default``."""
        self._script.extend(r if isinstance(r, Reply) else Reply(r) for r in replies)

    async def start(self) -> RecordingWatcher:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        self._socket = sock
        await web.SockSite(self._runner, sock).start()
        return self

    async def down(self) -> None:
        """Stop listening: connections to ``url`` are refused until ``start`` again."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._socket is not None:
            self._socket.close()
            self._socket = None

    async def stop(self) -> None:
        await self.down()

    async def wait_for(self, count: int, timeout: float = 5.0) -> list[Recorded]:
        """The first ``count`` requests, once that many arrived; TimeoutError otherwise."""
        async with asyncio.timeout(timeout), self._arrived:
            await self._arrived.wait_for(lambda: len(self.requests) >= count)
        return self.requests[:count]

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        received_at = time.monotonic()
        self.concurrent += 1
        self.max_concurrent = max(self.max_concurrent, self.concurrent)
        try:
            body = await request.read()
            reply = self._script.popleft() if self._script else self.default
            await asyncio.sleep(reply.delay or self.delay)
        finally:
            self.concurrent -= 1
        headers = {name.lower(): value for name, value in request.headers.items()}
        event, problem = None, None
        try:
            event = from_http(headers, body)
        except EventFormatError as exc:
            problem = str(exc)
        peer = request.transport.get_extra_info("peername") if request.transport else None
        self.requests.append(
            Recorded(
                method=request.method,
                path=request.path_qs,
                headers=headers,
                body=body,
                event=event,
                event_error=problem,
                client_port=peer[1] if peer else 0,
                received_at=received_at,
                answered_at=time.monotonic(),
                status=reply.status,
            )
        )
        async with self._arrived:
            self._arrived.notify_all()
        return web.Response(status=reply.status, body=reply.body, headers=dict(reply.headers))


def _reserve_port() -> int:
    """A port that was free a moment ago; the watcher binds it with SO_REUSEADDR."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port
