"""Competing consumers: three adapter replicas share one stream, and a SIGKILL loses nothing.

For NATS JetStream (one shared durable pull consumer), Kafka (one consumer group), AMQP (one
named queue), MQTT (a ``$share/<group>/`` subscription) and SQS (one queue), three processes
run the kind's own entry point (``python -m <package>``) over the same source, each with its
own K_SINK (a recording watcher of its own, so each replica's share is visible). N messages
are published; once all three are delivering, one replica is SIGKILLed. Every message number
must reach some watcher (lost = 0); duplicates (what the killed replica had taken but not
acknowledged, redelivered to the others) are counted and printed. MQTT differs: the broker
keeps what was in flight to the killed client in that client's session, so the killed replica
is started again with its client id and gets it then.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import urllib.request
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nats
import pytest

from tests.adapter.kit import FAST_BACKOFF
from tests.kinds.amqp.rabbit import Names, numbers
from tests.kinds.amqp.rabbit import publish as amqp_publish
from tests.kinds.aws_sqs.kit import SECRET_ENV, Queues
from tests.kinds.aws_sqs.kit import source as sqs_source
from tests.kinds.kafka.kit import Topic
from tests.kinds.mqtt.kit import Publisher
from tests.kinds.nats.server import jetstream_stream
from tests.kinds.nats.server import publish as nats_publish
from tests.kit import configmap, free_port, unique, wait_until, write_registry
from tests.servicekit import AmqpService, KafkaService, MqttService, NatsService, SqsService
from tests.watcher import RecordingWatcher

pytestmark = pytest.mark.timeout(120)
COUNT = 3000
REPLICAS = 3
SOURCE = "shared"


@dataclass
class Stream:
    """One kind's shared source, how to publish the COUNT messages, and (optionally) how to
    tell every replica has its share assigned before publishing."""

    kind: str
    package: str
    source: dict[str, Any]
    publish: Callable[[], Coroutine[Any, Any, None]]
    # Whether this many members of the group have partitions (Kafka), so replicas join one
    # at a time and each has its share before anything is published.
    assigned: Callable[[int], Awaitable[bool]] | None = None
    # The source as replica i reads it (MQTT: a client id of its own), else the same for all.
    per_replica: Callable[[dict[str, Any], int], dict[str, Any]] | None = None
    # MQTT keeps what was in flight to a killed client in its session: it comes back when a
    # client of that id reconnects, so the killed replica is started again.
    restarts: bool = False
    env: dict[str, str] = field(default_factory=dict)  # e.g. the secrets the source names


class Replica:
    """One adapter process over the shared registry, delivering to a watcher of its own."""

    def __init__(self, stream: Stream, registry: Path, folder: Path) -> None:
        # One registry each (the same source, but per_replica may give each its own client id).
        self.stream = stream
        self.registry = registry
        self.folder = folder
        self.watcher = RecordingWatcher()
        self.admin_port = free_port()
        self.log = folder / "adapter.log"
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        await self.watcher.start()
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("GATEWAYS_", "K_")) and key != "KUBERNETES_SERVICE_HOST"
        }
        env |= {
            "GATEWAYS_REGISTRY_FILE": str(self.registry),
            "GATEWAYS_STATE_DIR": str(self.folder / "state"),
            "GATEWAYS_ADMIN_PORT": str(self.admin_port),
            "K_SINK": self.watcher.url,
            **self.stream.env,
        }
        with self.log.open("ab") as stderr:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", self.stream.package, env=env, stderr=stderr
            )

    def numbers(self) -> list[int]:
        """The message numbers this replica delivered (with repeats)."""
        return [
            json.loads(r.body)["n"]
            for r in self.watcher.requests
            if r.status == 200 and r.event is not None
        ]

    def running(self) -> bool:
        assert self.process is not None
        if self.process.returncode is not None:
            raise AssertionError(f"a replica exited: {self.log.read_text()[-2000:]}")
        url = f"http://127.0.0.1:{self.admin_port}/status"
        try:
            with urllib.request.urlopen(url, timeout=2) as reply:
                status = json.loads(reply.read())
        except OSError:
            return False
        states = [s["state"] for s in status["sources"] if s["name"] == SOURCE]
        return states == ["running"]

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()  # SIGKILL: no goodbye to the broker, nothing acknowledged

    async def restart(self) -> None:
        """The same replica again (same registry, state and sink) once the killed one is gone."""
        assert self.process is not None
        await self.process.wait()
        await self.watcher.stop()  # start() starts it again on the same port, keeping requests
        await self.start()

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.terminate()
            await asyncio.wait_for(self.process.wait(), 30)
        elif self.process is not None:
            await self.process.wait()
        await self.watcher.stop()


@asynccontextmanager
async def _nats(request: pytest.FixtureRequest) -> AsyncIterator[Stream]:
    service: NatsService = request.getfixturevalue("nats_service")
    stream, subject = unique("SHARED"), unique("shared.")
    client = await nats.connect(service.url)
    await jetstream_stream(client, stream, [f"{subject}.>"])
    source = {
        "url": service.url,
        "subject": f"{subject}.>",
        # One durable pull consumer that every replica binds: each fetch takes different
        # messages. A killed replica's unacked ones come back after ackWait.
        "jetStream": {"stream": stream, "durable": "gateway", "ackWait": "3s"},
        "backoff": FAST_BACKOFF,
    }

    async def publish() -> None:
        await nats_publish(client, f"{subject}.created", COUNT)

    try:
        yield Stream("nats", "adapters.streams.nats", source, publish)
    finally:
        await client.jetstream().delete_stream(stream)
        await client.close()


@asynccontextmanager
async def _kafka(request: pytest.FixtureRequest) -> AsyncIterator[Stream]:
    service: KafkaService = request.getfixturevalue("kafka_service")
    topic = await asyncio.to_thread(Topic, service.bootstrap, REPLICAS)
    source = {
        "url": topic.bootstrap,
        "topic": topic.name,
        # One group: the broker gives each replica its own partitions; a dead member's
        # partitions move to the others after the session timeout, from the last commit.
        "consumerGroup": {"groupName": topic.group},
        "initialOffset": "earliest",
        "backoff": FAST_BACKOFF,
    }

    async def publish() -> None:
        await asyncio.to_thread(topic.produce, range(COUNT))

    async def assigned(members: int) -> bool:
        return await asyncio.to_thread(topic.members_holding_partitions) == members

    try:
        yield Stream("kafka", "adapters.streams.kafka", source, publish, assigned)
    finally:
        await asyncio.to_thread(topic.delete)


@asynccontextmanager
async def _amqp(request: pytest.FixtureRequest) -> AsyncIterator[Stream]:
    service: AmqpService = request.getfixturevalue("amqp_service")
    names = Names()
    source = {
        "url": service.url,
        "exchangeName": names.exchange,
        "exchangeType": "topic",
        "routingKey": "orders.#",
        # A named (durable) queue every replica consumes from: the broker hands each message
        # to one of them; a dead consumer's unacked messages are requeued when its
        # connection drops.
        "queue": {"name": names.queue},
        "prefetch": 50,
        "backoff": FAST_BACKOFF,
    }

    async def publish() -> None:
        await asyncio.to_thread(amqp_publish, service.url, names.exchange, numbers(range(COUNT)))

    try:
        yield Stream("amqp", "adapters.streams.amqp", source, publish)
    finally:
        await asyncio.to_thread(names.delete, service.url)


@asynccontextmanager
async def _mqtt(request: pytest.FixtureRequest) -> AsyncIterator[Stream]:
    service: MqttService = request.getfixturevalue("mqtt_service")
    topic = f"shared/{uuid.uuid4().hex[:10]}"
    publisher = Publisher(service.port)
    source = {
        "url": f"tcp://127.0.0.1:{service.port}",
        # A shared subscription (MQTT 5): the broker hands each message to one member of
        # the group. Each replica is its own client (a client id of its own) with a
        # persistent session, as a StatefulSet pod would be.
        "topic": f"$share/gateways/{topic}/#",
        "clientId": unique("replica-"),
        "backoff": FAST_BACKOFF,
    }

    def per_replica(source: dict[str, Any], index: int) -> dict[str, Any]:
        return {**source, "clientId": f"{source['clientId']}-{index}"}

    async def publish() -> None:
        await asyncio.to_thread(publisher.numbers, f"{topic}/created", range(COUNT))

    try:
        yield Stream("mqtt", "adapters.streams.mqtt", source, publish, None, per_replica, True)
    finally:
        publisher.close()


@asynccontextmanager
async def _aws_sqs(request: pytest.FixtureRequest) -> AsyncIterator[Stream]:
    service: SqsService = request.getfixturevalue("sqs_service")
    queues = Queues(service)
    name = await asyncio.to_thread(queues.make, "gw-replicas-")
    # One queue: a message received by one replica is invisible to the others; a killed
    # replica's messages are visible again after the visibility timeout.
    source = sqs_source(service, name, visibilityTimeout="3s")
    env = {SECRET_ENV["access"]: service.access_key, SECRET_ENV["secret"]: service.secret_key}

    async def publish() -> None:
        await asyncio.to_thread(queues.send, name, range(COUNT))

    try:
        yield Stream("aws-sqs", "adapters.aws_sqs", source, publish, env=env)
    finally:
        await asyncio.to_thread(queues.delete_all)


STREAMS = {
    "nats": (_nats, "nats"),
    "kafka": (_kafka, "kafka"),
    "amqp": (_amqp, "amqp"),
    "mqtt": (_mqtt, "mqtt"),
    "aws-sqs": (_aws_sqs, "sqs"),
}


def _case(kind: str, mark: str) -> Any:
    return pytest.param(kind, marks=[getattr(pytest.mark, mark)], id=kind)


@pytest.mark.parametrize("kind", [_case(kind, mark) for kind, (_, mark) in STREAMS.items()])
async def test_three_replicas_share_the_stream_and_a_sigkill_loses_nothing(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    setup, _mark = STREAMS[kind]
    async with AsyncExitStack() as stack:
        stream = await stack.enter_async_context(setup(request))
        gateway = unique("replicas-")
        replicas = []
        for index in range(REPLICAS):
            source = stream.source
            if stream.per_replica is not None:
                source = stream.per_replica(source, index)
            folder = tmp_path / f"replica-{index}"
            folder.mkdir()
            registry = write_registry(
                folder / "registry.yaml", configmap(gateway, kind, {SOURCE: source})
            )
            replicas.append(Replica(stream, registry, folder))
        for count, replica in enumerate(replicas, 1):
            stack.push_async_callback(replica.stop)
            await replica.start()
            if stream.assigned is not None:
                async with asyncio.timeout(60):
                    while not await stream.assigned(count):
                        await asyncio.sleep(0.2)
        await wait_until(lambda: all(r.running() for r in replicas), 60)
        for replica in replicas:  # slow enough that the kill lands mid-stream
            replica.watcher.delay = 0.002

        publishing = asyncio.create_task(stream.publish())
        victim, survivors = replicas[0], replicas[1:]
        await wait_until(lambda: len(victim.numbers()) >= COUNT // 20, 60)
        await wait_until(lambda: all(r.numbers() for r in replicas), 30)
        victim.kill()
        taken_before_kill = len(victim.numbers())
        await publishing
        if stream.restarts:
            await victim.restart()

        def delivered() -> set[int]:
            return {n for r in replicas for n in r.numbers()}

        await wait_until(lambda: len(delivered()) == COUNT, 60, lambda: delivered())
        shares = [len(r.numbers()) for r in replicas]
        counts = Counter(n for r in replicas for n in r.numbers())
        lost = COUNT - len(delivered())
        duplicates = sum(counts.values()) - len(counts)
        print(
            f"{kind}: {COUNT} messages, shares {shares} (killed replica took "
            f"{taken_before_kill} before SIGKILL), lost {lost}, duplicates {duplicates}"
        )
        assert lost == 0
        assert all(share > 0 for share in shares), shares
        assert all(r.numbers() for r in survivors)
        assert set(counts) == set(range(COUNT))
