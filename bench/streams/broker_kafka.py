"""Kafka for a run: the test service's broker (GATEWAYS_TEST_KAFKA_BOOTSTRAP), a fresh topic and
consumer group per path (``bench-<tag>-<path>``, deleted at the end).

Each topic has ``partitions`` partitions (64 by default): ours delivers a partition's records in
order, one at a time, so the partition count bounds its concurrency (64 matches the floors' 64
POSTs in flight, which keep no order). One kafka-python producer sends records without keys
(a random partition each), acks from the leader, linger 0; a burst is flushed at its end.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
import uuid
from dataclasses import dataclass
from typing import Any

from kafka import KafkaAdminClient, KafkaProducer
from kafka.admin import NewTopic

from bench.streams.broker import Unavailable, body, publish_blocking, service_setting

FLOOR = [sys.executable, "-m", "bench.streams.floor_kafka"]


@dataclass
class KafkaChannel:
    producer: KafkaProducer
    bootstrap: str
    topic: str
    kind: str = "kafka"

    def floor(self, mode: str, watcher: str) -> list[str]:
        return [*FLOOR, mode, self.bootstrap, self.topic, f"{self.topic}-{mode}", watcher]

    def source(self) -> dict[str, Any]:
        return {
            "url": self.bootstrap,
            "topic": self.topic,
            "consumerGroup": {"groupName": self.topic},
            "initialOffset": "earliest",
        }

    async def publish(self, first: int, count: int, rate: float | None) -> float:
        def run() -> float:
            started = publish_blocking(
                lambda number: self.producer.send(self.topic, body(number)), first, count, rate
            )
            self.producer.flush()
            return started

        return await asyncio.to_thread(run)


class KafkaBroker:
    kind = "kafka"

    def __init__(self, bootstrap: str, partitions: int) -> None:
        self.bootstrap = bootstrap
        self.partitions = partitions
        self.title = f"Kafka ({bootstrap}, {partitions} partitions per topic)"
        self._tag = f"{int(time.time())}-{uuid.uuid4().hex[:6]}"
        self._admin = KafkaAdminClient(bootstrap_servers=bootstrap)
        self._producer = KafkaProducer(bootstrap_servers=bootstrap, acks=1)
        self._topics: list[str] = []

    @classmethod
    async def open(cls, partitions: int) -> KafkaBroker:
        bootstrap = service_setting("GATEWAYS_TEST_KAFKA_BOOTSTRAP")
        try:
            return await asyncio.to_thread(cls, bootstrap, partitions)
        except Exception as exc:
            raise Unavailable(f"Kafka at {bootstrap}: {exc}") from None

    async def channel(self, path: str) -> KafkaChannel:
        topic = f"bench-{self._tag}-{path}"

        def create() -> None:
            self._admin.create_topics([NewTopic(topic, self.partitions, 1)])
            self._topics.append(topic)
            deadline = time.monotonic() + 30
            while not self._ready(topic):
                if time.monotonic() > deadline:
                    raise Unavailable(f"topic {topic}: a partition has no leader after 30 s")
                time.sleep(0.1)

        await asyncio.to_thread(create)
        return KafkaChannel(self._producer, self.bootstrap, topic)

    def _ready(self, topic: str) -> bool:
        """Every partition has a leader, in the broker's answer and in the producer's view (a
        consumer that starts while one has none may not be assigned it for minutes)."""
        described = self._admin.describe_topics([topic])[0]
        partitions = described["partitions"]
        led = [p for p in partitions if p["error_code"] == 0 and p["leader_id"] >= 0]
        known = self._producer.partitions_for(topic) or ()
        return len(led) == len(known) == self.partitions

    async def close(self) -> None:
        def run() -> None:
            self._producer.close()
            if self._topics:
                self._admin.delete_topics(self._topics)
                groups = [f"{t}{suffix}" for t in self._topics for suffix in ("", "-fire", "-alo")]
                with contextlib.suppress(Exception):  # a group never joined is not there
                    self._admin.delete_groups(groups)
            self._admin.close()

        await asyncio.to_thread(run)
