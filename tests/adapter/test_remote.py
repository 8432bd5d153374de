"""Server and client of the event-source protocol, over real gRPC on 127.0.0.1.

The server hosts a scripted kind: the test calls the running source's ``emit`` itself and
sees what the client made of each event (acknowledged, rejected, held back by the window).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import grpc
import pytest

from gateways.adapter.client import RemoteSource
from gateways.adapter.remote import RemoteConfig, RemoteKind
from gateways.adapter.server import EventingService, EventSourceServer
from gateways.adapter.stream import EventNotAcceptedError
from gateways.config import parse_source
from gateways.config.server import ServerSpec
from gateways.errors import GatewayError
from gateways.kinds import SourceContext
from gateways.registry.model import Entry
from gateways.source import Emit, Origin, RawEvent
from tests.kit import free_port, wait_until

CONFIG = "url: nats://127.0.0.1:1\nsubject: orders.*\nbackoff: {duration: 50ms, jitter: 0}\n"
RAW = RawEvent(
    payload=b'{"n": 1}',
    content_type="application/json",
    id="ORDERS:1",
    subject="orders.created",
    extensions={"natsstream": "ORDERS"},
    headers={"x-trace": "abc"},
    binding="nats",
)


@dataclass
class ScriptedSource:
    origin: Origin
    context: SourceContext
    emit: Emit | None = None
    stopped: bool = False

    async def start(self, emit: Emit) -> None:
        self.emit = emit

    async def stop(self) -> None:
        self.stopped = True


@dataclass
class ScriptedKind:
    name: str = "nats"
    sources: list[ScriptedSource] = field(default_factory=list)

    def create(self, origin: Origin, config: Any, context: SourceContext) -> ScriptedSource:
        source = ScriptedSource(origin, context)
        self.sources.append(source)
        return source

    @property
    def running(self) -> ScriptedSource:
        return next(s for s in reversed(self.sources) if not s.stopped)


@dataclass
class Client:
    """A RemoteSource with a scriptable emit and the statuses it reported."""

    source: RemoteSource
    received: list[RawEvent] = field(default_factory=list)
    statuses: list[tuple[str, str]] = field(default_factory=list)
    fail_with: Exception | None = None
    hold: asyncio.Event = field(default_factory=asyncio.Event)

    async def emit(self, raw: RawEvent) -> None:
        self.received.append(raw)
        await self.hold.wait()
        if self.fail_with is not None:
            raise self.fail_with


@pytest.fixture
async def kind() -> ScriptedKind:
    return ScriptedKind()


@pytest.fixture
async def server(kind: ScriptedKind) -> AsyncIterator[EventSourceServer]:
    running = EventSourceServer({"nats": kind}, SourceContext(None), max_in_flight=64)
    await running.start()
    yield running
    await running.stop(grace=0)


_REMOTES: list[RemoteKind] = []


@pytest.fixture(autouse=True)
async def close_channels() -> AsyncIterator[None]:
    yield
    while _REMOTES:
        await _REMOTES.pop().close()


async def client_for(address: str, value: str = CONFIG, max_in_flight: int = 64) -> Client:
    remote = RemoteKind(ServerSpec(address), max_in_flight=max_in_flight, grace=1.0)
    _REMOTES.append(remote)
    entry = Entry("gw", "nats", "orders", value, "digest")
    try:
        config = parse_source("nats", "orders", value)
    except GatewayError:
        config = None
    holder: list[Client] = []
    context = SourceContext(None)
    context.on_status = lambda origin, state, reason: holder[0].statuses.append((state, reason))
    client = Client(
        remote.create(Origin("gw", "orders", "nats"), RemoteConfig(entry, config), context)
    )
    client.hold.set()
    holder.append(client)
    return client


@pytest.fixture
async def started(server: EventSourceServer) -> AsyncIterator[Client]:
    client = await client_for(server.address)
    await client.source.start(client.emit)
    yield client
    await client.source.stop()


async def test_an_acknowledged_event_returns_from_the_servers_emit(
    kind: ScriptedKind, started: Client
) -> None:
    assert kind.running.emit is not None
    await asyncio.wait_for(kind.running.emit(RAW), 5)
    assert started.received == [RAW]


async def test_a_rejected_event_raises_from_the_servers_emit(
    kind: ScriptedKind, started: Client
) -> None:
    started.fail_with = GatewayError("watcher said 503")
    assert kind.running.emit is not None
    with pytest.raises(EventNotAcceptedError, match="watcher said 503"):
        await asyncio.wait_for(kind.running.emit(RAW), 5)


async def test_the_window_holds_back_events_beyond_max_in_flight(
    kind: ScriptedKind, server: EventSourceServer
) -> None:
    client = await client_for(server.address, max_in_flight=2)
    client.hold.clear()
    await client.source.start(client.emit)
    try:
        emit = kind.running.emit
        assert emit is not None
        sent = [asyncio.create_task(emit(RawEvent(payload=str(n).encode()))) for n in range(5)]
        await wait_until(lambda: len(client.received) == 2)
        await asyncio.sleep(0.1)
        assert len(client.received) == 2  # the rest wait at the server for acks
        client.hold.set()
        await asyncio.wait_for(asyncio.gather(*sent), 5)
        assert sorted(r.payload for r in client.received) == [b"0", b"1", b"2", b"3", b"4"]
    finally:
        await client.source.stop()


async def test_stopping_the_client_stops_the_source_and_fails_what_is_in_flight(
    kind: ScriptedKind, server: EventSourceServer
) -> None:
    client = await client_for(server.address)
    await client.source.start(client.emit)
    source = kind.running
    assert source.emit is not None
    client.hold.clear()
    pending = asyncio.create_task(source.emit(RAW))
    await wait_until(lambda: len(client.received) == 1)
    client.source._grace = 0.1  # the in-flight event is not finished by then
    await client.source.stop()
    await wait_until(lambda: source.stopped)
    with pytest.raises(EventNotAcceptedError):
        await asyncio.wait_for(pending, 5)


async def test_source_statuses_reach_the_client(kind: ScriptedKind, started: Client) -> None:
    source = kind.running
    source.context.on_status(source.origin, "degraded", "broker lost")
    await wait_until(lambda: ("degraded", "broker lost") in started.statuses)
    source.context.on_status(source.origin, "running", "")
    await wait_until(lambda: started.statuses[-1] == ("running", ""))


async def test_an_invalid_source_fails_to_start_with_the_field(server: EventSourceServer) -> None:
    client = await client_for(server.address, "url: nats://127.0.0.1:1\nsubject: 'a b'\n")
    with pytest.raises(GatewayError, match=r"^subject: 'a b' is not a NATS subject"):
        await client.source.start(client.emit)


async def test_a_kind_the_server_does_not_run_is_refused(server: EventSourceServer) -> None:
    remote = RemoteKind(ServerSpec(server.address))
    entry = Entry("gw", "mqtt", "t", "url: tcp://h:1883\ntopic: t\n", "d")
    source = remote.create(
        Origin("gw", "t", "mqtt"), RemoteConfig(entry, None), SourceContext(None)
    )
    with pytest.raises(GatewayError, match="runs no 'mqtt' sources"):
        await source.start(_ignore)
    await remote.close()


async def test_an_unreachable_server_is_retried_while_degraded(kind: ScriptedKind) -> None:
    port = free_port()
    client = await client_for(f"127.0.0.1:{port}")
    await client.source.start(client.emit)
    server = EventSourceServer({"nats": kind}, SourceContext(None), port=port)
    try:
        await wait_until(lambda: any(s == "degraded" for s, _ in client.statuses))
        assert "UNAVAILABLE" in client.statuses[0][1]
        await server.start()
        await wait_until(lambda: client.statuses[-1] == ("running", ""), timeout=10)
        assert kind.running.emit is not None
        await asyncio.wait_for(kind.running.emit(RAW), 5)
        assert client.received == [RAW]
    finally:
        await client.source.stop()
        await server.stop(grace=0)


async def test_a_server_restart_is_survived(kind: ScriptedKind) -> None:
    """Even through a server that refused the source meanwhile: failed, and retried."""
    port = free_port()
    server = EventSourceServer({"nats": kind}, SourceContext(None), port=port)
    await server.start()
    client = await client_for(server.address)
    await client.source.start(client.emit)
    try:
        await server.stop(grace=0)
        await wait_until(lambda: any(s == "degraded" for s, _ in client.statuses))
        await wait_until(lambda: kind.sources[0].stopped)
        server = EventSourceServer({}, SourceContext(None), port=port)  # runs no nats sources
        await server.start()
        await wait_until(lambda: any(s == "failed" for s, _ in client.statuses), timeout=10)
        reason = next(r for s, r in client.statuses if s == "failed")
        assert "runs no 'nats' sources" in reason and "reconnecting in" in reason
        await server.stop(grace=0)
        server = EventSourceServer({"nats": kind}, SourceContext(None), port=port)
        await server.start()
        await wait_until(lambda: client.statuses[-1] == ("running", ""), timeout=10)
        assert len(kind.sources) == 2
        assert kind.running.emit is not None
        await asyncio.wait_for(kind.running.emit(RAW), 5)
    finally:
        await client.source.stop()
        await server.stop(grace=0)


class SeedOnlyService(EventingService):
    """A seed-era server: ValidateEventSource and StartEventSource only."""

    async def StartEventSourceAcked(self, request_iterator: Any, context: Any) -> None:
        await context.abort(grpc.StatusCode.UNIMPLEMENTED, "Method not implemented!")


async def test_a_seed_era_server_is_driven_without_acks(kind: ScriptedKind) -> None:
    server = EventSourceServer({"nats": kind}, SourceContext(None))
    server.service = SeedOnlyService({"nats": kind}, SourceContext(None), 64)
    await server.start()
    client = await client_for(server.address)
    await client.source.start(client.emit)
    try:
        await wait_until(lambda: bool(kind.sources) and kind.running.emit is not None)
        emit: Callable[[RawEvent], Any] | None = kind.running.emit
        assert emit is not None
        await asyncio.wait_for(emit(RAW), 5)  # returns once written: no ack to wait for
        await wait_until(lambda: client.received == [RAW])
    finally:
        await client.source.stop()
        await server.stop(grace=0)
    await wait_until(lambda: kind.sources[0].stopped)


async def _ignore(raw: RawEvent) -> None:
    return None


async def test_a_burst_of_large_events_is_sent_in_messages_grpc_accepts(
    kind: ScriptedKind, server: EventSourceServer
) -> None:
    """80 events of 1 MiB queued at once are 80 MiB, over the channel's 64 MiB message limit:
    the server splits them into several messages, and every one is acknowledged."""
    client = await client_for(server.address, max_in_flight=128)
    client.hold.clear()  # the first events wait at the client while the rest queue up
    await client.source.start(client.emit)
    try:
        emit = kind.running.emit
        assert emit is not None
        big = b"x" * (1 << 20)
        sent = [
            asyncio.create_task(emit(RawEvent(payload=big + str(n).encode()))) for n in range(80)
        ]
        await wait_until(lambda: len(client.received) >= 1)
        client.hold.set()
        await asyncio.wait_for(asyncio.gather(*sent), 30)
        assert sorted(int(r.payload[len(big) :]) for r in client.received) == list(range(80))
    finally:
        await client.source.stop()
