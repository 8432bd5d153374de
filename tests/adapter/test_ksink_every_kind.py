"""K_SINK alone: every adapter kind delivers CloudEvents to it, as a Knative sink expects.

For each kind the kinds table serves by an adapter, the kind's own entry point
(``python -m <package>``) runs with only ``K_SINK`` set (no GATEWAYS_DISPATCHER_URL, no
GATEWAYS_WATCHERS, no watchers in the registry) pointed at a recording HTTP receiver on
127.0.0.1, and one source of that kind against the real test service. What arrives is parsed
by the cloudevents SDK: CloudEvents 1.0 in binary mode, the kind's type, the source's
``/gateways/<gateway>/<source>``, and the payload the test put in. One adapter process a kind.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import urllib.request
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nats
import pika
import pytest
from cloudevents.http import from_http

from gateways.entrypoints import group
from gateways.kinds import ENTRY_POINT_GROUP, kinds
from tests.adapter.kit import FAST_BACKOFF
from tests.kinds.amqp.rabbit import Names
from tests.kinds.amqp.rabbit import publish as amqp_publish
from tests.kinds.artifact.conftest import ACCESS_KEY_VARIABLE, SECRET_KEY_VARIABLE, Bucket
from tests.kinds.artifact.conftest import source_fields as artifact_source
from tests.kinds.aws_sqs.kit import SECRET_ENV, Queues
from tests.kinds.aws_sqs.kit import source as sqs_source
from tests.kinds.gcp_pubsub.conftest import source as pubsub_source
from tests.kinds.hdfs.test_running import source as hdfs_source
from tests.kinds.kafka.kit import Topic
from tests.kinds.mqtt.kit import Publisher
from tests.kit import configmap, free_port, unique, wait_until, write_registry
from tests.kubekit import call, put_configmap
from tests.servicekit import (
    AmqpService,
    HdfsService,
    KafkaService,
    KubernetesService,
    MinioService,
    MqttService,
    NatsService,
    PubsubService,
    SqsService,
)
from tests.watcher import Recorded, RecordingWatcher

pytestmark = pytest.mark.timeout(180)
SOURCE = "only-ksink"


@dataclass
class Scenario:
    """One kind's source against its test service, and how to make it emit one event.

    ``produce(n)`` makes the service report the n-th change and returns what the CloudEvent's
    data must then hold; ``marker(data)`` is what a received event's data holds.
    """

    type: str
    source: dict[str, Any]
    produce: Callable[[int], Awaitable[Any]]
    marker: Callable[[Any], Any] = lambda data: data
    env: dict[str, str] = field(default_factory=dict)
    every: float = 1.0  # produce again after this long without an event


Setup = Callable[[pytest.FixtureRequest, Path], Any]  # an async context manager of a Scenario


def _body(tag: str, n: int) -> dict[str, Any]:
    return {"tag": tag, "n": n}


def _encoded(body: dict[str, Any]) -> bytes:
    return json.dumps(body).encode()


@asynccontextmanager
async def _nats(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Scenario]:
    service: NatsService = request.getfixturevalue("nats_service")
    subject, tag = unique("ksink."), uuid.uuid4().hex
    client = await nats.connect(service.url)

    async def produce(n: int) -> Any:
        # Core NATS drops what is published before the subscription exists: produce repeats.
        await client.publish(subject, _encoded(_body(tag, n)))
        await client.flush()
        return _body(tag, n)

    try:
        yield Scenario(
            "dev.gateways.nats.message",
            {"url": service.url, "subject": subject, "backoff": FAST_BACKOFF},
            produce,
        )
    finally:
        await client.close()


@asynccontextmanager
async def _mqtt(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Scenario]:
    service: MqttService = request.getfixturevalue("mqtt_service")
    topic, tag = f"ksink/{uuid.uuid4().hex[:10]}", uuid.uuid4().hex
    publisher = Publisher(service.port)

    async def produce(n: int) -> Any:
        info = publisher.publish(topic, _encoded(_body(tag, n)))
        await asyncio.to_thread(info.wait_for_publish, 10)
        return _body(tag, n)

    source = {
        "url": f"tcp://127.0.0.1:{service.port}",
        "topic": topic,
        "clientId": unique("ksink-"),
        "backoff": FAST_BACKOFF,
    }
    try:
        yield Scenario("dev.gateways.mqtt.message", source, produce)
    finally:
        publisher.client.loop_stop()
        publisher.client.disconnect()


@asynccontextmanager
async def _amqp(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Scenario]:
    service: AmqpService = request.getfixturevalue("amqp_service")
    names, tag = Names(), uuid.uuid4().hex
    properties = pika.BasicProperties(content_type="application/json")

    async def produce(n: int) -> Any:
        message = ("orders.created", _encoded(_body(tag, n)), properties)
        await asyncio.to_thread(amqp_publish, service.url, names.exchange, [message])
        return _body(tag, n)

    source = {
        "url": service.url,
        "exchangeName": names.exchange,
        "exchangeType": "topic",
        "routingKey": "orders.#",
        "queue": {"name": names.queue},
        "backoff": FAST_BACKOFF,
    }
    try:
        yield Scenario("dev.gateways.amqp.message", source, produce)
    finally:
        await asyncio.to_thread(names.delete, service.url)


@asynccontextmanager
async def _kafka(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Scenario]:
    service: KafkaService = request.getfixturevalue("kafka_service")
    topic, tag = await asyncio.to_thread(Topic, service.bootstrap), uuid.uuid4().hex

    async def produce(n: int) -> Any:
        await asyncio.to_thread(topic.send, _encoded(_body(tag, n)))
        return _body(tag, n)

    source = {
        "url": topic.bootstrap,
        "topic": topic.name,
        "consumerGroup": {"groupName": topic.group},
        "initialOffset": "earliest",
        "backoff": FAST_BACKOFF,
    }
    try:
        # A consumer group's first join can take a while: what is produced meanwhile waits.
        yield Scenario("dev.gateways.kafka.message", source, produce, every=5.0)
    finally:
        await asyncio.to_thread(topic.delete)


@asynccontextmanager
async def _resource(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Scenario]:
    service: KubernetesService = request.getfixturevalue("kubernetes_service")
    namespace, tag = unique("gw-ksink-"), uuid.uuid4().hex
    await call(service, "POST", "/api/v1/namespaces", {"metadata": {"name": namespace}})

    async def produce(n: int) -> Any:
        name = f"ksink-{n}"
        document = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": name, "labels": {"app": "ksink"}},
            "data": {"tag": tag},
        }
        await put_configmap(service, namespace, document)
        return (name, {"tag": tag})

    def marker(data: Any) -> Any:
        return (data["object"]["metadata"]["name"], data["object"]["data"])

    source = {
        "namespace": namespace,
        "version": "v1",
        "kind": "ConfigMap",
        "labelSelector": "app=ksink",
    }
    env = {"KUBECONFIG": service.kubeconfig}
    try:
        yield Scenario("dev.gateways.resource.add", source, produce, marker, env)
    finally:
        # No controller-manager runs, so the namespace stays Terminating; its name is unique.
        await call(service, "DELETE", f"/api/v1/namespaces/{namespace}", expect=(200, 202, 404))


@asynccontextmanager
async def _artifact(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Scenario]:
    from minio import Minio

    service: MinioService = request.getfixturevalue("minio_service")
    client = Minio(
        service.endpoint,
        access_key=service.access_key,
        secret_key=service.secret_key,
        secure=False,
    )
    bucket = Bucket(client, f"gw-ksink-{uuid.uuid4().hex[:10]}")
    await bucket.make()

    async def produce(n: int) -> Any:
        key = f"ksink/{n}.json"
        await bucket.put(key, _encoded({"n": n}), "application/json")
        return key

    env = {ACCESS_KEY_VARIABLE: service.access_key, SECRET_KEY_VARIABLE: service.secret_key}
    try:
        # MinIO flushes a listen stream only once some records are buffered: keep putting.
        yield Scenario(
            "dev.gateways.artifact.objectcreated.put",
            artifact_source(service, bucket),
            produce,
            lambda data: data["s3"]["object"]["key"],
            env,
            every=0.2,
        )
    finally:
        await bucket.remove()


@asynccontextmanager
async def _file(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Scenario]:
    directory = tmp_path / "inbox"
    directory.mkdir()

    async def produce(n: int) -> Any:
        path = directory / f"in-{n}.json"
        path.write_bytes(_encoded({"n": n}))
        return str(path)

    source = {
        "directory": str(directory),
        "type": "CREATE",
        "pathRegexp": ".",
        "backoff": FAST_BACKOFF,
    }
    yield Scenario("dev.gateways.file.create", source, produce, lambda data: data["name"])


@asynccontextmanager
async def _aws_sqs(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Scenario]:
    service: SqsService = request.getfixturevalue("sqs_service")
    queues, tag = Queues(service), uuid.uuid4().hex
    name = await asyncio.to_thread(queues.make, "gw-ksink-")
    url = await asyncio.to_thread(queues.url, name)

    async def produce(n: int) -> Any:
        body = json.dumps(_body(tag, n))
        await asyncio.to_thread(queues.client.send_message, QueueUrl=url, MessageBody=body)
        return _body(tag, n)

    env = {SECRET_ENV["access"]: service.access_key, SECRET_ENV["secret"]: service.secret_key}
    try:
        yield Scenario("dev.gateways.aws-sqs.message", sqs_source(service, name), produce, env=env)
    finally:
        await asyncio.to_thread(queues.delete_all)


@asynccontextmanager
async def _gcp_pubsub(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Scenario]:
    service: PubsubService = request.getfixturevalue("pubsub_service")
    publisher = service.publisher()
    topic, tag = unique("gw-ksink-"), uuid.uuid4().hex
    path = publisher.topic_path(service.project, topic)
    await asyncio.to_thread(publisher.create_topic, name=path)

    async def produce(n: int) -> Any:
        # What is published before the adapter's subscription exists is not kept: repeat.
        future = publisher.publish(path, _encoded(_body(tag, n)))
        await asyncio.to_thread(future.result, 30)
        return _body(tag, n)

    try:
        yield Scenario("dev.gateways.gcp-pubsub.message", pubsub_source(service, topic), produce)
    finally:
        publisher.transport.close()


@asynccontextmanager
async def _hdfs(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Scenario]:
    service: HdfsService = request.getfixturevalue("hdfs_service")
    webhdfs = service.client()
    directory = f"/{unique('gw-ksink-')}"
    await asyncio.to_thread(webhdfs.makedirs, directory)

    async def produce(n: int) -> Any:
        path = f"{directory}/in-{n}.json"
        await asyncio.to_thread(webhdfs.write, path, data=_encoded({"n": n}))
        return path

    try:
        yield Scenario(
            "dev.gateways.hdfs.create",
            hdfs_source(service, directory),
            produce,
            lambda data: data["name"],
        )
    finally:
        await asyncio.to_thread(webhdfs.delete, directory, recursive=True)


CASES: dict[str, tuple[Setup, str | None]] = {
    "nats": (_nats, "nats"),
    "mqtt": (_mqtt, "mqtt"),
    "amqp": (_amqp, "amqp"),
    "kafka": (_kafka, "kafka"),
    "resource": (_resource, "kubernetes"),
    "artifact": (_artifact, "minio"),
    "file": (_file, None),
    "aws-sqs": (_aws_sqs, "sqs"),
    "gcp-pubsub": (_gcp_pubsub, "pubsub"),
    "hdfs": (_hdfs, "hdfs"),
}


def test_every_adapter_kind_is_covered() -> None:
    table = kinds()
    assert {name for name in table if table[name].served_by == "adapter"} == set(CASES)


def _module(kind: str) -> str:
    """The kind's package, which is what its deployed adapter runs (``python -m``)."""
    return group(ENTRY_POINT_GROUP)[kind].module.removesuffix(".source")


def _environment(
    registry: Path, tmp_path: Path, sink: str, extra: dict[str, str]
) -> dict[str, str]:
    """This process's environment without any gateway setting, plus K_SINK and the basics."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("GATEWAYS_", "K_")) and key != "KUBERNETES_SERVICE_HOST"
    }
    return {
        **env,
        "GATEWAYS_REGISTRY_FILE": str(registry),
        "GATEWAYS_STATE_DIR": str(tmp_path / "state"),
        "GATEWAYS_ADMIN_PORT": str(free_port()),
        "K_SINK": sink,
        **extra,
    }


def _state(admin_port: int) -> str:
    """The source's state on the adapter's /status, or why there is none yet."""
    url = f"http://127.0.0.1:{admin_port}/status"
    try:
        with urllib.request.urlopen(url, timeout=2) as reply:
            status = json.loads(reply.read())
    except OSError as exc:
        return f"no answer ({exc})"
    found = [s for s in status["sources"] if s["name"] == SOURCE]
    if not found:
        return f"not listed (registry problems: {status['registryProblems']})"
    return f"{found[0]['state']}: {found[0].get('reason', '')}"


def _parse(recorded: Recorded) -> Any:
    """The request as the cloudevents SDK reads it; raises if it is not a CloudEvent."""
    return from_http(recorded.headers, recorded.body)


def _data(event: Any) -> Any:
    data = event.data
    if isinstance(data, bytes | str):
        data = json.loads(data)
    return data


async def run_until_delivered(
    kind: str,
    gateway: str,
    scenario: Any,
    tmp_path: Path,
    watcher: RecordingWatcher,
    extra_env: Mapping[str, str] | None = None,
) -> tuple[list[Any], Path]:
    """The kind's adapter, by its own entry point, with only K_SINK (the watcher) and one source
    of ``scenario``: what it produced until the watcher got a request, and the adapter's log."""
    registry = write_registry(
        tmp_path / "registry.yaml", configmap(gateway, kind, {SOURCE: scenario.source})
    )
    env = _environment(registry, tmp_path, watcher.url, {**scenario.env, **(extra_env or {})})
    admin_port = int(env["GATEWAYS_ADMIN_PORT"])
    log = tmp_path / "adapter.log"
    with log.open("wb") as stderr:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", _module(kind), env=env, stderr=stderr
        )
    produced: list[Any] = []

    def running() -> bool:
        if process.returncode is not None:
            raise AssertionError(f"the adapter exited: {log.read_text()[-2000:]}")
        state = _state(admin_port)
        if state.startswith("rejected"):
            raise AssertionError(f"{kind}/{SOURCE} {state}")
        return state.startswith("running")

    try:
        try:
            await wait_until(running, 60)
        except TimeoutError:
            raise AssertionError(f"{kind}/{SOURCE} not running: {_state(admin_port)}") from None
        async with asyncio.timeout(120):
            while not watcher.requests:
                produced.append(await scenario.produce(len(produced)))
                try:
                    await wait_until(lambda: bool(watcher.requests), scenario.every)
                except TimeoutError:
                    continue
    finally:
        if process.returncode is None:
            process.terminate()
            await asyncio.wait_for(process.wait(), 30)
    return produced, log


@pytest.mark.parametrize(
    "kind",
    [
        pytest.param(kind, marks=[getattr(pytest.mark, mark)] if mark else [], id=kind)
        for kind, (_setup, mark) in CASES.items()
    ],
)
async def test_only_k_sink_gets_cloudevents(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path, watcher: RecordingWatcher
) -> None:
    setup, _mark = CASES[kind]
    gateway = unique("ksink-")
    async with setup(request, tmp_path) as scenario:
        produced, log = await run_until_delivered(kind, gateway, scenario, tmp_path, watcher)

    assert watcher.requests, log.read_text()[-2000:]
    for recorded in watcher.requests:  # CloudEvents, never a raw-event batch
        assert recorded.method == "POST" and recorded.status == 200
        headers = recorded.headers
        assert {"ce-specversion", "ce-id", "ce-source", "ce-type"} <= set(headers), headers
        event = _parse(recorded)
        assert event["specversion"] == "1.0"
        assert event["type"] == scenario.type
        assert event["source"] == f"/gateways/{gateway}/{SOURCE}"
        assert event["id"] == headers["ce-id"]
        assert scenario.marker(_data(event)) in produced
