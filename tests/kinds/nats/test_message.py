"""A NATS message as a raw event: subject, headers, JetStream identity and metadata kept."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from nats.aio.msg import Msg

from adapters.streams.nats.message import raw_event
from gateways.events import build
from gateways.source import Origin

ORIGIN = Origin("nats-gateway", "orders", "nats")
# $JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>.<consumer seq>.<time ns>.<pending>
JS_REPLY = "$JS.ACK.ORDERS.gateway.2.42.7.1767322800000000000.0"


def message(reply: str = "", headers: dict[str, str] | None = None, data: bytes = b"{}") -> Msg:
    return Msg(_client=None, subject="orders.created", reply=reply, data=data, headers=headers)


def test_jetstream_message_has_a_deterministic_id_and_its_metadata() -> None:
    raw = raw_event(message(JS_REPLY, {"Nats-Msg-Id": "abc"}), jetstream=True)
    assert raw.id == "ORDERS:42"
    assert raw.subject == "orders.created" and raw.action == "message"
    assert raw.time == datetime(2026, 1, 2, 3, 0, tzinfo=UTC)
    assert raw.extensions["natsstream"] == "ORDERS"
    assert raw.extensions["natssequence"] == "42"
    assert raw.extensions["natsconsumer"] == "gateway"
    assert raw.extensions["natsdelivered"] == "2"
    assert raw.binding == "nats" and raw.headers == {"Nats-Msg-Id": "abc"}


def test_core_message_uses_the_publishers_msg_id_and_keeps_headers_as_json() -> None:
    headers = {"Nats-Msg-Id": "order-7", "Content-Type": "application/json", "x-a": "b"}
    raw = raw_event(message("_INBOX.reply", headers, b'{"order": 7}'), jetstream=False)
    assert raw.id == "order-7"
    assert raw.content_type == "application/json"
    assert raw.extensions["natsreply"] == "_INBOX.reply"
    assert json.loads(raw.extensions["natsheaders"]) == headers
    event = build(raw, ORIGIN)
    assert event.attributes["subject"] == "orders.created"
    assert event.type == "dev.gateways.nats.message"
    assert event.source == "/gateways/nats-gateway/orders"
    assert event.json() == {"order": 7}


def test_core_message_without_identity_gets_a_random_id() -> None:
    raw = raw_event(message(), jetstream=False)
    assert raw.id is None and "natsheaders" not in raw.extensions
    assert build(raw, ORIGIN).id != build(raw, ORIGIN).id


def test_a_message_that_is_a_cloudevent_passes_through() -> None:
    headers = {
        "ce-specversion": "1.0",
        "ce-id": "upstream-1",
        "ce-source": "/billing",
        "ce-type": "com.example.invoice.paid",
        "content-type": "application/json",
    }
    event = build(raw_event(message(JS_REPLY, headers, b'{"paid": true}'), True), ORIGIN)
    assert (event.id, event.source, event.type) == (
        "upstream-1",
        "/billing",
        "com.example.invoice.paid",
    )
    assert event.json() == {"paid": True}


def test_headers_are_found_whatever_their_case_and_empty_ones_are_ignored() -> None:
    raw = raw_event(message(headers={"NATS-MSG-ID": "", "CONTENT-TYPE": "text/plain"}), False)
    assert raw.id is None  # an empty Nats-Msg-Id is no identity
    assert raw.content_type == "text/plain"
    assert raw.headers == {"NATS-MSG-ID": "", "CONTENT-TYPE": "text/plain"}


def test_a_core_message_carries_no_jetstream_metadata() -> None:
    raw = raw_event(message(JS_REPLY), jetstream=False)  # an ack subject, but not a consumer's
    assert raw.id is None and raw.time is None
    assert raw.extensions == {"natsreply": JS_REPLY}
    assert raw.payload == b"{}" and raw.binding == "nats"
