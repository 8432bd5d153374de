"""Group rebalances complete even when a consumer's poll times out halfway through one
(:mod:`adapters.streams.kafka.rejoin`)."""

from __future__ import annotations

import asyncio
import logging

import pytest

from adapters.streams.kafka import client
from adapters.streams.kafka.rejoin import finish_rebalances
from adapters.streams.kafka.source import KafkaSource
from tests.kinds.kafka.kit import Topic, source_config
from tests.kit import Pipeline, wait_until_async
from tests.watcher import RecordingWatcher

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(120)]


async def test_members_whose_polls_end_mid_rebalance_still_get_their_partitions(
    topic: Topic, watcher: RecordingWatcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A 2 ms poll ends between the leader's JoinGroup and SyncGroup nearly every time. Unguarded,
    # the first member never finishes the rebalance it starts right after joining, stops
    # heartbeating, and the broker drops it: the two never hold partitions together.
    monkeypatch.setattr(client, "_POLL_MS", 2)
    config = source_config(topic)
    async with Pipeline(watcher) as pipeline:
        members = [
            KafkaSource(pipeline.origin("kafka", name), config, pipeline.context)
            for name in ("one", "two")
        ]
        try:
            for count, member in enumerate(members, 1):
                await member.start(pipeline.emitter("kafka", member.origin.source))

                async def holding(count: int = count) -> bool:
                    return await asyncio.to_thread(topic.members_holding_partitions) == count

                await wait_until_async(holding, 40, 0.2)
        finally:
            for member in members:
                await member.stop()


def test_a_consumer_without_the_expected_internals_is_left_as_it_is(
    caplog: pytest.LogCaptureFixture,
) -> None:
    consumer = object()
    with caplog.at_level(logging.WARNING):
        finish_rebalances(consumer)
    assert "kafka-python has changed" in caplog.text
