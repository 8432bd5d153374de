"""The NATS source on its own against real servers: auth, queue groups, nacks, reconnects."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nats
import pytest
import yaml

from adapters.streams.nats.source import NATSSource
from gateways.config import parse_source
from gateways.errors import GatewayError
from gateways.kinds import SourceContext
from gateways.settings import Settings
from gateways.source import Origin, RawEvent
from tests.kinds.nats.server import NatsServer, certificates, jetstream_stream
from tests.kit import unique, wait_until
from tests.servicekit import NatsService

pytestmark = pytest.mark.nats


@dataclass
class Recorder:
    """A recording ``emit`` (failing the first ``refuse`` calls) and the statuses reported."""

    refuse: int = 0
    max_in_flight: int = 16
    events: list[RawEvent] = field(default_factory=list)
    statuses: list[tuple[str, str]] = field(default_factory=list)

    async def emit(self, raw: RawEvent) -> None:
        if self.refuse > 0:
            self.refuse -= 1
            raise GatewayError("watcher refused")
        self.events.append(raw)

    def context(self) -> SourceContext:
        context = SourceContext(Settings(max_in_flight=self.max_in_flight))
        context.on_status = lambda origin, state, reason: self.statuses.append((state, reason))
        return context


def nats_source(name: str, config: dict[str, Any], recorder: Recorder) -> NATSSource:
    parsed = parse_source("nats", name, yaml.safe_dump(config))
    return NATSSource(Origin("streams", name, "nats"), parsed, recorder.context())


@pytest.fixture
async def sources() -> AsyncIterator[list[NATSSource]]:
    started: list[NATSSource] = []
    yield started
    for source in started:
        await source.stop()


async def test_user_and_password_from_a_secret(
    nats_service: NatsService, monkeypatch: pytest.MonkeyPatch, sources: list[NATSSource]
) -> None:
    monkeypatch.setenv("NATS_TEST_PASSWORD", nats_service.password)
    subject = unique("auth.")
    recorder = Recorder()
    config = {
        "url": nats_service.auth_url,
        "subject": subject,
        "auth": {"username": nats_service.user, "password": {"env": "NATS_TEST_PASSWORD"}},
    }
    source = nats_source("auth", config, recorder)
    await source.start(recorder.emit)
    sources.append(source)
    publisher = await nats.connect(
        nats_service.auth_url, user=nats_service.user, password=nats_service.password
    )
    await publisher.publish(subject, b"secret")
    await publisher.flush()
    await publisher.close()
    await wait_until(lambda: [e.payload for e in recorder.events] == [b"secret"])


async def test_a_missing_secret_fails_the_start_naming_the_field(nats_service: NatsService) -> None:
    config = {
        "url": nats_service.auth_url,
        "subject": "x",
        "auth": {"username": "gateways", "password": {"env": "NATS_NO_SUCH_VARIABLE"}},
    }
    with pytest.raises(GatewayError, match=r"^auth\.password: env NATS_NO_SUCH_VARIABLE"):
        await nats_source("nosecret", config, Recorder()).start(Recorder().emit)


async def test_a_wrong_password_is_reported_and_retried(
    nats_service: NatsService, monkeypatch: pytest.MonkeyPatch, sources: list[NATSSource]
) -> None:
    monkeypatch.setenv("NATS_TEST_PASSWORD", "not-" + nats_service.password)
    recorder = Recorder()
    config = {
        "url": nats_service.auth_url,
        "subject": "x",
        "auth": {"username": nats_service.user, "password": {"env": "NATS_TEST_PASSWORD"}},
        "backoff": {"duration": "50ms", "jitter": 0},
    }
    source = nats_source("wrong", config, recorder)
    await source.start(recorder.emit)
    sources.append(source)
    await wait_until(lambda: len(recorder.statuses) >= 2)
    state, reason = recorder.statuses[0]
    assert state == "degraded" and nats_service.auth_url in reason
    assert "authorization" in reason.lower() and "reconnecting in" in reason


def numbers(recorders: list[Recorder]) -> list[int]:
    return [int(e.payload) for r in recorders for e in r.events if e.payload.isdigit()]


def lasts(recorders: list[Recorder]) -> int:
    return sum(e.payload == b"last" for r in recorders for e in r.events)


async def test_a_queue_group_shares_the_messages(
    nats_service: NatsService, sources: list[NATSSource]
) -> None:
    subject = unique("queue.")
    recorders = [Recorder(), Recorder()]
    for number, recorder in enumerate(recorders):
        config = {"url": nats_service.url, "subject": subject, "queue": "gateways"}
        source = nats_source(f"replica{number}", config, recorder)
        await source.start(recorder.emit)
        sources.append(source)
    publisher = await nats.connect(nats_service.url)
    for number in range(100):
        await publisher.publish(subject, str(number).encode())
    await publisher.flush()
    await wait_until(lambda: len(set(numbers(recorders))) == 100)
    # Each replica receives in publish order: once both hold a later message, no copy of the
    # first 100 is still on its way to either.
    sent = 0

    def arrived() -> bool:
        return lasts(recorders) == sent

    while not all(b"last" in [e.payload for e in r.events] for r in recorders):
        await publisher.publish(subject, b"last")
        await publisher.flush()
        sent += 1
        await wait_until(arrived)
    await publisher.close()
    assert sorted(numbers(recorders)) == list(range(100))  # each message to one replica only
    assert all(r.events for r in recorders)


async def test_a_refused_jetstream_message_is_redelivered(
    nats_service: NatsService, sources: list[NATSSource]
) -> None:
    stream, subject = unique("NAK"), unique("nak.")
    publisher = await nats.connect(nats_service.url)
    await jetstream_stream(publisher, stream, [subject])
    recorder = Recorder(refuse=2)
    config = {
        "url": nats_service.url,
        "subject": subject,
        "jetStream": {"stream": stream, "durable": "gateway"},
        "backoff": {"duration": "50ms", "jitter": 0},
    }
    source = nats_source("nak", config, recorder)
    await source.start(recorder.emit)
    sources.append(source)
    await publisher.jetstream().publish(subject, b"once")
    await publisher.close()
    await wait_until(lambda: len(recorder.events) == 1, timeout=10)
    assert recorder.events[0].id == f"{stream}:1"
    assert recorder.events[0].extensions["natsdelivered"] == "3"  # refused twice, nacked


async def test_jetstream_takes_no_more_than_max_in_flight_at_once(
    nats_service: NatsService, sources: list[NATSSource]
) -> None:
    stream, subject = unique("BOUND"), unique("bound.")
    publisher = await nats.connect(nats_service.url)
    await jetstream_stream(publisher, stream, [subject])
    for number in range(40):
        await publisher.jetstream().publish(subject, str(number).encode())
    await publisher.close()
    recorder = Recorder(max_in_flight=3)  # maxAckPending (1000) would allow all 40
    busy, peak, release = 0, 0, asyncio.Event()

    async def emit(raw: RawEvent) -> None:
        nonlocal busy, peak
        busy += 1
        peak = max(peak, busy)
        try:
            await release.wait()
            await recorder.emit(raw)
        finally:
            busy -= 1

    config = {
        "url": nats_service.url,
        "subject": subject,
        "jetStream": {"stream": stream, "durable": "gateway", "deliverPolicy": "all"},
    }
    source = nats_source("bound", config, recorder)
    await source.start(emit)
    sources.append(source)
    await wait_until(lambda: busy == 3)
    release.set()
    await wait_until(lambda: len(recorder.events) == 40, timeout=10)
    assert peak == 3
    assert sorted(int(e.payload) for e in recorder.events) == list(range(40))


async def test_a_missing_stream_is_reported_until_it_exists(
    nats_service: NatsService, sources: list[NATSSource]
) -> None:
    stream, subject = unique("LATE"), unique("late.")
    recorder = Recorder()
    config = {
        "url": nats_service.url,
        "subject": subject,
        "jetStream": {"stream": stream, "durable": "gateway"},
        "backoff": {"duration": "50ms", "jitter": 0, "cap": "200ms"},
    }
    source = nats_source("late", config, recorder)
    await source.start(recorder.emit)
    sources.append(source)
    await wait_until(lambda: bool(recorder.statuses))
    assert f"jetStream.stream: no stream '{stream}' on the server" in recorder.statuses[0][1]
    publisher = await nats.connect(nats_service.url)
    await jetstream_stream(publisher, stream, [subject])
    await wait_until(lambda: recorder.statuses[-1] == ("running", ""), timeout=10)
    await publisher.jetstream().publish(subject, b"now")
    await publisher.close()
    await wait_until(lambda: len(recorder.events) == 1)


async def test_an_unreachable_server_is_retried_until_it_is_up(
    tmp_path: Path, sources: list[NATSSource]
) -> None:
    server = NatsServer(tmp_path)
    recorder = Recorder()
    config = {"url": server.url, "subject": "up", "backoff": {"duration": "50ms", "jitter": 0}}
    source = nats_source("up", config, recorder)
    await source.start(recorder.emit)
    sources.append(source)
    try:
        await wait_until(lambda: bool(recorder.statuses))
        assert recorder.statuses[0][0] == "degraded"
        await server.start()
        await wait_until(lambda: recorder.statuses[-1] == ("running", ""), timeout=10)
        publisher = await nats.connect(server.url)
        await publisher.publish("up", b"hello")
        await publisher.flush()
        await publisher.close()
        await wait_until(lambda: len(recorder.events) == 1)
    finally:
        server.stop()


async def test_tls_with_a_private_ca(tmp_path: Path, sources: list[NATSSource]) -> None:
    ca, certificate, key = certificates(tmp_path)
    server = await NatsServer(tmp_path, tls=(certificate, key)).start()
    recorder = Recorder()
    config = {"url": server.url, "subject": "secure", "tls": {"caCertPath": str(ca)}}
    source = nats_source("secure", config, recorder)
    try:
        await source.start(recorder.emit)
        sources.append(source)
        assert recorder.statuses == []  # connected at once
        context = ssl.create_default_context(cafile=str(ca))
        publisher = await nats.connect(server.url, tls=context)
        await publisher.publish("secure", b"over tls")
        await publisher.flush()
        await publisher.close()
        await wait_until(lambda: [e.payload for e in recorder.events] == [b"over tls"])
    finally:
        server.stop()


async def test_an_unreadable_ca_fails_the_start_naming_the_field(tmp_path: Path) -> None:
    config = {"url": "tls://127.0.0.1:1", "subject": "x", "tls": {"caCertPath": "/nope/ca.crt"}}
    with pytest.raises(GatewayError, match=r"^tls\.caCertPath: /nope/ca\.crt does not exist"):
        await nats_source("badca", config, Recorder()).start(Recorder().emit)
