"""Fixtures for tests against the real Kubernetes API server: a fresh namespace per test."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from gateways.registry.kubeapi import KubeAPI, load_api_client
from tests.integration.kube.kit import call
from tests.kit import unique
from tests.servicekit import KubernetesService


@pytest.fixture
async def namespace(kubernetes_service: KubernetesService) -> AsyncIterator[str]:
    name = unique("gw-")
    await call(kubernetes_service, "POST", "/api/v1/namespaces", {"metadata": {"name": name}})
    yield name
    # No controller-manager runs, so the namespace stays Terminating; its name is unique.
    await call(kubernetes_service, "DELETE", f"/api/v1/namespaces/{name}", expect=(200, 202, 404))


@pytest.fixture
def admin_api(kubernetes_service: KubernetesService) -> KubeAPI:
    return KubeAPI(load_api_client(kubernetes_service.kubeconfig))
