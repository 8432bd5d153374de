"""The MQTT source against real Mosquitto, delivering through the dispatcher to a real watcher."""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from adapters.streams.mqtt.source import KIND, MQTTSource
from gateways.config import parse_source
from gateways.errors import ConfigError, GatewayError
from tests.kit import (
    GATEWAY,
    Pipeline,
    free_port,
    payload_number,
    wait_for_port,
    wait_until,
)
from tests.servicekit import MqttService, unavailable
from tests.watcher import RecordingWatcher

pytestmark = [pytest.mark.mqtt, pytest.mark.timeout(120)]

MOSQUITTO = "/usr/sbin/mosquitto"


def _config(port: int, topic: str, client_id: str, **fields: Any) -> Any:
    settings = {
        "url": f"tcp://127.0.0.1:{port}",
        "topic": topic,
        "clientId": client_id,
        "backoff": {"duration": "50ms", "cap": "500ms"},
        **fields,
    }
    return parse_source("mqtt", "test", settings)


class Publisher:
    def __init__(self, port: int, **connect: Any) -> None:
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        for key, value in connect.items():
            getattr(self.client, key)(*value)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def publish(
        self, topic: str, payload: bytes, qos: int = 1, **properties: Any
    ) -> mqtt.MQTTMessageInfo:
        props = Properties(PacketTypes.PUBLISH)
        for name, value in properties.items():
            setattr(props, name, value)
        return self.client.publish(topic, payload, qos=qos, properties=props)

    def numbers(self, topic: str, numbers: range, qos: int = 1) -> None:
        infos = [self.publish(topic, json.dumps({"n": n}).encode(), qos) for n in numbers]
        for info in infos:
            info.wait_for_publish(10)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def topic() -> str:
    return f"gw-test/{uuid.uuid4().hex[:10]}"


@pytest.fixture
def client_id() -> str:
    return f"gw-test-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def publisher(mqtt_service: MqttService) -> Iterator[Publisher]:
    publisher = Publisher(mqtt_service.port)
    yield publisher
    publisher.close()


async def test_thousand_messages_become_cloudevents(
    mqtt_service: MqttService,
    watcher: RecordingWatcher,
    publisher: Publisher,
    topic: str,
    client_id: str,
) -> None:
    async with Pipeline(watcher) as pipeline:
        config = _config(mqtt_service.port, f"{topic}/#", client_id, qos=1)
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
        source = KIND.create(
            pipeline.origin("mqtt"), _config(mqtt_service.port, topic, client_id), pipeline.context
        )
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
        source = KIND.create(
            pipeline.origin("mqtt"), _config(mqtt_service.port, topic, client_id), pipeline.context
        )
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
    config = _config(mqtt_service.port, topic, client_id)
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
        config = _config(mqtt_service.port, topic, client_id, qos=qos)
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


@pytest.fixture
def own_mosquitto(tmp_path: Path) -> Iterator[Any]:
    """A Mosquitto of this test's own, with persistence, that the test may restart."""
    if not shutil.which(MOSQUITTO) and not Path(MOSQUITTO).exists():
        unavailable("mqtt", "mosquitto is not installed")
    port = free_port()
    conf = tmp_path / "mosquitto.conf"
    conf.write_text(
        f"user root\npersistence true\npersistence_location {tmp_path}/\n"
        f"listener {port} 127.0.0.1\nallow_anonymous true\n"
    )
    broker = _Broker(port, conf)
    yield broker
    broker.stop()


class _Broker:
    def __init__(self, port: int, conf: Path) -> None:
        self.port = port
        self.conf = conf
        self.process: subprocess.Popen[bytes] | None = None

    async def start(self) -> None:
        self.process = subprocess.Popen(
            [MOSQUITTO, "-c", str(self.conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        await wait_for_port(self.port)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # Mosquitto saves its persistence file
            self.process.wait(10)
        self.process = None


async def test_broker_restart_mid_stream_loses_nothing(
    own_mosquitto: _Broker, watcher: RecordingWatcher, topic: str, client_id: str
) -> None:
    await own_mosquitto.start()
    async with Pipeline(watcher) as pipeline:
        source = KIND.create(
            pipeline.origin("mqtt"), _config(own_mosquitto.port, topic, client_id), pipeline.context
        )
        await source.start(pipeline.emitter("mqtt"))
        try:
            publisher = Publisher(own_mosquitto.port)
            await asyncio.to_thread(publisher.numbers, topic, range(300))
            publisher.close()
            own_mosquitto.stop()
            await wait_until(lambda: any(s == "degraded" for s, _ in pipeline.statuses), 10)
            await own_mosquitto.start()
            publisher = Publisher(own_mosquitto.port)
            await asyncio.to_thread(publisher.numbers, topic, range(300, 600))
            publisher.close()
            events = await pipeline.wait_for_unique(600, key=payload_number)
            await wait_until(lambda: pipeline.statuses[-1][0] == "running", 10)
        finally:
            await source.stop()
    assert sorted(events) == list(range(600))


async def test_username_password_and_tls(
    mqtt_service: MqttService,
    watcher: RecordingWatcher,
    topic: str,
    client_id: str,
    monkeypatch: Any,
) -> None:
    monkeypatch.setenv("GW_TEST_MQTT_PASSWORD", mqtt_service.password)
    auth = {"username": mqtt_service.user, "password": {"env": "GW_TEST_MQTT_PASSWORD"}}
    configs = {
        "auth": _config(mqtt_service.auth_port, topic, client_id + "a", auth=auth),
        "tls": parse_source(
            "mqtt",
            "test",
            {
                "url": f"mqtts://localhost:{mqtt_service.tls_port}",
                "topic": topic,
                "clientId": client_id + "t",
                "tls": {"caCertPath": mqtt_service.ca},
            },
        ),
    }
    publisher = Publisher(mqtt_service.port)
    async with Pipeline(watcher) as pipeline:
        sources = [
            KIND.create(pipeline.origin("mqtt", name), c, pipeline.context)
            for name, c in configs.items()
        ]
        for source, name in zip(sources, configs, strict=True):
            await source.start(pipeline.emitter("mqtt", name))
        try:
            await asyncio.to_thread(publisher.numbers, topic, range(3))
            await wait_until(lambda: len(pipeline.accepted()) >= 6, 20)
        finally:
            for source in sources:
                await source.stop()
            publisher.close()
    assert (
        sorted(e.source for e in pipeline.accepted())
        == [f"/gateways/{GATEWAY}/auth"] * 3 + [f"/gateways/{GATEWAY}/tls"] * 3
    )


async def test_wrong_password_fails_the_start(
    mqtt_service: MqttService,
    watcher: RecordingWatcher,
    topic: str,
    client_id: str,
    monkeypatch: Any,
) -> None:
    monkeypatch.setenv("GW_TEST_MQTT_PASSWORD", "wrong")
    auth = {"username": mqtt_service.user, "password": {"env": "GW_TEST_MQTT_PASSWORD"}}
    async with Pipeline(watcher) as pipeline:
        config = _config(mqtt_service.auth_port, topic, client_id, auth=auth)
        source = KIND.create(pipeline.origin("mqtt"), config, pipeline.context)
        with pytest.raises(GatewayError, match="refused"):
            await source.start(pipeline.emitter("mqtt"))
        await source.stop()


def test_bad_config_field_is_named() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_source("mqtt", "broken", {"url": "tcp://127.0.0.1:1883", "topic": "a/#/b", "qos": 3})
    message = str(caught.value)
    assert "mqtt/broken: topic:" in message
    assert "mqtt/broken: qos:" in message
    assert "mqtt/broken: clientId:" in message
