"""A Pub/Sub message as a raw event: data, message id, publish time and attributes kept.

The id is the message id (a redelivery keeps it); the subject is the topic. Each attribute
whose name is a valid CloudEvents extension name (lowercase letters and digits, at most 20)
becomes that extension; all of them also travel as ``pubsubattributes`` (JSON), so none is
lost. ``pubsuborderingkey`` and ``pubsubdeliveryattempt`` say what the service says. A
``content-type`` attribute gives the data's content type.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Protocol

from gateways.events.model import valid_extension_name
from gateways.source import RawEvent

ACTION = "message"
_OWN = frozenset({"pubsubattributes", "pubsuborderingkey", "pubsubdeliveryattempt"})


class Message(Protocol):
    """What this module reads of google-cloud-pubsub's subscriber message."""

    @property
    def message_id(self) -> str: ...
    @property
    def data(self) -> bytes: ...
    @property
    def attributes(self) -> Mapping[str, str]: ...
    @property
    def ordering_key(self) -> str: ...
    @property
    def publish_time(self) -> datetime: ...
    @property
    def delivery_attempt(self) -> int | None: ...


def raw_event(message: Message, topic: str | None) -> RawEvent:
    attributes = {str(k): str(v) for k, v in message.attributes.items()}
    extensions = {
        name: value
        for name, value in attributes.items()
        if valid_extension_name(name) and name not in _OWN
    }
    if attributes:
        extensions["pubsubattributes"] = json.dumps(
            attributes, sort_keys=True, separators=(",", ":")
        )
    if message.ordering_key:
        extensions["pubsuborderingkey"] = message.ordering_key
    if message.delivery_attempt:
        extensions["pubsubdeliveryattempt"] = str(message.delivery_attempt)
    content_type = next(
        (v for k, v in attributes.items() if k.lower() == "content-type" and v), None
    )
    return RawEvent(
        payload=bytes(message.data),
        content_type=content_type,
        id=message.message_id or None,
        subject=topic,
        time=message.publish_time,
        action=ACTION,
        extensions=extensions,
        headers=attributes,
    )
