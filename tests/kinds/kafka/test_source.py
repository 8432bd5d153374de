"""The Kafka source against a real Kafka broker, delivering through the dispatcher to a watcher:
what a record becomes, where reading starts, and a start that cannot work."""

from __future__ import annotations

import asyncio
import base64
import json

import pytest

from adapters.streams.kafka.source import KIND
from gateways.config import parse_source
from gateways.errors import GatewayError
from tests.kinds.kafka.kit import (
    Topic,
    assert_ordered_per_partition,
    is_marker,
    source_config,
    wait_reading,
)
from tests.kit import GATEWAY, Pipeline, payload_number, wait_until
from tests.servicekit import KafkaService
from tests.watcher import RecordingWatcher

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(120)]


async def test_thousand_records_become_cloudevents(topic: Topic, watcher: RecordingWatcher) -> None:
    await asyncio.to_thread(
        topic.produce, range(1000), headers=[("tenant", b"acme"), ("raw", b"\xff")]
    )
    await asyncio.to_thread(topic.send, b"binary key", key=b"\x00\xff", partition=0)
    async with Pipeline(watcher) as pipeline:
        source = KIND.create(pipeline.origin("kafka"), source_config(topic), pipeline.context)
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
    assert_ordered_per_partition(pipeline.accepted())
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
    # stop() committed everything delivered
    assert await asyncio.to_thread(topic.committed) == await asyncio.to_thread(topic.end_offsets)


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
        source = KIND.create(pipeline.origin("kafka"), source_config(topic), pipeline.context)
        await source.start(pipeline.emitter("kafka"))
        try:
            (event,) = (await pipeline.wait_for_unique(1)).values()
        finally:
            await source.stop()
    assert event.attributes == {**attributes, "datacontenttype": "application/json"}
    assert event.json() == {"count": 3}


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
            expected = (await asyncio.to_thread(topic.end_offsets))[1] or 0
            await pipeline.wait_for_unique(expected)
            # A last record on partition 1, after every other: once it is in, all that was
            # produced before it on any partition would have been read too.
            await asyncio.to_thread(topic.send, b"last", partition=1)
            await wait_until(lambda: any(e.data == b"last" for e in pipeline.accepted()), 20)
        finally:
            await source.stop()
    events = {k: e for k, e in pipeline.unique().items() if e.data != b"last"}
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
        config = source_config(topic, initialOffset="latest")
        source = KIND.create(pipeline.origin("kafka"), config, pipeline.context)
        await source.start(pipeline.emitter("kafka"))
        try:
            await wait_reading(topic, pipeline)
            await asyncio.to_thread(topic.produce, range(50, 60))
            await pipeline.wait_for_unique(10 + topic.partitions, key=lambda e: e.data)
        finally:
            await source.stop()
    numbers = {payload_number(e) for e in pipeline.accepted() if not is_marker(e)}
    assert numbers == set(range(50, 60))


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
    assert pipeline.statuses == []  # refused at the start: nothing retried in the background
