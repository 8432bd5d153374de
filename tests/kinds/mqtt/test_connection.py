"""The MQTT source's broker connection: reconnecting (through the core's supervisor) after the
broker went away or before it was there, username/password, TLS, and a refusal for good."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from adapters.streams.mqtt.source import KIND
from gateways.config import parse_source
from gateways.errors import GatewayError
from tests.kinds.mqtt.kit import Broker, Publisher, mqtt_config
from tests.kit import GATEWAY, Pipeline, payload_number, wait_until
from tests.servicekit import MqttService
from tests.watcher import RecordingWatcher

pytestmark = [pytest.mark.mqtt, pytest.mark.timeout(120)]


async def test_broker_restart_mid_stream_loses_nothing(
    own_mosquitto: Broker, watcher: RecordingWatcher, topic: str, client_id: str
) -> None:
    await own_mosquitto.start()
    async with Pipeline(watcher) as pipeline:
        config = mqtt_config(own_mosquitto.port, topic, client_id)
        source = KIND.create(pipeline.origin("mqtt"), config, pipeline.context)
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


async def test_a_broker_not_up_yet_degrades_the_start_then_delivers(
    own_mosquitto: Broker, watcher: RecordingWatcher, topic: str, client_id: str
) -> None:
    async with Pipeline(watcher) as pipeline:
        config = mqtt_config(own_mosquitto.port, topic, client_id)
        source = KIND.create(pipeline.origin("mqtt"), config, pipeline.context)
        await source.start(pipeline.emitter("mqtt"))  # returns: the supervisor keeps retrying
        try:
            await wait_until(lambda: pipeline.statuses, 10)
            state, reason = pipeline.statuses[0]
            assert state == "degraded"
            assert f"tcp://127.0.0.1:{own_mosquitto.port}: cannot connect" in reason
            await own_mosquitto.start()
            await wait_until(lambda: pipeline.statuses[-1][0] == "running", 10)
            publisher = Publisher(own_mosquitto.port)
            await asyncio.to_thread(publisher.numbers, topic, range(10))
            publisher.close()
            events = await pipeline.wait_for_unique(10, key=payload_number)
        finally:
            await source.stop()
    assert sorted(events) == list(range(10))


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
        "auth": mqtt_config(mqtt_service.auth_port, topic, client_id + "a", auth=auth),
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
        config = mqtt_config(mqtt_service.auth_port, topic, client_id, auth=auth)
        source = KIND.create(pipeline.origin("mqtt"), config, pipeline.context)
        with pytest.raises(GatewayError, match=f"127.0.0.1:{mqtt_service.auth_port}: .*refused"):
            await source.start(pipeline.emitter("mqtt"))
        await source.stop()
    assert pipeline.statuses == []
