"""A partition paused while its lane is full is fetched again once the lane drains, whatever the
fetcher held for it when it paused (:mod:`adapters.streams.kafka.parked`)."""

from __future__ import annotations

import asyncio
import logging
from types import SimpleNamespace

import pytest

from adapters.streams.kafka import parked
from adapters.streams.kafka.source import KafkaSource
from tests.kinds.kafka.kit import Topic, assert_ordered_per_partition, source_config
from tests.kit import Pipeline, payload_number
from tests.watcher import RecordingWatcher, Reply

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(120)]

LIMIT = 8  # GATEWAYS_MAX_IN_FLIGHT: a lane holding this many undelivered records pauses
PER_PARTITION = 600  # more than one poll hands over (500), so a paused partition has some in line


async def test_a_burst_that_pauses_partitions_is_delivered_in_full(
    topic: Topic, watcher: RecordingWatcher
) -> None:
    total = topic.partitions * PER_PARTITION
    for partition in range(topic.partitions):
        numbers = range(partition * PER_PARTITION, (partition + 1) * PER_PARTITION)
        await asyncio.to_thread(topic.produce, numbers, partition=partition)
    # The first deliveries are slow: the lanes fill while they last, and the partitions pause.
    watcher.answer(*[Reply(200, delay=0.3)] * LIMIT)
    async with Pipeline(watcher) as pipeline:
        pipeline.context.settings = SimpleNamespace(max_in_flight=LIMIT)
        source = KafkaSource(pipeline.origin("kafka"), source_config(topic), pipeline.context)
        await source.start(pipeline.emitter("kafka"))
        try:
            events = await pipeline.wait_for_unique(total, timeout=30)
        finally:
            await source.stop()
    assert sorted(payload_number(e) for e in events.values()) == list(range(total))
    assert_ordered_per_partition(pipeline.accepted())
    assert await asyncio.to_thread(topic.committed) == await asyncio.to_thread(topic.end_offsets)


def test_a_consumer_without_the_expected_internals_is_left_as_it_is(
    caplog: pytest.LogCaptureFixture,
) -> None:
    parked._changed.cache_clear()  # it warns once a process
    consumer = SimpleNamespace(_fetcher=SimpleNamespace(_paused_partition_records={}))
    with caplog.at_level(logging.WARNING):
        parked.restore_resumed(consumer)
        parked.restore_resumed(consumer)
    assert caplog.text.count("kafka-python has changed") == 1
    assert not hasattr(consumer._fetcher, "fetched_records")
