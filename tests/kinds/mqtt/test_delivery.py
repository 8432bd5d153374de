"""The MQTT source against the shared Mosquitto, delivering through the dispatcher to a real
watcher: every message becomes a CloudEvent, acknowledged only after delivery, at most
``GATEWAYS_MAX_IN_FLIGHT`` at a time."""

from __future__ import annotations

import asyncio
import json
from types import SimpleNamespace
from typing import Any

import pytest

from adapters.streams.mqtt.source import KIND, MQTTSource
from gateways.kinds import SourceContext
from gateways.source import Origin, RawEvent
from tests.kinds.mqtt.kit import Publisher, mqtt_config
from tests.kit import GATEWAY, Pipeline, payload_number, wait_until
from tests.servicekit import MqttService
from tests.watcher import RecordingWatcher

pytestmark = [pytest.mark.mqtt, pytest.mark.timeout(120)]


async def test_thousand_messages_become_cloudevents(
    mqtt_service: MqttService,
    watcher: RecordingWatcher,
    publisher: Publisher,
    topic: str,
    client_id: str,
) -> None:
    async with Pipeline(watcher) as pipeline:
        config = mqtt_config(mqtt_service.port, f"{topic}/#", client_id, qos=1)
        source = KIND.create(pipeline.origin("mqtt"), config, pipeline.context)
        await source.start(pipeline.emitter("mqtt"))
        try:
            await asyncio.to_thread(publisher.numbers, f"{topic}/numbers", range(1000))
            tagged = publisher.publish(
                f"{topic}/tagged",
                b"plain text",
                UserProperty=[("origin", "sensor-7"), ("origin", "backup"), ("unit", "C")],
                ContentType="text/plain",
                ResponseTopic="replies/7",
                CorrelationData=b"\x01\x02",
            )
            await asyncio.to_thread(tagged.wait_for_publish, 10)
            events = await pipeline.wait_for_unique(1001, key=lambda e: e.data)
        finally:
            await source.stop()
    numbers = sorted(payload_number(e) for e in events.values() if e.data != b"plain text")
    assert numbers == list(range(1000))
    assert len({e.id for e in pipeline.accepted()}) == len(pipeline.accepted())
    first = next(e for e in events.values() if e.data == b'{"n": 0}')
    assert first.attributes["type"] == "dev.gateways.mqtt.message"
    assert first.attributes["source"] == f"/gateways/{GATEWAY}/test"
    assert first.attributes["subject"] == f"{topic}/numbers"
    assert first.attributes["datacontenttype"] == "application/json"
    assert first.extensions["mqtttopic"] == f"{topic}/numbers"
    assert first.extensions["mqttqos"] == "1"
    assert first.extensions["mqttretain"] == "false"
    assert first.extensions["mqttmsgid"].isdigit()
    assert first.json() == {"n": 0}
    tagged_event = events[b"plain text"]
    assert tagged_event.attributes["datacontenttype"] == "text/plain"
    assert json.loads(tagged_event.extensions["mqttheaders"]) == {
        "origin": ["sensor-7", "backup"],
        "unit": "C",
    }
    assert tagged_event.extensions["mqttresponsetopic"] == "replies/7"
    assert tagged_event.extensions["mqttcorrelationdata"] == "AQI="


async def test_incoming_cloudevent_in_user_properties_passes_through(
    mqtt_service: MqttService,
    watcher: RecordingWatcher,
    publisher: Publisher,
    topic: str,
    client_id: str,
) -> None:
    attributes = {
        "specversion": "1.0",
        "id": "upstream-42",
        "source": "/factory/line-3",
        "type": "com.example.temperature",
        "subject": "oven",
        "time": "2024-05-01T12:00:00Z",
        "traceparent": "00-abc-def-01",
    }
    async with Pipeline(watcher) as pipeline:
        config = mqtt_config(mqtt_service.port, topic, client_id)
        source = KIND.create(pipeline.origin("mqtt"), config, pipeline.context)
        await source.start(pipeline.emitter("mqtt"))
        try:
            info = publisher.publish(
                topic,
                b'{"celsius": 210}',
                UserProperty=list(attributes.items()),
                ContentType="application/json",
            )
            await asyncio.to_thread(info.wait_for_publish, 10)
            (event,) = (await pipeline.wait_for_unique(1)).values()
        finally:
            await source.stop()
    assert event.attributes == {**attributes, "datacontenttype": "application/json"}
    assert event.json() == {"celsius": 210}


async def test_every_message_arrives_after_the_watcher_refused_for_a_while(
    mqtt_service: MqttService,
    watcher: RecordingWatcher,
    publisher: Publisher,
    topic: str,
    client_id: str,
) -> None:
    async with Pipeline(watcher) as pipeline:
        config = mqtt_config(mqtt_service.port, topic, client_id)
        source = KIND.create(pipeline.origin("mqtt"), config, pipeline.context)
        await source.start(pipeline.emitter("mqtt"))
        try:
            pipeline.refuse()
            await asyncio.to_thread(publisher.numbers, topic, range(200))
            await wait_until(lambda: len(watcher.requests) >= 300, 20)  # refusals and retries
            pipeline.accept()
            events = await pipeline.wait_for_unique(200, key=payload_number)
        finally:
            await source.stop()
    assert sorted(events) == list(range(200))
    assert any(r.status == 503 for r in watcher.requests)


async def test_mosquitto_redelivers_an_unacked_message_to_the_next_session(
    mqtt_service: MqttService,
    watcher: RecordingWatcher,
    publisher: Publisher,
    topic: str,
    client_id: str,
) -> None:
    config = mqtt_config(mqtt_service.port, topic, client_id)
    async with Pipeline(watcher) as pipeline:
        pipeline.refuse()
        first = MQTTSource(pipeline.origin("mqtt"), config, pipeline.context)
        await first.start(pipeline.emitter("mqtt"))
        await asyncio.to_thread(publisher.numbers, topic, range(5))
        await wait_until(lambda: len({r.body for r in watcher.requests}) == 5, 10)
        await first.stop()  # received, never acked
        pipeline.accept()
        second = MQTTSource(pipeline.origin("mqtt"), config, pipeline.context)
        await second.start(pipeline.emitter("mqtt"))
        try:
            events = await pipeline.wait_for_unique(5, key=payload_number)
        finally:
            await second.stop()
    assert sorted(events) == list(range(5))
    assert {e.extensions["mqttdup"] for e in events.values()} == {"true"}


@pytest.mark.parametrize("qos", [1, 2])
async def test_restarting_the_source_mid_stream_loses_nothing(
    mqtt_service: MqttService,
    make_watcher: Any,
    publisher: Publisher,
    topic: str,
    client_id: str,
    qos: int,
) -> None:
    watcher = await make_watcher(delay=0.002)  # slow enough that deliveries are in flight on stop
    async with Pipeline(watcher) as pipeline:
        config = mqtt_config(mqtt_service.port, topic, client_id, qos=qos)
        first = MQTTSource(pipeline.origin("mqtt"), config, pipeline.context)
        await first.start(pipeline.emitter("mqtt"))
        publishing = asyncio.create_task(
            asyncio.to_thread(publisher.numbers, topic, range(600), qos)
        )
        await wait_until(lambda: len(pipeline.accepted()) >= 100, 20)
        await first.stop()
        stopped_at = len(pipeline.accepted())
        await publishing  # the rest is queued in the persistent session meanwhile
        second = MQTTSource(pipeline.origin("mqtt"), config, pipeline.context)
        await second.start(pipeline.emitter("mqtt"))
        try:
            events = await pipeline.wait_for_unique(600, key=payload_number)
        finally:
            await second.stop()
    assert stopped_at < 600
    assert sorted(events) == list(range(600))


@pytest.mark.parametrize("qos", [0, 1])
async def test_no_more_than_max_in_flight_emits_at_once(
    mqtt_service: MqttService, publisher: Publisher, topic: str, client_id: str, qos: int
) -> None:
    """QoS 1: Receive Maximum keeps the broker from sending more; QoS 0: paho's thread waits
    for the in-flight pool, which stops it reading the socket."""
    limit, active, most, emitted = 3, 0, 0, []
    gate = asyncio.Event()

    async def emit(raw: RawEvent) -> None:
        nonlocal active, most
        active += 1
        most = max(most, active)
        try:
            await gate.wait()
        finally:
            active -= 1
        emitted.append(json.loads(raw.payload)["n"])

    context = SourceContext(settings=SimpleNamespace(max_in_flight=limit))
    config = mqtt_config(mqtt_service.port, topic, client_id, qos=qos)
    source = KIND.create(Origin(GATEWAY, "test", "mqtt"), config, context)
    await source.start(emit)
    try:
        await asyncio.to_thread(publisher.numbers, topic, range(20), qos)
        await wait_until(lambda: active == limit, 10, lambda: active)
        gate.set()
        await wait_until(lambda: len(emitted) == 20, 10, emitted)
    finally:
        await source.stop()
    assert most == limit
    assert sorted(emitted) == list(range(20))
