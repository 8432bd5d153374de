"""The calendar's ConfigMapStateStore against the real API server."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from functions.calendar.kube_state import (
    ANNOTATION,
    ConfigMapStateStore,
    decode,
    encode,
    with_lease,
)
from functions.calendar.state import StateError
from gateways.registry.kubeapi import KubeAPI, KubeAPIError, Object
from gateways.source import Origin
from tests.kit import configmap, wait_until
from tests.kubekit import call, put_configmap
from tests.servicekit import KubernetesService

pytestmark = [pytest.mark.kubernetes, pytest.mark.timeout(60)]
GATEWAY = "calendar-gateway"
ORIGIN = Origin(GATEWAY, "every-minute", "calendar")
KEY = f"{GATEWAY}/every-minute"
NOON = datetime(2024, 3, 10, 12, 0, tzinfo=UTC)


def path(namespace: str, name: str = GATEWAY) -> str:
    return f"/api/v1/namespaces/{namespace}/configmaps/{name}"


@pytest.fixture
async def gateway_configmap(kubernetes_service: KubernetesService, namespace: str) -> str:
    document = configmap(
        GATEWAY, "calendar", {"every-minute": {"schedule": "* * * * *"}}, ["console"]
    )
    await put_configmap(kubernetes_service, namespace, document)
    return GATEWAY


async def test_save_and_load_round_trip(
    admin_api: KubeAPI,
    namespace: str,
    gateway_configmap: str,
    kubernetes_service: KubernetesService,
) -> None:
    store = ConfigMapStateStore(admin_api, namespace)
    assert await store.load(ORIGIN) is None

    await store.save(ORIGIN, NOON)
    assert await store.load(ORIGIN) == NOON
    await store.save(ORIGIN, NOON - timedelta(minutes=1))  # state never moves backwards
    assert await ConfigMapStateStore(admin_api, namespace).load(ORIGIN) == NOON

    document = await call(
        kubernetes_service, "GET", f"/api/v1/namespaces/{namespace}/configmaps/{GATEWAY}"
    )
    assert json.loads(document["metadata"]["annotations"][ANNOTATION])[KEY]["last"] == (
        "2024-03-10T12:00:00Z"
    )
    assert set(document["data"]) == {"every-minute"}  # the registry entries are untouched


async def test_a_live_claim_is_exclusive(
    admin_api: KubeAPI, namespace: str, gateway_configmap: str
) -> None:
    first = ConfigMapStateStore(admin_api, namespace, holder="replica-a")
    second = ConfigMapStateStore(admin_api, namespace, holder="replica-b")
    async with first.claim(ORIGIN) as claimed:
        assert claimed
        async with second.claim(ORIGIN) as also_claimed:
            assert not also_claimed
    async with second.claim(ORIGIN) as claimed_after_release:
        assert claimed_after_release


async def test_the_connected_store_reads_kubeconfig_from_the_environment(
    kubernetes_service: KubernetesService,
    namespace: str,
    gateway_configmap: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.setenv("KUBECONFIG", kubernetes_service.kubeconfig)  # set after the import
    store = ConfigMapStateStore.connect(namespace)
    await store.save(ORIGIN, NOON)
    assert await store.load(ORIGIN) == NOON


async def test_a_missing_configmap_is_a_state_error_naming_it(
    admin_api: KubeAPI, namespace: str
) -> None:
    store = ConfigMapStateStore(admin_api, namespace, "no-such-map")
    with pytest.raises(StateError) as caught:
        await store.load(ORIGIN)
    assert f"configmap {namespace}/no-such-map: cannot read: 404" in str(caught.value)
    assert 'configmaps "no-such-map" not found' in str(caught.value)  # the server's own words


class RacingKubeAPI(KubeAPI):
    """The core client, letting another replica write between a store's read and its replace."""

    def __init__(self, api: KubeAPI, interloper: Callable[[], None]) -> None:
        super().__init__(api.api_client)
        self.interloper = interloper
        self.replies: list[int] = []

    def put(self, path: str, body: Object) -> Object:
        if not self.replies:
            self.interloper()
        try:
            result = super().put(path, body)
        except KubeAPIError as exc:
            self.replies.append(exc.status)
            raise
        self.replies.append(200)
        return result


async def test_compare_and_swap_refuses_a_stale_claim(
    admin_api: KubeAPI, namespace: str, gateway_configmap: str
) -> None:
    def other_replica_takes_the_lease() -> None:  # between replica-a's read and its write
        document = admin_api.get(path(namespace))
        annotations = dict(document["metadata"].get("annotations") or {})
        now = datetime.now(UTC)
        state = with_lease(
            decode(annotations.get(ANNOTATION)), KEY, "replica-b", now, now + timedelta(minutes=5)
        )
        assert state is not None
        annotations[ANNOTATION] = encode(state)
        document["metadata"]["annotations"] = annotations
        admin_api.put(path(namespace), document)

    racing = RacingKubeAPI(admin_api, other_replica_takes_the_lease)
    store = ConfigMapStateStore(racing, namespace, holder="replica-a")
    async with store.claim(ORIGIN) as claimed:
        assert not claimed  # the stale write was refused, and the fresh read shows b's lease
    assert racing.replies == [409]
    document = admin_api.get(path(namespace))
    assert decode(document["metadata"]["annotations"][ANNOTATION])[KEY]["holder"] == "replica-b"


def past(moment: float) -> Callable[[], bool]:
    return lambda: time.monotonic() > moment


async def test_a_claim_held_longer_than_its_lease_is_renewed(
    admin_api: KubeAPI, namespace: str, gateway_configmap: str
) -> None:
    """A round whose emit takes longer than the lease keeps the source to itself."""
    short = timedelta(milliseconds=600)
    first = ConfigMapStateStore(admin_api, namespace, holder="replica-a", lease=short)
    second = ConfigMapStateStore(admin_api, namespace, holder="replica-b", lease=short)
    async with first.claim(ORIGIN) as claimed:
        assert claimed
        for _ in range(4):  # well past the lease, renewed every third of it
            await wait_until(past(time.monotonic() + 0.4), 5)
            async with second.claim(ORIGIN) as also_claimed:
                assert not also_claimed
    async with second.claim(ORIGIN) as claimed_after_release:
        assert claimed_after_release
