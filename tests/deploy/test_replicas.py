"""Replicas in the manifests: every adapter pod knows its name (its Lease holder identity) and
may use the Leases that share the exclusive sources; nothing else may."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.deploy.conftest import Rendered
from tests.deploy.manifests import IMAGE_PREFIX, KUSTOMIZATIONS, Manifest, containers, env_of

LEASE_VERBS = {"get", "list", "watch", "create", "update", "patch", "delete"}
# Processes that may run an exclusive source: the adapters, and the calendar function.
LEASE_USERS = ("-adapter", "calendar")


def _lease_rules(objects: tuple[Manifest, ...], account: str) -> list[dict[str, Any]]:
    roles = {m.name: m.body for m in objects if m.kind == "Role"}
    rules: list[dict[str, Any]] = []
    for binding in (m for m in objects if m.kind == "RoleBinding"):
        if any(s["name"] == account for s in binding.body.get("subjects", [])):
            role = roles[binding.body["roleRef"]["name"]]
            rules += [r for r in role["rules"] if "leases" in r["resources"]]
    return rules


@pytest.mark.parametrize("folder", KUSTOMIZATIONS, ids=lambda f: f.name)
def test_adapters_have_their_pod_name_and_lease_rights(folder: Path, rendered: Rendered) -> None:
    objects = rendered[folder.name]
    adapters = 0
    for manifest in objects:
        for container in containers(manifest):
            if not container["image"].startswith(IMAGE_PREFIX):
                continue
            spec = manifest.body["spec"]["template"]["spec"]
            rules = _lease_rules(objects, spec.get("serviceAccountName", "default"))
            if not manifest.name.endswith(LEASE_USERS):
                assert not rules, f"{manifest.label}: runs no exclusive source, needs no Leases"
                continue
            assert rules, f"{manifest.label}: no rights on leases"
            assert all(r["apiGroups"] == ["coordination.k8s.io"] for r in rules)
            assert {v for r in rules for v in r["verbs"]} == LEASE_VERBS, manifest.label
            if manifest.name.endswith("-adapter"):
                adapters += 1
                pod_name = env_of(container).get("POD_NAME")
                assert pod_name == {"fieldRef": {"fieldPath": "metadata.name"}}, manifest.label
    assert adapters >= 10
