"""SNS's HTTP(S) messages: the JSON document SNS posts, the string it signs, and the raw event
a ``Notification`` becomes.

SNS posts three types of message, each a JSON object of strings: ``SubscriptionConfirmation``
and ``UnsubscribeConfirmation`` (with ``SubscribeURL`` and ``Token``) and ``Notification``
(with an optional ``Subject`` and ``MessageAttributes``). A notification becomes one raw
event: the published message is the payload, SNS's message id its id, and the topic, subject,
message id and attributes its extensions.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gateways.errors import GatewayError
from gateways.events.model import valid_extension_name
from gateways.source import RawEvent

NOTIFICATION = "Notification"
SUBSCRIPTION_CONFIRMATION = "SubscriptionConfirmation"
UNSUBSCRIBE_CONFIRMATION = "UnsubscribeConfirmation"
TYPES = (NOTIFICATION, SUBSCRIPTION_CONFIRMATION, UNSUBSCRIBE_CONFIRMATION)

# The fields SNS signs, in the order it signs them (SNS's "Verifying the signatures of
# Amazon SNS messages"); a notification's Subject only when it has one.
NOTIFICATION_SIGNED = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
CONFIRMATION_SIGNED = (
    "Message",
    "MessageId",
    "SubscribeURL",
    "Timestamp",
    "Token",
    "TopicArn",
    "Type",
)
OPTIONAL = frozenset({"Subject"})

ACTION = "notification"
EXTENSIONS = ("snstopic", "snssubject", "snsmessageid", "snsattributes")


class MessageError(GatewayError):
    """The body is not an SNS message (the sender gets a 400)."""


@dataclass(frozen=True, slots=True)
class SNSMessage:
    """One parsed SNS message: its type and every field of the document."""

    type: str
    document: Mapping[str, Any]

    def field(self, name: str) -> str | None:
        value = self.document.get(name)
        return value if isinstance(value, str) else None

    @property
    def message_id(self) -> str:
        return str(self.document["MessageId"])

    @property
    def topic_arn(self) -> str:
        return str(self.document["TopicArn"])

    @property
    def timestamp(self) -> datetime:
        return datetime.fromisoformat(str(self.document["Timestamp"]))

    @property
    def signed_fields(self) -> tuple[str, ...]:
        return NOTIFICATION_SIGNED if self.type == NOTIFICATION else CONFIRMATION_SIGNED


def parse(body: bytes) -> SNSMessage:
    """The SNS message in ``body``; MessageError naming what is wrong."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise MessageError(f"body is not JSON: {str(exc)[:120]}") from None
    if not isinstance(document, dict):
        raise MessageError("body is not a JSON object")
    try:
        json.dumps(document, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise MessageError("body holds text that is not Unicode (a lone surrogate)") from None
    kind = document.get("Type")
    if not isinstance(kind, str):
        raise MessageError("Type is missing")
    if kind not in TYPES:
        raise MessageError(f"unknown Type {kind[:60]!r} (expected one of {', '.join(TYPES)})")
    message = SNSMessage(kind, document)
    for name in message.signed_fields:
        value = document.get(name)
        if value is None and name in OPTIONAL:
            continue
        if not isinstance(value, str):
            raise MessageError(f"{name} is missing or not a string")
    try:
        message.timestamp  # noqa: B018 - checked here, so later reads cannot fail
    except ValueError:
        raise MessageError(f"Timestamp {document['Timestamp'][:40]!r} is not ISO-8601") from None
    if kind == NOTIFICATION:
        _attributes(document)
    return message


def string_to_sign(message: SNSMessage) -> bytes:
    """The text SNS signs: ``name\\nvalue\\n`` for each signed field present, in order."""
    parts = []
    for name in message.signed_fields:
        value = message.field(name)
        if value is None and name in OPTIONAL:
            continue
        parts.append(f"{name}\n{value}\n")
    return "".join(parts).encode("utf-8")


def to_raw_event(message: SNSMessage) -> RawEvent:
    """The raw event of one notification (see the module docstring)."""
    subject = message.field("Subject")
    extensions = {"snstopic": message.topic_arn, "snsmessageid": message.message_id}
    if subject:
        extensions["snssubject"] = subject
    extensions.update(attribute_extensions(_attributes(message.document)))
    return RawEvent(
        payload=str(message.document["Message"]).encode("utf-8"),
        id=message.message_id,
        subject=subject or message.topic_arn,
        time=message.timestamp,
        action=ACTION,
        extensions=extensions,
    )


def attribute_extensions(attributes: Mapping[str, Mapping[str, str]]) -> dict[str, str]:
    """Each attribute whose name is a valid extension name (and not one of ours) as its own
    extension (its value); the rest, with their types, as the JSON ``snsattributes``."""
    extensions: dict[str, str] = {}
    rest: dict[str, Mapping[str, str]] = {}
    for name, attribute in attributes.items():
        if valid_extension_name(name) and name not in EXTENSIONS:
            extensions[name] = attribute["Value"]
        else:
            rest[name] = attribute
    if rest:
        extensions["snsattributes"] = json.dumps(rest, sort_keys=True)
    return extensions


def _attributes(document: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    """``MessageAttributes``: ``{name: {Type, Value}}``, each a string; MessageError if not."""
    raw = document.get("MessageAttributes")
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise MessageError("MessageAttributes is not a JSON object")
    attributes = {}
    for name, attribute in raw.items():
        if not (
            isinstance(attribute, dict)
            and isinstance(attribute.get("Type"), str)
            and isinstance(attribute.get("Value"), str)
        ):
            raise MessageError(f"MessageAttributes: {name[:60]!r} needs a string Type and Value")
        attributes[name] = {"Type": attribute["Type"], "Value": attribute["Value"]}
    return attributes
