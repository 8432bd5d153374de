"""Kubernetes resource source config: watch one group/version/kind (or resource), then filter.

``labelSelector`` and ``fieldSelector`` go to the API server and decide what is watched;
``filter`` is applied to each event in the gateway (the seed era's semantics): name
``prefix``, exact ``labels`` and ``annotations``, object ``fields`` by dotted path, objects
created at or before ``createdBy``, and with ``afterStart`` only objects created after the
watch started. Event types are ``ADD``, ``UPDATE`` and ``DELETE``; the Kubernetes watch
names ``ADDED``, ``MODIFIED`` and ``DELETED`` (seed-era configs) are accepted for them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from adapters.resource.selectors import (
    DNS_LABEL,
    DNS_SUBDOMAIN,
    OPERATOR_ALIASES,
    OPERATORS,
    Requirement,
    check_requirement,
    parse_selector,
    selector_text,
)
from gateways.config.fields import Fields

EVENT_TYPES = frozenset({"ADD", "UPDATE", "DELETE"})
_EVENT_ALIASES = {"ADDED": "ADD", "MODIFIED": "UPDATE", "DELETED": "DELETE"}
# Selector operators, normalised: "==" is "=", "exists" is a bare key, "!" is "!key".
_NAMESPACE = re.compile(DNS_LABEL)
_VERSION = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
_KIND = re.compile(r"[A-Za-z][A-Za-z0-9]*")
_RESOURCE = re.compile(r"[a-z][a-z0-9]*([.-][a-z0-9]+)*")


@dataclass(frozen=True, slots=True)
class ResourceFilter:
    """Checks applied to each watched object; ``fields`` keys are dotted paths into the object."""

    prefix: str | None = None
    labels: tuple[Requirement, ...] = ()
    annotations: tuple[Requirement, ...] = ()
    fields: tuple[Requirement, ...] = ()
    created_by: datetime | None = None
    after_start: bool = False

    @classmethod
    def parse(cls, fields: Fields, name: str = "filter") -> ResourceFilter:
        sub = fields.sub(name)
        if sub is None:
            return cls()
        result = cls(
            prefix=sub.str("prefix") or None,
            labels=_requirements(sub, "labels", field=False),
            annotations=_equalities(sub, "annotations"),
            fields=_requirements(sub, "fields", field=True),
            created_by=_time(sub, "createdBy"),
            after_start=sub.bool("afterStart"),
        )
        sub.finish()
        return result


@dataclass(frozen=True, slots=True)
class ResourceConfig:
    """``resource_kind`` holds the YAML ``kind`` (``kind`` is the source kind, "resource")."""

    version: str
    resource_kind: str | None = None
    resource: str | None = None
    group: str = ""
    namespace: str | None = None
    event_types: frozenset[str] = EVENT_TYPES
    label_selector: tuple[Requirement, ...] = ()
    field_selector: tuple[Requirement, ...] = ()
    filter: ResourceFilter = ResourceFilter()

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def all_namespaces(self) -> bool:
        return self.namespace is None

    @property
    def label_selector_text(self) -> str:
        return selector_text(self.label_selector)

    @property
    def field_selector_text(self) -> str:
        return selector_text(self.field_selector)

    @classmethod
    def parse(cls, fields: Fields) -> ResourceConfig:
        namespace = fields.str("namespace") or None
        if namespace is not None and not _dns_label(namespace):
            fields.problem("namespace", f"{namespace!r} is not a namespace name")
        group = (fields.str("group") or "").strip()
        if group and (len(group) > 253 or not DNS_SUBDOMAIN.fullmatch(group)):
            fields.problem(
                "group", f"{group!r} is not an API group such as 'apps' or 'argoproj.io'"
            )
        version = fields.required_str("version").strip()
        if version and not (len(version) <= 63 and _VERSION.fullmatch(version)):
            fields.problem(
                "version", f"{version!r} is not an API version such as 'v1' or 'v1alpha1'"
            )
        kind = _name(fields, "kind", _KIND, "a kind such as 'Pod'")
        resource = _name(fields, "resource", _RESOURCE, "a plural resource name such as 'pods'")
        if kind is None and resource is None:
            fields.problem("kind", "one of kind or resource is required")
        elif kind is not None and resource is not None:
            fields.problem("resource", "give kind or resource, not both")
        return cls(
            version=version,
            resource_kind=kind,
            resource=resource,
            group=group,
            namespace=namespace,
            event_types=_event_types(fields),
            label_selector=_selector(fields, "labelSelector", field=False),
            field_selector=_selector(fields, "fieldSelector", field=True),
            filter=ResourceFilter.parse(fields),
        )


def _dns_label(text: str) -> bool:
    return len(text) <= 63 and bool(_NAMESPACE.fullmatch(text))


def _name(fields: Fields, name: str, pattern: re.Pattern[str], what: str) -> str | None:
    text = (fields.str(name) or "").strip()
    if text and not pattern.fullmatch(text):
        fields.problem(name, f"{text!r} is not {what}")
    return text or None


def _event_types(fields: Fields) -> frozenset[str]:
    found: set[str] = set()
    single = fields.str("type")
    named = [("type", single)] if single else []
    named += [(f"eventTypes[{i}]", text) for i, text in enumerate(fields.str_list("eventTypes"))]
    for path, text in named:
        value = text.strip().upper()
        value = _EVENT_ALIASES.get(value, value)
        if value in EVENT_TYPES:
            found.add(value)
        else:
            fields.problem(
                path, f"{text!r} is not one of ADD, UPDATE, DELETE (or ADDED, MODIFIED, DELETED)"
            )
    return frozenset(found) or EVENT_TYPES


def _selector(fields: Fields, name: str, *, field: bool) -> tuple[Requirement, ...]:
    text = fields.str(name)
    if text is None:
        return ()
    try:
        return parse_selector(text, field=field)
    except ValueError as exc:
        fields.problem(name, str(exc))
        return ()


def _requirements(fields: Fields, name: str, *, field: bool) -> tuple[Requirement, ...]:
    """A map of exact values (seed era) or a list of ``{key, operation, value}`` (Argo v1)."""
    value = fields.get(name)
    if value is None or isinstance(value, Mapping):
        return _equalities(fields, name, field=field)
    if not isinstance(value, list):
        fields.problem(
            name, "expected a mapping of exact values or a list of {key, operation, value}"
        )
        return ()
    requirements = []
    for index, item in enumerate(value):
        path = f"{name}[{index}]"
        if not isinstance(item, Mapping):
            fields.problem(path, "expected {key, operation, value}")
            continue
        entry = Fields(item, fields.problems, prefix=f"{fields.path(path)}.")
        key = entry.required_str("key")
        operation = (entry.str("operation") or "").strip().lower()
        raw = entry.str("value")
        entry.finish()
        operator = OPERATOR_ALIASES.get(operation)
        if operator is None:
            entry.problem(
                "operation", f"{operation!r} is not one of {', '.join(sorted(OPERATORS))}"
            )
            continue
        values = (
            () if operator in ("exists", "!") else tuple(v.strip() for v in (raw or "").split(","))
        )
        requirement = Requirement(key, operator, values)
        try:
            check_requirement(requirement, str(requirement), field=field)
        except ValueError as exc:
            fields.problem(path, str(exc))
            continue
        requirements.append(requirement)
    return tuple(requirements)


def _equalities(fields: Fields, name: str, *, field: bool | None = None) -> tuple[Requirement, ...]:
    """A map of exact values; ``field`` None checks no syntax (annotations)."""
    raw = fields.get(name)
    if raw is None:
        return ()
    if not isinstance(raw, Mapping):
        fields.problem(name, "expected a mapping of strings")
        return ()
    requirements = []
    for key, value in raw.items():
        if isinstance(value, Mapping | list) or value is None:
            fields.problem(f"{name}.{key}", "expected a string value")
            continue
        text = ("true" if value else "false") if isinstance(value, bool) else str(value)
        requirement = Requirement(str(key), "=", (text,))
        if field is not None:
            try:
                check_requirement(requirement, f"{key}={text}", field=field)
            except ValueError as exc:
                fields.problem(f"{name}.{key}", str(exc))
                continue
        requirements.append(requirement)
    return tuple(requirements)


def _time(fields: Fields, name: str) -> datetime | None:
    """RFC 3339 text or a YAML timestamp; a time without a zone is UTC."""
    value: Any = fields.get(name)
    if value is None:
        return None
    moment: datetime | None = None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime.combine(value, time())
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            moment = None
    if moment is None:
        fields.problem(name, f"{value!r} is not an RFC 3339 time such as '2019-04-06T12:52:11Z'")
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
