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
from typing import Any, ClassVar

from gateways.config.fields import Fields

EVENT_TYPES = frozenset({"ADD", "UPDATE", "DELETE"})
_EVENT_ALIASES = {"ADDED": "ADD", "MODIFIED": "UPDATE", "DELETED": "DELETE"}
# Selector operators, normalised: "==" is "=", "exists" is a bare key, "!" is "!key".
OPERATORS = frozenset({"=", "!=", "in", "notin", "exists", "!"})
_OPERATOR_ALIASES = {"": "=", "==": "=", "=": "=", "!=": "!=", "in": "in", "notin": "notin"}
_OPERATOR_ALIASES |= {"exists": "exists", "!": "!", "doesnotexist": "!"}

_DNS_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS_SUBDOMAIN = re.compile(rf"{_DNS_LABEL}(\.{_DNS_LABEL})*")
_NAMESPACE = re.compile(_DNS_LABEL)
_VERSION = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
_KIND = re.compile(r"[A-Za-z][A-Za-z0-9]*")
_RESOURCE = re.compile(r"[a-z][a-z0-9]*([.-][a-z0-9]+)*")
_LABEL_NAME = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?")
_FIELD_PATH = re.compile(r"[A-Za-z][A-Za-z0-9]*(\.[A-Za-z][A-Za-z0-9]*)*")
_FIELD_VALUE = re.compile(r"[^\s,()=!]*")
_TERM_SET = re.compile(r"(?P<key>[^\s!=(),]+)\s+(?P<op>in|notin)\s*\((?P<values>[^()]*)\)")
_TERM_COMPARE = re.compile(r"(?P<key>[^\s!=(),]+)\s*(?P<op>==|!=|=)\s*(?P<value>[^\s!=(),]*)")
_TERM_KEY = re.compile(r"(?P<not>!)?\s*(?P<key>[^\s!=(),]+)")


@dataclass(frozen=True, slots=True)
class Requirement:
    """One selector term, in Kubernetes semantics (``!=`` and ``notin`` match a missing key)."""

    key: str
    operator: str
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        if self.operator == "exists":
            return present
        if self.operator == "!":
            return not present
        found = present and labels[self.key] in self.values
        return found if self.operator in ("=", "in") else not found

    def __str__(self) -> str:
        if self.operator == "exists":
            return self.key
        if self.operator == "!":
            return f"!{self.key}"
        if self.operator in ("in", "notin"):
            return f"{self.key} {self.operator} ({','.join(self.values)})"
        return f"{self.key}{self.operator}{self.values[0]}"


def selector_text(requirements: tuple[Requirement, ...]) -> str:
    """Requirements in the API server's selector syntax ("" selects everything)."""
    return ",".join(str(requirement) for requirement in requirements)


def parse_selector(text: str, *, field: bool = False) -> tuple[Requirement, ...]:
    """A label selector (or, with ``field``, a field selector); ValueError names the bad term."""
    requirements = []
    for term in _split_terms(text):
        requirements.append(_requirement(term, field=field))
    return tuple(requirements)


def _split_terms(text: str) -> list[str]:
    terms, depth, start = [], 0, 0
    for index, char in enumerate(text):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if depth not in (0, 1):
            raise ValueError(f"unbalanced parentheses in {text!r}")
        if char == "," and depth == 0:
            terms.append(text[start:index].strip())
            start = index + 1
    if depth:
        raise ValueError(f"unbalanced parentheses in {text!r}")
    terms.append(text[start:].strip())
    if terms == [""]:
        return []
    if "" in terms:
        raise ValueError(f"empty requirement in {text!r}")
    return terms


def _requirement(term: str, *, field: bool) -> Requirement:
    if match := _TERM_SET.fullmatch(term):
        values = tuple(value.strip() for value in match.group("values").split(","))
        if values == ("",):
            raise ValueError(f"{term!r}: {match.group('op')} needs at least one value")
        requirement = Requirement(match.group("key"), match.group("op"), values)
    elif match := _TERM_COMPARE.fullmatch(term):
        requirement = Requirement(
            match.group("key"), _OPERATOR_ALIASES[match.group("op")], (match.group("value"),)
        )
    elif match := _TERM_KEY.fullmatch(term):
        requirement = Requirement(match.group("key"), "!" if match.group("not") else "exists")
    else:
        raise ValueError(
            f"{term!r} is not a requirement such as 'key=value', 'key in (a,b)' or '!key'"
        )
    _check(requirement, term, field=field)
    return requirement


def _check(requirement: Requirement, term: str, *, field: bool) -> None:
    if field:
        if requirement.operator not in ("=", "!="):
            raise ValueError(f"{term!r}: field selectors support only =, == and !=")
        if not _FIELD_PATH.fullmatch(requirement.key):
            raise ValueError(
                f"{term!r}: {requirement.key!r} is not a field path such as 'metadata.name'"
            )
        if not all(_FIELD_VALUE.fullmatch(value) for value in requirement.values):
            raise ValueError(f"{term!r}: invalid field value")
        return
    prefix, _, name = requirement.key.rpartition("/")
    if (prefix and (len(prefix) > 253 or not _DNS_SUBDOMAIN.fullmatch(prefix))) or not _label_name(
        name
    ):
        raise ValueError(f"{term!r}: {requirement.key!r} is not a label key")
    for value in requirement.values:
        if value and not _label_name(value):
            raise ValueError(f"{term!r}: {value!r} is not a label value")


def _label_name(text: str) -> bool:
    return len(text) <= 63 and bool(_LABEL_NAME.fullmatch(text))


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

    kind: ClassVar[str] = "resource"

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
        if group and (len(group) > 253 or not _DNS_SUBDOMAIN.fullmatch(group)):
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
        operator = _OPERATOR_ALIASES.get(operation)
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
            _check(requirement, str(requirement), field=field)
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
                _check(requirement, f"{key}={text}", field=field)
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
