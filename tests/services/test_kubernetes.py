"""Smoke test: the Kubernetes API server from scripts/services, through the kubernetes client."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException

from tests.servicekit import KubernetesService

pytestmark = [pytest.mark.kubernetes, pytest.mark.timeout(60)]


@pytest.fixture
def admin(kubernetes_service: KubernetesService) -> Iterator[client.CoreV1Api]:
    api_client = config.new_client_from_config(config_file=kubernetes_service.kubeconfig)
    with api_client:
        yield client.CoreV1Api(api_client)


@pytest.fixture
def namespace(admin: client.CoreV1Api) -> Iterator[str]:
    name = f"gw-smoke-{uuid.uuid4().hex[:10]}"
    admin.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    yield name
    # No controller-manager runs, so the namespace stays Terminating; its name is unique.
    admin.delete_namespace(name)


def test_watch_sees_configmap_added(admin: client.CoreV1Api, namespace: str) -> None:
    start = admin.list_namespaced_config_map(namespace).metadata.resource_version
    admin.create_namespaced_config_map(
        namespace,
        client.V1ConfigMap(metadata=client.V1ObjectMeta(name="smoke"), data={"greeting": "hello"}),
    )

    w = watch.Watch()
    seen = None
    for event in w.stream(
        admin.list_namespaced_config_map, namespace, resource_version=start, timeout_seconds=20
    ):
        if event["type"] == "ADDED" and event["object"].metadata.name == "smoke":
            seen = event["object"]
            w.stop()
    assert seen is not None, "no ADDED event for the ConfigMap"
    assert seen.data == {"greeting": "hello"}


def test_service_account_without_rbac_is_forbidden(
    kubernetes_service: KubernetesService, namespace: str
) -> None:
    token = kubernetes_service.mint_token(namespace, "no-rights")

    status, review = kubernetes_service.request(
        "POST",
        "/apis/authentication.k8s.io/v1/selfsubjectreviews",
        {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"},
        token=token,
    )
    assert status == 201
    assert review["status"]["userInfo"]["username"] == (
        f"system:serviceaccount:{namespace}:no-rights"
    )

    conf = client.Configuration()
    conf.host = kubernetes_service.server
    conf.ssl_ca_cert = kubernetes_service.ca
    conf.api_key = {"authorization": f"Bearer {token}"}
    with client.ApiClient(conf) as api_client, pytest.raises(ApiException) as err:
        client.CoreV1Api(api_client).list_namespaced_config_map(namespace)
    assert err.value.status == 403
    assert "forbidden" in (err.value.body or "").lower()
