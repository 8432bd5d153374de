"""The deploy manifests as tests see them, and the reference schemas they are checked against.

``knative/`` and ``openfaas/`` are read the way ``kubectl apply -k`` reads them: each
kustomization's ``resources`` (files, and folders with their own kustomization), with its
``namespace`` set on every namespaced object. The CRDs come from ``../shared/reference-data``
beside the project, read in place.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT / ".." / "shared"
REFERENCE = SHARED / "reference-data"
CRD_DIRS = (REFERENCE / "knative-serving-crds", REFERENCE / "knative-eventing-crds")
KUSTOMIZATIONS = (ROOT / "knative", ROOT / "openfaas")
STACK = ROOT / "stack.yml"
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
IMAGE_PREFIX = "dev.local/gateways/"

CLUSTER_SCOPED = frozenset({"Namespace", "ClusterRole", "ClusterRoleBinding"})
BUILT_IN = frozenset(
    {"ConfigMap", "ServiceAccount", "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"}
    | {"Deployment", "Namespace"}
)


@dataclass(frozen=True)
class Manifest:
    """One object of a kustomization, with the file it came from."""

    path: Path
    index: int
    body: dict[str, Any]

    @property
    def kind(self) -> str:
        return str(self.body["kind"])

    @property
    def name(self) -> str:
        return str(self.body["metadata"]["name"])

    @property
    def namespace(self) -> str | None:
        return self.body["metadata"].get("namespace")

    @property
    def label(self) -> str:
        return f"{self.path.relative_to(ROOT)}#{self.index} {self.kind}/{self.name}"

    @property
    def group_version(self) -> tuple[str, str]:
        api_version = str(self.body["apiVersion"])
        group, _, version = api_version.rpartition("/")
        return group, version


def _resource_files(folder: Path) -> Iterator[Path]:
    kustomization = yaml.safe_load((folder / "kustomization.yaml").read_text())
    for entry in kustomization.get("resources", []):
        target = (folder / entry).resolve()
        if target.is_dir():
            yield from _resource_files(target)
        else:
            yield target


def kustomization_namespace(folder: Path) -> str | None:
    return yaml.safe_load((folder / "kustomization.yaml").read_text()).get("namespace")


@cache
def load(folder: Path) -> tuple[Manifest, ...]:
    """Every object ``kubectl apply -k folder`` applies, namespace set as kustomize sets it."""
    namespace = kustomization_namespace(folder)
    found = []
    for path in _resource_files(folder):
        for index, body in enumerate(yaml.safe_load_all(path.read_text())):
            if body is None:
                continue
            if namespace and body["kind"] not in CLUSTER_SCOPED:
                body.setdefault("metadata", {})["namespace"] = namespace
            found.append(Manifest(path, index, body))
    return tuple(found)


def all_manifests() -> tuple[Manifest, ...]:
    return tuple(m for folder in KUSTOMIZATIONS for m in load(folder))


def containers(manifest: Manifest) -> list[dict[str, Any]]:
    """The containers of a Knative Service, ContainerSource or Deployment (else none)."""
    spec = manifest.body.get("spec", {})
    if manifest.kind in ("Service", "ContainerSource", "Deployment"):
        return list(spec.get("template", {}).get("spec", {}).get("containers", []))
    return []


def env_of(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env", [])}


# --------------------------------------------------------------------------- CRD schemas


@cache
def crds() -> dict[tuple[str, str], dict[str, Any]]:
    """The reference CRDs by (group, kind)."""
    table = {}
    for folder in CRD_DIRS:
        for path in sorted(folder.glob("*.yaml")):
            crd = yaml.safe_load(path.read_text())
            table[(crd["spec"]["group"], crd["spec"]["names"]["kind"])] = crd
    return table


def crd_schema(group: str, kind: str, version: str) -> dict[str, Any]:
    """The version's openAPIV3Schema. The API server accepts apiVersion, kind and metadata on
    every object whether the schema lists them or not (some eventing CRDs don't), so they are
    added where missing."""
    crd = crds()[(group, kind)]
    for served in crd["spec"]["versions"]:
        if served["name"] == version and served.get("served"):
            schema = copy.deepcopy(served["schema"]["openAPIV3Schema"])
            properties = schema.setdefault("properties", {})
            properties.setdefault("apiVersion", {"type": "string"})
            properties.setdefault("kind", {"type": "string"})
            properties.setdefault("metadata", {"type": "object"})
            return schema
    raise LookupError(f"{group}/{kind}: no served version {version}")


def strict(schema: Any) -> Any:
    """``schema`` with ``additionalProperties: false`` wherever it lists ``properties`` and
    neither preserves unknown fields nor says what extra properties may be."""
    if isinstance(schema, list):
        return [strict(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    result = {key: strict(value) for key, value in schema.items()}
    if (
        "properties" in schema
        and not schema.get("x-kubernetes-preserve-unknown-fields")
        and "additionalProperties" not in schema
    ):
        result["additionalProperties"] = False
    return result


# --------------------------------------------------------------------------- Dockerfile


def dockerfile_targets(text: str | None = None) -> dict[str, list[str]]:
    """The command each ``FROM ... AS <target>`` stage runs: its exec-form ENTRYPOINT + CMD,
    inherited from the stage it is built on when it sets none."""
    text = DOCKERFILE.read_text() if text is None else text
    logical = re.sub(r"\\\n", " ", text)
    stages: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] | None = None
    for line in logical.splitlines():
        words = line.strip().split(None, 1)
        if not words or words[0].startswith("#"):
            continue
        instruction = words[0].upper()
        if instruction == "FROM":
            match = re.match(r"(?i)FROM\s+(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?\s*$", line.strip())
            base, name = (match.group(1), match.group(2)) if match else ("", None)
            current = dict(stages.get(base, {}))
            if name:
                stages[name] = current
        elif instruction in ("CMD", "ENTRYPOINT") and current is not None:
            current[instruction] = json.loads(words[1])  # exec form: a JSON array
    return {
        name: stage.get("ENTRYPOINT", []) + stage.get("CMD", [])
        for name, stage in stages.items()
        if stage
    }
