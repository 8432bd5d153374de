"""Fixtures of the Kafka tests: a fresh topic on the shared broker (deleted after the test), and
a broker of the test's own that it may stop and start."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.kinds.kafka.broker import KafkaBroker, kafka_home
from tests.kinds.kafka.kit import Topic
from tests.servicekit import KafkaService, unavailable


@pytest.fixture
async def topic(kafka_service: KafkaService) -> AsyncIterator[Topic]:
    topic = await asyncio.to_thread(Topic, kafka_service.bootstrap)
    yield topic
    await asyncio.to_thread(topic.delete)


@pytest.fixture
async def own_broker(tmp_path: Path) -> AsyncIterator[KafkaBroker]:
    home = kafka_home()
    if home is None:
        unavailable("kafka", "Kafka's jars are not in the cache")
        return
    broker = KafkaBroker(home, tmp_path)
    await broker.start()
    try:
        yield broker
    finally:
        await broker.stop()
