"""ConfigMap documents as gateways: each ``data`` key is an event source, its value the config.

The gateway type comes from the ConfigMap's ``gateways.dev/type`` label, or, for seed-era
ConfigMaps that carry none, from the process (``--type`` / ``GATEWAY_TYPE``). Watchers and the
delivery spec may ride along as annotations (YAML text).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

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

    @property
    def delivery_digest(self) -> str:
        return _digest(f"{self.watchers}\0{self.delivery}")


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def gateway_from_configmap(document: Mapping[str, Any], default_kind: str | None = None) -> Gateway:
    """Read one ConfigMap document; raises ConfigError naming the ConfigMap and the problem."""
    metadata = document.get("metadata") or {}
    name = str(metadata.get("name") or "")
    label = f"configmap/{name or '?'}"
    problems: list[str] = []
    if document.get("kind") != "ConfigMap":
        problems.append(f"{label}: kind: expected ConfigMap, got {document.get('kind')!r}")
    if not name:
        problems.append(f"{label}: metadata.name: is required")
    labels = {str(k): str(v) for k, v in (metadata.get("labels") or {}).items()}
    annotations = {str(k): str(v) for k, v in (metadata.get("annotations") or {}).items()}
    kind = labels.get(TYPE_LABEL) or default_kind
    if not kind:
        problems.append(
            f"{label}: metadata.labels.{TYPE_LABEL}: no gateway type; set the label or pass --type"
        )
    data = document.get("data") or {}
    if not isinstance(data, Mapping):
        problems.append(f"{label}: data: expected a mapping of source name to config")
        data = {}
    if problems:
        raise ConfigError(problems)
    assert kind is not None
    entries = {}
    for key, value in data.items():
        text = value if isinstance(value, str) else str(value)
        entries[str(key)] = Entry(name, kind, str(key), text, _digest(f"{kind}\0{text}"))
    return Gateway(
        name=name,
        kind=kind,
        entries=entries,
        namespace=str(metadata.get("namespace") or "default"),
        watchers=annotations.get(WATCHERS_ANNOTATION),
        delivery=annotations.get(DELIVERY_ANNOTATION),
        labels=labels,
    )


def gateways_from_documents(
    documents: Iterable[Any], default_kind: str | None = None
) -> tuple[list[Gateway], list[str]]:
    """Every ConfigMap among ``documents`` as a gateway, plus the problems of those refused."""
    gateways: list[Gateway] = []
    problems: list[str] = []
    for document in documents:
        if document is None:
            continue
        if not isinstance(document, Mapping):
            problems.append(
                f"document: expected a ConfigMap mapping, got {type(document).__name__}"
            )
            continue
        try:
            gateways.append(gateway_from_configmap(document, default_kind))
        except ConfigError as exc:
            problems.extend(exc.problems)
    return gateways, problems
