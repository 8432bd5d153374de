"""An AMQP delivery as a raw event, and the CloudEvent the builder makes of it: routing key,
exchange and delivery tag as extensions, message-id as id, properties and headers kept,
content types, and messages that already are CloudEvents passed through."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from pika.spec import Basic, BasicProperties

from adapters.streams.amqp.message import raw_event
from gateways.events import build
from gateways.source import Origin, RawEvent

ORIGIN = Origin("amqp-gateway", "orders", "amqp")
NOON = datetime(2024, 5, 1, 12, tzinfo=UTC)


def deliver(
    body: bytes = b'{"n": 1}',
    *,
    routing_key: str = "orders.created",
    exchange: str = "orders",
    tag: int = 7,
    redelivered: bool = False,
    **properties: Any,
) -> RawEvent:
    method = Basic.Deliver(
        consumer_tag="ctag1.0",
        delivery_tag=tag,
        redelivered=redelivered,
        exchange=exchange,
        routing_key=routing_key,
    )
    return raw_event(method, BasicProperties(**properties), body)


def test_where_it_was_published_becomes_extensions_and_subject() -> None:
    raw = deliver(routing_key="orders.eu.created", exchange="shop", tag=42)
    assert raw.extensions == {
        "amqpexchange": "shop",
        "amqproutingkey": "orders.eu.created",
        "amqpdeliverytag": "42",
        "amqpredelivered": "false",
    }
    assert raw.subject == "orders.eu.created"
    assert raw.action == "message" and raw.binding == "amqp"
    assert raw.payload == b'{"n": 1}'
    event = build(raw, ORIGIN)
    assert event.type == "dev.gateways.amqp.message"
    assert event.source == "/gateways/amqp-gateway/orders"
    assert event.attributes["subject"] == "orders.eu.created"
    assert event.extensions["amqpdeliverytag"] == "42"


def test_the_default_exchange_and_an_empty_routing_key() -> None:
    raw = deliver(routing_key="", exchange="")
    assert raw.subject is None
    assert raw.extensions["amqpexchange"] == "" and raw.extensions["amqproutingkey"] == ""
    assert "subject" not in build(raw, ORIGIN).attributes


def test_message_id_is_the_id_and_a_redelivery_keeps_it() -> None:
    first = deliver(message_id="order-7", tag=1)
    again = deliver(message_id="order-7", tag=9, redelivered=True)
    assert first.id == again.id == "order-7"
    assert again.extensions["amqpredelivered"] == "true"
    assert again.extensions["amqpdeliverytag"] == "9"
    assert build(first, ORIGIN).id == build(again, ORIGIN).id == "order-7"
    assert first.extensions["amqpmessageid"] == "order-7"


def test_without_a_message_id_each_event_gets_a_fresh_uuid() -> None:
    raw = deliver()
    assert raw.id is None
    assert "amqpmessageid" not in raw.extensions
    first, second = build(raw, ORIGIN).id, build(raw, ORIGIN).id
    assert uuid.UUID(first) and uuid.UUID(second) and first != second


def test_every_property_that_is_set_becomes_an_extension() -> None:
    raw = deliver(
        message_id="m-1",
        correlation_id="c-1",
        reply_to="replies",
        app_id="billing",
        user_id="gw",
        type="invoice.paid",
        expiration="60000",
        content_encoding="gzip",
        priority=5,
        delivery_mode=2,
        cluster_id="eu",
    )
    assert raw.extensions == {
        "amqpexchange": "orders",
        "amqproutingkey": "orders.created",
        "amqpdeliverytag": "7",
        "amqpredelivered": "false",
        "amqpmessageid": "m-1",
        "amqpcorrelationid": "c-1",
        "amqpreplyto": "replies",
        "amqpappid": "billing",
        "amqpuserid": "gw",
        "amqptype": "invoice.paid",
        "amqpexpiration": "60000",
        "amqpcontentencoding": "gzip",
        "amqppriority": "5",
        "amqpdeliverymode": "2",
        "amqpclusterid": "eu",
    }
    assert build(raw, ORIGIN).extensions["amqpcorrelationid"] == "c-1"


def test_unset_properties_are_left_out() -> None:
    raw = deliver()
    assert set(raw.extensions) == {
        "amqpexchange",
        "amqproutingkey",
        "amqpdeliverytag",
        "amqpredelivered",
    }
    assert raw.headers == {} and raw.time is None and raw.content_type is None


def test_timestamp_is_the_time() -> None:
    raw = deliver(timestamp=int(NOON.timestamp()))
    assert raw.time == NOON
    assert build(raw, ORIGIN).attributes["time"] == "2024-05-01T12:00:00Z"


def test_content_type_is_the_datacontenttype() -> None:
    raw = deliver(b"<order/>", content_type="application/xml")
    assert raw.content_type == "application/xml"
    event = build(raw, ORIGIN)
    assert event.attributes["datacontenttype"] == "application/xml"
    assert event.data == b"<order/>"


def test_without_a_content_type_the_body_decides() -> None:
    assert build(deliver(b'{"n": 1}'), ORIGIN).attributes["datacontenttype"] == "application/json"
    text = build(deliver(b"hello"), ORIGIN)
    assert text.attributes["datacontenttype"] == "text/plain; charset=utf-8"
    binary = build(deliver(b"\xff\x00\xfe"), ORIGIN)
    assert binary.attributes["datacontenttype"] == "application/octet-stream"
    assert binary.data == b"\xff\x00\xfe"


def test_headers_are_kept_as_json_and_as_text_for_the_binding() -> None:
    headers = {
        "tenant": "acme",
        "attempt": 1,
        "urgent": True,
        "raw": b"bytes",
        "blob": b"\xff\xfe",
        "sent": NOON,
        "price": Decimal("9.99"),
        "route": ["a", b"b"],
        "nested": {"k": b"v"},
        "missing": None,
    }
    raw = deliver(headers=headers)
    assert json.loads(raw.extensions["amqpheaders"]) == {
        "tenant": "acme",
        "attempt": 1,
        "urgent": True,
        "raw": "bytes",
        "blob": base64.b64encode(b"\xff\xfe").decode(),  # not UTF-8: base64
        "sent": "2024-05-01T12:00:00+00:00",
        "price": "9.99",
        "route": ["a", "b"],
        "nested": {"k": "v"},
        "missing": None,
    }
    assert raw.headers == {
        "tenant": "acme",
        "attempt": "1",
        "urgent": "true",
        "raw": "bytes",
        "blob": "\ufffd\ufffd",
        "sent": "2024-05-01T12:00:00+00:00",
        "price": "9.99",
        "route": '["a", "b"]',
        "nested": '{"k": "v"}',
    }


CE_ATTRIBUTES = {
    "specversion": "1.0",
    "id": "upstream-7",
    "source": "/billing",
    "type": "com.example.invoice.paid",
    "subject": "invoice-7",
    "time": "2024-05-01T12:00:00Z",
    "tenant": "acme",
}


def test_cloudevents_headers_pass_through_with_either_separator() -> None:
    for separator in (":", "_"):  # AMQP's binding allows both
        headers = {f"cloudEvents{separator}{k}": v for k, v in CE_ATTRIBUTES.items()}
        raw = deliver(b'{"paid": true}', content_type="application/json", headers=headers)
        event = build(raw, ORIGIN)
        assert event.attributes == {**CE_ATTRIBUTES, "datacontenttype": "application/json"}
        assert event.json() == {"paid": True}


def test_cloudevents_header_values_as_bytes_pass_through() -> None:
    headers = {f"cloudEvents:{k}": v.encode() for k, v in CE_ATTRIBUTES.items()}
    event = build(deliver(b"paid", headers=headers), ORIGIN)
    assert event.id == "upstream-7" and event.type == "com.example.invoice.paid"
    assert event.data == b"paid"


def test_a_structured_cloudevent_passes_through() -> None:
    body = json.dumps({**CE_ATTRIBUTES, "data": {"paid": True}}).encode()
    raw = deliver(body, content_type="application/cloudevents+json", message_id="amqp-id")
    event = build(raw, ORIGIN)
    assert event.id == "upstream-7" and event.source == "/billing"
    assert event.json() == {"paid": True}


def test_a_broken_incoming_cloudevent_arrives_as_a_plain_message() -> None:
    # No id, source or type: refusing it would redeliver it for ever.
    raw = deliver(b"x", message_id="m-9", headers={"cloudEvents:specversion": "1.0"})
    event = build(raw, ORIGIN)
    assert event.id == "m-9"
    assert event.type == "dev.gateways.amqp.message"
    assert json.loads(event.extensions["amqpheaders"]) == {"cloudEvents:specversion": "1.0"}
