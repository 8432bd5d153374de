"""gateways.checkpoints.ConfigMapCheckpoints against the real API server: checkpoints on the
gateway ConfigMap's annotation, debounced, flushed, and safe under concurrent writers."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

import pytest

from gateways.checkpoints import ConfigMapCheckpoints
from gateways.registry.kubeapi import KubeAPI
from tests.kit import configmap
from tests.kubekit import call, put_configmap
from tests.servicekit import KubernetesService

pytestmark = [pytest.mark.kubernetes, pytest.mark.timeout(60)]
GATEWAY = "resource-gateway"
ANNOTATION = "gateways.dev/test-checkpoints"


@dataclass(frozen=True)
class Mark:
    version: str

    def to_json(self) -> dict[str, Any]:
        return {"version": self.version}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Mark:
        return cls(str(data["version"]))


@pytest.fixture
async def gateway(kubernetes_service: KubernetesService, namespace: str) -> str:
    sources = {"pods": {"version": "v1", "resource": "pods"}}
    await put_configmap(kubernetes_service, namespace, configmap(GATEWAY, "resource", sources))
    return GATEWAY


def store(api: KubeAPI, namespace: str, debounce: float = 0.0) -> ConfigMapCheckpoints[Mark]:
    return ConfigMapCheckpoints(api, namespace, ANNOTATION, Mark.from_json, debounce=debounce)


async def annotation(kube: KubernetesService, namespace: str) -> dict[str, Any]:
    document = await call(kube, "GET", f"/api/v1/namespaces/{namespace}/configmaps/{GATEWAY}")
    assert set(document["data"]) == {"pods"}  # the registry entries are untouched
    return dict(json.loads(document["metadata"]["annotations"][ANNOTATION]))


async def test_a_checkpoint_is_read_by_the_next_owner(
    admin_api: KubeAPI, namespace: str, gateway: str, kubernetes_service: KubernetesService
) -> None:
    first = store(admin_api, namespace)
    assert await asyncio.to_thread(first.load, f"{gateway}/pods") is None
    await asyncio.to_thread(first.save, f"{gateway}/pods", Mark("42"))

    second = store(admin_api, namespace)  # another replica
    assert await asyncio.to_thread(second.load, f"{gateway}/pods") == Mark("42")
    assert await annotation(kubernetes_service, namespace) == {f"{gateway}/pods": {"version": "42"}}


async def test_saves_are_debounced_and_flush_writes_the_newest(
    admin_api: KubeAPI, namespace: str, gateway: str
) -> None:
    key = f"{gateway}/pods"
    writer = store(admin_api, namespace, debounce=30.0)
    reader = store(admin_api, namespace)
    await asyncio.to_thread(writer.save, key, Mark("1"))  # the first save is written at once
    for version in ("2", "3", "4"):
        await asyncio.to_thread(writer.save, key, Mark(version))
    assert await asyncio.to_thread(reader.load, key) == Mark("1")
    await asyncio.to_thread(writer.flush, key)  # as a source does when it stops
    assert await asyncio.to_thread(reader.load, key) == Mark("4")


async def test_a_debounced_save_is_written_by_its_timer(
    admin_api: KubeAPI, namespace: str, gateway: str
) -> None:
    key = f"{gateway}/pods"
    writer = store(admin_api, namespace, debounce=0.5)
    reader = store(admin_api, namespace)
    await asyncio.to_thread(writer.save, key, Mark("1"))
    await asyncio.to_thread(writer.save, key, Mark("2"))
    async with asyncio.timeout(10):
        while await asyncio.to_thread(reader.load, key) != Mark("2"):
            await asyncio.sleep(0.1)


async def test_writers_of_different_sources_lose_nothing(
    admin_api: KubeAPI, namespace: str, gateway: str, kubernetes_service: KubernetesService
) -> None:
    """Concurrent read-modify-replace on one ConfigMap: a 409 is retried on a fresh read."""
    stores = [store(admin_api, namespace) for _ in range(4)]

    def write(index: int) -> None:
        for version in range(5):
            stores[index].save(f"{gateway}/source-{index}", Mark(str(version)))

    await asyncio.gather(*(asyncio.to_thread(write, index) for index in range(4)))
    assert await annotation(kubernetes_service, namespace) == {
        f"{gateway}/source-{index}": {"version": "4"} for index in range(4)
    }


async def test_an_unreadable_annotation_starts_afresh(
    admin_api: KubeAPI, namespace: str, gateway: str, kubernetes_service: KubernetesService
) -> None:
    document = configmap(GATEWAY, "resource", {"pods": {"version": "v1", "resource": "pods"}})
    document["metadata"]["annotations"] = {ANNOTATION: "{not json"}
    await put_configmap(kubernetes_service, namespace, document)
    checkpoints = store(admin_api, namespace)
    assert await asyncio.to_thread(checkpoints.load, f"{gateway}/pods") is None
    await asyncio.to_thread(checkpoints.save, f"{gateway}/pods", Mark("7"))
    assert await asyncio.to_thread(checkpoints.load, f"{gateway}/pods") == Mark("7")
