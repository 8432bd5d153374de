"""At least once, in order per partition, against a real Kafka broker: a refusing watcher, a
restarted source, a group member leaving, and the broker itself restarted mid-stream."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from adapters.streams.kafka.source import KIND, KafkaSource
from tests.kinds.kafka.broker import KafkaBroker
from tests.kinds.kafka.kit import (
    PARTITIONS,
    Topic,
    assert_ordered_per_partition,
    is_marker,
    source_config,
    wait_reading,
)
from tests.kit import GATEWAY, Pipeline, payload_number, wait_until
from tests.watcher import RecordingWatcher

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(180)]


async def test_every_record_arrives_in_order_after_the_watcher_refused_for_a_while(
    topic: Topic, watcher: RecordingWatcher
) -> None:
    await asyncio.to_thread(topic.produce, range(300))
    async with Pipeline(watcher) as pipeline:
        pipeline.refuse()
        source = KIND.create(pipeline.origin("kafka"), source_config(topic), pipeline.context)
        await source.start(pipeline.emitter("kafka"))
        try:
            await wait_until(lambda: len(watcher.requests) >= 20, 20)
            assert pipeline.accepted() == []
            pipeline.accept()
            events = await pipeline.wait_for_unique(300)
        finally:
            await source.stop()
    assert sorted(payload_number(e) for e in events.values()) == list(range(300))
    assert_ordered_per_partition(pipeline.accepted())
    assert await asyncio.to_thread(topic.committed) == await asyncio.to_thread(topic.end_offsets)


async def test_restarting_the_source_mid_stream_loses_nothing(
    topic: Topic, make_watcher: Any
) -> None:
    watcher = await make_watcher(delay=0.002)
    await asyncio.to_thread(topic.produce, range(600))
    config = source_config(topic)
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
    config = source_config(topic)
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
    assert_ordered_per_partition(pipeline.accepted())
    assert {e.source for e in pipeline.accepted()} == {
        f"/gateways/{GATEWAY}/one",
        f"/gateways/{GATEWAY}/two",
    }
    assert await asyncio.to_thread(topic.committed) == await asyncio.to_thread(topic.end_offsets)


@pytest.mark.parametrize("pinned", [False, True], ids=["group", "pinned partition"])
async def test_broker_restart_mid_stream_loses_nothing(
    own_broker: KafkaBroker, watcher: RecordingWatcher, pinned: bool
) -> None:
    broker = own_broker
    topic = await asyncio.to_thread(Topic, broker.bootstrap)
    # Pinned (nothing committed): with "latest" a new connection would skip what was produced
    # while the broker was away, unless it goes on from where the last one stopped.
    fields = {"partition": 0, "consumerGroup": None, "initialOffset": "latest"}
    config = source_config(topic, **fields) if pinned else source_config(topic)
    produce: dict[str, Any] = {"partition": 0} if pinned else {}
    async with Pipeline(watcher) as pipeline:
        source = KIND.create(pipeline.origin("kafka"), config, pipeline.context)
        await source.start(pipeline.emitter("kafka"))
        try:
            await wait_reading(topic, pipeline, range(1) if pinned else None)
            await asyncio.to_thread(topic.produce, range(300), **produce)
            await wait_until(lambda: len(_numbers(pipeline)) >= 300, 30)
            # Fetched, not delivered when the broker goes: the next connection reads them.
            pipeline.refuse()
            await asyncio.to_thread(topic.produce, range(300, 400), **produce)
            await wait_until(lambda: any(r.status >= 500 for r in watcher.requests), 30)
            await broker.stop()
            await wait_until(lambda: "degraded" in {s for s, _ in pipeline.statuses}, 30)
            pipeline.accept()
            await broker.start()
            await asyncio.to_thread(topic.produce, range(400, 600), **produce)
            await wait_until(lambda: len(_numbers(pipeline)) >= 600, 90)
            await wait_until(lambda: pipeline.statuses[-1][0] == "running", 30)
        finally:
            await source.stop()
    assert _numbers(pipeline) == set(range(600))
    assert_ordered_per_partition(pipeline.accepted())
    assert any("no broker connection" in reason for _, reason in pipeline.statuses)


def _numbers(pipeline: Pipeline) -> set[int]:
    return {payload_number(e) for e in pipeline.accepted() if not is_marker(e)}
