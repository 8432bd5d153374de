"""Smoke test: the Kafka broker from scripts/services, through kafka-python."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic
from kafka.consumer.fetcher import ConsumerRecord

from tests.servicekit import KafkaService

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(120)]


@pytest.fixture
def topic(kafka_service: KafkaService) -> Iterator[str]:
    admin = KafkaAdminClient(bootstrap_servers=kafka_service.bootstrap, client_id="gw-smoke-admin")
    name = f"gw-smoke-{uuid.uuid4().hex[:12]}"
    admin.create_topics([NewTopic(name, num_partitions=1, replication_factor=1)])
    try:
        assert name in admin.list_topics()
        yield name
    finally:
        admin.delete_topics([name])
        admin.close()


def consumer(kafka_service: KafkaService, topic: str, group: str) -> KafkaConsumer:
    return KafkaConsumer(
        topic,
        bootstrap_servers=kafka_service.bootstrap,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        max_poll_records=3,
    )


def poll_records(c: KafkaConsumer, want: int) -> list[ConsumerRecord]:
    got: list[ConsumerRecord] = []
    for _ in range(60):
        for records in c.poll(timeout_ms=1000).values():
            got.extend(records)
        if len(got) >= want:
            break
    return got


def test_topics_are_not_auto_created(kafka_service: KafkaService) -> None:
    name = f"gw-smoke-absent-{uuid.uuid4().hex[:12]}"
    # The consumer's metadata request for the topic allows auto-creation; the broker says no.
    probe = KafkaConsumer(bootstrap_servers=kafka_service.bootstrap, allow_auto_create_topics=True)
    try:
        assert not probe.partitions_for_topic(name)
    finally:
        probe.close()
    admin = KafkaAdminClient(bootstrap_servers=kafka_service.bootstrap)
    try:
        assert name not in admin.list_topics()
    finally:
        admin.close()


def test_group_resumes_from_committed_offset(kafka_service: KafkaService, topic: str) -> None:
    producer = KafkaProducer(bootstrap_servers=kafka_service.bootstrap, acks="all")
    for i in range(6):
        producer.send(topic, f"m{i}".encode()).get(timeout=30)
    producer.close()

    group = f"gw-smoke-group-{uuid.uuid4().hex[:8]}"
    first = consumer(kafka_service, topic, group)
    try:
        records = poll_records(first, 3)
        assert [r.value for r in records] == [b"m0", b"m1", b"m2"]
        first.commit()  # commits the position: offset 3
    finally:
        first.close()

    second = consumer(kafka_service, topic, group)
    try:
        records = poll_records(second, 3)
        assert [r.offset for r in records] == [3, 4, 5]
        assert [r.value for r in records] == [b"m3", b"m4", b"m5"]
    finally:
        second.close()
