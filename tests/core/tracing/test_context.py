"""W3C trace context on CloudEvents, as unit tests of the builder and the hop headers: what
arrived is carried, an incoming CloudEvent keeps its own, and a trace is started otherwise."""

from __future__ import annotations

import re

import pytest

from gateways.events import CloudEvent, build
from gateways.events.builder import ensure_trace
from gateways.source import Origin, RawEvent
from gateways.tracing import context, derived, from_headers, hop_headers, valid_traceparent

ORIGIN = Origin("streams", "orders", "nats")
PARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
STATE = "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"
W3C = re.compile(r"00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}")


@pytest.mark.parametrize(
    "value",
    [
        PARENT,
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00",
        "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-later-fields",
    ],
)
def test_valid_traceparents(value: str) -> None:
    assert valid_traceparent(value)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",  # upper case
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",  # zero trace id
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",  # zero parent id
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  # forbidden version
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x",  # version 00 has 4 fields
        "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",  # short trace id
        "not a traceparent",
        7,
    ],
)
def test_invalid_traceparents(value: object) -> None:
    assert not valid_traceparent(value)
    assert context(value, STATE) is None


def test_headers_are_read_case_insensitively_and_a_bad_tracestate_is_dropped() -> None:
    found = from_headers({"TraceParent": PARENT, "TraceState": STATE})
    assert found is not None and found.traceparent == PARENT and found.tracestate == STATE
    assert found.trace_id == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert found.parent_id == "00f067aa0ba902b7"
    dropped = from_headers({"traceparent": PARENT, "tracestate": "x" * 600})
    assert dropped is not None and dropped.tracestate is None
    assert from_headers({}) is None and from_headers({"x-other": "1"}) is None


@pytest.mark.parametrize(
    ("binding", "headers"),
    [
        ("http", {"traceparent": PARENT, "tracestate": STATE, "content-type": "text/plain"}),
        ("nats", {"Traceparent": PARENT, "Tracestate": STATE}),
        ("kafka", {"traceparent": PARENT, "tracestate": STATE}),
        ("amqp", {"traceparent": PARENT, "tracestate": STATE}),
        ("mqtt", {"traceparent": PARENT, "tracestate": STATE}),
        ("none", {"traceparent": PARENT, "tracestate": STATE}),
    ],
)
def test_a_traceparent_that_arrived_is_carried_into_the_cloudevent(
    binding: str, headers: dict[str, str]
) -> None:
    event = build(RawEvent(b"hello", headers=headers, binding=binding), ORIGIN)  # type: ignore[arg-type]
    assert event.attributes["traceparent"] == PARENT
    assert event.attributes["tracestate"] == STATE


def test_a_trace_is_started_when_none_arrived_and_kept_by_a_redelivery() -> None:
    first = build(RawEvent(b"x", id="ORDERS:7"), ORIGIN)
    again = build(RawEvent(b"x", id="ORDERS:7"), ORIGIN)
    other = build(RawEvent(b"x", id="ORDERS:8"), ORIGIN)
    assert W3C.fullmatch(first.attributes["traceparent"])
    assert first.attributes["traceparent"].endswith("-01")  # sampled: the trace starts here
    assert "tracestate" not in first.attributes
    assert first.attributes["traceparent"] == again.attributes["traceparent"]
    assert other.attributes["traceparent"][3:35] != first.attributes["traceparent"][3:35]
    without_id = build(RawEvent(b"x"), ORIGIN), build(RawEvent(b"x"), ORIGIN)
    assert without_id[0].attributes["traceparent"] != without_id[1].attributes["traceparent"]


def test_an_invalid_incoming_traceparent_is_replaced_by_a_new_trace() -> None:
    headers = {"traceparent": "00-XYZ-00f067aa0ba902b7-01", "tracestate": STATE}
    event = build(RawEvent(b"x", id="1", headers=headers, binding="http"), ORIGIN)
    assert event.attributes["traceparent"] == derived(event.source, "1").traceparent
    assert "tracestate" not in event.attributes


def test_an_adapters_traceparent_extension_wins_over_the_headers() -> None:
    mine = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    raw = RawEvent(b"x", extensions={"traceparent": mine}, headers={"traceparent": PARENT})
    assert build(raw, ORIGIN).attributes["traceparent"] == mine


def test_an_incoming_cloudevent_keeps_its_own_trace_and_gains_none_it_did_not_bring() -> None:
    own = "00-0af7651916cd43dd8448eb211c80319c-b9c7c989f97918e1-01"
    binary = {
        "ce-specversion": "1.0",
        "ce-id": "upstream-1",
        "ce-source": "/billing",
        "ce-type": "com.example.paid",
    }
    kept = build(
        RawEvent(
            b"{}", headers={**binary, "ce-traceparent": own, "traceparent": PARENT}, binding="http"
        ),
        ORIGIN,
    )
    assert kept.attributes["traceparent"] == own
    from_transport = build(
        RawEvent(b"{}", headers={**binary, "traceparent": PARENT}, binding="http"), ORIGIN
    )
    assert from_transport.attributes["traceparent"] == PARENT  # one hop: the same trace
    unchanged = build(RawEvent(b"{}", headers=binary, binding="http"), ORIGIN)
    assert "traceparent" not in unchanged.attributes
    # ...and its deliveries still carry one, started from its identity.
    assert hop_headers(unchanged) == {"traceparent": derived("/billing", "upstream-1").traceparent}


def test_hop_headers_carry_the_events_trace() -> None:
    event = CloudEvent({"specversion": "1.0", "id": "1", "source": "/s", "type": "t"})
    ensure_trace(event, {"traceparent": PARENT, "tracestate": STATE}, start=False)
    assert hop_headers(event) == {"traceparent": PARENT, "tracestate": STATE}
