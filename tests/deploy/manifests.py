"""The deploy manifests as tests see them, and the reference schemas they are checked against.

``knative/`` and ``openfaas/`` are rendered by ``kustomize build`` (the pinned kustomize that
``scripts/services install kubernetes`` builds; its path is the GATEWAYS_TEST_KUSTOMIZE setting),
which is what ``kubectl apply -k`` applies: the adapters come from one component per platform
plus a small kustomization per source kind. Without kustomize a test is skipped, or fails under
CI=true. The CRDs come from ``../shared/reference-data`` beside the project, read in place.
"""

from __future__ import annotations

import copy
import json
import re
import subprocess
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.kit import REFERENCE_DATA, ROOT
from tests.servicekit import settings, unavailable

SHARED = REFERENCE_DATA.parent
REFERENCE = SHARED / "reference-data"
CRD_DIRS = (REFERENCE / "knative-serving-crds", REFERENCE / "knative-eventing-crds")
KUSTOMIZATIONS = (ROOT / "knative", ROOT / "openfaas")
STACK = ROOT / "stack.yml"
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
IMAGE_PREFIX = "dev.local/gateways/"
KUSTOMIZE_SETTING = "GATEWAYS_TEST_KUSTOMIZE"

CLUSTER_SCOPED = frozenset({"Namespace", "ClusterRole", "ClusterRoleBinding"})
BUILT_IN = frozenset(
    {"ConfigMap", "ServiceAccount", "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"}
    | {"Deployment", "Namespace"}
)


@dataclass(frozen=True)
class Manifest:
    """One object ``kustomize build`` rendered, with the kustomization it came from."""

    folder: Path
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
        return f"{self.folder.name}:{self.kind}/{self.name}"

    @property
    def group_version(self) -> tuple[str, str]:
        return group_version(self.body)


def group_version(body: dict[str, Any]) -> tuple[str, str]:
    group, _, version = str(body["apiVersion"]).rpartition("/")
    return group, version


def kustomize() -> str:
    """The pinned kustomize binary (skips, or fails under CI=true, when it isn't built)."""
    path = settings().get(KUSTOMIZE_SETTING)
    if not path or not Path(path).is_file():
        unavailable(
            "kubernetes",
            f"no kustomize at {KUSTOMIZE_SETTING}={path or ''}; "
            "`scripts/services install kubernetes` builds it",
        )
    return str(path)


@cache
def load(folder: Path) -> tuple[Manifest, ...]:
    """Every object ``kustomize build folder`` renders, which ``kubectl apply -k`` applies."""
    built = subprocess.run(
        [kustomize(), "build", str(folder)], capture_output=True, text=True, check=False
    )
    if built.returncode != 0:
        pytest.fail(f"kustomize build {folder}: {built.stderr.strip()}", pytrace=False)
    return tuple(Manifest(folder, body) for body in yaml.safe_load_all(built.stdout) if body)


def kustomization(folder: Path) -> dict[str, Any]:
    return dict(yaml.safe_load((folder / "kustomization.yaml").read_text()))


def kustomization_namespace(folder: Path) -> str | None:
    return kustomization(folder).get("namespace")


def kustomization_files(folder: Path) -> set[Path]:
    """Every file ``kustomize build folder`` reads: kustomization files, the resources and
    components they list (folders followed) and their patch files."""
    folder = folder.resolve()
    found = {folder / "kustomization.yaml"}
    spec = kustomization(folder)
    for entry in spec.get("resources", []) + spec.get("components", []):
        target = (folder / entry).resolve()
        found |= kustomization_files(target) if target.is_dir() else {target}
    found |= {(folder / p["path"]).resolve() for p in spec.get("patches", []) if "path" in p}
    return found


def source_kinds() -> dict[str, str]:
    """pyproject.toml's entry-point table of source kinds: each kind with its package."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    table = project["entry-points"]["gateways.kinds"]
    return {
        kind: str(target).split(":")[0].removesuffix(".source") for kind, target in table.items()
    }


def adapter_kinds() -> dict[str, str]:
    """The source kinds that run in an adapter (their package is under ``adapters/``)."""
    return {
        kind: package for kind, package in source_kinds().items() if package.startswith("adapters.")
    }


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
