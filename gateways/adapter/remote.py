"""Kinds whose sources run on an event-source server, for the gateway client's reconciler.

The reconciler parses each source and hands the kind its config; the server needs the
registry text itself, so the client tells each :class:`RemoteKind` the snapshot it is about to
apply (``remember``). A kind no schema here knows (a custom gateway's) gets a pass-through
schema: its config must be a YAML mapping, and the server's ``ValidateEventSource`` says
whether it is valid.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import grpc

from gateways.adapter.client import RemoteSource
from gateways.adapter.server import CHANNEL_OPTIONS
from gateways.config import SCHEMAS
from gateways.config.common import Backoff
from gateways.config.fields import Fields
from gateways.kinds import SourceContext
from gateways.protocol import eventing_pb2_grpc as rpc
from gateways.registry.model import Entry, Gateway
from gateways.source import Origin


@dataclass(frozen=True, slots=True)
class CustomConfig:
    """The config of a kind only its event-source server knows; ``backoff`` is read here."""

    kind: ClassVar[str] = "custom"
    fields: Mapping[str, Any] = field(default_factory=dict)
    backoff: Backoff = field(default_factory=Backoff)

    @classmethod
    def parse(cls, fields: Fields) -> CustomConfig:
        backoff = Backoff.parse(fields)
        for name in fields.raw:
            fields.get(name)  # every other field is the server's to judge
        return cls(dict(fields.raw), backoff)


def accept_custom_kind(kind: str) -> bool:
    """Let sources of ``kind`` through local parsing when no schema here knows the kind;
    True when it added the pass-through schema (undo with ``forget_custom_kind``)."""
    if kind in SCHEMAS:
        return False
    SCHEMAS[kind] = CustomConfig
    return True


def forget_custom_kind(kind: str) -> None:
    if SCHEMAS.get(kind) is CustomConfig:
        del SCHEMAS[kind]


class RemoteKind:
    """A Kind whose sources run on the event-source server at ``address`` (``host:port``)."""

    def __init__(
        self, name: str, address: str, max_in_flight: int = 256, grace: float = 20.0
    ) -> None:
        self.name = name
        self.address = address
        self.max_in_flight = max_in_flight
        self.grace = grace
        self._entries: dict[tuple[str, str], Entry] = {}
        self._channel: grpc.aio.Channel | None = None

    def remember(self, gateways: Iterable[Gateway]) -> None:
        """The registry snapshot about to be applied: each source's text, as the server gets it."""
        self._entries = {
            (gateway.name, entry.name): entry
            for gateway in gateways
            if gateway.kind == self.name
            for entry in gateway.entries.values()
        }

    def create(self, origin: Origin, config: Any, context: SourceContext) -> RemoteSource:
        entry = self._entries[(origin.gateway, origin.source)]
        return RemoteSource(
            entry,
            rpc.EventingStub(self._open()),
            self.address,
            lambda source, state, reason: context.on_status(source, state, reason),
            getattr(config, "backoff", None) or Backoff(),
            self.max_in_flight,
            self.grace,
        )

    async def close(self) -> None:
        if self._channel is not None:
            await self._channel.close()
            self._channel = None

    def _open(self) -> grpc.aio.Channel:
        # One channel (one HTTP/2 connection) carries every source's stream.
        if self._channel is None:
            self._channel = grpc.aio.insecure_channel(self.address, options=CHANNEL_OPTIONS)
        return self._channel
