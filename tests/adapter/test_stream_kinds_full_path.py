"""MQTT, AMQP and Kafka through the whole adapter path, as NATS in tests/kinds/nats:

broker -> event-source server (gRPC) -> gateway client -> HTTP -> dispatcher function ->
watcher. Messages arrive as CloudEvents; with the dispatcher stopped and started again, every
message still arrives (the broker kept what the adapter never acknowledged).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.adapter.kit import (
    FAST_DELIVERY,
    DispatcherService,
    start_adapter,
    wait_for_state,
)
from tests.kinds.amqp.rabbit import Names
from tests.kinds.amqp.rabbit import numbers as amqp_numbers
from tests.kinds.amqp.rabbit import publish as amqp_publish
from tests.kinds.kafka.kit import Topic
from tests.kinds.mqtt.kit import Publisher
from tests.kit import configmap, wait_until, write_registry
from tests.servicekit import AmqpService, KafkaService, MqttService
from tests.watcher import RecordingWatcher

FIRST, SECOND = 800, 200
BACKOFF = {"duration": "100ms", "factor": 2, "jitter": 0, "cap": "1s"}


async def _run(
    kind: str,
    source: dict[str, Any],
    publish: Callable[[range], None],
    tmp_path: Path,
    watcher: RecordingWatcher,
) -> None:
    gateway = f"{kind}-{uuid.uuid4().hex[:8]}"
    registry = write_registry(
        tmp_path / "registry.yaml",
        configmap(
            gateway,
            kind,
            {"orders": {**source, "backoff": BACKOFF}},
            watchers=[watcher.url],
            delivery=FAST_DELIVERY,
        ),
    )
    dispatcher = await DispatcherService(registry).start()
    adapter = await start_adapter(registry, dispatcher.url, kind=kind)
    try:
        await wait_for_state(adapter, "orders", "running", timeout=30)
        await asyncio.to_thread(publish, range(FIRST))
        # A consumer group's first join on a just-started broker can take a while.
        await wait_until(lambda: len(_numbers_seen(watcher)) >= FIRST, 120, _numbers_seen, watcher)

        await dispatcher.stop()
        await asyncio.to_thread(publish, range(FIRST, FIRST + SECOND))
        await asyncio.sleep(1.0)  # the adapter retries against a closed port meanwhile
        dispatcher = await DispatcherService(registry, port=dispatcher.port).start()
        await wait_until(
            lambda: len(_numbers_seen(watcher)) >= FIRST + SECOND, 60, _numbers_seen, watcher
        )
    finally:
        await adapter.stop()
        await dispatcher.stop()

    assert _numbers_seen(watcher) == set(range(FIRST + SECOND))
    event = next(e for e in watcher.events if e.json()["n"] == 0)
    assert event.type == f"dev.gateways.{kind}.message"
    assert event.source == f"/gateways/{gateway}/orders"


def _numbers_seen(watcher: RecordingWatcher) -> set[int]:
    return {r.event.json()["n"] for r in watcher.requests if r.event is not None and r.status < 300}


@pytest.mark.mqtt
async def test_mqtt(tmp_path: Path, mqtt_service: MqttService, watcher: RecordingWatcher) -> None:
    topic, client_id = f"gw-full/{uuid.uuid4().hex[:10]}", f"gw-full-{uuid.uuid4().hex[:10]}"
    publisher = Publisher(mqtt_service.port)
    try:
        source = {
            "url": f"tcp://127.0.0.1:{mqtt_service.port}",
            "topic": topic,
            "clientId": client_id,
        }
        await _run(
            "mqtt", source, lambda numbers: publisher.numbers(topic, numbers), tmp_path, watcher
        )
    finally:
        publisher.close()


@pytest.mark.amqp
async def test_amqp(tmp_path: Path, amqp_service: AmqpService, watcher: RecordingWatcher) -> None:
    names = Names()
    source = {
        "url": amqp_service.url,
        "exchangeName": names.exchange,
        "exchangeType": "topic",
        "routingKey": "orders.#",
        "queue": {"name": names.queue},
    }

    def publish(numbers: range) -> None:
        amqp_publish(amqp_service.url, names.exchange, amqp_numbers(numbers))

    await _run("amqp", source, publish, tmp_path, watcher)


@pytest.mark.kafka
@pytest.mark.timeout(240)
async def test_kafka(
    tmp_path: Path, kafka_service: KafkaService, watcher: RecordingWatcher
) -> None:
    topic = Topic(kafka_service.bootstrap)
    try:
        source = {
            "url": topic.bootstrap,
            "topic": topic.name,
            "consumerGroup": {"groupName": topic.group},
            "initialOffset": "earliest",
        }
        await _run("kafka", source, topic.produce, tmp_path, watcher)
    finally:
        topic.delete()
