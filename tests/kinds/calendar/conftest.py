"""Fixtures of the calendar kind's tests against the real API server (its ConfigMap state)."""

from __future__ import annotations

import pytest

from gateways.registry.kubeapi import KubeAPI, load_api_client
from tests.integration.kube.conftest import namespace  # noqa: F401 - a fresh namespace per test
from tests.servicekit import KubernetesService


@pytest.fixture
def kube_api(kubernetes_service: KubernetesService) -> KubeAPI:
    """The core client the state store uses, with the test API server's admin kubeconfig."""
    return KubeAPI(load_api_client(kubernetes_service.kubeconfig))
