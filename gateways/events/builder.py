"""The one CloudEvent builder: every path (webhook, calendar, adapters, dispatcher) ends here.

Attribute scheme (also the README's table):

- ``type``: ``dev.gateways.<kind>.<action>`` (``dev.gateways.kafka.message``,
  ``dev.gateways.resource.update``, ``dev.gateways.calendar.tick``, ...)
- ``source``: ``/gateways/<gateway>/<source>`` (the registry ConfigMap and its data key)
- ``subject``: what the event is about inside the source (endpoint path, topic, object key)
- ``id``: the origin's identity when it has one, so redeliveries keep their id; else a UUID
- ``time``: the origin's timestamp when it has one, else the time of receipt
- extensions: every piece of transport metadata, named ``<kind><field>``
- data: the payload bytes unchanged; ``datacontenttype`` from the transport, else sniffed
- ``traceparent``/``tracestate`` (the distributed-tracing extension): what arrived with the
  event, else a trace started here (:mod:`gateways.tracing`)

A message that already is a CloudEvent passes through with its attributes and data intact
(one without ``traceparent`` gains the transport's ``traceparent`` header, if one came).
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime

from gateways import tracing
from gateways.errors import EventFormatError
from gateways.events import http
from gateways.events.model import (
    SPEC_VERSION,
    CloudEvent,
    valid_extension_name,
    valid_media_type,
)
from gateways.source import Origin, RawEvent

TYPE_PREFIX = "dev.gateways"
log = logging.getLogger(__name__)

# Where each binding keeps attributes of a binary-mode CloudEvent, and whether values are
# percent-encoded. MQTT 5 user properties carry bare attribute names.
_BINARY_PREFIX = {
    "http": ("ce-", True),
    "nats": ("ce-", False),
    "kafka": ("ce_", False),
    "amqp": ("cloudevents:", False),
    "mqtt": ("", False),
}


def event_type(kind: str, action: str | None) -> str:
    return f"{TYPE_PREFIX}.{kind}.{action or 'event'}"


def event_source(origin: Origin) -> str:
    return f"/gateways/{origin.gateway}/{origin.source}"


def build(raw: RawEvent, origin: Origin, overrides: Mapping[str, str] | None = None) -> CloudEvent:
    """Turn a raw event into a CloudEvent.

    A malformed incoming CloudEvent raises EventFormatError when it came over HTTP (the sender
    gets a 400 and can fix it). From a broker it travels as a plain message instead, its
    headers kept in the metadata, since refusing it would redeliver it for ever.
    """
    try:
        event = incoming(raw)
    except EventFormatError as exc:
        if raw.binding == "http":
            raise
        log.warning("%s/%s: delivered as a plain message: %s", origin.gateway, origin.source, exc)
        event = None
    passthrough = event is not None
    if event is None:
        attributes: dict[str, str] = {
            "specversion": SPEC_VERSION,
            "id": raw.id or str(uuid.uuid4()),
            "source": event_source(origin),
            "type": event_type(origin.kind, raw.action),
            "time": _rfc3339(raw.time or datetime.now(UTC)),
        }
        content_type = raw.content_type
        if content_type is not None and not valid_media_type(content_type):
            # A transport's broken content-type property: the payload still travels.
            log.warning(
                "%s/%s: content type %r is not a media type; sniffed instead",
                origin.gateway,
                origin.source,
                content_type[:60],
            )
            content_type = None
        content_type = content_type or sniff_content_type(raw.payload)
        if content_type:
            attributes["datacontenttype"] = content_type
        if raw.subject is not None:
            attributes["subject"] = raw.subject
        for name, value in raw.extensions.items():
            if not valid_extension_name(name):
                raise EventFormatError(f"{origin.kind}: extension {name!r} is not a valid name")
            attributes[name] = value
        event = CloudEvent(attributes, raw.payload)
    ensure_trace(event, raw.headers, start=not passthrough)
    if overrides:
        event.attributes.update(overrides)
    return event


def ensure_trace(
    event: CloudEvent, headers: Mapping[str, str], *, start: bool = True
) -> CloudEvent:
    """The distributed-tracing extension: an event's own ``traceparent`` stays (a pass-through
    CloudEvent's, or an adapter's extension); else the transport's ``traceparent`` header's;
    else, with ``start``, a new trace. A pass-through CloudEvent is built with ``start`` off:
    it travels unchanged, and its deliveries still carry a ``traceparent`` header
    (:func:`gateways.tracing.hop_headers`)."""
    attributes = event.attributes
    if tracing.TRACEPARENT not in attributes:
        found = tracing.from_headers(headers)
        if found is None and start:
            found = tracing.started(event.source, event.id)
        if found is not None:
            attributes.update(found.headers())
    return event


def incoming(raw: RawEvent) -> CloudEvent | None:
    """The CloudEvent the raw message already is (binary or structured mode), or None."""
    if raw.binding == "none":
        return None
    content_type = raw.content_type
    if content_type and content_type.split(";")[0].strip().lower() == http.STRUCTURED_TYPE:
        try:
            return http.from_json(json.loads(raw.payload))
        except ValueError as exc:
            raise EventFormatError(f"structured CloudEvent is not valid JSON: {exc}") from None
    prefix, percent_encoded = _BINARY_PREFIX[raw.binding]
    headers = raw.headers
    if raw.binding == "amqp":
        # AMQP's binding allows ':' and, for JMS-friendly brokers, '_' as the separator.
        headers = {k.replace("cloudEvents_", "cloudEvents:"): v for k, v in headers.items()}
    elif raw.binding == "mqtt":
        headers = {k: v for k, v in headers.items() if valid_extension_name(k) or k in _CORE}
    if not any(k.lower() == prefix + "specversion" for k in headers):
        return None
    return http.from_prefixed(
        headers, prefix, content_type, raw.payload, percent_encoded=percent_encoded
    )


_CORE = ("specversion", "id", "source", "type", "subject", "time", "dataschema")


def sniff_content_type(payload: bytes) -> str | None:
    """``application/json`` for a JSON payload, ``text/plain`` for other UTF-8, else binary."""
    if not payload:
        return None
    head = payload.lstrip()[:1]
    if head in (b"{", b"[", b'"') or head.isdigit() or head in (b"-", b"t", b"f", b"n"):
        try:
            json.loads(payload)
            return "application/json"
        except ValueError:
            pass
    try:
        payload.decode("utf-8")
    except UnicodeDecodeError:
        return "application/octet-stream"
    return "text/plain; charset=utf-8"


def _rfc3339(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    text = moment.astimezone(UTC).isoformat()
    return text.replace("+00:00", "Z")
