"""The Kafka source against a real Kafka broker, delivering through the dispatcher to a watcher."""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic

from adapters.streams.kafka.source import KIND, KafkaSource
from gateways.config import parse_source
from gateways.errors import ConfigError, GatewayError
from gateways.events.model import CloudEvent
from tests.integration.streams.kafka_broker import KafkaBroker, kafka_home
from tests.kit import GATEWAY, Pipeline, payload_number, wait_until
from tests.servicekit import KafkaService, unavailable
from tests.watcher import RecordingWatcher

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(180)]

PARTITIONS = 3
STAMP = datetime(2024, 5, 1, 12, tzinfo=UTC)


class Topic:
    """A fresh topic (and group name) on ``bootstrap``, deleted afterwards."""

    def __init__(self, bootstrap: str, partitions: int = PARTITIONS) -> None:
        self.bootstrap = bootstrap
        self.name = f"gw-test-{uuid.uuid4().hex[:10]}"
        self.group = f"{self.name}-group"
        admin = KafkaAdminClient(bootstrap_servers=bootstrap)
        admin.create_topics([NewTopic(self.name, partitions, 1)])
        admin.close()

    def produce(self, numbers: range, **fields: Any) -> None:
        producer = KafkaProducer(bootstrap_servers=self.bootstrap, linger_ms=5)
        for n in numbers:
            producer.send(
                self.name,
                value=json.dumps({"n": n}).encode(),
                key=f"key-{n}".encode(),
                timestamp_ms=int(STAMP.timestamp() * 1000) + n,
                **fields,
            )
        producer.flush()
        producer.close()

    def send(self, value: bytes, **fields: Any) -> None:
        producer = KafkaProducer(bootstrap_servers=self.bootstrap)
        producer.send(self.name, value=value, **fields)
        producer.flush()
        producer.close()

    def committed(self) -> dict[int, int | None]:
        consumer = KafkaConsumer(
            bootstrap_servers=self.bootstrap, group_id=self.group, enable_auto_commit=False
        )
        offsets = {p: consumer.committed(TopicPartition(self.name, p)) for p in range(PARTITIONS)}
        consumer.close()
        return offsets

    def delete(self) -> None:
        admin = KafkaAdminClient(bootstrap_servers=self.bootstrap)
        admin.delete_topics([self.name])
        admin.close()


@pytest.fixture
def topic(kafka_service: KafkaService) -> Iterator[Topic]:
    topic = Topic(kafka_service.bootstrap)
    yield topic
    topic.delete()


def _config(topic: Topic, **fields: Any) -> Any:
    settings = {
        "url": topic.bootstrap,
        "topic": topic.name,
        "consumerGroup": {"groupName": topic.group},
        "initialOffset": "earliest",
        "backoff": {"duration": "50ms", "cap": "500ms"},
        **fields,
    }
    return parse_source("kafka", "test", settings)


def _assert_ordered_per_partition(events: list[CloudEvent]) -> None:
    """The first delivery of each record comes in offset order within its partition."""
    firsts: dict[str, list[int]] = defaultdict(list)
    seen: set[str] = set()
    for event in events:
        if event.id not in seen:
            seen.add(event.id)
            firsts[event.extensions["kafkapartition"]].append(int(event.extensions["kafkaoffset"]))
    for partition, offsets in firsts.items():
        assert offsets == sorted(offsets), f"partition {partition} delivered out of order"


async def test_thousand_records_become_cloudevents(topic: Topic, watcher: RecordingWatcher) -> None:
    await asyncio.to_thread(
        topic.produce, range(1000), headers=[("tenant", b"acme"), ("raw", b"\xff")]
    )
    await asyncio.to_thread(topic.send, b"binary key", key=b"\x00\xff", partition=0)
    async with Pipeline(watcher) as pipeline:
        source = KIND.create(pipeline.origin("kafka"), _config(topic), pipeline.context)
        await source.start(pipeline.emitter("kafka"))
        try:
            events = await pipeline.wait_for_unique(1001)
        finally:
            await source.stop()
    numbered = {payload_number(e): e for e in events.values() if e.data != b"binary key"}
    assert sorted(numbered) == list(range(1000))
    for event in events.values():
        partition, offset = event.extensions["kafkapartition"], event.extensions["kafkaoffset"]
        assert event.id == f"{topic.name}/{partition}/{offset}"
    _assert_ordered_per_partition(pipeline.accepted())
    first = numbered[0]
    assert first.attributes["type"] == "dev.gateways.kafka.message"
    assert first.attributes["source"] == f"/gateways/{GATEWAY}/test"
    assert first.attributes["subject"] == topic.name
    assert first.attributes["time"] == "2024-05-01T12:00:00Z"
    assert first.attributes["datacontenttype"] == "application/json"
    assert first.json() == {"n": 0}
    assert first.extensions["kafkatopic"] == topic.name
    assert first.extensions["kafkakey"] == "key-0"
    assert first.extensions["kafkatimestamptype"] == "CreateTime"
    assert json.loads(first.extensions["kafkaheaders"]) == {
        "tenant": "acme",
        "raw": {"base64": "/w=="},
    }
    (binary,) = (e for e in events.values() if e.data == b"binary key")
    assert binary.extensions["kafkakey"] == base64.b64encode(b"\x00\xff").decode()
    assert binary.extensions["kafkakeyencoding"] == "base64"
    assert await asyncio.to_thread(topic.committed) == _end_offsets(topic)


def _end_offsets(topic: Topic) -> dict[int, int | None]:
    consumer = KafkaConsumer(bootstrap_servers=topic.bootstrap)
    partitions = [TopicPartition(topic.name, p) for p in range(PARTITIONS)]
    ends = consumer.end_offsets(partitions)
    consumer.close()
    return {tp.partition: offset for tp, offset in ends.items()}


async def test_incoming_cloudevent_headers_pass_through(
    topic: Topic, watcher: RecordingWatcher
) -> None:
    attributes = {
        "specversion": "1.0",
        "id": "upstream-9",
        "source": "/warehouse",
        "type": "com.example.stock.changed",
        "subject": "sku-9",
        "time": "2024-05-01T12:00:00Z",
        "tenant": "acme",
    }
    headers = [(f"ce_{k}", v.encode()) for k, v in attributes.items()]
    headers.append(("content-type", b"application/json"))
    await asyncio.to_thread(topic.send, b'{"count": 3}', headers=headers)
    async with Pipeline(watcher) as pipeline:
        source = KIND.create(pipeline.origin("kafka"), _config(topic), pipeline.context)
        await source.start(pipeline.emitter("kafka"))
        try:
            (event,) = (await pipeline.wait_for_unique(1)).values()
        finally:
            await source.stop()
    assert event.attributes == {**attributes, "datacontenttype": "application/json"}
    assert event.json() == {"count": 3}


async def test_every_record_arrives_in_order_after_the_watcher_refused_for_a_while(
    topic: Topic, watcher: RecordingWatcher
) -> None:
    await asyncio.to_thread(topic.produce, range(300))
    async with Pipeline(watcher) as pipeline:
        pipeline.refuse()
        source = KIND.create(pipeline.origin("kafka"), _config(topic), pipeline.context)
        await source.start(pipeline.emitter("kafka"))
        try:
            await wait_until(lambda: len(watcher.requests) >= 20, 20)
            pipeline.accept()
            events = await pipeline.wait_for_unique(300)
        finally:
            await source.stop()
    assert sorted(payload_number(e) for e in events.values()) == list(range(300))
    _assert_ordered_per_partition(pipeline.accepted())
    assert await asyncio.to_thread(topic.committed) == _end_offsets(topic)


async def test_restarting_the_source_mid_stream_loses_nothing(
    topic: Topic, make_watcher: Any
) -> None:
    watcher = await make_watcher(delay=0.002)
    await asyncio.to_thread(topic.produce, range(600))
    config = _config(topic)
    async with Pipeline(watcher) as pipeline:
        first = KafkaSource(pipeline.origin("kafka"), config, pipeline.context)
        await first.start(pipeline.emitter("kafka"))
        await wait_until(lambda: len(pipeline.accepted()) >= 100, 30)
        await first.stop()
        stopped_at = len(pipeline.unique())
        second = KafkaSource(pipeline.origin("kafka"), config, pipeline.context)
        await second.start(pipeline.emitter("kafka"))
        try:
            events = await pipeline.wait_for_unique(600)
        finally:
            await second.stop()
    assert stopped_at < 600
    assert sorted(payload_number(e) for e in events.values()) == list(range(600))
    # Committed offsets resumed the stream: at most the records in flight at the stop came twice.
    assert len(pipeline.accepted()) - 600 <= PARTITIONS


async def test_group_members_share_partitions_and_a_leaving_one_loses_nothing(
    topic: Topic, make_watcher: Any
) -> None:
    watcher = await make_watcher(delay=0.002)
    await asyncio.to_thread(topic.produce, range(900))
    config = _config(topic)
    async with Pipeline(watcher) as pipeline:
        members = [
            KafkaSource(pipeline.origin("kafka", name), config, pipeline.context)
            for name in ("one", "two")
        ]
        for member in members:
            await member.start(pipeline.emitter("kafka", member.origin.source))
        try:
            await wait_until(lambda: len(pipeline.accepted()) >= 200, 30)
            await members[0].stop()  # its partitions move to the other member
            events = await pipeline.wait_for_unique(900, timeout=90)  # a rebalance under load
        finally:
            await members[1].stop()
    assert sorted(payload_number(e) for e in events.values()) == list(range(900))
    _assert_ordered_per_partition(pipeline.accepted())
    assert {e.source for e in pipeline.accepted()} == {
        f"/gateways/{GATEWAY}/one",
        f"/gateways/{GATEWAY}/two",
    }
    assert await asyncio.to_thread(topic.committed) == _end_offsets(topic)


async def test_a_pinned_partition_is_read_without_a_group(
    topic: Topic, watcher: RecordingWatcher
) -> None:
    await asyncio.to_thread(topic.produce, range(60))
    config = parse_source(
        "kafka",
        "test",
        {"url": topic.bootstrap, "topic": topic.name, "partition": 1, "initialOffset": "earliest"},
    )
    async with Pipeline(watcher) as pipeline:
        source = KIND.create(pipeline.origin("kafka"), config, pipeline.context)
        await source.start(pipeline.emitter("kafka"))
        try:
            expected = _end_offsets(topic)[1]
            await pipeline.wait_for_unique(expected)
            await asyncio.sleep(0.5)
        finally:
            await source.stop()
    events = pipeline.unique()
    assert len(events) == expected
    assert {e.extensions["kafkapartition"] for e in events.values()} == {"1"}
    assert sorted(int(e.extensions["kafkaoffset"]) for e in events.values()) == list(
        range(expected)
    )


async def test_latest_initial_offset_skips_history_for_a_new_group(
    topic: Topic, watcher: RecordingWatcher
) -> None:
    await asyncio.to_thread(topic.produce, range(50))
    async with Pipeline(watcher) as pipeline:
        config = _config(topic, initialOffset="latest")
        source = KIND.create(pipeline.origin("kafka"), config, pipeline.context)
        await source.start(pipeline.emitter("kafka"))
        try:
            # Markers until one arrives: then every partition reads from where it stood.
            while not any(e.data == b"marker" for e in pipeline.accepted()):
                await asyncio.to_thread(topic.send, b"marker", partition=0)
                await asyncio.sleep(0.3)
            await asyncio.sleep(1)  # the other partitions' positions are set by now too
            await asyncio.to_thread(topic.produce, range(50, 60))
            await pipeline.wait_for_unique(10, key=lambda e: e.data)
        finally:
            await source.stop()
    numbers = {payload_number(e) for e in pipeline.accepted() if e.data != b"marker"}
    assert numbers == set(range(50, 60))


async def test_broker_restart_mid_stream_loses_nothing(
    tmp_path: Any, watcher: RecordingWatcher
) -> None:
    home = kafka_home()
    if home is None:
        unavailable("kafka", "Kafka's jars are not in the cache")
    broker = KafkaBroker(home, tmp_path)
    await broker.start()
    try:
        topic = await asyncio.to_thread(Topic, broker.bootstrap)
        await asyncio.to_thread(topic.produce, range(300))
        async with Pipeline(watcher) as pipeline:
            source = KIND.create(pipeline.origin("kafka"), _config(topic), pipeline.context)
            await source.start(pipeline.emitter("kafka"))
            try:
                await pipeline.wait_for_unique(300)
                await broker.stop()
                await wait_until(lambda: "degraded" in {s for s, _ in pipeline.statuses}, 30)
                await broker.start()
                await asyncio.to_thread(topic.produce, range(300, 600))
                events = await pipeline.wait_for_unique(600, timeout=90)
                await wait_until(lambda: pipeline.statuses[-1][0] == "running", 30)
            finally:
                await source.stop()
    finally:
        await broker.stop()
    assert sorted(payload_number(e) for e in events.values()) == list(range(600))
    _assert_ordered_per_partition(pipeline.accepted())


async def test_a_missing_topic_fails_the_start(
    kafka_service: KafkaService, watcher: RecordingWatcher
) -> None:
    config = parse_source(
        "kafka",
        "test",
        {"url": kafka_service.bootstrap, "topic": "gw-no-such-topic", "groupId": "g"},
    )
    async with Pipeline(watcher) as pipeline:
        source = KIND.create(pipeline.origin("kafka"), config, pipeline.context)
        with pytest.raises(GatewayError, match="topic: 'gw-no-such-topic' does not exist"):
            await source.start(pipeline.emitter("kafka"))
        await source.stop()


def test_bad_config_field_is_named() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_source(
            "kafka",
            "broken",
            {
                "url": "127.0.0.1:9092",
                "topic": "t",
                "partition": 0,
                "groupId": "g",
                "initialOffset": "oldest",
            },
        )
    message = str(caught.value)
    assert "kafka/broken: partition:" in message
    assert "kafka/broken: initialOffset:" in message
