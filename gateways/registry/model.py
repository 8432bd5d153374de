"""ConfigMap documents as gateways: each ``data`` key is an event source, its value the config.

The gateway type comes from the ConfigMap's ``gateways.dev/type`` label, or, for seed-era
ConfigMaps that carry none, from the process (``--type`` / ``GATEWAY_TYPE``). Watchers, the
delivery spec and the event-source server that runs the sources (``gateways.config.server``)
may ride along as annotations (YAML text).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from gateways.config.server import SEED_VERSION_LABEL, SERVER_ANNOTATION, ServerSpec
from gateways.errors import ConfigError
from gateways.source import Origin

TYPE_LABEL = "gateways.dev/type"
WATCHERS_ANNOTATION = "gateways.dev/watchers"
DELIVERY_ANNOTATION = "gateways.dev/delivery"


@dataclass(frozen=True, slots=True)
class Entry:
    """One event source as the registry holds it: unparsed, with a digest of its content."""

    gateway: str
    kind: str
    name: str
    value: str
    digest: str
    # The gateway's own event-source server (its annotation), if it names one.
    server: ServerSpec | None = None
    # The seed-era release the ConfigMap was written for (its ``argo-events-...`` label).
    seed_version: str | None = None

    @property
    def origin(self) -> Origin:
        return Origin(self.gateway, self.name, self.kind)

    @property
    def label(self) -> str:
        return f"{self.kind}/{self.name}"


@dataclass(frozen=True, slots=True)
class Gateway:
    """One ConfigMap: a named gateway of one kind with its sources and delivery settings."""

    name: str
    kind: str
    entries: Mapping[str, Entry]
    namespace: str = "default"
    watchers: str | None = None
    delivery: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    # Where it was read, for messages: "FILE: document N: " (empty for the Kubernetes API).
    where: str = field(default="", compare=False)

    @property
    def delivery_digest(self) -> str:
        return _digest(f"{self.watchers}\0{self.delivery}")


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def gateway_from_configmap(
    document: Mapping[str, Any], default_kind: str | None = None, where: str = ""
) -> Gateway:
    """Read one ConfigMap document; raises ConfigError listing every problem.

    Each problem names ``where`` the document is (``FILE: document N: ``, or nothing for a
    ConfigMap from the API), the ConfigMap and the field.
    """
    raw_metadata = document.get("metadata")
    metadata = raw_metadata if isinstance(raw_metadata, Mapping) else {}
    name = metadata.get("name")
    label = f"{where}configmap/{name if isinstance(name, str) and name else '?'}"
    problems: list[str] = []
    _mapping(raw_metadata, "metadata", label, problems)
    if document.get("kind") != "ConfigMap":
        problems.append(f"{label}: kind: expected ConfigMap, got {_shown(document.get('kind'))}")
    if name is None or name == "":
        problems.append(f"{label}: metadata.name: is required")
    elif not isinstance(name, str) or not _NAME.fullmatch(name):
        problems.append(
            f"{label}: metadata.name: {_shown(name)} is not a Kubernetes object name"
            " (lower-case letters, digits, '-' and '.', at most 253 characters)"
        )
        name = None
    labels = _strings(metadata.get("labels"), "metadata.labels", label, problems)
    annotations = _strings(metadata.get("annotations"), "metadata.annotations", label, problems)
    namespace = metadata.get("namespace") or "default"
    if not isinstance(namespace, str) or not _NAME.fullmatch(namespace):
        problems.append(f"{label}: metadata.namespace: {_shown(namespace)} is not a namespace name")
    kind = labels.get(TYPE_LABEL) or default_kind
    if not kind:
        problems.append(
            f"{label}: metadata.labels.{TYPE_LABEL}: no gateway type; set the label or pass --type"
        )
    server = None
    if annotations.get(SERVER_ANNOTATION):
        try:
            server = ServerSpec.parse(
                annotations[SERVER_ANNOTATION], f"{label}: metadata.annotations.{SERVER_ANNOTATION}"
            )
        except ConfigError as exc:
            problems.extend(exc.problems)
    seed_version = labels.get(SEED_VERSION_LABEL) or None
    # Where and how the sources run is part of what they are: an edit restarts them.
    runs_on = f"{annotations.get(SERVER_ANNOTATION, '')}\0{seed_version or ''}"
    data = _mapping(document.get("data"), "data", label, problems)
    entries: dict[str, Entry] = {}
    for key, value in data.items():
        if not isinstance(key, str) or not _KEY.fullmatch(key):
            problems.append(
                f"{label}: data: {_shown(key)} is not a ConfigMap key"
                " (letters, digits, '-', '_' and '.', at most 253 characters)"
            )
            continue
        text = _source_text(value)
        if text is None:
            problems.append(
                f"{label}: data.{key}: expected the source's YAML as text, got"
                f" {type(value).__name__}"
            )
            continue
        digest = _digest(f"{kind}\0{text}" + (f"\0{runs_on}" if runs_on != "\0" else ""))
        entries[key] = Entry(str(name), str(kind), key, text, digest, server, seed_version)
    if problems:
        raise ConfigError(problems)
    return Gateway(
        name=str(name),
        kind=str(kind),
        entries=entries,
        namespace=str(namespace),
        watchers=annotations.get(WATCHERS_ANNOTATION),
        delivery=annotations.get(DELIVERY_ANNOTATION),
        labels=labels,
        where=where,
    )


def gateways_from_documents(
    documents: Iterable[Any], default_kind: str | None = None, label: str = ""
) -> tuple[list[Gateway], list[str]]:
    """Every ConfigMap among ``documents`` as a gateway, plus the problems of those refused.

    ``label`` names the stream (a file's path) in every problem, with the document's number.
    """
    gateways: list[Gateway] = []
    problems: list[str] = []
    first: dict[str, int] = {}  # ConfigMap name -> document it came from
    for number, document in enumerate(documents, start=1):
        where = f"{label}: document {number}: " if label else f"document {number}: "
        if document is None:
            continue
        if not isinstance(document, Mapping):
            problems.append(f"{where}expected a ConfigMap mapping, got {type(document).__name__}")
            continue
        try:
            gateway = gateway_from_configmap(document, default_kind, where)
        except ConfigError as exc:
            problems.extend(exc.problems)
            continue
        if gateway.name in first:
            problems.append(
                f"{where}configmap/{gateway.name}: metadata.name: a ConfigMap of this name is"
                f" already in document {first[gateway.name]}"
            )
            continue
        first[gateway.name] = number
        gateways.append(gateway)
    return gateways, problems


# Kubernetes object names (DNS-1123 subdomains) and ConfigMap keys.
_NAME = re.compile(r"(?=.{1,253}$)[a-z0-9]([-a-z0-9.]*[a-z0-9])?")
_KEY = re.compile(r"[-._a-zA-Z0-9]{1,253}")
_SHOWN = 60


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _SHOWN else f"{text[:_SHOWN]}... ({len(text)} characters)"


def _mapping(value: Any, field: str, label: str, problems: list[str]) -> Mapping[Any, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        problems.append(f"{label}: {field}: expected a mapping, got {type(value).__name__}")
        return {}
    return value


def _strings(value: Any, field: str, label: str, problems: list[str]) -> dict[str, str]:
    """Labels and annotations: names to text (numbers and booleans read as text)."""
    found: dict[str, str] = {}
    for key, item in _mapping(value, field, label, problems).items():
        if not isinstance(key, str) or not key:
            problems.append(f"{label}: {field}: {_shown(key)} is not a name")
        elif isinstance(item, str | int | float | bool) or item is None:
            found[key] = "" if item is None else str(item)
        else:
            problems.append(f"{label}: {field}.{key}: expected text, got {type(item).__name__}")
    return found


def _source_text(value: Any) -> str | None:
    """A data value as YAML text; a mapping written inline (local files) is dumped back."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, Mapping):
        return yaml.safe_dump(dict(value), sort_keys=False)
    return None
