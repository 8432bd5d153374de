"""knative/ and openfaas/ hang together: sources load, every adapter kind has its kustomization,
RBAC covers what each process reads and no more, sinks and refs point at objects that exist,
and each timeout outlasts a delivery. Checked on what ``kustomize build`` renders."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

from gateways.config import parse_source
from gateways.delivery import DeliverySpec, parse_watchers
from gateways.errors import ConfigError
from gateways.registry.model import DELIVERY_ANNOTATION, WATCHERS_ANNOTATION, gateway_from_configmap
from tests.deploy.conftest import Rendered
from tests.deploy.manifests import (
    CLUSTER_SCOPED,
    IMAGE_PREFIX,
    KUSTOMIZATIONS,
    ROOT,
    Manifest,
    adapter_kinds,
    containers,
    env_of,
    kustomization,
    kustomization_files,
    kustomization_namespace,
    source_kinds,
)

BROKER_INGRESS = "http://broker-ingress.knative-eventing.svc.cluster.local/{namespace}/{broker}"
PLACEHOLDER = re.compile(r"\b(KIND|IMAGE|MODULE)\b")  # what the adapter components fill in
Objects = Sequence[Manifest]


def _of(objects: Objects, kind: str) -> list[Manifest]:
    return [m for m in objects if m.kind == kind]


def _registry_configmaps(objects: Objects) -> dict[str, Manifest]:
    return {
        m.name: m
        for m in _of(objects, "ConfigMap")
        if "gateways.dev/type" in m.body["metadata"].get("labels", {})
    }


def _workloads(objects: Objects) -> Iterable[tuple[Manifest, dict[str, Any], dict[str, Any]]]:
    """(object, pod spec, container) for every container that runs our code."""
    for manifest in objects:
        for container in containers(manifest):
            if container["image"].startswith(IMAGE_PREFIX):
                yield manifest, manifest.body["spec"]["template"]["spec"], container


@pytest.mark.parametrize("folder", KUSTOMIZATIONS, ids=lambda f: f.name)
def test_every_yaml_file_is_used(folder: Path) -> None:
    used = kustomization_files(folder)
    assert all(path.is_file() for path in used), sorted(p for p in used if not p.is_file())
    on_disk = {p.resolve() for p in folder.rglob("*.yaml")}
    assert on_disk - used == set()


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, str):
        yield value


def test_rendering_leaves_no_placeholder_and_no_local_object(all_objects: Objects) -> None:
    for manifest in all_objects:
        left = [text for text in _strings(manifest.body) if PLACEHOLDER.search(text)]
        assert left == [], manifest.label
        annotations = manifest.body["metadata"].get("annotations", {})
        assert "config.kubernetes.io/local-config" not in annotations, manifest.label
    identities = [(m.folder, m.kind, m.namespace, m.name) for m in all_objects]
    assert len(identities) == len(set(identities))


def _adapter_kustomization(platform: str, kind: str) -> dict[str, Any]:
    """The kind's ``<platform>/adapters/<kind>/kustomization.yaml``, with the literals of the
    ConfigMap it generates for the component (``kind=``, ``image=``, ``module=``)."""
    spec = kustomization(ROOT / platform / "adapters" / kind)
    generated = {g["name"]: g for g in spec.get("configMapGenerator", [])}
    literals = generated[f"{kind}-adapter-kind"]["literals"]
    spec["literals"] = dict(str(literal).split("=", 1) for literal in literals)
    return spec


@pytest.mark.parametrize("folder", KUSTOMIZATIONS, ids=lambda f: f.name)
def test_every_adapter_kind_has_its_kustomization(folder: Path, rendered: Rendered) -> None:
    """Each source kind of pyproject.toml's entry-point table whose package is under adapters/
    has ``adapters/<kind>/`` on both platforms: the shared component named, imaged and run as
    that kind, listed in the platform's kustomization; and no adapter folder lacks its kind."""
    kinds = adapter_kinds()
    assert kinds, "no adapter kind in pyproject.toml's entry points"
    folders = {p.name for p in (folder / "adapters").iterdir() if p.is_dir()}
    assert folders == set(kinds)
    workloads = {m.name: m for m in rendered[folder.name] if containers(m)}
    for kind, package in kinds.items():
        spec = _adapter_kustomization(folder.name, kind)
        assert spec["components"] == ["../../components/adapter"], kind
        image = spec["literals"]["image"]
        assert image.startswith(f"{IMAGE_PREFIX}{kind}:"), kind
        assert spec["literals"] == {"kind": kind, "image": image, "module": package}
        assert f"adapters/{kind}" in kustomization(folder)["resources"], kind
        adapter = workloads[f"{kind}-adapter"]
        [container] = containers(adapter)
        assert container["command"] == ["python", "-m", package], kind
        assert container["image"] == image, kind
        assert env_of(container)["GATEWAYS_CONFIGMAPS"] == f"{kind}-gateway", kind
        pod = adapter.body["spec"]["template"]
        account = pod["spec"]["serviceAccountName"]
        assert account == f"gateways-{kind}", kind
        assert ("ServiceAccount", account) in {(m.kind, m.name) for m in rendered[folder.name]}
        assert pod["metadata"]["labels"]["app.kubernetes.io/name"] == f"{kind}-adapter", kind


def test_an_example_configmap_for_every_kind_and_each_loads_cleanly(rendered: Rendered) -> None:
    configmaps = _registry_configmaps(rendered["knative"])
    found = set()
    for name, manifest in configmaps.items():
        gateway = gateway_from_configmap(manifest.body)
        found.add(gateway.kind)
        assert gateway.entries, name
        for entry in gateway.entries.values():
            parse_source(entry.kind, entry.name, entry.value)  # raises listing every problem
        annotations = manifest.body["metadata"].get("annotations", {})
        DeliverySpec.parse(annotations.get(DELIVERY_ANNOTATION), label=name)
        if WATCHERS_ANNOTATION in annotations:
            parse_watchers(yaml.safe_load(annotations[WATCHERS_ANNOTATION]), label=name)
    assert found == set(source_kinds())


def test_a_broken_example_would_be_caught(rendered: Rendered) -> None:
    manifest = _registry_configmaps(rendered["knative"])["webhook-gateway"]
    gateway = gateway_from_configmap(manifest.body)
    with pytest.raises(ConfigError, match="method"):
        parse_source("webhook", "example", gateway.entries["example"].value + "method: FETCH\n")


def _role_rules(objects: Objects, service_account: str) -> list[dict[str, Any]]:
    roles = {(m.kind, m.name): m.body for m in objects if m.kind in ("Role", "ClusterRole")}
    rules: list[dict[str, Any]] = []
    for binding in objects:
        if binding.kind not in ("RoleBinding", "ClusterRoleBinding"):
            continue
        subjects = binding.body.get("subjects", [])
        if any(s["kind"] == "ServiceAccount" and s["name"] == service_account for s in subjects):
            ref = binding.body["roleRef"]
            rules += roles[(ref["kind"], ref["name"])]["rules"]
    return rules


def _allowed(rules: list[dict[str, Any]], verb: str, resource: str, name: str) -> bool:
    return any(
        resource in rule["resources"]
        and verb in rule["verbs"]
        and name in rule.get("resourceNames", [name])
        for rule in rules
    )


def _needs(folder: Path, objects: Objects) -> list[tuple[str, str, tuple[str, ...]]]:
    """(label, service account, registry ConfigMaps) of every process in ``folder``."""
    needs = [
        (f"{m.label} {c['name']}", spec.get("serviceAccountName", "default"), names)
        for m, spec, c in _workloads(objects)
        for names in [tuple(str(env_of(c).get("GATEWAYS_CONFIGMAPS", "")).split(","))]
    ]
    if folder.name == "openfaas":  # the functions are in stack.yml
        stack = yaml.safe_load((ROOT / "stack.yml").read_text())
        for name, function in stack["functions"].items():
            account = function["annotations"]["com.openfaas.serviceaccount"]
            names = tuple(function["environment"]["GATEWAYS_CONFIGMAPS"].split(","))
            needs.append((f"stack.yml {name}", account, names))
    return needs


@pytest.mark.parametrize("folder", KUSTOMIZATIONS, ids=lambda f: f.name)
def test_each_process_may_read_exactly_its_own_configmaps(folder: Path, rendered: Rendered) -> None:
    objects = rendered[folder.name]
    configmaps = _registry_configmaps(objects)
    service_accounts = {m.name for m in _of(objects, "ServiceAccount")}
    for label, account, names in _needs(folder, objects):
        assert account in service_accounts, label
        rules = _role_rules(objects, account)
        for name in names:
            assert name in configmaps, f"{label}: no ConfigMap {name}"
            for verb in ("get", "list", "watch"):
                assert _allowed(rules, verb, "configmaps", name), f"{label}: {verb} {name}"
            assert _allowed(rules, "create", "events", ""), f"{label}: status Events"
        others = set(configmaps) - set(names)
        assert not any(_allowed(rules, "get", "configmaps", other) for other in others), label


def test_rbac_is_least_privilege(all_objects: Objects) -> None:
    for manifest in all_objects:
        if manifest.kind not in ("Role", "ClusterRole"):
            continue
        for rule in manifest.body["rules"]:
            assert "*" not in rule["verbs"] + rule["resources"] + rule["apiGroups"], manifest.label
            if "configmaps" in rule["resources"]:
                assert rule.get("resourceNames"), f"{manifest.label}: configmaps by name only"
            writes = set(rule["verbs"]) - {"get", "list", "watch"}
            if "configmaps" in rule["resources"] and writes:
                # Only the kinds that keep state for the next replica write, each on its own
                # ConfigMap: calendar's last-fired times, resource's and artifact's checkpoints.
                kind = manifest.name.removeprefix("gateways-")
                assert kind in ("calendar", "resource", "artifact"), manifest.label
                assert writes == {"update"} and rule["resourceNames"] == [f"{kind}-gateway"]
            if "events" in rule["resources"]:
                assert set(rule["verbs"]) == {"create", "patch"}, manifest.label
            if manifest.kind == "ClusterRole":
                assert set(rule["verbs"]) <= {"list", "watch"}, manifest.label


def test_the_resource_adapter_may_watch_what_its_example_source_watches(
    rendered: Rendered,
) -> None:
    for objects in rendered.values():
        source = yaml.safe_load(
            _registry_configmaps(objects)["resource-gateway"].body["data"]["deployments"]
        )
        rules = _role_rules(objects, "gateways-resource")
        watched = [r for r in rules if source["group"] in r["apiGroups"]]
        assert any(
            "deployments" in r["resources"] and {"list", "watch"} <= set(r["verbs"])
            for r in watched
        )


def test_namespace_literals_follow_the_kustomization(rendered: Rendered) -> None:
    """Knative Services can't use fieldRef without a feature flag, so NAMESPACE is a literal."""
    namespace = kustomization_namespace(ROOT / "knative")
    for manifest, _spec, container in _workloads(rendered["knative"]):
        value = env_of(container)["NAMESPACE"]
        if isinstance(value, str):
            assert value == namespace, manifest.label
        else:
            assert value == {"fieldRef": {"fieldPath": "metadata.namespace"}}, manifest.label
    for folder in KUSTOMIZATIONS:
        for manifest in rendered[folder.name]:
            for subject in manifest.body.get("subjects", []):
                expected = kustomization_namespace(folder)
                assert subject["namespace"] == expected, manifest.label
            if manifest.kind in CLUSTER_SCOPED:
                assert manifest.namespace is None, manifest.label
            else:
                assert manifest.namespace == kustomization_namespace(folder), manifest.label


def test_functions_deliver_to_the_broker_and_the_trigger_reaches_a_sensor(
    rendered: Rendered,
) -> None:
    objects = rendered["knative"]
    namespace = kustomization_namespace(ROOT / "knative")
    broker = _of(objects, "Broker")[0].name
    services = {m.name: m for m in _of(objects, "Service")}
    for name in ("webhook", "calendar", "dispatcher"):
        env = env_of(services[name].body["spec"]["template"]["spec"]["containers"][0])
        assert env["K_SINK"] == BROKER_INGRESS.format(namespace=namespace, broker=broker)
    trigger = _of(objects, "Trigger")[0].body["spec"]
    assert trigger["broker"] == broker
    assert trigger["filter"]["attributes"] == {"type": "dev.gateways.webhook.request"}
    assert trigger["subscriber"]["ref"]["name"] in services


def _sink(manifest: Manifest) -> tuple[str, str, str]:
    ref = manifest.body["spec"]["sink"]["ref"]
    return str(ref["apiVersion"]), str(ref["kind"]), str(ref["name"])


def test_sources_and_bindings_point_at_the_right_sink(rendered: Rendered) -> None:
    objects = rendered["knative"]
    calendar = ("serving.knative.dev/v1", "Service", "calendar")
    assert [_sink(m) for m in _of(objects, "PingSource")] == [calendar]
    container_sources = _of(objects, "ContainerSource")
    bindings = _of(objects, "SinkBinding")
    deployments = {m.name for m in _of(objects, "Deployment")}
    for binding in bindings:
        assert binding.body["spec"]["subject"]["name"] in deployments
    adapters = {
        c["command"][-1]
        for m in container_sources + _of(objects, "Deployment")
        for c in containers(m)
    }
    assert adapters == {f"adapters.streams.{k}" for k in ("nats", "mqtt", "amqp", "kafka")} | {
        "adapters.resource",
        "adapters.artifact",
        "adapters.file",
        "adapters.aws_sqs",
        "adapters.gcp_pubsub",
        "adapters.hdfs",
    }


def test_adapters_sink_is_the_broker_and_they_reach_the_dispatcher_by_its_own_url(
    rendered: Rendered,
) -> None:
    """K_SINK is a CloudEvents destination: every adapter's sink (ContainerSource, or the
    SinkBinding of a Deployment) is the Broker; the dispatcher function is named by
    GATEWAYS_DISPATCHER_URL, the Knative Service's cluster-local URL."""
    objects = rendered["knative"]
    namespace = kustomization_namespace(ROOT / "knative")
    brokers = {m.name for m in _of(objects, "Broker")}
    services = {m.name for m in _of(objects, "Service")}
    assert "dispatcher" in services
    dispatcher_url = f"http://dispatcher.{namespace}.svc.cluster.local"
    bound = {m.body["spec"]["subject"]["name"]: m for m in _of(objects, "SinkBinding")}
    workloads = _of(objects, "ContainerSource") + _of(objects, "Deployment")
    assert {m.name for m in workloads} == {f"{kind}-adapter" for kind in adapter_kinds()}
    for manifest in workloads:
        sunk = manifest if manifest.kind == "ContainerSource" else bound[manifest.name]
        api_version, kind, name = _sink(sunk)
        assert (api_version, kind) == ("eventing.knative.dev/v1", "Broker"), manifest.label
        assert name in brokers, manifest.label
        assert sunk.body["spec"]["sink"]["ref"].get("namespace", namespace) == namespace
        [container] = containers(manifest)
        env = env_of(container)
        assert env["GATEWAYS_DISPATCHER_URL"] == dispatcher_url, manifest.label
        assert "K_SINK" not in env, manifest.label  # injected from the sink
        assert "GATEWAYS_DISPATCH" not in env, manifest.label  # http, by the URL


def test_openfaas_adapters_invoke_the_dispatcher_through_the_gateway(rendered: Rendered) -> None:
    for manifest, _spec, container in _workloads(rendered["openfaas"]):
        env = env_of(container)
        assert env["GATEWAYS_DISPATCHER_URL"] == "http://gateway.openfaas:8080/function/dispatcher"
        assert "K_SINK" not in env, manifest.label
        assert manifest.namespace == "openfaas-fn"


def _worst_case_seconds(spec: DeliverySpec) -> float:
    """One event's longest delivery: every attempt times out and every wait is the longest."""
    waits = sum(
        max(spec.delay(attempt), spec.retry_after_max.total_seconds())
        for attempt in range(1, spec.retry + 1)
    )
    return (spec.retry + 1) * spec.timeout.total_seconds() + waits


def _delivery(objects: Objects, configmap: str) -> DeliverySpec:
    annotations = _registry_configmaps(objects)[configmap].body["metadata"].get("annotations", {})
    return DeliverySpec.parse(annotations.get(DELIVERY_ANNOTATION))


def test_each_function_timeout_outlasts_one_delivery(rendered: Rendered) -> None:
    objects = rendered["knative"]
    stack = yaml.safe_load((ROOT / "stack.yml").read_text())["functions"]
    for service in _of(objects, "Service"):
        spec = service.body["spec"]["template"]["spec"]
        if service.name not in stack:
            continue
        names = env_of(spec["containers"][0])["GATEWAYS_CONFIGMAPS"].split(",")
        worst = max(_worst_case_seconds(_delivery(objects, name)) for name in names)
        assert spec["timeoutSeconds"] > worst, service.label
        watchdog = stack[service.name]["environment"]
        for variable in ("read_timeout", "write_timeout", "exec_timeout"):
            assert watchdog[variable] == f"{spec['timeoutSeconds']}s", (service.name, variable)


def test_scaling_is_set_on_purpose(rendered: Rendered) -> None:
    services = {m.name: m.body["spec"]["template"] for m in _of(rendered["knative"], "Service")}
    for name in ("webhook", "calendar", "dispatcher"):
        annotations = services[name]["metadata"]["annotations"]
        assert annotations["autoscaling.knative.dev/min-scale"] == "0", name
        assert services[name]["spec"]["containerConcurrency"] > 0, name
    calendar = services["calendar"]
    assert calendar["metadata"]["annotations"]["autoscaling.knative.dev/max-scale"] == "1"
    assert calendar["spec"]["containerConcurrency"] == 1
    ping = _of(rendered["knative"], "PingSource")[0].body["spec"]
    assert ping["schedule"] == "* * * * *"
    # A tick run ends before the next ping.
    assert calendar["spec"]["timeoutSeconds"] < 60
