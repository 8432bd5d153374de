"""The calendar's ConfigMapStateStore against the real API server."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from kubernetes import client, config
from kubernetes.client.rest import ApiException

from functions.calendar.kube_state import (
    ANNOTATION,
    ConfigMapStateStore,
    decode,
    encode,
    with_lease,
)
from gateways.source import Origin
from tests.integration.kube.kit import call, put_configmap
from tests.kit import configmap
from tests.servicekit import KubernetesService

pytestmark = [pytest.mark.kubernetes, pytest.mark.timeout(60)]
GATEWAY = "calendar-gateway"
ORIGIN = Origin(GATEWAY, "every-minute", "calendar")
KEY = f"{GATEWAY}/every-minute"
NOON = datetime(2024, 3, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def core(kubernetes_service: KubernetesService) -> Iterator[client.CoreV1Api]:
    with config.new_client_from_config(config_file=kubernetes_service.kubeconfig) as api_client:
        yield client.CoreV1Api(api_client)


@pytest.fixture
async def gateway_configmap(kubernetes_service: KubernetesService, namespace: str) -> str:
    document = configmap(
        GATEWAY, "calendar", {"every-minute": {"schedule": "* * * * *"}}, ["console"]
    )
    await put_configmap(kubernetes_service, namespace, document)
    return GATEWAY


async def test_save_and_load_round_trip(
    core: client.CoreV1Api,
    namespace: str,
    gateway_configmap: str,
    kubernetes_service: KubernetesService,
) -> None:
    store = ConfigMapStateStore(core, namespace)
    assert await store.load(ORIGIN) is None

    await store.save(ORIGIN, NOON)
    assert await store.load(ORIGIN) == NOON
    await store.save(ORIGIN, NOON - timedelta(minutes=1))  # state never moves backwards
    assert await ConfigMapStateStore(core, namespace).load(ORIGIN) == NOON

    document = await call(
        kubernetes_service, "GET", f"/api/v1/namespaces/{namespace}/configmaps/{GATEWAY}"
    )
    assert json.loads(document["metadata"]["annotations"][ANNOTATION])[KEY]["last"] == (
        "2024-03-10T12:00:00Z"
    )
    assert set(document["data"]) == {"every-minute"}  # the registry entries are untouched


async def test_a_live_claim_is_exclusive(
    core: client.CoreV1Api, namespace: str, gateway_configmap: str
) -> None:
    first = ConfigMapStateStore(core, namespace, holder="replica-a")
    second = ConfigMapStateStore(core, namespace, holder="replica-b")
    async with first.claim(ORIGIN) as claimed:
        assert claimed
        async with second.claim(ORIGIN) as also_claimed:
            assert not also_claimed
    async with second.claim(ORIGIN) as claimed_after_release:
        assert claimed_after_release


class RacingCoreV1Api:
    """A CoreV1Api that lets another replica write between a store's read and its replace."""

    def __init__(self, api: client.CoreV1Api, interloper: Callable[[], None]) -> None:
        self.api = api
        self.interloper = interloper
        self.replies: list[int] = []

    def read_namespaced_config_map(self, name: str, namespace: str) -> Any:
        return self.api.read_namespaced_config_map(name, namespace)

    def replace_namespaced_config_map(self, name: str, namespace: str, body: Any) -> Any:
        if not self.replies:
            self.interloper()
        try:
            result = self.api.replace_namespaced_config_map(name, namespace, body)
        except ApiException as exc:
            self.replies.append(exc.status)
            raise
        self.replies.append(200)
        return result


async def test_compare_and_swap_refuses_a_stale_claim(
    core: client.CoreV1Api, namespace: str, gateway_configmap: str
) -> None:
    def other_replica_takes_the_lease() -> None:  # between replica-a's read and its write
        document: Any = core.read_namespaced_config_map(GATEWAY, namespace)
        annotations = dict(document.metadata.annotations or {})
        now = datetime.now(UTC)
        state = with_lease(
            decode(annotations.get(ANNOTATION)), KEY, "replica-b", now, now + timedelta(minutes=5)
        )
        assert state is not None
        annotations[ANNOTATION] = encode(state)
        document.metadata.annotations = annotations
        core.replace_namespaced_config_map(GATEWAY, namespace, document)

    racing = RacingCoreV1Api(core, other_replica_takes_the_lease)
    store = ConfigMapStateStore(racing, namespace, holder="replica-a")
    async with store.claim(ORIGIN) as claimed:
        assert not claimed  # the stale write was refused, and the fresh read shows b's lease
    assert racing.replies == [409]
    document: Any = core.read_namespaced_config_map(GATEWAY, namespace)
    assert decode(document.metadata.annotations[ANNOTATION])[KEY]["holder"] == "replica-b"
