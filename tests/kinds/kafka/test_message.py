"""A Kafka record as a raw event: id, subject, time, the record's metadata as extensions, its
headers, and a record that already is a CloudEvent (``ce_`` headers) passing through."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

from kafka.consumer.fetcher import ConsumerRecord

from adapters.streams.kafka.message import event_id, raw_event
from gateways.events import build
from gateways.source import Origin
from gateways.tracing import derived

ORIGIN = Origin("orders-gw", "eu-orders", "kafka")
MOMENT = datetime(2024, 5, 1, 12, 0, 0, 250000, tzinfo=UTC)


def record(**fields: Any) -> ConsumerRecord:
    """kafka-python's own record type, as ``poll`` returns it."""
    values: dict[str, Any] = {
        "topic": "orders",
        "partition": 3,
        "leader_epoch": 0,
        "offset": 1200,
        "timestamp": int(MOMENT.timestamp() * 1000),
        "timestamp_type": 0,
        "key": b"order-7",
        "value": b'{"order": 7}',
        "headers": [],
        "checksum": None,
        "serialized_key_size": 7,
        "serialized_value_size": 12,
        "serialized_header_size": -1,
        **fields,
    }
    return ConsumerRecord(**values)


def test_identity_subject_time_and_extensions() -> None:
    raw = raw_event(record())
    assert raw.payload == b'{"order": 7}'
    assert raw.id == "orders/3/1200" == event_id("orders", 3, 1200)
    assert raw.subject == "orders"
    assert raw.action == "message"
    assert raw.time == MOMENT
    assert raw.binding == "kafka"
    assert raw.content_type is None  # the builder sniffs it from the payload
    assert raw.extensions == {
        "kafkatopic": "orders",
        "kafkapartition": "3",
        "kafkaoffset": "1200",
        "kafkatimestamptype": "CreateTime",
        "kafkakey": "order-7",
    }
    assert raw.headers == {}


def test_a_redelivered_record_keeps_its_id_and_another_offset_does_not() -> None:
    assert raw_event(record()).id == raw_event(record(value=b"again")).id
    assert raw_event(record(offset=1201)).id == "orders/3/1201"
    assert raw_event(record(partition=0)).id == "orders/0/1200"
    assert raw_event(record(topic="payments")).id == "payments/3/1200"


def test_the_cloudevent_built_from_it() -> None:
    event = build(raw_event(record()), ORIGIN)
    trace = event.attributes.pop("traceparent")  # no trace came with it: one is started
    assert trace == derived(event.source, event.id).traceparent
    assert event.attributes == {
        "specversion": "1.0",
        "id": "orders/3/1200",
        "source": "/gateways/orders-gw/eu-orders",
        "type": "dev.gateways.kafka.message",
        "time": "2024-05-01T12:00:00.250000Z",
        "datacontenttype": "application/json",
        "subject": "orders",
        "kafkatopic": "orders",
        "kafkapartition": "3",
        "kafkaoffset": "1200",
        "kafkatimestamptype": "CreateTime",
        "kafkakey": "order-7",
    }


def test_log_append_time_no_timestamp_no_key_and_a_tombstone() -> None:
    raw = raw_event(record(timestamp_type=1))
    assert raw.extensions["kafkatimestamptype"] == "LogAppendTime"
    raw = raw_event(record(timestamp=-1, timestamp_type=-1, key=None, value=None))
    assert raw.time is None
    assert raw.payload == b""
    assert "kafkatimestamptype" not in raw.extensions
    assert "kafkakey" not in raw.extensions and "kafkakeyencoding" not in raw.extensions


def test_a_key_that_is_not_printable_text_is_base64() -> None:
    raw = raw_event(record(key=b"\x00\xff"))
    assert raw.extensions["kafkakey"] == base64.b64encode(b"\x00\xff").decode()
    assert raw.extensions["kafkakeyencoding"] == "base64"
    raw = raw_event(record(key=b"tab\there"))  # valid UTF-8, but a control character
    assert raw.extensions["kafkakeyencoding"] == "base64"
    assert raw_event(record(key="clé".encode())).extensions["kafkakey"] == "clé"


def test_headers_kept_as_a_json_extension_and_as_headers() -> None:
    headers = [
        ("tenant", b"acme"),
        ("trace", b"one"),
        ("trace", b"two"),
        ("raw", b"\xff"),
        ("Content-Type", b"text/csv"),
    ]
    raw = raw_event(record(headers=headers, value=b"a,b"))
    assert json.loads(raw.extensions["kafkaheaders"]) == {
        "tenant": "acme",
        "trace": ["one", "two"],  # a repeated name maps to a list
        "raw": {"base64": "/w=="},
        "Content-Type": "text/csv",
    }
    # As transport headers: the first of a repeated name wins; what is not text is left out.
    assert raw.headers == {"tenant": "acme", "trace": "one", "Content-Type": "text/csv"}
    assert raw.content_type == "text/csv"  # any case of content-type
    assert build(raw, ORIGIN).attributes["datacontenttype"] == "text/csv"


def test_a_record_with_ce_headers_passes_through_as_a_cloudevent() -> None:
    attributes = {
        "specversion": "1.0",
        "id": "upstream-9",
        "source": "/warehouse",
        "type": "com.example.stock.changed",
        "subject": "sku-9",
        "time": "2024-05-01T12:00:00Z",
        "tenant": "acme",
    }
    headers = [(f"ce_{name}", value.encode()) for name, value in attributes.items()]
    headers.append(("content-type", b"application/json"))
    raw = raw_event(record(headers=headers, value=b'{"count": 3}'))
    assert raw.headers == {f"ce_{name}": value for name, value in attributes.items()} | {
        "content-type": "application/json"
    }
    event = build(raw, ORIGIN)
    # Its own attributes, not the gateway's id, source, type or Kafka extensions.
    assert event.attributes == {**attributes, "datacontenttype": "application/json"}
    assert event.json() == {"count": 3}
