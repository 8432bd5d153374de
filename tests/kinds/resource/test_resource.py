"""The resource adapter against the real API server: ConfigMap changes as CloudEvents."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from gateways.events.model import CloudEvent
from gateways.runtime import GatewayRuntime
from tests.kit import configmap, start_gateway, status_of, unique, wait_until, write_registry
from tests.kubekit import delete, put_configmap
from tests.servicekit import KubernetesService, unavailable
from tests.watcher import RecordingWatcher

pytestmark = [pytest.mark.kubernetes, pytest.mark.timeout(90)]
GATEWAY, SOURCE = "resource-gateway", "configmaps"


@pytest.fixture
def registry(tmp_path: Path, namespace: str, watcher: RecordingWatcher) -> Path:
    source = {
        "namespace": namespace,
        "version": "v1",
        "kind": "ConfigMap",
        "labelSelector": "app=watched",
        "filter": {"prefix": "w-"},
    }
    document = configmap(GATEWAY, "resource", {SOURCE: source}, watchers=[watcher.url])
    return write_registry(tmp_path / "registry.yaml", document)


@pytest.fixture
async def gateway(kubeconfig: None, registry: Path, tmp_path: Path) -> AsyncIterator[Runner]:
    runner = Runner(registry, tmp_path)
    yield runner
    await runner.stop()


class Runner:
    """Starts and stops the gateway over one registry file and one state directory."""

    def __init__(self, registry: Path, tmp_path: Path) -> None:
        self.registry, self.tmp_path = registry, tmp_path
        self.runtime: GatewayRuntime | None = None

    async def start(self) -> GatewayRuntime:
        self.runtime = await start_gateway(self.registry, self.tmp_path)
        runtime = self.runtime
        await wait_until(lambda: status_of(runtime, SOURCE).state == "running", timeout=10)
        return runtime

    async def stop(self) -> None:
        if self.runtime is not None:
            await self.runtime.stop()
            self.runtime = None


def watched(name: str, *, app: str = "watched", **data: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "labels": {"app": app}},
        "data": data,
    }


def payload(event: CloudEvent) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(event.data or b"null")
    return data


async def events(watcher: RecordingWatcher, count: int) -> list[CloudEvent]:
    requests = await watcher.wait_for(count, timeout=10)
    return [r.event for r in requests if r.event is not None]


async def all_events(
    kube: KubernetesService, namespace: str, watcher: RecordingWatcher, count: int
) -> list[CloudEvent]:
    """The first ``count`` events, and that no other came: changes arrive in order, so a
    sentinel object put now arrives next, after anything that was still to come."""
    sentinel = unique("w-sentinel-")
    await put_configmap(kube, namespace, watched(sentinel))
    received = await events(watcher, count + 1)
    assert [e.attributes["subject"] for e in received[count:]] == [f"{namespace}/{sentinel}"]
    return received[:count]


async def test_add_update_delete_with_selectors(
    kubernetes_service: KubernetesService,
    namespace: str,
    gateway: Runner,
    watcher: RecordingWatcher,
) -> None:
    kube = kubernetes_service
    await gateway.start()
    await put_configmap(kube, namespace, watched("other", app="ignored"))  # label selector
    await put_configmap(kube, namespace, watched("x-unwanted"))  # filter.prefix
    await put_configmap(kube, namespace, watched("w-one", colour="red"))
    await put_configmap(kube, namespace, watched("w-one", colour="blue"))
    await delete(kube, namespace, "w-one")

    added, updated, deleted = await all_events(kube, namespace, watcher, 3)  # none filtered out

    assert [e.attributes["type"] for e in (added, updated, deleted)] == [
        "dev.gateways.resource.add",
        "dev.gateways.resource.update",
        "dev.gateways.resource.delete",
    ]
    for event in (added, updated, deleted):
        attributes = event.attributes
        assert attributes["source"] == f"/gateways/{GATEWAY}/{SOURCE}"
        assert attributes["subject"] == f"{namespace}/w-one"
        assert attributes["datacontenttype"] == "application/json"
        assert attributes["resourcekind"] == "ConfigMap"
        assert attributes["resourceversion"] == "v1"
        assert attributes["resourcenamespace"] == namespace
        assert attributes["resourcename"] == "w-one"
        assert "resourcegroup" not in attributes  # the core group has no name
        obj = payload(event)["object"]
        uid, version = obj["metadata"]["uid"], obj["metadata"]["resourceVersion"]
        action = attributes["type"].rsplit(".", 1)[1]
        assert attributes["id"] == f"{uid}/{version}/{action}"

    assert payload(added)["type"] == "ADD" and payload(added)["object"]["data"] == {"colour": "red"}
    assert "oldObject" not in payload(added)
    assert payload(updated)["type"] == "UPDATE"
    assert payload(updated)["object"]["data"] == {"colour": "blue"}
    assert payload(updated)["oldObject"]["data"] == {"colour": "red"}
    assert payload(deleted)["type"] == "DELETE"


async def test_restart_neither_replays_nor_loses_changes(
    kubernetes_service: KubernetesService,
    namespace: str,
    gateway: Runner,
    watcher: RecordingWatcher,
) -> None:
    kube = kubernetes_service
    await put_configmap(kube, namespace, watched("w-existing", v="0"))
    await gateway.start()
    # First start: what exists arrives as add, as an informer would list it.
    await put_configmap(kube, namespace, watched("w-kept", v="1"))
    await put_configmap(kube, namespace, watched("w-doomed", v="1"))
    before = await events(watcher, 3)
    assert {e.attributes["subject"].split("/")[1] for e in before} == {
        "w-existing",
        "w-kept",
        "w-doomed",
    }
    await gateway.stop()

    # Changes made while the source is stopped.
    await put_configmap(kube, namespace, watched("w-kept", v="2"))
    await put_configmap(kube, namespace, watched("w-new", v="1"))
    await delete(kube, namespace, "w-doomed")

    await gateway.start()
    after = (await all_events(kube, namespace, watcher, 6))[3:]  # none delivered twice
    by_name = {e.attributes["subject"].split("/")[1]: e for e in after}
    assert set(by_name) == {"w-kept", "w-new", "w-doomed"}
    assert by_name["w-kept"].attributes["type"] == "dev.gateways.resource.update"
    assert payload(by_name["w-kept"])["oldObject"]["data"] == {"v": "1"}  # primed at restart
    assert by_name["w-new"].attributes["type"] == "dev.gateways.resource.add"
    assert by_name["w-doomed"].attributes["type"] == "dev.gateways.resource.delete"
    assert not {e.attributes["id"] for e in after} & {e.attributes["id"] for e in before}


async def test_unknown_kind_is_reported(
    kubernetes_service: KubernetesService, namespace: str, kubeconfig: None, tmp_path: Path
) -> None:
    source = {"namespace": namespace, "group": "example.com", "version": "v1", "kind": "Nope"}
    registry = write_registry(
        tmp_path / "registry.yaml", configmap(GATEWAY, "resource", {SOURCE: source}, ["console"])
    )
    runtime = await start_gateway(registry, tmp_path)
    try:
        await wait_until(lambda: status_of(runtime, SOURCE).state == "degraded", timeout=10)
        reason = status_of(runtime, SOURCE).reason
        assert "kind 'Nope'" in reason and "example.com/v1" in reason
    finally:
        await runtime.stop()


ETCD = "http://127.0.0.1:12379"  # the etcd behind the test API server (scripts/_services)


async def compact_etcd() -> None:
    """Compact etcd to its current revision: older resourceVersions are gone (410)."""

    def compact() -> None:
        import urllib.request

        def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
            request = urllib.request.Request(  # noqa: S310 - the test etcd on 127.0.0.1
                ETCD + path, data=json.dumps(body).encode(), method="POST"
            )
            with urllib.request.urlopen(request, timeout=10) as reply:  # noqa: S310
                answer: dict[str, Any] = json.loads(reply.read())
                return answer

        revision = post("/v3/kv/range", {"key": "AA=="})["header"]["revision"]
        post("/v3/kv/compaction", {"revision": revision, "physical": True})

    try:
        await asyncio.to_thread(compact)
    except OSError as exc:
        unavailable("kubernetes", f"cannot reach the test etcd at {ETCD}: {exc}")


async def test_restart_after_the_checkpoint_was_compacted(
    kubernetes_service: KubernetesService,
    namespace: str,
    gateway: Runner,
    watcher: RecordingWatcher,
) -> None:
    kube = kubernetes_service
    await gateway.start()
    await put_configmap(kube, namespace, watched("w-same", v="1"))
    await put_configmap(kube, namespace, watched("w-kept", v="1"))
    await put_configmap(kube, namespace, watched("w-doomed", v="1"))
    before = await events(watcher, 3)
    await gateway.stop()

    await asyncio.sleep(1.1)  # creationTimestamp has whole seconds; the checkpoint is older
    await put_configmap(kube, namespace, watched("w-kept", v="2"))
    await put_configmap(kube, namespace, watched("w-new", v="1"))
    await delete(kube, namespace, "w-doomed")
    await compact_etcd()

    await gateway.start()
    # w-same is not replayed; w-doomed's delete is the gap
    after = (await all_events(kube, namespace, watcher, 5))[3:]
    by_name = {e.attributes["subject"].split("/")[1]: e for e in after}
    assert set(by_name) == {"w-kept", "w-new"}
    assert by_name["w-kept"].attributes["type"] == "dev.gateways.resource.update"
    assert payload(by_name["w-kept"])["oldObject"] is None
    assert payload(by_name["w-kept"])["object"]["data"] == {"v": "2"}
    assert by_name["w-new"].attributes["type"] == "dev.gateways.resource.add"
    assert not {e.attributes["id"] for e in after} & {e.attributes["id"] for e in before}
