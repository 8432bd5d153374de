"""A Pub/Sub message as a raw event, and the CloudEvent built from it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime

from adapters.gcp_pubsub.client import default_subscription
from adapters.gcp_pubsub.config import resource_problem
from adapters.gcp_pubsub.message import raw_event
from gateways.events.builder import build
from gateways.source import Origin

WHEN = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


@dataclass
class FakeMessage:
    message_id: str = "42"
    data: bytes = b'{"n": 1}'
    attributes: dict[str, str] = field(default_factory=dict)
    ordering_key: str = ""
    publish_time: datetime = WHEN
    delivery_attempt: int | None = None


def test_a_plain_message() -> None:
    raw = raw_event(FakeMessage(), "orders")
    assert (raw.id, raw.subject, raw.time, raw.action) == ("42", "orders", WHEN, "message")
    assert raw.payload == b'{"n": 1}' and raw.content_type is None
    assert raw.extensions == {} and raw.headers == {}


def test_attributes_become_extensions() -> None:
    attributes = {"region": "eu", "Mixed-Case": "x", "content-type": "application/json"}
    message = FakeMessage(attributes=attributes, ordering_key="customer-7", delivery_attempt=3)
    raw = raw_event(message, "orders")
    assert raw.content_type == "application/json"
    assert raw.extensions["region"] == "eu"
    assert "Mixed-Case" not in raw.extensions  # not an extension name: kept in the JSON
    assert json.loads(raw.extensions["pubsubattributes"]) == attributes
    assert raw.extensions["pubsuborderingkey"] == "customer-7"
    assert raw.extensions["pubsubdeliveryattempt"] == "3"
    assert raw.headers == attributes


def test_attributes_cannot_take_reserved_or_own_names() -> None:
    attributes = {"id": "forged", "type": "forged", "pubsuborderingkey": "forged"}
    raw = raw_event(FakeMessage(attributes=attributes), None)
    assert "id" not in raw.extensions and "type" not in raw.extensions
    assert "pubsuborderingkey" not in raw.extensions
    assert raw.subject is None


def test_the_cloudevent() -> None:
    message = FakeMessage(attributes={"region": "eu"})
    event = build(raw_event(message, "orders"), Origin("gw", "orders-src", "gcp-pubsub"))
    assert event.type == "dev.gateways.gcp-pubsub.message"
    assert event.source == "/gateways/gw/orders-src"
    assert event.id == "42"
    assert event.attributes["subject"] == "orders"
    assert event.attributes["region"] == "eu"
    assert event.json() == {"n": 1}


def test_the_default_subscription_is_a_valid_stable_id() -> None:
    name = default_subscription("my gateway", "orders/created")
    assert name == "gateways-my-gateway-orders-created"
    assert resource_problem(name) is None
    assert len(default_subscription("g" * 200, "s" * 200)) == 255
