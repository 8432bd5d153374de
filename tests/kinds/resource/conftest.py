"""Fixtures of the resource kind: the gateway process's credentials pointed at the real API
server (a fresh namespace per test comes from tests/conftest.py)."""

from __future__ import annotations

import pytest

from tests.servicekit import KubernetesService


@pytest.fixture
def kubeconfig(kubernetes_service: KubernetesService, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBECONFIG", kubernetes_service.kubeconfig)
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
