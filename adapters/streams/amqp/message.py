"""One AMQP delivery as a raw event: the body, the routing key as subject, every property kept.

Extensions (README table):

- ``amqpexchange``, ``amqproutingkey``: where the message was published
- ``amqpdeliverytag``: the channel's delivery tag; ``amqpredelivered``: ``true`` when the broker
  delivers it again (after a nack, or a consumer that went away without acking)
- ``amqpheaders``: the application headers as a JSON object (bytes as text, timestamps ISO-8601)
- the basic properties that are set: ``amqpmessageid``, ``amqpcorrelationid``, ``amqpreplyto``,
  ``amqpappid``, ``amqpuserid``, ``amqptype``, ``amqpexpiration``, ``amqpcontentencoding``,
  ``amqppriority``, ``amqpdeliverymode``, ``amqpclusterid``

``message-id`` is the CloudEvent id (deterministic: a redelivery keeps it), else a fresh UUID;
``timestamp`` is the time; ``content-type`` is ``datacontenttype``. Application headers named
``cloudEvents:<attribute>`` (or ``cloudEvents_<attribute>``) make the message a CloudEvent in
AMQP's binary binding: it passes through with its own attributes.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from pika.spec import Basic, BasicProperties

from gateways.source import RawEvent

_PROPERTIES = (
    ("message_id", "amqpmessageid"),
    ("correlation_id", "amqpcorrelationid"),
    ("reply_to", "amqpreplyto"),
    ("app_id", "amqpappid"),
    ("user_id", "amqpuserid"),
    ("type", "amqptype"),
    ("expiration", "amqpexpiration"),
    ("content_encoding", "amqpcontentencoding"),
    ("priority", "amqppriority"),
    ("delivery_mode", "amqpdeliverymode"),
    ("cluster_id", "amqpclusterid"),
)


def raw_event(method: Basic.Deliver, properties: BasicProperties, body: bytes) -> RawEvent:
    extensions = {
        "amqpexchange": method.exchange,
        "amqproutingkey": method.routing_key,
        "amqpdeliverytag": str(method.delivery_tag),
        "amqpredelivered": "true" if method.redelivered else "false",
    }
    table: Mapping[str, Any] = properties.headers or {}
    if table:
        extensions["amqpheaders"] = json.dumps(_jsonable(table), ensure_ascii=False)
    for attribute, name in _PROPERTIES:
        value = getattr(properties, attribute, None)
        if value is not None:
            extensions[name] = str(value)
    timestamp = properties.timestamp
    return RawEvent(
        payload=body,
        content_type=properties.content_type,
        id=properties.message_id or None,
        subject=method.routing_key or None,
        action="message",
        time=datetime.fromtimestamp(timestamp, UTC) if timestamp is not None else None,
        extensions=extensions,
        headers={name: _text(value) for name, value in table.items() if value is not None},
        binding="amqp",
    )


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Mapping | list):
        return json.dumps(_jsonable(value), ensure_ascii=False)
    return str(value)


def _jsonable(value: Any) -> Any:
    """AMQP table values as JSON: text stays text, bytes that are not UTF-8 become base64."""
    if isinstance(value, Mapping):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return base64.b64encode(value).decode("ascii")
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value
