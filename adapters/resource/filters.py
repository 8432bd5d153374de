"""The checks applied to each watched object in the gateway (the config's ``filter``).

``labelSelector`` and ``fieldSelector`` are the API server's business; a field selector the
resource does not support server-side (most fields beyond metadata.name/namespace) is checked
here instead, with the same semantics.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from adapters.resource.config import ResourceFilter
from adapters.resource.selectors import Requirement


def passes(
    obj: Mapping[str, Any],
    rules: ResourceFilter,
    *,
    started: datetime,
    fields: Iterable[Requirement] = (),
) -> bool:
    """Whether ``obj`` passes ``rules``; ``fields`` are extra field requirements."""
    metadata = obj.get("metadata") or {}
    if rules.prefix and not str(metadata.get("name", "")).startswith(rules.prefix):
        return False
    labels = _strings(metadata.get("labels"))
    if not all(requirement.matches(labels) for requirement in rules.labels):
        return False
    annotations = _strings(metadata.get("annotations"))
    if not all(requirement.matches(annotations) for requirement in rules.annotations):
        return False
    requirements = (*rules.fields, *fields)
    values = {r.key: value for r in requirements if (value := field_value(obj, r.key)) is not None}
    if not all(requirement.matches(values) for requirement in requirements):
        return False
    if rules.created_by is not None or rules.after_start:
        created = creation_time(obj)
        if created is None:
            return False
        if rules.created_by is not None and created > rules.created_by:
            return False
        # creationTimestamp has whole seconds: an object of the start's own second passes.
        if rules.after_start and created < started.replace(microsecond=0):
            return False
    return True


def field_value(obj: Mapping[str, Any], path: str) -> str | None:
    """The value at a dotted path as the API server compares it (booleans as true/false)."""
    value: Any = obj
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None or isinstance(value, Mapping | list):
        return None
    return str(value)


def creation_time(obj: Mapping[str, Any]) -> datetime | None:
    text = (obj.get("metadata") or {}).get("creationTimestamp")
    if not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def _strings(value: Any) -> dict[str, str]:
    if not isinstance(value, Mapping):
        return {}
    return {str(k): str(v) for k, v in value.items()}
