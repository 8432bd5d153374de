"""Every object ``kustomize build`` renders from knative/ and openfaas/ against a real
kube-apiserver (scripts/services).

The Knative CRDs from ../shared/reference-data are installed first (idempotently). Then each
object is created with ``dryRun=All`` and ``fieldValidation=Strict``: built-in kinds meet the
server's own schemas and validation, Knative kinds their CRD's, and an unknown field anywhere
is an error. Pod templates the CRDs leave open (ContainerSource) or only sketch (a Knative
Service's revision template) are also checked as a Deployment's. Last, the RBAC is applied for
real in a scratch namespace and exercised with each ServiceAccount's own token.
"""

from __future__ import annotations

import copy
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
import yaml
from kubernetes import client, config
from kubernetes.client.rest import ApiException
from kubernetes.dynamic import DynamicClient
from kubernetes.dynamic.exceptions import ConflictError, DynamicApiError

from tests.deploy.conftest import Rendered
from tests.deploy.manifests import CRD_DIRS, Manifest
from tests.servicekit import KubernetesService

pytestmark = [pytest.mark.kubernetes, pytest.mark.timeout(300)]
Objects = Sequence[Manifest]
SCRATCH = "gateways-deploy-rbac"  # no controller-manager runs, so it is reused, never deleted
KNATIVE_ONLY = (
    "containerConcurrency",
    "timeoutSeconds",
    "responseStartTimeoutSeconds",
    "idleTimeoutSeconds",
)


@pytest.fixture(scope="module")
def api(kubernetes_service: KubernetesService) -> Iterator[client.ApiClient]:
    api_client = config.new_client_from_config(config_file=kubernetes_service.kubeconfig)
    with api_client:
        yield api_client


def _install_crd(extensions: client.ApiextensionsV1Api, crd: dict[str, Any]) -> None:
    name = crd["metadata"]["name"]
    try:
        extensions.create_custom_resource_definition(crd)
    except ApiException as exc:
        if exc.status != 409:
            raise
        current = extensions.read_custom_resource_definition(name)
        if current.to_dict()["spec"] != client.ApiClient().sanitize_for_serialization(crd)["spec"]:
            crd = copy.deepcopy(crd)
            crd["metadata"]["resourceVersion"] = current.metadata.resource_version
            extensions.replace_custom_resource_definition(name, crd)


def _established(extensions: client.ApiextensionsV1Api, name: str) -> bool:
    conditions = extensions.read_custom_resource_definition(name).status.conditions or []
    return any(c.type == "Established" and c.status == "True" for c in conditions)


@pytest.fixture(scope="module")
def dynamic(api: client.ApiClient, all_objects: Objects) -> DynamicClient:
    """A dynamic client that knows the Knative kinds; the manifests' namespaces exist."""
    extensions = client.ApiextensionsV1Api(api)
    names = []
    for folder in CRD_DIRS:
        for path in sorted(folder.glob("*.yaml")):
            crd = yaml.safe_load(path.read_text())
            _install_crd(extensions, crd)
            names.append(crd["metadata"]["name"])
    deadline = time.monotonic() + 60
    while not all(_established(extensions, name) for name in names):
        assert time.monotonic() < deadline, "CRDs not Established after 60 s"
        time.sleep(0.5)
    core = client.CoreV1Api(api)
    for namespace in {m.namespace for m in all_objects if m.namespace} | {SCRATCH}:
        try:
            core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=namespace)))
        except ApiException as exc:
            if exc.status != 409:
                raise
    return DynamicClient(api)


def _dry_run(dynamic: DynamicClient, body: dict[str, Any]) -> Any:
    resource = dynamic.resources.get(api_version=body["apiVersion"], kind=body["kind"])
    namespace = body["metadata"].get("namespace") if resource.namespaced else None
    return dynamic.create(
        resource,
        body=body,
        namespace=namespace,
        dry_run="All",
        query_params=[("fieldValidation", "Strict")],
    )


def _dry_run_create(dynamic: DynamicClient, body: dict[str, Any]) -> Any:
    try:
        return _dry_run(dynamic, body)
    except ConflictError:
        # One of that name exists already (the Namespace, from an earlier run): try its twin.
        twin = copy.deepcopy(body)
        twin["metadata"]["name"] += "-dry-run"
        return _dry_run(dynamic, twin)


def _refusals(dynamic: DynamicClient, bodies: dict[str, dict[str, Any]]) -> dict[str, str]:
    """Dry-run each body (by label); the ones the server refused, with its reason."""
    refused = {}
    for label, body in bodies.items():
        try:
            created = _dry_run_create(dynamic, body)
        except DynamicApiError as exc:
            refused[label] = f"{exc.status}: {exc.summary()}"
            continue
        if created.kind != body["kind"]:
            refused[label] = f"created a {created.kind}"
        elif created.kind == "Deployment" and not created.spec.template.spec.containers:
            refused[label] = "created without containers"
    return refused


def test_every_object_passes_a_strict_server_side_dry_run(
    dynamic: DynamicClient, all_objects: Objects
) -> None:
    bodies = {m.label: copy.deepcopy(m.body) for m in all_objects}
    assert len(bodies) == len(all_objects)
    assert _refusals(dynamic, bodies) == {}


def _as_deployment(manifest: Manifest) -> dict[str, Any]:
    template = copy.deepcopy(manifest.body["spec"]["template"])
    for field in KNATIVE_ONLY:
        template["spec"].pop(field, None)
    labels = {"deploy-test/template-of": f"{manifest.kind.lower()}-{manifest.name}"}
    template.setdefault("metadata", {}).setdefault("labels", {}).update(labels)
    template["metadata"].pop("annotations", None)
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": f"{manifest.name}-pod-template", "namespace": manifest.namespace},
        "spec": {"selector": {"matchLabels": labels}, "template": template},
    }


def test_every_pod_template_is_a_valid_pod_spec(
    dynamic: DynamicClient, all_objects: Objects
) -> None:
    templates = [m for m in all_objects if m.kind in ("ContainerSource", "Service")]
    assert {m.kind for m in templates} == {"ContainerSource", "Service"}
    assert _refusals(dynamic, {m.label: _as_deployment(m) for m in templates}) == {}


def _refusal(dynamic: DynamicClient, body: dict[str, Any]) -> str:
    with pytest.raises(DynamicApiError) as refused:
        _dry_run(dynamic, body)
    assert refused.value.status in (400, 422), refused.value
    return str(refused.value.body)


def _pick(objects: Objects, kind: str, name: str) -> dict[str, Any]:
    return copy.deepcopy(next(m.body for m in objects if m.kind == kind and m.name == name))


def test_an_unknown_field_is_refused(dynamic: DynamicClient, rendered: Rendered) -> None:
    objects = rendered["knative"]
    deployment = _pick(objects, "Deployment", "resource-adapter")
    deployment["spec"]["template"]["spec"]["containers"][0]["startupCommand"] = ["sh"]
    assert "unknown field" in _refusal(dynamic, deployment)

    role = _pick(objects, "Role", "gateways-webhook")
    role["rules"][0]["resourceName"] = ["typo"]
    assert "unknown field" in _refusal(dynamic, role)

    service = _pick(objects, "Service", "webhook")
    service["spec"]["template"]["spec"]["containers"][0]["startupCommand"] = ["sh"]
    assert "unknown field" in _refusal(dynamic, service)

    ping = _pick(objects, "PingSource", "calendar-tick")
    ping["spec"]["schedules"] = ping["spec"].pop("schedule")
    assert "unknown field" in _refusal(dynamic, ping)

    # A Trigger's spec preserves unknown fields, its subscriber's ref does not.
    trigger = _pick(objects, "Trigger", "webhook-requests")
    trigger["spec"]["subscriber"]["ref"]["namespaces"] = "typo"
    assert "unknown field" in _refusal(dynamic, trigger)


def test_a_wrong_type_is_refused(dynamic: DynamicClient, rendered: Rendered) -> None:
    objects = rendered["knative"]
    deployment = _pick(objects, "Deployment", "resource-adapter")
    deployment["spec"]["replicas"] = "one"
    _refusal(dynamic, deployment)

    service = _pick(objects, "Service", "calendar")
    service["spec"]["template"]["spec"]["timeoutSeconds"] = "50"
    assert "timeoutSeconds" in _refusal(dynamic, service)


# --------------------------------------------------------------------------- RBAC, for real


def _scratch(body: dict[str, Any]) -> dict[str, Any]:
    """``body`` moved to the scratch namespace (cluster-scoped names get a suffix)."""
    body = copy.deepcopy(body)
    if body["kind"].startswith("Cluster"):
        body["metadata"]["name"] += f"-{SCRATCH}"
        if "roleRef" in body:
            body["roleRef"]["name"] += f"-{SCRATCH}"
    else:
        body["metadata"]["namespace"] = SCRATCH
    for subject in body.get("subjects", []):
        subject["namespace"] = SCRATCH
    return body


def _apply(dynamic: DynamicClient, body: dict[str, Any]) -> None:
    resource = dynamic.resources.get(api_version=body["apiVersion"], kind=body["kind"])
    namespace = body["metadata"].get("namespace") if resource.namespaced else None
    dynamic.server_side_apply(
        resource, body=body, namespace=namespace, field_manager="tests-deploy", force_conflicts=True
    )


def _status(svc: KubernetesService, token: str, method: str, path: str, body: Any = None) -> int:
    data = None if body is None else yaml.safe_dump(body).encode()
    request = urllib.request.Request(  # noqa: S310 - the test API server on 127.0.0.1
        svc.server + path,
        data=data,
        method=method,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/yaml"},
    )
    context = ssl.create_default_context(cafile=svc.ca)
    try:
        with urllib.request.urlopen(request, timeout=30, context=context) as reply:  # noqa: S310
            reply.read()
            return int(reply.status)
    except urllib.error.HTTPError as err:
        return int(err.code)


def _accounts(objects: Objects) -> list[tuple[Manifest, list[dict[str, Any]]]]:
    """Each ServiceAccount of ``objects`` with the rules its bindings grant."""
    roles = {(m.kind, m.name): m for m in objects if m.kind in ("Role", "ClusterRole")}
    found = []
    for account in (m for m in objects if m.kind == "ServiceAccount"):
        rules = []
        for binding in (m for m in objects if m.kind.endswith("RoleBinding")):
            if any(s["name"] == account.name for s in binding.body["subjects"]):
                ref = binding.body["roleRef"]
                rules += roles[(ref["kind"], ref["name"])].body["rules"]
        found.append((account, rules))
    return found


# Calendar's last-fired times, resource's resourceVersions, artifact's listing checkpoints.
KEEPS_STATE_ON_ITS_CONFIGMAP = {"gateways-calendar", "gateways-resource", "gateways-artifact"}


def _can_do_its_job_and_no_more(
    dynamic: DynamicClient,
    kubernetes_service: KubernetesService,
    objects: Objects,
    manifest: Manifest,
    rules: list[dict[str, Any]],
) -> None:
    """Asserts what one ServiceAccount may and may not do, with its own token."""
    token = kubernetes_service.mint_token(SCRATCH, manifest.name)
    base = f"/api/v1/namespaces/{SCRATCH}/configmaps"
    mine = {n for r in rules if "configmaps" in r["resources"] for n in r["resourceNames"]}
    assert mine, manifest.name

    for name in mine:
        selector = urllib.parse.quote(f"metadata.name={name}")
        assert _status(kubernetes_service, token, "GET", f"{base}/{name}") == 200
        assert _status(kubernetes_service, token, "GET", f"{base}?fieldSelector={selector}") == 200
        watch = f"{base}?watch=1&timeoutSeconds=1&fieldSelector={selector}"
        assert _status(kubernetes_service, token, "GET", watch) == 200
    assert _status(kubernetes_service, token, "GET", base) == 403, "listing every ConfigMap"
    for other in {m.name for m in objects if m.kind == "ConfigMap"} - mine:
        assert _status(kubernetes_service, token, "GET", f"{base}/{other}") == 403, other

    writable = {n for r in rules if "update" in r["verbs"] for n in r.get("resourceNames", [])}
    if manifest.name in KEEPS_STATE_ON_ITS_CONFIGMAP:  # for the replica that takes over
        assert mine <= writable, f"{manifest.name} cannot write its state on {sorted(mine)}"
    for name in mine:
        current = dynamic.resources.get(api_version="v1", kind="ConfigMap").get(
            name=name, namespace=SCRATCH
        )
        document = current.to_dict()
        document["metadata"].setdefault("annotations", {})["gateways.dev/deploy-test"] = "1"
        expected = 200 if name in writable else 403
        assert _status(kubernetes_service, token, "PUT", f"{base}/{name}", document) == expected, (
            name
        )

    event = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"generateName": "deploy-test-"},
        "involvedObject": {"kind": "ConfigMap", "name": sorted(mine)[0], "namespace": SCRATCH},
        "reason": "Running",
        "message": "deploy test",
        "type": "Normal",
    }
    assert (
        _status(kubernetes_service, token, "POST", f"/api/v1/namespaces/{SCRATCH}/events", event)
        == 201
    )
    assert _status(kubernetes_service, token, "GET", f"/api/v1/namespaces/{SCRATCH}/secrets") == 403

    watches_deployments = any("deployments" in r["resources"] for r in rules)
    expected = 200 if watches_deployments else 403
    assert (
        _status(
            kubernetes_service, token, "GET", "/apis/apps/v1/deployments?watch=1&timeoutSeconds=1"
        )
        == expected
    )
    assert _status(kubernetes_service, token, "GET", "/api/v1/pods") == 403


def test_every_service_account_can_do_its_job_and_no_more(
    dynamic: DynamicClient, kubernetes_service: KubernetesService, rendered: Rendered
) -> None:
    """knative/'s ConfigMaps and RBAC applied for real in the scratch namespace, then each
    ServiceAccount exercised with its own token."""
    objects = rendered["knative"]
    for other in objects:
        if (
            other.kind == "ConfigMap"
            or other.kind.endswith("Role")
            or other.kind.endswith("RoleBinding")
        ):
            _apply(dynamic, _scratch(other.body))
    accounts = _accounts(objects)
    assert {m.name for m, _rules in accounts} >= {"gateways-webhook", "gateways-resource"}
    failed = {}
    for manifest, rules in accounts:
        try:
            _can_do_its_job_and_no_more(dynamic, kubernetes_service, objects, manifest, rules)
        except AssertionError as exc:
            failed[manifest.name] = str(exc)
    assert failed == {}
