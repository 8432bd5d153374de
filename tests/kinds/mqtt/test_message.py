"""MQTT message -> raw event (unit tests, no broker): the topic, QoS, retain and dup
extensions, MQTT 5 properties, payloads of every type, and a CloudEvent carried in MQTT 5 user
properties passing through the one builder with its own attributes."""

from __future__ import annotations

import base64
import json
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from adapters.streams.mqtt.message import raw_event
from gateways.events.builder import build
from gateways.source import Origin

ORIGIN = Origin("factory", "sensors", "mqtt")


def message(
    topic: str = "sensors/oven/temperature",
    payload: bytes | bytearray = b'{"celsius": 210}',
    *,
    qos: int = 1,
    mid: int = 7,
    retain: bool = False,
    dup: bool = False,
    **properties: Any,
) -> mqtt.MQTTMessage:
    """A message as paho hands it to on_message; ``properties`` make it an MQTT 5 one."""
    made = mqtt.MQTTMessage(mid, topic.encode())
    made.payload, made.qos, made.retain, made.dup = payload, qos, retain, dup
    if properties:
        made.properties = Properties(PacketTypes.PUBLISH)
        for name, value in properties.items():
            setattr(made.properties, name, value)
    return made


def test_a_plain_message_keeps_topic_qos_and_flags() -> None:
    raw = raw_event(message())
    assert raw.payload == b'{"celsius": 210}'
    assert (raw.subject, raw.action, raw.binding) == ("sensors/oven/temperature", "message", "mqtt")
    assert raw.id is None  # MQTT has no message identity: the builder makes a fresh one
    assert raw.content_type is None and raw.headers == {}
    assert raw.extensions == {
        "mqtttopic": "sensors/oven/temperature",
        "mqttqos": "1",
        "mqttretain": "false",
        "mqttdup": "false",
        "mqttmsgid": "7",
    }


def test_qos_0_has_no_packet_id() -> None:
    raw = raw_event(message(qos=0, mid=0))
    assert raw.extensions["mqttqos"] == "0"
    assert "mqttmsgid" not in raw.extensions


def test_a_retained_redelivered_message_says_so() -> None:
    raw = raw_event(message(qos=2, mid=65535, retain=True, dup=True))
    assert raw.extensions["mqttqos"] == "2"
    assert raw.extensions["mqttretain"] == "true"
    assert raw.extensions["mqttdup"] == "true"
    assert raw.extensions["mqttmsgid"] == "65535"


def test_mqtt5_properties_become_extensions() -> None:
    raw = raw_event(
        message(
            ContentType="application/json",
            ResponseTopic="replies/7",
            CorrelationData=b"\x01\x02\xff",
            MessageExpiryInterval=60,
            PayloadFormatIndicator=1,
        )
    )
    assert raw.content_type == "application/json"
    assert raw.extensions["mqttresponsetopic"] == "replies/7"
    assert base64.b64decode(raw.extensions["mqttcorrelationdata"]) == b"\x01\x02\xff"
    assert raw.extensions["mqttmessageexpiry"] == "60"
    assert raw.extensions["mqttpayloadformat"] == "1"
    assert "mqttheaders" not in raw.extensions


def test_user_properties_are_kept_as_json_a_repeated_name_as_a_list() -> None:
    pairs = [("origin", "sensor-7"), ("unit", "°C"), ("origin", "backup"), ("origin", "third")]
    raw = raw_event(message(UserProperty=pairs))
    headers = raw.extensions["mqttheaders"]
    assert "°C" in headers  # kept as text, not \u escapes
    assert json.loads(headers) == {"origin": ["sensor-7", "backup", "third"], "unit": "°C"}
    assert raw.headers == {"origin": "sensor-7", "unit": "°C"}  # the first value of a name


def test_the_event_built_from_a_plain_message() -> None:
    event = build(raw_event(message(UserProperty=[("unit", "C")])), ORIGIN)
    assert event.attributes["type"] == "dev.gateways.mqtt.message"
    assert event.attributes["source"] == "/gateways/factory/sensors"
    assert event.attributes["subject"] == "sensors/oven/temperature"
    assert event.extensions["mqtttopic"] == "sensors/oven/temperature"
    assert json.loads(event.extensions["mqttheaders"]) == {"unit": "C"}
    assert event.json() == {"celsius": 210}
    assert build(raw_event(message()), ORIGIN).id != event.id  # a fresh id per message


def test_a_cloudevent_in_user_properties_passes_through() -> None:
    attributes = {
        "specversion": "1.0",
        "id": "upstream-42",
        "source": "/factory/line-3",
        "type": "com.example.temperature",
        "subject": "oven",
        "time": "2024-05-01T12:00:00Z",
        "traceparent": "00-abc-def-01",
    }
    pairs = [*attributes.items(), ("Not-An-Attribute", "x"), ("id", "a-later-duplicate")]
    raw = raw_event(message(UserProperty=pairs, ContentType="application/json"))
    event = build(raw, ORIGIN)
    assert event.attributes == {**attributes, "datacontenttype": "application/json"}
    assert event.json() == {"celsius": 210}


def test_user_properties_without_specversion_are_no_cloudevent() -> None:
    raw = raw_event(message(UserProperty=[("id", "x"), ("type", "t"), ("source", "/s")]))
    event = build(raw, ORIGIN)
    assert event.attributes["type"] == "dev.gateways.mqtt.message"
    assert event.id != "x"


@pytest.mark.parametrize(
    ("payload", "content_type"),
    [
        (b'{"n": 1}', "application/json"),
        (b"[1, 2]", "application/json"),
        (b"21.5", "application/json"),
        ("plain text, ünïcode".encode(), "text/plain; charset=utf-8"),
        (b"\x00\xff\xfe binary", "application/octet-stream"),
    ],
)
def test_payload_types(payload: bytes, content_type: str) -> None:
    raw = raw_event(message(payload=bytearray(payload)))  # paho may hand a bytearray
    assert type(raw.payload) is bytes and raw.payload == payload
    event = build(raw, ORIGIN)
    assert event.attributes["datacontenttype"] == content_type
    assert event.data == payload


def test_an_empty_payload() -> None:
    raw = raw_event(message(payload=b""))
    assert raw.payload == b""
    event = build(raw, ORIGIN)
    assert "datacontenttype" not in event.attributes
    assert event.data == b""


def test_the_content_type_property_wins_over_sniffing() -> None:
    raw = raw_event(message(payload=b'{"n": 1}', ContentType="text/csv"))
    assert build(raw, ORIGIN).attributes["datacontenttype"] == "text/csv"
