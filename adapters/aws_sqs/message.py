"""An SQS message (as boto3's ReceiveMessage returns it) as a raw event.

The body is the payload and the MessageId the id (a redelivery keeps it); the time is SQS's
``SentTimestamp``; the subject is the queue's name. SQS's system attributes become ``sqs*``
extensions (see :data:`SYSTEM_EXTENSIONS`; any other in the JSON ``sqssystemattributes``).
Each message attribute whose name is a valid extension name (and not one of ours) becomes its
own extension (a String or Number as its text, a Binary as base64); the rest, with their data
types, go as the JSON ``sqsattributes``. A String attribute ``contentType`` (or
``Content-Type``) is the event's content type.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from gateways.events.model import valid_extension_name
from gateways.source import RawEvent

ACTION = "message"
SYSTEM_EXTENSIONS = {
    "ApproximateReceiveCount": "sqsreceivecount",
    "ApproximateFirstReceiveTimestamp": "sqsfirstreceived",
    "SenderId": "sqssenderid",
    "MessageGroupId": "sqsgroupid",
    "MessageDeduplicationId": "sqsdedupid",
    "SequenceNumber": "sqssequencenumber",
    "AWSTraceHeader": "sqstraceheader",
    "DeadLetterQueueSourceArn": "sqsdlqsourcearn",
}
SENT = "SentTimestamp"
OURS = frozenset({*SYSTEM_EXTENSIONS.values(), "sqsqueue", "sqsattributes", "sqssystemattributes"})
CONTENT_TYPE_ATTRIBUTES = ("contenttype", "content-type")


def raw_event(message: Mapping[str, Any], queue: str) -> RawEvent:
    """The raw event of one received message of the queue named ``queue``."""
    system = {str(k): str(v) for k, v in (message.get("Attributes") or {}).items()}
    extensions = {"sqsqueue": queue}
    other: dict[str, str] = {}
    for name, value in system.items():
        if name in SYSTEM_EXTENSIONS:
            extensions[SYSTEM_EXTENSIONS[name]] = value
        elif name != SENT:
            other[name] = value
    if other:
        extensions["sqssystemattributes"] = _json(other)
    attributes = message.get("MessageAttributes") or {}
    extensions.update(attribute_extensions(attributes))
    return RawEvent(
        payload=str(message.get("Body", "")).encode("utf-8"),
        content_type=_content_type(attributes),
        id=str(message["MessageId"]),
        subject=queue,
        time=_time(system.get(SENT)),
        action=ACTION,
        extensions=extensions,
    )


def attribute_extensions(attributes: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    """Each attribute whose name is a valid extension name (and not one of ours) as its own
    extension; the rest, with their data types, as the JSON ``sqsattributes``."""
    extensions: dict[str, str] = {}
    rest: dict[str, dict[str, str]] = {}
    for name, attribute in attributes.items():
        data_type = str(attribute.get("DataType", "String"))
        value = _value(attribute)
        if valid_extension_name(name) and name not in OURS:
            extensions[name] = value
        else:
            key = "BinaryValue" if data_type.startswith("Binary") else "StringValue"
            rest[name] = {"DataType": data_type, key: value}
    if rest:
        extensions["sqsattributes"] = _json(rest)
    return extensions


def _value(attribute: Mapping[str, Any]) -> str:
    if "StringValue" in attribute:
        return str(attribute["StringValue"])
    binary = attribute.get("BinaryValue")
    if isinstance(binary, bytes | bytearray):
        return base64.b64encode(binary).decode("ascii")
    return "" if binary is None else str(binary)


def _content_type(attributes: Mapping[str, Mapping[str, Any]]) -> str | None:
    for name, attribute in attributes.items():
        if name.lower() in CONTENT_TYPE_ATTRIBUTES and "StringValue" in attribute:
            return str(attribute["StringValue"]).strip() or None
    return None


def _time(millis: str | None) -> datetime | None:
    if millis is None or not millis.isdigit():
        return None
    return datetime.fromtimestamp(int(millis) / 1000, tz=UTC)


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))
