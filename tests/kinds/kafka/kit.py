"""What the Kafka tests share: a fresh topic to produce to and read offsets from, the source
config the tests start from, and the per-partition order check."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic

from adapters.streams.kafka.config import KafkaConfig
from gateways.config import parse_source
from gateways.events.model import CloudEvent
from tests.kit import Pipeline, wait_until

PARTITIONS = 3
STAMP = datetime(2024, 5, 1, 12, tzinfo=UTC)  # record n is stamped STAMP + n ms


class Topic:
    """A fresh topic (and group name) on ``bootstrap``; ``delete()`` it afterwards."""

    def __init__(self, bootstrap: str, partitions: int = PARTITIONS) -> None:
        self.bootstrap = bootstrap
        self.name = f"gw-test-{uuid.uuid4().hex[:10]}"
        self.group = f"{self.name}-group"
        self.partitions = partitions
        admin = KafkaAdminClient(bootstrap_servers=bootstrap)
        # Records carry STAMP (in the past) as their time, and the broker deletes a segment whose
        # newest record is older than its retention: without this, the broker's periodic
        # retention check could drop a test's records while it runs.
        keep = {"retention.ms": "-1"}
        admin.create_topics([NewTopic(self.name, partitions, 1, topic_configs=keep)])
        admin.close()

    def produce(self, numbers: range, **fields: Any) -> None:
        """One record ``{"n": n}`` with key ``key-<n>`` for each number."""
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
        """The group's committed offset of each partition."""
        consumer = KafkaConsumer(
            bootstrap_servers=self.bootstrap, group_id=self.group, enable_auto_commit=False
        )
        offsets = {
            p: consumer.committed(TopicPartition(self.name, p)) for p in range(self.partitions)
        }
        consumer.close()
        return offsets

    def end_offsets(self) -> dict[int, int | None]:
        """The offset the next record of each partition gets."""
        consumer = KafkaConsumer(bootstrap_servers=self.bootstrap)
        ends = consumer.end_offsets([TopicPartition(self.name, p) for p in range(self.partitions)])
        consumer.close()
        return {tp.partition: offset for tp, offset in ends.items()}

    def delete(self) -> None:
        admin = KafkaAdminClient(bootstrap_servers=self.bootstrap)
        admin.delete_topics([self.name])
        admin.close()

    def members_holding_partitions(self) -> int:
        """How many members of the group hold partitions, as the broker says (0 while the group
        is not stable)."""
        admin = KafkaAdminClient(bootstrap_servers=self.bootstrap)
        try:
            group = admin.describe_groups([self.group])[self.group]
        finally:
            admin.close()
        if group["group_state"] != "Stable":
            return 0
        return sum(
            1
            for member in group["members"]
            if any(a["partitions"] for a in member["member_assignment"]["assigned_partitions"])
        )


def source_config(topic: Topic, **fields: Any) -> KafkaConfig:
    """The topic read from the start by the topic's group, retrying fast; a field given as
    None is left out."""
    settings = {
        "url": topic.bootstrap,
        "topic": topic.name,
        "consumerGroup": {"groupName": topic.group},
        "initialOffset": "earliest",
        "backoff": {"duration": "50ms", "cap": "500ms"},
        **fields,
    }
    given = {name: value for name, value in settings.items() if value is not None}
    config: KafkaConfig = parse_source("kafka", "test", given)
    return config


def assert_ordered_per_partition(events: list[CloudEvent]) -> None:
    """The first delivery of each record comes in offset order within its partition."""
    firsts: dict[str, list[int]] = defaultdict(list)
    seen: set[str] = set()
    for event in events:
        if event.id not in seen:
            seen.add(event.id)
            firsts[event.extensions["kafkapartition"]].append(int(event.extensions["kafkaoffset"]))
    for partition, offsets in firsts.items():
        assert offsets == sorted(offsets), f"partition {partition} delivered out of order"


async def wait_reading(topic: Topic, pipeline: Pipeline, partitions: range | None = None) -> None:
    """Send a marker (``marker-<partition>``) to each partition until it arrives: from then on
    the source reads whatever is produced there (with ``initialOffset: latest`` its position is
    set to the end when it first fetches the partition, which may be after a record was sent)."""
    for partition in partitions if partitions is not None else range(topic.partitions):
        marker = f"marker-{partition}".encode()

        def arrived(marker: bytes = marker) -> bool:
            return marker in {e.data for e in pipeline.accepted()}

        while not arrived():
            await asyncio.to_thread(topic.send, marker, partition=partition)
            with contextlib.suppress(TimeoutError):
                await wait_until(arrived, 1)


def is_marker(event: CloudEvent) -> bool:
    return event.data is not None and event.data.startswith(b"marker-")
