"""Fixtures of the MQTT tests: a fresh topic and client id, a publisher on the shared broker,
and a Mosquitto of the test's own."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.kinds.mqtt.kit import MOSQUITTO, Broker, Publisher
from tests.kit import free_port, unique
from tests.servicekit import MqttService, unavailable


@pytest.fixture
def topic() -> str:
    return unique("gw-test/")


@pytest.fixture
def client_id() -> str:
    return unique("gw-test-")


@pytest.fixture
def publisher(mqtt_service: MqttService) -> Iterator[Publisher]:
    publisher = Publisher(mqtt_service.port)
    yield publisher
    publisher.close()


@pytest.fixture
def own_mosquitto(tmp_path: Path) -> Iterator[Broker]:
    """A Mosquitto of this test's own, with persistence, that the test may restart."""
    if not shutil.which(MOSQUITTO) and not Path(MOSQUITTO).exists():
        unavailable("mqtt", "mosquitto is not installed")
    port = free_port()
    conf = tmp_path / "mosquitto.conf"
    conf.write_text(
        f"user root\npersistence true\npersistence_location {tmp_path}/\n"
        f"listener {port} 127.0.0.1\nallow_anonymous true\n"
    )
    broker = Broker(port, conf)
    yield broker
    broker.stop()
