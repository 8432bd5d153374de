"""A Kafka record as a raw event (pure functions): the value, the topic as subject, every piece
of metadata kept.

- ``id``: ``<topic>/<partition>/<offset>``, the record's identity, so a redelivery keeps it
- ``time``: the record's timestamp; ``subject``: the topic
- extensions (README table): ``kafkatopic``, ``kafkapartition``, ``kafkaoffset``,
  ``kafkatimestamptype`` (``CreateTime`` or ``LogAppendTime``), ``kafkakey`` (the key as text,
  or base64 with ``kafkakeyencoding: base64`` when it is not printable UTF-8), ``kafkaheaders``
  (a JSON object; a repeated name maps to a list; a value that is not printable UTF-8 is
  ``{"base64": "..."}``)
- a ``content-type`` header becomes ``datacontenttype``

A record with ``ce_`` headers is a CloudEvent in Kafka's binary binding and passes through with
its own attributes.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

from gateways.source import RawEvent

_TIMESTAMP_TYPES = {0: "CreateTime", 1: "LogAppendTime"}


def event_id(topic: str, partition: int, offset: int) -> str:
    return f"{topic}/{partition}/{offset}"


def raw_event(record: Any) -> RawEvent:
    """``record`` is kafka-python's ConsumerRecord (topic, partition, offset, timestamp, ...)."""
    extensions = {
        "kafkatopic": record.topic,
        "kafkapartition": str(record.partition),
        "kafkaoffset": str(record.offset),
    }
    timestamp_type = _TIMESTAMP_TYPES.get(record.timestamp_type)
    if timestamp_type is not None:
        extensions["kafkatimestamptype"] = timestamp_type
    if record.key is not None:
        key, encoding = _text_or_base64(record.key)
        extensions["kafkakey"] = key
        if encoding:
            extensions["kafkakeyencoding"] = encoding
    pairs: list[tuple[str, bytes]] = list(record.headers or [])
    if pairs:
        extensions["kafkaheaders"] = json.dumps(_headers_json(pairs), ensure_ascii=False)
    headers = {}
    for name, value in reversed(pairs):  # the first of a repeated header wins
        text, encoding = _text_or_base64(value or b"")
        if not encoding:
            headers[name] = text
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), None)
    moment = None
    if record.timestamp is not None and record.timestamp >= 0:
        moment = datetime.fromtimestamp(record.timestamp / 1000, UTC)
    return RawEvent(
        payload=record.value or b"",
        content_type=content_type,
        id=event_id(record.topic, record.partition, record.offset),
        subject=record.topic,
        action="message",
        time=moment,
        extensions=extensions,
        headers=headers,
        binding="kafka",
    )


def _text_or_base64(value: bytes) -> tuple[str, str]:
    """The bytes as text and ``""`` when they are printable UTF-8 (a CloudEvents string has no
    control characters), else as base64 and ``"base64"``."""
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None and text.isprintable():
        return text, ""
    return base64.b64encode(value).decode("ascii"), "base64"


def _headers_json(pairs: list[tuple[str, bytes]]) -> dict[str, Any]:
    grouped: dict[str, Any] = {}
    for name, raw in pairs:
        text, encoding = _text_or_base64(raw or b"")
        value: Any = {"base64": text} if encoding else text
        if name not in grouped:
            grouped[name] = value
        elif isinstance(grouped[name], list):
            grouped[name].append(value)
        else:
            grouped[name] = [grouped[name], value]
    return grouped
