"""The contract every event source keeps, and the raw event it hands to ``emit``.

A source validates its config (in :mod:`gateways.config`), starts listening, hands each raw
payload with its metadata to ``emit``, and stops. It never builds a CloudEvent: that is the
job of the one builder in :mod:`gateways.events.builder`.

``await emit(raw)`` returns only once the event was accepted downstream (every watcher took it,
or it was dead-lettered). A broker source acknowledges its message after ``emit`` returns and
leaves it un-acknowledged (or nacks it) when ``emit`` raises, which is what makes delivery
at least once. A source may call ``emit`` concurrently, up to its own bound.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol, get_args

from gateways.errors import EventFormatError

# How a transport carries a CloudEvent in binary mode; selects the header convention that
# the builder reads when an incoming message already is a CloudEvent.
Binding = Literal["none", "http", "kafka", "amqp", "mqtt", "nats"]
BINDINGS: tuple[Binding, ...] = get_args(Binding)


@dataclass(frozen=True, slots=True)
class Origin:
    """Where events come from: the gateway (one registry ConfigMap) and one of its sources."""

    gateway: str
    source: str
    kind: str


@dataclass(frozen=True, slots=True)
class RawEvent:
    """A payload and its metadata, as an event source received it.

    ``id`` is the origin's own identity for the message when it has one (Kafka
    topic/partition/offset, AMQP message-id, ...), so redeliveries keep the same CloudEvent id.
    ``extensions`` carries the metadata, already named as CloudEvent extensions.
    ``headers`` are the transport's headers or properties; with ``binding`` they let the
    builder recognise a message that already is a CloudEvent and pass it through.
    """

    payload: bytes
    content_type: str | None = None
    id: str | None = None
    subject: str | None = None
    time: datetime | None = None
    action: str | None = None
    extensions: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    binding: Binding = "none"

    def to_wire(self) -> dict[str, Any]:
        """The JSON form adapters send to the dispatcher (see the README's protocol section)."""
        wire: dict[str, Any] = {}
        try:
            wire["data"] = self.payload.decode("utf-8")
        except UnicodeDecodeError:
            wire["data_base64"] = base64.b64encode(self.payload).decode("ascii")
        for key, value in (
            ("contenttype", self.content_type),
            ("id", self.id),
            ("subject", self.subject),
            ("action", self.action),
        ):
            if value is not None:
                wire[key] = value
        if self.time is not None:
            wire["time"] = self.time.isoformat()
        if self.extensions:
            wire["extensions"] = dict(self.extensions)
        if self.headers:
            wire["headers"] = dict(self.headers)
        if self.binding != "none":
            wire["binding"] = self.binding
        return wire

    @classmethod
    def from_wire(cls, wire: Mapping[str, Any]) -> RawEvent:
        """Parse the dispatcher request form; raises EventFormatError naming the field."""
        if not isinstance(wire, Mapping):
            raise EventFormatError("raw event: expected a JSON object")
        if "data_base64" in wire:
            try:
                payload = base64.b64decode(_text(wire, "data_base64") or "", validate=True)
            except (binascii.Error, ValueError):  # ValueError: not even ASCII
                raise EventFormatError("raw event: data_base64: not valid base64") from None
        else:
            payload = (_text(wire, "data") or "").encode("utf-8")
        time_text = _text(wire, "time")
        try:
            time = datetime.fromisoformat(time_text) if time_text else None
        except ValueError:
            raise EventFormatError(f"raw event: time: {time_text!r} is not ISO-8601") from None
        binding = wire.get("binding", "none")
        if binding not in BINDINGS:
            raise EventFormatError(f"raw event: binding: unknown binding {binding!r}")
        return cls(
            payload=payload,
            content_type=_text(wire, "contenttype"),
            id=_text(wire, "id"),
            subject=_text(wire, "subject"),
            time=time,
            action=_text(wire, "action"),
            extensions=_string_map(wire, "extensions"),
            headers=_string_map(wire, "headers"),
            binding=binding,
        )


def _text(wire: Mapping[str, Any], key: str) -> str | None:
    value = wire.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise EventFormatError(f"raw event: {key}: expected a string, got {type(value).__name__}")
    if not _encodable(value):
        raise EventFormatError(f"raw event: {key}: not valid Unicode text (a lone surrogate)")
    return value


def _string_map(wire: Mapping[str, Any], key: str) -> dict[str, str]:
    value = wire.get(key) or {}
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise EventFormatError(f"raw event: {key}: expected an object of strings")
    for name, text in value.items():
        if not (_encodable(name) and _encodable(text)):
            raise EventFormatError(f"raw event: {key}: not valid Unicode text (a lone surrogate)")
    return dict(value)


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


Emit = Callable[[RawEvent], Awaitable[None]]


class Source(Protocol):
    """One running event source. Built by its kind from a validated config."""

    async def start(self, emit: Emit) -> None:
        """Start listening; return once listening (work continues in background tasks)."""

    async def stop(self) -> None:
        """Stop listening and release everything; in-flight ``emit`` calls finish or fail.

        A source may also have ``async removed()``: called after ``stop`` when its entry left
        the registry (not on a config change or shutdown), to undo what it set up outside,
        such as a hook registered upstream.
        """
