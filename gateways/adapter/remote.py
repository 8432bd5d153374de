"""Kinds whose sources run on an event-source server, for the gateway client's reconciler.

The server needs each source's registry text, not just its parsed config, so the client's
reconciler parses entries with :func:`parse_remote`: a :class:`RemoteConfig` holds the entry
and its config, validated here when a schema knows the kind. A kind no schema here knows (a
custom gateway's) gets a pass-through config: a YAML mapping whose ``backoff`` is read here,
and the server's ``ValidateEventSource`` says whether the rest is valid.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import grpc

from gateways import yamltext
from gateways.adapter.client import RemoteSource
from gateways.adapter.server import CHANNEL_OPTIONS
from gateways.config.common import Backoff
from gateways.config.fields import Fields, Problems
from gateways.kinds import SourceContext, kinds
from gateways.protocol import eventing_pb2_grpc as rpc
from gateways.registry.model import Entry
from gateways.registry.reconciler import parse_entry
from gateways.source import Origin


@dataclass(frozen=True, slots=True)
class CustomConfig:
    """The config of a kind only its event-source server knows; ``backoff`` is read here."""

    fields: Mapping[str, Any] = field(default_factory=dict)
    backoff: Backoff = field(default_factory=Backoff)

    @classmethod
    def parse(cls, fields: Fields) -> CustomConfig:
        backoff = Backoff.parse(fields)
        for name in fields.raw:
            fields.get(name)  # every other field is the server's to judge
        return cls(dict(fields.raw), backoff)


@dataclass(frozen=True, slots=True)
class RemoteConfig:
    """A source as the client hands it to the server: its registry entry and parsed config."""

    entry: Entry
    config: Any

    @property
    def backoff(self) -> Backoff:
        return getattr(self.config, "backoff", None) or Backoff()


def parse_remote(entry: Entry) -> RemoteConfig:
    """The entry with its config: checked by the kind's schema, or passed through for a kind
    only its server knows. Raises ConfigError naming the source and field."""
    if entry.kind in kinds():
        return RemoteConfig(entry, parse_entry(entry))
    problems = Problems(entry.label)
    raw = yamltext.load(entry.value) if entry.value.strip() else {}
    if not isinstance(raw, Mapping):
        problems.add("", f"expected a mapping of fields, got {type(raw).__name__}")
        problems.raise_if_any()
    config = CustomConfig.parse(Fields(raw, problems))
    problems.raise_if_any()
    return RemoteConfig(entry, config)


class RemoteKind:
    """A Kind whose sources run on the event-source server at ``address`` (``host:port``)."""

    def __init__(
        self, name: str, address: str, max_in_flight: int = 256, grace: float = 20.0
    ) -> None:
        self.name = name
        self.address = address
        self.max_in_flight = max_in_flight
        self.grace = grace
        self._channel: grpc.aio.Channel | None = None

    def create(self, origin: Origin, config: Any, context: SourceContext) -> RemoteSource:
        remote: RemoteConfig = config
        return RemoteSource(
            remote.entry,
            rpc.EventingStub(self._open()),
            self.address,
            lambda source, state, reason: context.on_status(source, state, reason),
            remote.backoff,
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
