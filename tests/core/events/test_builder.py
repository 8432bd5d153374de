"""The one CloudEvent builder: the attribute scheme, metadata kept, and pass-through per binding."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from gateways.errors import EventFormatError
from gateways.events import build
from gateways.events.builder import sniff_content_type
from gateways.events.http import to_binary, to_structured
from gateways.source import Origin, RawEvent
from gateways.tracing import derived

ORIGIN = Origin("orders-gw", "eu-orders", "kafka")


def test_attribute_scheme() -> None:
    raw = RawEvent(
        b'{"order": 7}',
        id="orders/3/1200",
        subject="orders",
        time=datetime(2026, 3, 8, 7, 30, tzinfo=UTC),
        action="message",
        extensions={"kafkatopic": "orders", "kafkapartition": "3", "kafkaoffset": "1200"},
    )
    event = build(raw, ORIGIN)
    # The trace it starts (tests/core/tracing has the rules), derived from source and id.
    traceparent = event.attributes.pop("traceparent")
    assert traceparent == derived("/gateways/orders-gw/eu-orders", "orders/3/1200").traceparent
    assert event.attributes == {
        "specversion": "1.0",
        "id": "orders/3/1200",
        "source": "/gateways/orders-gw/eu-orders",
        "type": "dev.gateways.kafka.message",
        "time": "2026-03-08T07:30:00Z",
        "datacontenttype": "application/json",
        "subject": "orders",
        "kafkatopic": "orders",
        "kafkapartition": "3",
        "kafkaoffset": "1200",
    }
    assert event.json() == {"order": 7}


def test_ids_are_uuids_without_an_origin_identity_and_stable_with_one() -> None:
    first, second = build(RawEvent(b"x"), ORIGIN), build(RawEvent(b"x"), ORIGIN)
    assert first.id != second.id and len(first.id) == 36
    assert build(RawEvent(b"x", id="k"), ORIGIN).id == build(RawEvent(b"x", id="k"), ORIGIN).id


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (b'{"a": 1}', "application/json"),
        (b"[1, 2]", "application/json"),
        (b"42", "application/json"),
        (b"true", "application/json"),
        (b"tomorrow", "text/plain; charset=utf-8"),
        (b"\xff\x00", "application/octet-stream"),
        (b"", None),
    ],
)
def test_content_type_sniffing(payload: bytes, expected: str | None) -> None:
    assert sniff_content_type(payload) == expected


def test_json_travels_as_json_in_both_modes() -> None:
    event = build(RawEvent(b'{"a": [1, 2]}'), ORIGIN)
    headers, body = to_binary(event)
    assert headers["content-type"] == "application/json" and json.loads(body) == {"a": [1, 2]}
    _, structured = to_structured(event)
    assert json.loads(structured)["data"] == {"a": [1, 2]}


def test_invalid_extension_name_is_refused_by_name() -> None:
    with pytest.raises(EventFormatError, match="'Bad-Name'"):
        build(RawEvent(b"x", extensions={"Bad-Name": "v"}), ORIGIN)


def test_overrides_apply_to_every_event() -> None:
    event = build(RawEvent(b"x"), ORIGIN, overrides={"team": "payments"})
    assert event.attributes["team"] == "payments"


INCOMING = {
    "specversion": "1.0",
    "id": "ce-1",
    "source": "/upstream",
    "type": "com.example.created",
}


@pytest.mark.parametrize(
    ("binding", "headers"),
    [
        ("http", {f"ce-{k}": v for k, v in INCOMING.items()}),
        ("nats", {f"ce-{k}": v for k, v in INCOMING.items()}),
        ("kafka", {f"ce_{k}": v for k, v in INCOMING.items()}),
        ("amqp", {f"cloudEvents:{k}": v for k, v in INCOMING.items()}),
        ("amqp", {f"cloudEvents_{k}": v for k, v in INCOMING.items()}),
        ("mqtt", {**INCOMING, "Unrelated-Prop": "x"}),
    ],
)
def test_incoming_binary_cloudevent_passes_through(binding: str, headers: dict[str, str]) -> None:
    raw = RawEvent(b'{"x": 1}', content_type="application/json", headers=headers, binding=binding)  # type: ignore[arg-type]
    event = build(raw, ORIGIN)
    assert event.attributes == {**INCOMING, "datacontenttype": "application/json"}
    assert event.data == b'{"x": 1}'


def test_incoming_structured_cloudevent_passes_through() -> None:
    document = {**INCOMING, "subject": "s", "data": {"x": 1}}
    raw = RawEvent(
        json.dumps(document).encode(), content_type="application/cloudevents+json", binding="kafka"
    )
    event = build(raw, ORIGIN)
    assert event.attributes == {**INCOMING, "subject": "s"}
    assert event.json() == {"x": 1}


def test_plain_message_with_a_binding_is_not_mistaken_for_a_cloudevent() -> None:
    event = build(RawEvent(b"hi", headers={"x-trace": "1"}, binding="kafka"), ORIGIN)
    assert event.type == "dev.gateways.kafka.event"


def test_malformed_incoming_cloudevent_over_http_names_the_attribute() -> None:
    headers = {"ce-specversion": "1.0", "ce-id": "1", "ce-type": "t"}
    with pytest.raises(EventFormatError, match="source: is required"):
        build(RawEvent(b"x", headers=headers, binding="http"), ORIGIN)


def test_malformed_incoming_cloudevent_from_a_broker_travels_as_a_plain_message() -> None:
    headers = {"ce_specversion": "1.0", "ce_id": "1", "ce_type": "t"}
    raw = RawEvent(
        b"x", id="t/0/5", headers=headers, binding="kafka", extensions={"kafkaoffset": "5"}
    )
    event = build(raw, ORIGIN)
    assert event.id == "t/0/5" and event.type == "dev.gateways.kafka.event"
    assert event.attributes["kafkaoffset"] == "5"


def test_percent_encoding_of_header_values_round_trips() -> None:
    from gateways.events.http import from_http

    event = build(RawEvent(b"x", subject='a b "c" 100% ü'), ORIGIN)
    headers, body = to_binary(event)
    assert headers["ce-subject"] == "a%20b%20%22c%22%20100%25%20%C3%BC"
    assert from_http(headers, body).attributes["subject"] == 'a b "c" 100% ü'  # type: ignore[union-attr]
