"""Raw events and event sources to and from their protocol messages (``eventing.proto``)."""

from __future__ import annotations

from datetime import datetime

from gateways.config.server import Generation
from gateways.errors import EventFormatError
from gateways.protocol import eventing_pb2 as pb
from gateways.registry.model import Entry
from gateways.source import BINDINGS, Origin, RawEvent


def event_source(entry: Entry, spoken: Generation) -> pb.EventSource:
    """The source as ``spoken`` has it: field 4 is its type, or a seed-era server's version
    (fields 3 and 4 were ``data`` and ``version`` in v0.10 and v0.11: the same wire types)."""
    return pb.EventSource(
        id=entry.digest,
        name=entry.name,
        value=entry.value.encode("utf-8"),
        type=spoken.field4(entry.kind),
        gateway=entry.gateway,
    )


def origin_of(source: pb.EventSource) -> Origin:
    return Origin(source.gateway or "default", source.name, source.type)


def event_message(name: str, raw: RawEvent, delivery_id: int = 0) -> pb.Event:
    # Filled in place: a metadata message passed to the constructor would be copied.
    event = pb.Event(name=name, payload=raw.payload, deliveryId=delivery_id)
    metadata = event.metadata
    metadata.SetInParent()  # present even when every field is empty: not a seed-era event
    if raw.extensions:
        metadata.extensions.update(raw.extensions)
    if raw.headers:
        metadata.headers.update(raw.headers)
    if raw.binding != "none":
        metadata.binding = raw.binding
    if raw.content_type is not None:
        metadata.contentType = raw.content_type
    if raw.id is not None:
        metadata.originId = raw.id
    if raw.subject is not None:
        metadata.subject = raw.subject
    if raw.time is not None:
        metadata.time = raw.time.isoformat()
    if raw.action is not None:
        metadata.action = raw.action
    return event


def raw_event(event: pb.Event) -> RawEvent:
    """The raw event a message carries; EventFormatError names the bad field."""
    if not event.HasField("metadata"):
        # A seed-era server sends the payload alone, and names the event (its source's name).
        return RawEvent(payload=event.payload, subject=event.name or None)
    metadata = event.metadata
    binding = metadata.binding or "none"
    if binding not in BINDINGS:
        raise EventFormatError(
            f"event {event.name!r}: metadata.binding: unknown binding {binding!r}"
        )
    time = None
    if metadata.HasField("time"):
        try:
            time = datetime.fromisoformat(metadata.time.replace("Z", "+00:00"))
        except ValueError:
            raise EventFormatError(
                f"event {event.name!r}: metadata.time: {metadata.time!r} is not RFC 3339"
            ) from None
    return RawEvent(
        payload=event.payload,
        content_type=metadata.contentType if metadata.HasField("contentType") else None,
        id=metadata.originId if metadata.HasField("originId") else None,
        subject=metadata.subject if metadata.HasField("subject") else None,
        time=time,
        action=metadata.action if metadata.HasField("action") else None,
        extensions=dict(metadata.extensions),
        headers=dict(metadata.headers),
        binding=binding,
    )
