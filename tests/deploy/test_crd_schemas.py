"""Every Knative object ``kustomize build`` renders from knative/ and openfaas/ against its CRD's
openAPIV3Schema, made strict.

The schemas are the upstream CRDs in ../shared/reference-data. Where a schema lists
``properties`` (and does not preserve unknown fields) extra keys are refused, as the API
server's strict field validation refuses them; types, enums and patterns are checked as given.
Built-in kinds are checked by a real API server in test_apiserver.py.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import jsonschema
import pytest

from tests.deploy.manifests import BUILT_IN, Manifest, crd_schema, crds, group_version, strict


@pytest.fixture(scope="module")
def custom(all_objects: Sequence[Manifest]) -> list[Manifest]:
    """The rendered objects of a Knative (custom) kind."""
    return [m for m in all_objects if m.kind not in BUILT_IN]


def _errors(body: dict[str, Any]) -> list[str]:
    group, version = group_version(body)
    schema = strict(crd_schema(group, body["kind"], version))
    validator = jsonschema.Draft7Validator(schema)
    return [
        f"{'.'.join(str(p) for p in error.absolute_path) or '<root>'}: {error.message}"
        for error in validator.iter_errors(body)
    ]


def test_every_object_is_built_in_or_has_a_reference_crd(custom: list[Manifest]) -> None:
    unknown = [m.label for m in custom if (m.group_version[0], m.kind) not in crds()]
    assert not unknown
    kinds = {m.kind for m in custom}
    assert {"Service", "PingSource", "ContainerSource", "SinkBinding", "Broker", "Trigger"} <= kinds


def test_every_object_matches_its_crd_schema(custom: list[Manifest]) -> None:
    errors = {m.label: _errors(m.body) for m in custom}
    assert {label: found for label, found in errors.items() if found} == {}


def _first(custom: list[Manifest], kind: str, name: str | None = None) -> dict[str, Any]:
    return copy.deepcopy(next(m.body for m in custom if m.kind == kind and name in (None, m.name)))


def test_strict_schema_refuses_an_unknown_field_at_any_depth(custom: list[Manifest]) -> None:
    service = _first(custom, "Service", "webhook")
    service["spec"]["template"]["spec"]["containers"][0]["startupCommand"] = ["sh"]
    service["spec"]["bogus"] = 1
    errors = _errors(service)
    assert any("startupCommand" in e and "containers.0" in e for e in errors), errors
    assert any("bogus" in e and e.startswith("spec:") for e in errors), errors

    ping = _first(custom, "PingSource")
    ping["spec"]["sink"]["ref"]["namespaces"] = "typo"
    assert any("namespaces" in e for e in _errors(ping))


def test_strict_schema_refuses_a_wrong_type(custom: list[Manifest]) -> None:
    service = _first(custom, "Service", "webhook")
    service["spec"]["template"]["spec"]["timeoutSeconds"] = "60"
    service["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] = "8080"
    errors = _errors(service)
    assert any("timeoutSeconds" in e and "is not of type 'integer'" in e for e in errors), errors
    assert any("containerPort" in e for e in errors), errors

    trigger = _first(custom, "Trigger")
    trigger["spec"]["filter"]["attributes"] = ["type"]
    assert any("attributes" in e and "'object'" in e for e in _errors(trigger))


def test_preserved_fields_stay_open(custom: list[Manifest]) -> None:
    """x-kubernetes-preserve-unknown-fields keeps its meaning: a ContainerSource's pod template
    is not described by the CRD (test_apiserver.py checks it as a Deployment's)."""
    source = _first(custom, "ContainerSource")
    source["spec"]["template"]["spec"]["anything"] = {"goes": True}
    assert _errors(source) == []
