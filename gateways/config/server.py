"""Where a gateway's sources run when an event-source server of its own runs them.

A gateway names its server in the ``gateways.dev/event-source-server`` annotation (an adapter
may name one for its kind in ``GATEWAYS_EVENT_SOURCE_SERVER``); both hold the same YAML text,
either the bare address or a mapping::

    address: 127.0.0.1:9000        # host:port, [v6]:port, or unix:/path/to/socket
    protocol: auto                 # auto | acked | v0.10 ... v0.15 (see ``Generation``)
    tls: {caCertPath: ..., clientCertPath: ..., clientKeyPath: ...}
    serverName: calendar.example   # the name the server's certificate holds, when not the host

``protocol`` picks the protocol generation the server speaks. The seed era changed what field 3
and field 4 of ``EventSource`` mean between releases while keeping their numbers: v0.10 and v0.11
servers read ``data`` and ``version`` (and refuse a source whose version is not their own),
v0.12 to v0.15 servers read ``value`` and ``type``. ``auto`` offers this project's acknowledged
stream, falls back to the seed's ``StartEventSource`` when the server lacks it, and switches to
the version generation when ``ValidateEventSource`` names the version the server expects.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import yaml

from gateways import yamltext
from gateways.config.common import TLSConfig, split_host_port
from gateways.config.fields import Fields, Problems

SERVER_ANNOTATION = "gateways.dev/event-source-server"
# Seed-era ConfigMaps carry the release their sources were written for.
SEED_VERSION_LABEL = "argo-events-event-source-version"

Style = Literal["acked", "typed", "versioned"]
_VERSIONED = re.compile(r"v0\.1[01](\.\d+)?")  # field 4 is the version (v0.10, v0.11)
_TYPED = re.compile(r"v0\.1[2-5](\.\d+)?")  # field 4 is the gateway type (v0.12 to v0.15)


@dataclass(frozen=True, slots=True)
class Generation:
    """How to speak to a server: what field 4 of ``EventSource`` holds, which stream to open.

    ``acked``: the gateway type, and ``StartEventSourceAcked`` (at least once).
    ``typed``: the gateway type, and the seed's ``StartEventSource`` (v0.12 to v0.15).
    ``versioned``: ``version`` (``v0.10``, ``v0.11``), and ``StartEventSource``.
    """

    style: Style
    version: str = ""

    def field4(self, kind: str) -> str:
        return self.version if self.style == "versioned" else kind

    def __str__(self) -> str:
        return self.version or self.style


def generation(text: str) -> Generation | None:
    """The generation a protocol name or seed-era release names (``v0.10``, ``acked``), or None."""
    value = text.strip()
    if value == "acked":
        return Generation("acked")
    if _VERSIONED.fullmatch(value):
        return Generation("versioned", value)
    if _TYPED.fullmatch(value):
        return Generation("typed", value)
    return None


@dataclass(frozen=True, slots=True)
class ServerSpec:
    """An event-source server to run sources on; ``protocol`` is ``auto`` or a generation."""

    address: str
    protocol: str = "auto"
    tls: TLSConfig | None = None
    server_name: str | None = None

    @property
    def fixed(self) -> Generation | None:
        """The generation ``protocol`` fixes, or None for ``auto``."""
        return None if self.protocol == "auto" else generation(self.protocol)

    @classmethod
    def parse(cls, text: str, label: str) -> ServerSpec:
        """The spec in ``text`` (YAML: an address or a mapping); ConfigError names ``label`` and
        the field."""
        problems = Problems(label)
        try:
            raw: Any = yamltext.load(text)
        except yaml.YAMLError as exc:
            problems.add("", f"not valid YAML: {yamltext.describe(exc)}")
            problems.raise_if_any()
        if isinstance(raw, str):
            raw = {"address": raw}
        if not isinstance(raw, Mapping):
            problems.add("", "expected an address or a mapping with address")
            problems.raise_if_any()
        fields = Fields(raw, problems)
        address = fields.required_str("address")
        if address:
            address = address.strip()
            problem = address_problem(address)
            if problem:
                fields.problem("address", problem)
        protocol = (fields.str("protocol") or "auto").strip()
        if protocol != "auto" and generation(protocol) is None:
            fields.problem(
                "protocol",
                f"{protocol!r} is not auto, acked or a gateway-era release v0.10 to v0.15",
            )
        tls = TLSConfig.parse(fields)
        server_name = fields.str("serverName")
        if server_name and tls is None:
            fields.problem("serverName", "only applies with tls")
        if tls is not None and address.startswith("unix:"):
            fields.problem("tls", "not used over a Unix socket")
        if tls is not None and tls.insecure_skip_verify:
            fields.problem(
                "tls.insecureSkipVerify", "not offered for event-source servers: give caCertPath"
            )
        fields.finish()
        problems.raise_if_any()
        return cls(address, protocol, tls, server_name or None)


def address_problem(address: str) -> str:
    """What is wrong with a server address (``host:port`` or ``unix:/path``), or ""."""
    if address.startswith("unix:"):
        path = address.removeprefix("unix:").removeprefix("//")
        return "" if path.startswith("/") else f"{address!r}: a Unix socket needs an absolute path"
    try:
        split_host_port(address)
    except ValueError as exc:
        return f"{exc} (or unix:/path)"
    return ""
