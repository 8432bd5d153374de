"""Raw events survive the trip through protocol messages; seed-era events carry a payload only."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gateways.adapter.wire import event_message, event_source, origin_of, raw_event
from gateways.config.server import Generation
from gateways.errors import EventFormatError
from gateways.protocol import eventing_pb2 as pb
from gateways.registry.model import Entry
from gateways.source import Origin, RawEvent


def test_every_field_round_trips() -> None:
    raw = RawEvent(
        payload=b'{"a": 1}',
        content_type="application/json",
        id="ORDERS:42",
        subject="orders.created",
        time=datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC),
        action="message",
        extensions={"natsstream": "ORDERS"},
        headers={"ce-specversion": "1.0"},
        binding="nats",
    )
    message = event_message("orders", raw, delivery_id=7)
    assert (message.name, message.deliveryId) == ("orders", 7)
    again = raw_event(pb.Event.FromString(message.SerializeToString()))
    assert again == raw


def test_unset_fields_stay_unset() -> None:
    raw = RawEvent(payload=b"\x00\xff")
    again = raw_event(pb.Event.FromString(event_message("s", raw).SerializeToString()))
    assert again == raw
    assert again.subject is None and again.content_type is None and again.binding == "none"


def test_empty_strings_are_kept_distinct_from_unset() -> None:
    raw = RawEvent(payload=b"", subject="", action="")
    assert raw_event(event_message("s", raw)) == raw


def test_a_seed_event_is_its_payload_about_the_event_it_names() -> None:
    assert raw_event(pb.Event(name="s", payload=b"hi")) == RawEvent(payload=b"hi", subject="s")
    assert raw_event(pb.Event(payload=b"hi")) == RawEvent(payload=b"hi")


def test_bad_metadata_names_the_field() -> None:
    with pytest.raises(EventFormatError, match=r"metadata\.binding: unknown binding 'smtp'"):
        raw_event(pb.Event(name="s", metadata=pb.EventMetadata(binding="smtp")))
    with pytest.raises(EventFormatError, match=r"metadata\.time: 'yesterday' is not RFC 3339"):
        raw_event(pb.Event(name="s", metadata=pb.EventMetadata(time="yesterday")))


def test_event_source_carries_the_registry_entry() -> None:
    entry = Entry("nats-gateway", "nats", "orders", "url: nats://h:4222\n", "abc123")
    message = event_source(entry, Generation("acked"))
    assert (message.id, message.name, message.type, message.gateway) == (
        "abc123",
        "orders",
        "nats",
        "nats-gateway",
    )
    assert message.value == b"url: nats://h:4222\n"
    assert origin_of(message) == Origin("nats-gateway", "orders", "nats")
    assert event_source(entry, Generation("typed", "v0.12")).type == "nats"


def test_a_versioned_server_gets_its_version_in_field_4_and_the_text_in_field_3() -> None:
    entry = Entry("calendar-gateway", "calendar", "tick", "interval: 1s\n", "abc123")
    message = event_source(entry, Generation("versioned", "v0.10"))
    assert message.type == "v0.10"
    # v0.10's EventSource: 1 id, 2 name, 3 data (string), 4 version (string); same wire types.
    fields = dict(_fields(message.SerializeToString()))
    assert fields[3] == b"interval: 1s\n" and fields[4] == b"v0.10"


def _fields(data: bytes) -> list[tuple[int, bytes]]:
    """Length-delimited fields of a message, read from the wire by hand."""
    found, at = [], 0
    while at < len(data):
        key, at = _varint(data, at)
        assert key & 7 == 2, "only length-delimited fields here"
        size, at = _varint(data, at)
        found.append((key >> 3, data[at : at + size]))
        at += size
    return found


def _varint(data: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[at]
        value |= (byte & 0x7F) << shift
        at, shift = at + 1, shift + 7
        if byte < 0x80:
            return value, at
