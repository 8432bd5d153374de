"""Smoke test: the Mosquitto broker from scripts/services, through paho-mqtt 2.x."""

from __future__ import annotations

import queue
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.reasoncodes import ReasonCode

from tests.servicekit import MqttService

pytestmark = [pytest.mark.mqtt, pytest.mark.timeout(60)]


class Session:
    """A paho client on its network thread, with its callbacks turned into queues."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        ca: str | None = None,
        user: str | None = None,
        password: str | None = None,
    ) -> None:
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=f"gw-smoke-{uuid.uuid4().hex[:8]}",
            protocol=mqtt.MQTTv311,
        )
        self.connects: queue.Queue[ReasonCode] = queue.Queue()
        self.subacks: queue.Queue[list[ReasonCode]] = queue.Queue()
        self.messages: queue.Queue[mqtt.MQTTMessage] = queue.Queue()
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = lambda _c, _u, msg: self.messages.put(msg)
        if ca is not None:
            self.client.tls_set(ca_certs=ca)
        if user is not None:
            self.client.username_pw_set(user, password)
        self.client.connect(host, port, keepalive=30)
        self.client.loop_start()
        self.reason = self.connects.get(timeout=10)

    def _on_connect(self, _c: Any, _u: Any, _flags: Any, reason: ReasonCode, _p: Any) -> None:
        self.connects.put(reason)

    def _on_subscribe(
        self, _c: Any, _u: Any, _mid: int, reasons: list[ReasonCode], _p: Any
    ) -> None:
        self.subacks.put(reasons)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@contextmanager
def session(*args: Any, **kwargs: Any) -> Iterator[Session]:
    s = Session(*args, **kwargs)
    try:
        yield s
    finally:
        s.close()


def qos1_round_trip(s: Session) -> None:
    topic = f"gw/smoke/{uuid.uuid4().hex}"
    assert not s.reason.is_failure, s.reason
    s.client.subscribe(topic, qos=1)
    (granted,) = s.subacks.get(timeout=10)
    assert granted.value == 1  # granted QoS 1
    info = s.client.publish(topic, b"payload-1", qos=1)
    info.wait_for_publish(timeout=10)
    assert info.is_published()  # PUBACK received
    msg = s.messages.get(timeout=10)
    assert (msg.topic, msg.payload, msg.qos) == (topic, b"payload-1", 1)


def test_qos1_over_tls_with_generated_ca(mqtt_service: MqttService) -> None:
    with session(mqtt_service.host, mqtt_service.tls_port, ca=mqtt_service.ca) as s:
        qos1_round_trip(s)
        sock = s.client.socket()
        assert sock is not None and sock.version() is not None  # really TLS


def test_qos1_with_password(mqtt_service: MqttService) -> None:
    with session(
        mqtt_service.host,
        mqtt_service.auth_port,
        user=mqtt_service.user,
        password=mqtt_service.password,
    ) as s:
        qos1_round_trip(s)


@pytest.mark.parametrize("password", ["wrong-password", None])
def test_wrong_or_missing_password_refused(mqtt_service: MqttService, password: str | None) -> None:
    user = mqtt_service.user if password else None
    with session(mqtt_service.host, mqtt_service.auth_port, user=user, password=password) as s:
        assert s.reason.is_failure
        assert s.reason.getName() == "Not authorized"


def test_anonymous_listener(mqtt_service: MqttService) -> None:
    with session(mqtt_service.host, mqtt_service.port) as s:
        qos1_round_trip(s)
