"""The config's ``filter``, checked against each watched object in the gateway."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from adapters.resource.config import ResourceConfig
from adapters.resource.filters import creation_time, field_value, passes
from adapters.resource.selectors import Requirement
from tests.kit import parser

parse = parser("resource", ResourceConfig)
STARTED = datetime(2024, 3, 10, 12, 0, 30, 500_000, tzinfo=UTC)


def pod(name: str = "web-1", created: str = "2024-03-10T12:00:30Z", **extra: Any) -> dict[str, Any]:
    metadata = {
        "name": name,
        "creationTimestamp": created,
        "labels": {"app": "web", "tier": "front"},
        "annotations": {"owner": "shop"},
    }
    return {"metadata": metadata, "spec": {"nodeName": "node-1", "hostNetwork": False}, **extra}


def passing(filter_yaml: str, obj: dict[str, Any]) -> bool:
    config = parse(f"version: v1\nkind: Pod\nfilter: {filter_yaml}")
    return passes(obj, config.filter, started=STARTED)


def test_no_filter_passes_everything() -> None:
    assert passing("{}", {})


def test_prefix_labels_annotations_and_fields() -> None:
    assert passing("{prefix: web-}", pod())
    assert not passing("{prefix: db-}", pod())
    assert passing("{labels: {app: web}}", pod())
    assert not passing("{labels: [{key: tier, operation: notin, value: 'front,back'}]}", pod())
    assert passing("{annotations: {owner: shop}}", pod())
    assert not passing("{annotations: {owner: ops}}", pod())
    assert passing("{fields: {spec.nodeName: node-1, spec.hostNetwork: 'false'}}", pod())
    assert not passing("{fields: [{key: spec.nodeName, operation: '!=', value: node-1}]}", pod())


def test_created_by_and_after_start() -> None:
    assert passing("{createdBy: '2024-03-10T12:00:30Z'}", pod())
    assert not passing("{createdBy: '2024-03-10T12:00:29Z'}", pod())
    # creationTimestamp has whole seconds: an object of the start's own second passes.
    assert passing("{afterStart: true}", pod(created="2024-03-10T12:00:30Z"))
    assert not passing("{afterStart: true}", pod(created="2024-03-10T12:00:29Z"))
    assert not passing("{afterStart: true}", {"metadata": {"name": "no-time"}})


def test_extra_field_requirements_checked_in_the_gateway() -> None:
    config = parse("version: v1\nkind: Pod")
    wanted = (Requirement("spec.nodeName", "=", ("node-2",)),)
    assert not passes(pod(), config.filter, started=STARTED, fields=wanted)


def test_field_values_as_the_api_server_compares_them() -> None:
    obj = pod()
    assert field_value(obj, "metadata.name") == "web-1"
    assert field_value(obj, "spec.hostNetwork") == "false"
    assert field_value(obj, "spec") is None  # a mapping is no value
    assert field_value(obj, "spec.missing.deeper") is None
    assert creation_time(obj) == datetime(2024, 3, 10, 12, 0, 30, tzinfo=UTC)
    assert creation_time({"metadata": {"creationTimestamp": "yesterday"}}) is None
