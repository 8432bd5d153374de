"""Fixtures of the resource kind: a fresh namespace of the real API server per test (the
registry tests' fixture, shared), and the gateway process's credentials pointed at that server."""

from __future__ import annotations

import pytest

from tests.integration.kube.conftest import namespace
from tests.servicekit import KubernetesService

__all__ = ["kubeconfig", "namespace"]


@pytest.fixture
def kubeconfig(kubernetes_service: KubernetesService, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBECONFIG", kubernetes_service.kubeconfig)
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
