"""Webhook request -> raw event: what travels, what is dropped, and what the builder makes of it."""

from __future__ import annotations

import json

import pytest

from functions.webhook.message import to_raw_event
from gateways.errors import EventFormatError
from gateways.events.builder import build
from gateways.function import Request
from gateways.source import Origin

ORIGIN = Origin("hooks", "example", "webhook")


def request(
    body: bytes = b'{"hello": "world"}',
    headers: dict[str, str] | None = None,
    *,
    method: str = "POST",
    path: str = "/example",
    query: str = "",
) -> Request:
    return Request(method, path, headers or {"content-type": "application/json"}, body, query)


def test_the_body_and_the_request_line_travel() -> None:
    raw = to_raw_event(request(query="page=2&q=a%20b"))
    assert raw.payload == b'{"hello": "world"}'
    assert raw.content_type == "application/json"
    assert (raw.subject, raw.action, raw.binding) == ("/example", "request", "http")
    assert raw.extensions["httpmethod"] == "POST"
    assert raw.extensions["httpquery"] == "page=2&q=a%20b"  # kept as sent, still encoded
    assert raw.id is None and raw.time is None  # a request has no identity of its own


def test_no_query_no_query_extension_and_no_content_type_stays_unknown() -> None:
    raw = to_raw_event(request(b"plain", {"x-a": "1"}, method="PUT"))
    assert "httpquery" not in raw.extensions
    assert raw.content_type is None
    assert raw.extensions["httpmethod"] == "PUT"


def test_credentials_and_hop_by_hop_headers_never_reach_the_extensions() -> None:
    headers = {
        "content-type": "application/json",
        "authorization": "Bearer s3cret",
        "connection": "keep-alive",
        "keep-alive": "timeout=5",
        "transfer-encoding": "chunked",
        "content-length": "18",
        "te": "trailers",
        "upgrade": "h2c",
        "x-request-id": "r-1",
        "x-hub-signature-256": "sha256=abc",
    }
    raw = to_raw_event(request(headers=headers))
    forwarded = raw.extensions["httpheaders"]
    assert json.loads(forwarded) == {
        "content-type": "application/json",
        "x-hub-signature-256": "sha256=abc",
        "x-request-id": "r-1",
    }
    assert "s3cret" not in forwarded
    assert list(json.loads(forwarded)) == sorted(json.loads(forwarded))  # stable text
    # The transport headers stay whole on the raw event, for CloudEvent pass-through only.
    assert raw.headers == headers


def test_the_builder_makes_a_webhook_request_event() -> None:
    event = build(to_raw_event(request(query="a=1")), ORIGIN)
    assert event.type == "dev.gateways.webhook.request"
    assert event.source == "/gateways/hooks/example"
    assert event.attributes["subject"] == "/example"
    assert event.attributes["httpquery"] == "a=1"
    assert event.content_type == "application/json"
    assert event.json() == {"hello": "world"}
    assert "authorization" not in json.dumps(event.attributes)


def test_a_binary_mode_cloudevent_request_passes_through() -> None:
    headers = {
        "ce-specversion": "1.0",
        "ce-id": "abc-1",
        "ce-type": "com.example.thing",
        "ce-source": "/elsewhere",
        "ce-subject": "a%20b",  # percent-encoded, as the HTTP binding says
        "content-type": "text/plain",
    }
    event = build(to_raw_event(request(b"hi", headers)), ORIGIN)
    assert event.attributes == {
        "specversion": "1.0",
        "id": "abc-1",
        "type": "com.example.thing",
        "source": "/elsewhere",
        "subject": "a b",
        "datacontenttype": "text/plain",
    }
    assert event.data == b"hi"


def test_a_structured_cloudevent_request_passes_through() -> None:
    document = {
        "specversion": "1.0",
        "id": "s-1",
        "type": "com.example.structured",
        "source": "/elsewhere",
        "data": {"n": 1},
    }
    body = json.dumps(document).encode()
    raw = to_raw_event(request(body, {"content-type": "application/cloudevents+json"}))
    event = build(raw, ORIGIN)
    assert (event.id, event.type, event.source) == ("s-1", "com.example.structured", "/elsewhere")
    assert event.json() == {"n": 1}


def test_a_malformed_cloudevent_request_is_refused_not_relabelled() -> None:
    raw = to_raw_event(request(b"{not json", {"content-type": "application/cloudevents+json"}))
    with pytest.raises(EventFormatError):  # the router answers 400
        build(raw, ORIGIN)
