"""Kinds whose sources run on an event-source server, for the gateway client's reconciler.

The server needs each source's registry text, not just its parsed config, so the client's
reconciler parses entries with :func:`parse_remote`: a :class:`RemoteConfig` holds the entry
and its config. For the adapter's own server the kind's schema checks it here; for a server of
the user's (a custom kind, a seed-era server) it is a pass-through config: a YAML mapping whose
``backoff`` is read here, and the server's ``ValidateEventSource`` says whether the rest is
valid, in the server's own words.
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
from gateways.config.server import ServerSpec
from gateways.errors import GatewayError
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


def parse_remote(entry: Entry, by_schema: bool = True) -> RemoteConfig:
    """The entry with its config: checked by the kind's schema (``by_schema`` and a kind this
    process knows), or passed through. Raises ConfigError naming the source and field."""
    if by_schema and entry.kind in kinds():
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
    """A Kind whose sources run on one event-source server, over one gRPC channel."""

    name = "remote"

    def __init__(self, spec: ServerSpec, max_in_flight: int = 256, grace: float = 20.0) -> None:
        self.spec = spec
        self.max_in_flight = max_in_flight
        self.grace = grace
        self._channel: grpc.aio.Channel | None = None

    @property
    def address(self) -> str:
        return self.spec.address

    def create(self, origin: Origin, config: Any, context: SourceContext) -> RemoteSource:
        remote: RemoteConfig = config
        return RemoteSource(
            remote.entry,
            rpc.EventingStub(self._open()),
            self.spec,
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
            self._channel = open_channel(self.spec)
        return self._channel


class RemoteServers:
    """The event-source servers of one process: a gateway's own (its annotation), else
    ``default`` (an adapter's: its built-in server or ``GATEWAYS_EVENT_SOURCE_SERVER``)."""

    def __init__(
        self,
        default: ServerSpec | None = None,
        max_in_flight: int = 256,
        grace: float = 20.0,
        default_is_ours: bool = False,
    ) -> None:
        self.default = default
        # The default is this adapter's built-in server: configs are checked by their schema.
        self.default_is_ours = default_is_ours
        self.max_in_flight = max_in_flight
        self.grace = grace
        self._kinds: dict[ServerSpec, RemoteKind] = {}

    def kind_for(self, entry: Entry) -> RemoteKind | None:
        """The server that runs ``entry``, or None when it runs in this process."""
        spec = entry.server or self.default
        if spec is None:
            return None
        if spec not in self._kinds:
            self._kinds[spec] = RemoteKind(spec, self.max_in_flight, self.grace)
        return self._kinds[spec]

    def parse(self, entry: Entry) -> RemoteConfig:
        return parse_remote(entry, by_schema=entry.server is None and self.default_is_ours)

    async def close(self) -> None:
        for kind in self._kinds.values():
            await kind.close()
        self._kinds.clear()


def open_channel(spec: ServerSpec) -> grpc.aio.Channel:
    """A channel to the server: plain, or TLS with the spec's CA and client certificate.

    Raises GatewayError naming the ``tls`` field whose file cannot be read.
    """
    if spec.tls is None:
        return grpc.aio.insecure_channel(spec.address, options=CHANNEL_OPTIONS)
    tls = spec.tls
    credentials = grpc.ssl_channel_credentials(
        root_certificates=_read(tls.ca_cert_path, "tls.caCertPath"),
        private_key=_read(tls.client_key_path, "tls.clientKeyPath"),
        certificate_chain=_read(tls.client_cert_path, "tls.clientCertPath"),
    )
    options: list[tuple[str, Any]] = list(CHANNEL_OPTIONS)
    if spec.server_name:
        options.append(("grpc.ssl_target_name_override", spec.server_name))
    return grpc.aio.secure_channel(spec.address, credentials, options=options)


def _read(path: str | None, field_name: str) -> bytes | None:
    if not path:
        return None
    try:
        with open(path, "rb") as file:
            return file.read()
    except OSError as exc:
        raise GatewayError(f"{field_name}: cannot read {path}: {exc.strerror}") from None
