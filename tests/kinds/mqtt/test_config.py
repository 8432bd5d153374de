"""MQTT config: URL schemes, topic filter rules, client id, QoS, session, protocol, TLS, auth."""

from __future__ import annotations

from datetime import timedelta

import pytest

from adapters.streams.mqtt.config import SESSION_EXPIRY_NEVER, MQTTConfig, topic_problem
from gateways.config import ConfigError, parse_source
from gateways.config.common import Backoff, BasicAuth, SecretRef
from tests.kit import parser, problem_lister

parse = parser("mqtt", MQTTConfig)
problems = problem_lister("mqtt")


def test_good_config() -> None:
    config = parse(
        """
        url: wss://broker.example.com/ws
        topic: "$share/gateways/sensors/+/temperature"
        clientId: gateway-1
        qos: 2
        cleanSession: true
        protocolVersion: 3.1.1
        tls: {caCertPath: /etc/mqtt/ca.crt}
        auth: {username: gw, password: {name: mqtt, key: password}}
        backoff: {duration: 5s}
        """
    )
    assert (config.host, config.port, config.path) == ("broker.example.com", 443, "/ws")
    assert config.websockets and config.secure
    assert config.topic == "$share/gateways/sensors/+/temperature"
    assert (config.client_id, config.qos, config.clean_session) == ("gateway-1", 2, True)
    assert config.protocol_version == "3.1.1" and not config.mqtt5
    assert config.session_expiry_interval is None
    assert config.auth == BasicAuth("gw", SecretRef(name="mqtt", key="password"))
    assert config.backoff == Backoff(duration=timedelta(seconds=5))


def test_defaults() -> None:
    config = parse("url: tcp://localhost\ntopic: 'sensors/#'\nclientId: 1234")
    assert config.client_id == "1234"
    assert (config.host, config.port, config.secure, config.websockets) == (
        "localhost",
        1883,
        False,
        False,
    )
    assert config.qos == 1
    assert not config.clean_session  # a persistent session: QoS 1 survives restarts
    assert config.mqtt5 and config.session_expiry_interval == SESSION_EXPIRY_NEVER
    assert config.backoff == Backoff()  # a safe default when omitted
    assert config.auth is None and config.tls is None


@pytest.mark.parametrize(
    ("value", "expected"), [("5", "5"), ("5.0", "5"), ("311", "3.1.1"), ("4", "3.1.1")]
)
def test_protocol_versions(value: str, expected: str) -> None:
    config = parse(f"url: mqtts://h:8883\ntopic: a\nclientId: c\nprotocolVersion: {value}")
    assert config.protocol_version == expected


def test_username_without_password() -> None:
    config = parse("url: mqtt://h\ntopic: a\nclientId: c\nauth: {username: device}")
    assert config.auth == BasicAuth("device")


@pytest.mark.parametrize(
    "topic", ["a", "a/b", "+", "#", "a/+/b", "a/#", "+/+/#", "/a", "a//b", "$share/g/a/#"]
)
def test_valid_topics(topic: str) -> None:
    assert topic_problem(topic) is None


@pytest.mark.parametrize(
    "topic", ["", "a/#/b", "a#", "a/b#", "a+/b", "a/+b", "$share/g", "$share//a", "$share/g+/a"]
)
def test_invalid_topics(topic: str) -> None:
    assert topic_problem(topic) is not None


def test_every_problem_is_reported_at_once() -> None:
    found = problems(
        """
        url: udp://broker:1883
        topic: "sensors/#/temperature"
        qos: 3
        cleanSession: sometimes
        protocolVersion: 3.1
        tls: {caCertPath: /ca.crt}
        auth: {password: {name: mqtt, key: password}, token: x}
        backoff: {jitter: -1}
        keepAlive: 60
        """
    )
    assert found == [
        "url: 'udp://broker:1883' must start with one of mqtt://, mqtts://, ssl://, tcp://, ws://, wss://",
        "topic: 'sensors/#/temperature': '#' must be a whole level and the last one",
        "clientId: is required",
        "qos: 3 is more than 2",
        "cleanSession: 'sometimes' is not true or false",
        "protocolVersion: '3.1' is not 3.1.1 or 5",
        "tls: needs an ssl://, mqtts:// or wss:// url",
        "backoff.jitter: -1.0 is less than 0.0",
        "auth.username: is required with password",
        "auth.token: unknown field",
        "keepAlive: unknown field",
    ]


def test_required_fields() -> None:
    assert problems("clientId: ''") == [
        "url: is required",
        "topic: is required",
        "clientId: must not be empty",
    ]


def test_problems_name_the_source_and_the_field() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_source("mqtt", "orders", "url: tcp://h\ntopic: a")
    assert caught.value.problems == ("mqtt/orders: clientId: is required",)
    assert str(caught.value) == "mqtt/orders: clientId: is required"


def test_bad_config_field_is_named() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_source("mqtt", "broken", {"url": "tcp://127.0.0.1:1883", "topic": "a/#/b", "qos": 3})
    message = str(caught.value)
    assert "mqtt/broken: topic:" in message
    assert "mqtt/broken: qos:" in message
    assert "mqtt/broken: clientId:" in message
