"""The durable path: MinIO sends its bucket's notifications to a persistent target (``queue_dir``:
kept on disk until the broker took them) and a stream source with ``format: s3`` reads them,
acking each message only after its records were delivered. Nothing depends on the adapter being
up: uploads before, during and after a SIGKILL, and while it is down, all arrive (by key), each
record with the artifact kind's mapping. Runs on a MinIO of its own, configured through its
environment (``MINIO_NOTIFY_<TARGET>_..._<ID>``), and prints how long one upload takes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import nats
import pytest
from minio.notificationconfig import NotificationConfig, QueueConfig

from tests.adapter.kit import FAST_BACKOFF
from tests.kinds.artifact.conftest import Bucket
from tests.kinds.artifact.kit import (
    AdapterProcess,
    accepted,
    arrive,
    by_key,
    new_bucket,
    put_all,
    registry,
    single_upload_latency,
    window,
)
from tests.kinds.nats.server import jetstream_stream
from tests.kit import start_gateway, status_of, unique, wait_until
from tests.servicekit import (
    AmqpService,
    KafkaService,
    MinioService,
    MqttService,
    NatsService,
)
from tests.watcher import RecordingWatcher

pytestmark = [pytest.mark.minio, pytest.mark.timeout(180)]
TARGET = "GATEWAYS"  # the id of MinIO's target: its ARN is arn:minio:sqs::GATEWAYS:<type>
SOURCE = "uploads"
CREATED = ["s3:ObjectCreated:*"]


def durable(kind: str, queue_dir: Path, **settings: str) -> dict[str, str]:
    """MinIO's environment for one persistent target of ``kind`` (nats, amqp, kafka)."""
    prefix = f"MINIO_NOTIFY_{kind.upper()}_"
    env = {f"{prefix}{name}_{TARGET}": value for name, value in settings.items()}
    env[f"{prefix}ENABLE_{TARGET}"] = "on"
    env[f"{prefix}QUEUE_DIR_{TARGET}"] = str(queue_dir)
    env["MINIO_API_SYNC_EVENTS"] = "on"  # an upload returns once its event is in queue_dir
    return env


async def notify(bucket: Bucket, kind: str) -> None:
    arn = f"arn:minio:sqs::{TARGET}:{kind}"
    config = NotificationConfig(queue_config_list=[QueueConfig(queue=arn, events=CREATED)])
    await asyncio.to_thread(bucket.client.set_bucket_notification, bucket.name, config)


@pytest.fixture
async def jetstream(nats_service: NatsService) -> AsyncIterator[tuple[str, str]]:
    """A JetStream stream of its own: (stream, subject)."""
    name = unique("MINIO")
    client = await nats.connect(nats_service.url)
    try:
        await jetstream_stream(client, name, [f"{name}.events"])
        yield name, f"{name}.events"
        await client.jetstream().delete_stream(name)
    finally:
        await client.close()


def check_mapping(events: dict[str, list[Any]], bucket: Bucket, kind: str) -> None:
    for key, found in events.items():
        first = found[0].attributes
        assert {event.attributes["id"] for event in found} == {first["id"]}, key
        assert first["type"] == f"dev.gateways.{kind}.objectcreated.put"
        assert first["subject"] == first["s3key"] == key
        assert first["s3bucket"] == bucket.name
        assert first["s3eventname"] == "s3:ObjectCreated:Put"
        sequencer = int(first["s3sequencer"], 16)
        assert first["id"] == f"{sequencer - sequencer % 1_000_000:X}/{key}"


async def test_nats_jetstream_target_around_a_sigkill(
    own_minio: Any,
    nats_service: NatsService,
    jetstream: tuple[str, str],
    make_watcher: Any,
    tmp_path: Path,
) -> None:
    stream, subject = jetstream
    address = nats_service.url.removeprefix("nats://")
    env = durable("nats", tmp_path / "queue", ADDRESS=address, SUBJECT=subject, JETSTREAM="on")
    minio: MinioService = own_minio(env)
    bucket = await new_bucket(minio)
    await notify(bucket, "nats")
    watcher: RecordingWatcher = await make_watcher()
    source = {
        "url": nats_service.url,
        "subject": subject,
        "jetStream": {"stream": stream, "durable": "minio", "deliverPolicy": "all"},
        "format": "s3",
        "backoff": FAST_BACKOFF,
    }
    path = registry(tmp_path / "registry.yaml", "nats", {SOURCE: source}, watcher)
    adapter = AdapterProcess("adapters.streams.nats", path, tmp_path, minio)
    adapter.env["GATEWAYS_MAX_IN_FLIGHT"] = "1"  # one at a time, as the listen path delivers
    adapter.start()
    try:
        await put_all(bucket, window("before"))
        await arrive(watcher, window("before"), 60, adapter.log)
        latency = await single_upload_latency(bucket, watcher, "idle.txt")

        watcher.delay = 0.3  # slow: most of the next window is unsent at the kill
        await put_all(bucket, window("during"))
        await wait_until(lambda: len(set(by_key(watcher)) & set(window("during"))) >= 2, 30)
        await adapter.kill()
        sent_before_kill = set(by_key(watcher)) & set(window("during"))

        await put_all(bucket, window("down"))
        watcher.delay = 0.0
        adapter.start()
        await put_all(bucket, window("after"))
        everything = window("before") + window("during") + window("down") + window("after")
        await arrive(watcher, everything, 60, adapter.log)
    finally:
        await adapter.stop()
        await bucket.remove()

    events = by_key(watcher)
    assert len(sent_before_kill) < len(window("during")), "the kill must land mid-window"
    check_mapping(events, bucket, "nats")
    assert all(found[0].attributes["natsstream"] == stream for found in events.values())
    duplicates = len(accepted(watcher)) - len(events)
    figure = f"{latency:.3f} s" if latency is not None else "nothing within 5 s"
    print(
        f"\ndurable path (NATS JetStream target): {len(everything)} uploads around a SIGKILL, "
        f"all arrived, {duplicates} delivered twice (same id); one upload on an idle bucket to "
        f"its event: {figure}"
    )


async def test_amqp_target(
    own_minio: Any,
    amqp_service: AmqpService,
    watcher: RecordingWatcher,
    tmp_path: Path,
) -> None:
    exchange, queue = unique("minio-"), unique("minio-events-")
    settings = {"URL": amqp_service.url, "EXCHANGE": exchange, "EXCHANGE_TYPE": "fanout"}
    settings |= {"DURABLE": "on", "DELIVERY_MODE": "2", "PUBLISHING_CONFIRMS": "on"}
    source = {
        "url": amqp_service.url,
        "exchangeName": exchange,
        "exchangeType": "fanout",
        "queue": {"name": queue, "durable": True, "autoDelete": True},
        "format": "s3",
        "backoff": FAST_BACKOFF,
    }
    await through_a_target("amqp", source, settings, own_minio, watcher, tmp_path)


async def test_kafka_target(
    own_minio: Any,
    kafka_service: KafkaService,
    watcher: RecordingWatcher,
    tmp_path: Path,
) -> None:
    topic = unique("minio-")
    await asyncio.to_thread(make_topic, kafka_service, topic)
    settings = {"BROKERS": kafka_service.bootstrap, "TOPIC": topic}
    source = {
        "url": kafka_service.bootstrap,
        "topic": topic,
        "consumerGroup": {"groupName": unique("minio-")},
        "initialOffset": "earliest",
        "format": "s3",
        "backoff": FAST_BACKOFF,
    }
    await through_a_target("kafka", source, settings, own_minio, watcher, tmp_path)


async def test_mqtt_target(
    own_minio: Any,
    mqtt_service: MqttService,
    watcher: RecordingWatcher,
    tmp_path: Path,
) -> None:
    topic, broker = unique("minio/"), f"tcp://{mqtt_service.host}:{mqtt_service.port}"
    settings = {"BROKER": broker, "TOPIC": topic, "QOS": "1"}
    source = {
        "url": broker,
        "topic": topic,
        "clientId": unique("gw-minio-"),
        "format": "s3",
        "backoff": FAST_BACKOFF,
    }
    await through_a_target("mqtt", source, settings, own_minio, watcher, tmp_path)


async def through_a_target(
    kind: str,
    source: dict[str, Any],
    settings: dict[str, str],
    own_minio: Any,
    watcher: RecordingWatcher,
    tmp_path: Path,
) -> None:
    """The source runs (its queue bound) before MinIO has anything to send; then uploads arrive,
    mapped, their keys (which MinIO's targets send URL-encoded) decoded again."""
    minio: MinioService = own_minio(durable(kind, tmp_path / "queue", **settings))
    bucket = await new_bucket(minio)
    await notify(bucket, kind)
    path = registry(tmp_path / "registry.yaml", kind, {SOURCE: source}, watcher)
    runtime = await start_gateway(path, tmp_path)
    keys = ["a.txt", "in/b c+d.txt", "ü/e.txt"]
    try:
        await wait_until(lambda: status_of(runtime, SOURCE).state == "running", timeout=60)
        latency = await single_upload_latency(bucket, watcher, "idle.txt", timeout=60)
        await put_all(bucket, keys)
        await arrive(watcher, keys, 60, lambda: str(status_of(runtime, SOURCE)))
    finally:
        await runtime.stop()
        await bucket.remove()
    check_mapping(by_key(watcher), bucket, kind)
    figure = f"{latency:.3f} s" if latency is not None else "nothing within 60 s"
    print(f"\ndurable path ({kind} target): one upload on an idle bucket to its event: {figure}")


def make_topic(kafka: KafkaService, topic: str) -> None:
    from kafka.admin import KafkaAdminClient, NewTopic

    admin = KafkaAdminClient(bootstrap_servers=kafka.bootstrap)
    try:
        admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
    finally:
        admin.close()
