"""The KEDA autoscaling of the stream adapters (deploy/keda): ScaledObjects and
TriggerAuthentications, rendered by ``kustomize build`` of deploy/keda/knative and
deploy/keda/openfaas, checked against the KEDA CRDs of ../shared/reference-data made strict,
and created with ``dryRun=All`` and ``fieldValidation=Strict`` on the real kube-apiserver with
those CRDs installed. Each ScaledObject must scale the workload that runs its kind's adapter,
follow a source that competes (the durable, group, queue or subscription the example sources
share among replicas), and name only TriggerAuthentications that are there. Everything else
the overlays render is the platform's own kustomization, unchanged but for the adapters'
replica count that KEDA now owns.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Iterator
from functools import cache
from typing import Any

import jsonschema
import pytest
import yaml
from kubernetes import client, config
from kubernetes.client.rest import ApiException
from kubernetes.dynamic import DynamicClient
from kubernetes.dynamic.exceptions import DynamicApiError

from tests.deploy.manifests import REFERENCE, Manifest, group_version, load, strict
from tests.deploy.test_apiserver import _dry_run, _dry_run_create, _established, _install_crd
from tests.kit import ROOT
from tests.servicekit import KubernetesService

KEDA_CRDS = REFERENCE / "keda-crds"
OVERLAYS = {
    "knative": ROOT / "deploy" / "keda" / "knative",
    "openfaas": ROOT / "deploy" / "keda" / "openfaas",
}
KEDA_KINDS = frozenset({"ScaledObject", "TriggerAuthentication"})
SCALED = {"nats": "nats-jetstream", "kafka": "kafka", "amqp": "rabbitmq"}
SCALED |= {"aws-sqs": "aws-sqs-queue", "gcp-pubsub": "gcp-pubsub"}


@cache
def keda_crds() -> dict[str, dict[str, Any]]:
    """The KEDA CRDs by kind."""
    found = {}
    for path in sorted(KEDA_CRDS.glob("*.yaml")):
        crd = yaml.safe_load(path.read_text())
        found[crd["spec"]["names"]["kind"]] = crd
    return found


def _schema(body: dict[str, Any]) -> dict[str, Any]:
    group, version = group_version(body)
    crd = keda_crds()[body["kind"]]
    assert crd["spec"]["group"] == group
    [served] = [v for v in crd["spec"]["versions"] if v["name"] == version and v["served"]]
    schema = copy.deepcopy(served["schema"]["openAPIV3Schema"])
    return dict(strict(schema))


def _errors(body: dict[str, Any]) -> list[str]:
    validator = jsonschema.Draft7Validator(_schema(body))
    return [
        f"{'.'.join(str(p) for p in error.absolute_path) or '<root>'}: {error.message}"
        for error in validator.iter_errors(body)
    ]


def rendered(platform: str) -> tuple[Manifest, ...]:
    return load(OVERLAYS[platform])


def keda_objects(platform: str) -> list[Manifest]:
    return [m for m in rendered(platform) if m.kind in KEDA_KINDS]


def scaled_objects(platform: str) -> dict[str, Manifest]:
    return {m.name: m for m in rendered(platform) if m.kind == "ScaledObject"}


@pytest.fixture(params=sorted(OVERLAYS))
def platform(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_every_keda_object_matches_its_crd_schema_made_strict(platform: str) -> None:
    objects = keda_objects(platform)
    assert {m.kind for m in objects} == KEDA_KINDS
    errors = {m.label: _errors(m.body) for m in objects}
    assert {label: found for label, found in errors.items() if found} == {}


def test_the_strict_schema_refuses_an_unknown_or_mistyped_field() -> None:
    body = copy.deepcopy(scaled_objects("openfaas")["kafka-adapter"].body)
    body["spec"]["triggers"][0]["lagThreshold"] = "10"  # belongs in metadata
    body["spec"]["scaleTargetRef"]["replicas"] = 2
    body["spec"]["maxReplicaCount"] = "3"
    errors = _errors(body)
    assert any("lagThreshold" in e and e.startswith("spec.triggers.0:") for e in errors), errors
    assert any("replicas" in e and e.startswith("spec.scaleTargetRef:") for e in errors), errors
    assert any(e.startswith("spec.maxReplicaCount:") for e in errors), errors


def _workloads(platform: str) -> dict[str, str]:
    """Deployment name -> adapter kind, for the adapters the platform runs."""
    found = {}
    for m in rendered(platform):
        if m.kind in ("Deployment", "ContainerSource"):
            labels = m.body["spec"]["template"]["metadata"]["labels"]
            name = m.name if m.kind == "Deployment" else f"{m.name}-deployment"
            kind = labels["app.kubernetes.io/name"].removesuffix("-adapter")
            found[name] = kind
    return found


def test_each_scaled_object_scales_its_kinds_adapter_with_its_kinds_scaler(platform: str) -> None:
    workloads = _workloads(platform)
    scaled = scaled_objects(platform)
    targets = {}
    for name, manifest in scaled.items():
        target = manifest.body["spec"]["scaleTargetRef"]
        assert (target["apiVersion"], target["kind"]) == ("apps/v1", "Deployment"), name
        assert target["name"] in workloads, f"{name}: no Deployment {target['name']}"
        kind = workloads[target["name"]]
        targets[kind] = name
        types = {t["type"] for t in manifest.body["spec"]["triggers"]}
        assert types == {SCALED[kind]}, name
        spec = manifest.body["spec"]
        assert 1 <= spec["minReplicaCount"] <= spec["maxReplicaCount"], name
    assert set(targets) == set(SCALED)  # one ScaledObject per scalable adapter, no more


def test_authentication_refs_name_trigger_authentications_beside_them(platform: str) -> None:
    authentications = {m.name for m in keda_objects(platform) if m.kind == "TriggerAuthentication"}
    referenced = {
        trigger["authenticationRef"]["name"]
        for manifest in scaled_objects(platform).values()
        for trigger in manifest.body["spec"]["triggers"]
        if "authenticationRef" in trigger
    }
    assert referenced == authentications
    for manifest in keda_objects(platform):
        if manifest.kind == "TriggerAuthentication":
            assert manifest.body["spec"]["secretTargetRef"], manifest.label
    namespaces = {m.namespace for m in keda_objects(platform)}
    assert len(namespaces) == 1 and None not in namespaces


def _sources(platform: str) -> dict[str, list[tuple[str, dict[str, Any]]]]:
    """The example sources of each adapter kind: (``<configmap>-<source>``, parsed config)."""
    found: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for m in rendered(platform):
        kind = m.body.get("metadata", {}).get("labels", {}).get("gateways.dev/type")
        if m.kind == "ConfigMap" and kind:
            found.setdefault(kind, []).extend(
                (f"{m.name}-{key}", yaml.safe_load(text))
                for key, text in m.body.get("data", {}).items()
            )
    return found


def test_each_trigger_follows_a_shared_consumer_of_the_example_sources(platform: str) -> None:
    sources = _sources(platform)
    nats, kafka, amqp = (
        [config for _, config in sources[kind]] for kind in ("nats", "kafka", "amqp")
    )
    shared = {
        "nats": {s["jetStream"]["durable"] for s in nats if "jetStream" in s},
        "kafka": {s["consumerGroup"]["groupName"] for s in kafka if "consumerGroup" in s},
        "amqp": {s["queue"]["name"] for s in amqp if "name" in s.get("queue", {})},
        "aws-sqs": {s["queue"] for _, s in sources["aws-sqs"] if "queue" in s},
        # A source without its own subscription name gets gateways-<configmap>-<source>.
        "gcp-pubsub": {
            f"projects/{s['projectID']}/subscriptions/{s.get('subscription', f'gateways-{name}')}"
            for name, s in sources["gcp-pubsub"]
        },
    }
    followed = {
        "nats-jetstream": ("nats", "consumer"),
        "kafka": ("kafka", "consumerGroup"),
        "rabbitmq": ("amqp", "queueName"),
        "gcp-pubsub": ("gcp-pubsub", "subscriptionName"),
    }
    for manifest in scaled_objects(platform).values():
        for trigger in manifest.body["spec"]["triggers"]:
            metadata = trigger["metadata"]
            if trigger["type"] == "aws-sqs-queue":
                assert metadata["queueURL"].rsplit("/", 1)[1] in shared["aws-sqs"]
                continue
            kind, key = followed[trigger["type"]]
            assert metadata[key] in shared[kind], (manifest.label, metadata[key], shared[kind])


def _identity(manifest: Manifest) -> tuple[str, str, str | None]:
    return (manifest.kind, manifest.name, manifest.namespace)


def test_the_overlays_add_only_keda_objects_to_the_platforms_own_manifests(
    platform: str,
) -> None:
    own = {_identity(m): m.body for m in load(ROOT / platform)}
    overlay = {_identity(m): m.body for m in rendered(platform) if m.kind not in KEDA_KINDS}
    assert overlay.keys() == own.keys()
    scaled_targets = {
        m.body["spec"]["scaleTargetRef"]["name"] for m in scaled_objects(platform).values()
    }
    for key, body in overlay.items():
        expected = copy.deepcopy(own[key])
        if key[0] == "Deployment" and key[1] in scaled_targets:
            expected["spec"].pop("replicas", None)  # KEDA owns it now
            assert "replicas" not in body["spec"]
        assert body == expected, key


# --------------------------------------------------------------------------- API server


@pytest.fixture(scope="module")
def keda_api(kubernetes_service: KubernetesService) -> Iterator[DynamicClient]:
    """A dynamic client of the test API server with the KEDA CRDs installed (idempotently)
    and the overlays' namespaces there."""
    api_client = config.new_client_from_config(config_file=kubernetes_service.kubeconfig)
    with api_client:
        extensions = client.ApiextensionsV1Api(api_client)
        for crd in keda_crds().values():
            _install_crd(extensions, crd)
        names = [crd["metadata"]["name"] for crd in keda_crds().values()]
        deadline = time.monotonic() + 60
        while not all(_established(extensions, name) for name in names):
            assert time.monotonic() < deadline, "KEDA CRDs not Established after 60 s"
            time.sleep(0.5)
        core = client.CoreV1Api(api_client)
        for platform in OVERLAYS:
            for namespace in {m.namespace for m in keda_objects(platform)}:
                try:
                    core.create_namespace(
                        client.V1Namespace(metadata=client.V1ObjectMeta(name=namespace))
                    )
                except ApiException as exc:
                    if exc.status != 409:
                        raise
        yield DynamicClient(api_client)


@pytest.mark.kubernetes
def test_every_keda_object_passes_a_strict_server_side_dry_run(
    keda_api: DynamicClient, platform: str
) -> None:
    refused = {}
    for manifest in keda_objects(platform):
        try:
            created = _dry_run_create(keda_api, copy.deepcopy(manifest.body))
        except DynamicApiError as exc:
            refused[manifest.label] = f"{exc.status}: {exc.summary()}"
            continue
        assert created.kind == manifest.kind
    assert refused == {}


@pytest.mark.kubernetes
def test_the_api_server_refuses_an_unknown_field_in_a_scaled_object(
    keda_api: DynamicClient,
) -> None:
    body = copy.deepcopy(scaled_objects("openfaas")["amqp-adapter"].body)
    body["spec"]["triggers"][0]["queueName"] = "misplaced"
    with pytest.raises(DynamicApiError) as refused:
        _dry_run(keda_api, body)
    assert refused.value.status in (400, 422), refused.value
    assert "queueName" in str(refused.value.body)


def test_overlay_folders_hold_only_used_files() -> None:
    folder = ROOT / "deploy" / "keda"
    on_disk = {p.resolve() for p in folder.rglob("*.yaml")}
    used = {
        *(OVERLAYS[p] / "kustomization.yaml" for p in OVERLAYS),
        folder / "component" / "kustomization.yaml",
        *(
            folder / "component" / r
            for r in yaml.safe_load((folder / "component" / "kustomization.yaml").read_text())[
                "resources"
            ]
        ),
    }
    assert on_disk == {p.resolve() for p in used}
