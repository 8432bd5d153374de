"""What the registry needs from RBAC: get/list/watch on configmaps and create on events."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from functions.webhook.source import KIND as WEBHOOK
from gateways.dispatch import Dispatcher
from gateways.kinds import SourceContext
from gateways.registry.kube import KubeRegistry, RegistryAccessError
from gateways.registry.kubeapi import KubeAPI, token_api_client
from gateways.registry.reconciler import Reconciler
from gateways.settings import Settings
from tests.kit import configmap, free_port
from tests.kubekit import events_about, grant, put_configmap, wait_until_async
from tests.servicekit import KubernetesService
from tests.watcher import RecordingWatcher

pytestmark = [pytest.mark.kubernetes, pytest.mark.timeout(90)]
GATEWAY = "webhook-gateway"
REGISTRY_RULES = [
    {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "watch"]},
    {"apiGroups": [""], "resources": ["events"], "verbs": ["create"]},
]


def api_for(kube: KubernetesService, token: str) -> KubeAPI:
    return KubeAPI(token_api_client(kube.server, token, kube.ca))


async def test_least_privilege_service_account_is_enough(
    kubernetes_service: KubernetesService,
    namespace: str,
    watcher: RecordingWatcher,
    tmp_path: Path,
) -> None:
    kube = kubernetes_service
    token = await asyncio.to_thread(kube.mint_token, namespace, "gateways-registry")
    await grant(kube, namespace, "gateways-registry", REGISTRY_RULES)
    port = free_port()
    sources = {
        "good": {"port": port, "endpoint": "/good", "method": "POST"},
        "bad": {"port": port, "endpoint": "/bad", "method": "FETCH"},
    }
    await put_configmap(kube, namespace, configmap(GATEWAY, "webhook", sources, [watcher.url]))

    settings = Settings(state_dir=tmp_path)
    reconciler = Reconciler(SourceContext(settings), Dispatcher(), {"webhook": WEBHOOK})
    registry = KubeRegistry(namespace, [GATEWAY], reconciler.apply, api=api_for(kube, token))
    reconciler.on_change = registry.record_status
    await _start_once_rbac_settles(registry)
    try:
        statuses = {s.name: s.state for s in reconciler.status()}
        assert statuses == {"good": "running", "bad": "rejected"}

        async def recorded() -> bool:
            reasons = {e["reason"] for e in await events_about(kube, namespace, GATEWAY)}
            return {"SourceRunning", "SourceRejected"} <= reasons

        await wait_until_async(recorded, timeout=10)
        for event in await events_about(kube, namespace, GATEWAY):
            assert event["source"]["component"] == "gateways"
    finally:
        await registry.stop()
        await reconciler.close()


async def test_service_account_without_rights_is_refused_clearly(
    kubernetes_service: KubernetesService, namespace: str
) -> None:
    token = await asyncio.to_thread(kubernetes_service.mint_token, namespace, "no-rights")

    async def on_change(*_: object) -> None:
        raise AssertionError("nothing may be applied without access")

    registry = KubeRegistry(
        namespace, [GATEWAY], on_change, "webhook", api=api_for(kubernetes_service, token)
    )
    with pytest.raises(RegistryAccessError) as refused:
        await registry.start()
    message = str(refused.value)
    assert f"registry configmap/{GATEWAY} in namespace {namespace!r}" in message
    assert f"system:serviceaccount:{namespace}:no-rights" in message
    assert 'cannot list resource "configmaps"' in message
    assert "get, list and watch on configmaps" in message


async def _start_once_rbac_settles(registry: KubeRegistry) -> None:
    """The API server's RBAC cache takes a moment to see a new RoleBinding."""
    for _ in range(50):
        try:
            await registry.start()
            return
        except RegistryAccessError:
            await asyncio.sleep(0.1)
    await registry.start()
