"""One MQTT message as a raw event: the payload, the topic as subject, every property kept.

Extensions (README table):

- ``mqtttopic``: the topic the message was published to
- ``mqttqos``: the QoS it was delivered with (``0``, ``1``, ``2``)
- ``mqttretain``: ``true`` for a retained message the broker replayed on subscribe
- ``mqttdup``: ``true`` when the broker redelivers a message it sent before
- ``mqttmsgid``: the packet identifier (QoS 1 and 2 only; reused by the broker, not an identity)
- MQTT 5 properties: ``mqttheaders`` (user properties as a JSON object, a repeated name as a
  list of its values), ``mqttresponsetopic``, ``mqttcorrelationdata`` (base64),
  ``mqttmessageexpiry`` (seconds), ``mqttpayloadformat`` (``1``: UTF-8 text)

The content-type property becomes ``datacontenttype``. MQTT has no message identity, so the id is
a fresh UUID, unless the user properties carry a CloudEvent (bare attribute names as MQTT 5's
CloudEvents binding says): that event passes through with its own id and attributes.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from paho.mqtt.client import MQTTMessage

from gateways.source import RawEvent


def raw_event(message: MQTTMessage) -> RawEvent:
    extensions = {
        "mqtttopic": message.topic,
        "mqttqos": str(message.qos),
        "mqttretain": _flag(message.retain),
        "mqttdup": _flag(message.dup),
    }
    if message.qos > 0:
        extensions["mqttmsgid"] = str(message.mid)
    properties = message.properties
    user_properties: list[tuple[str, str]] = list(getattr(properties, "UserProperty", []))
    if user_properties:
        extensions["mqttheaders"] = json.dumps(_grouped(user_properties), ensure_ascii=False)
    for attribute, name in (
        ("ResponseTopic", "mqttresponsetopic"),
        ("MessageExpiryInterval", "mqttmessageexpiry"),
        ("PayloadFormatIndicator", "mqttpayloadformat"),
    ):
        value = getattr(properties, attribute, None)
        if value is not None:
            extensions[name] = str(value)
    correlation = getattr(properties, "CorrelationData", None)
    if correlation is not None:
        extensions["mqttcorrelationdata"] = base64.b64encode(correlation).decode("ascii")
    return RawEvent(
        payload=bytes(message.payload),
        content_type=getattr(properties, "ContentType", None),
        subject=message.topic,
        action="message",
        extensions=extensions,
        # A CloudEvent attribute appears once; the first value of a repeated name wins.
        headers={name: value for name, value in reversed(user_properties)},
        binding="mqtt",
    )


def _flag(value: Any) -> str:
    return "true" if value else "false"


def _grouped(pairs: list[tuple[str, str]]) -> dict[str, str | list[str]]:
    grouped: dict[str, str | list[str]] = {}
    for name, value in pairs:
        seen = grouped.get(name)
        if seen is None:
            grouped[name] = value
        elif isinstance(seen, list):
            seen.append(value)
        else:
            grouped[name] = [seen, value]
    return grouped
