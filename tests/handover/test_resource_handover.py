"""The resource kind across a SIGKILL: every change to the watched objects is delivered.

The adapter runs as a cluster process (the registry from a ConfigMap), so its checkpoints
live on the gateway ConfigMap's annotation ``gateways.dev/resource-checkpoints``. It is
SIGKILLed right after a burst of changes; objects are then created, updated and deleted with
no adapter running; the next process goes on from the checkpoint. Changes are counted by
CloudEvent id (``<uid>/<resourceVersion>/<action>``). Checkpoint writes are debounced
(1 s), so the changes delivered in the last second before the kill may come again, with
the same id; nothing else does.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import MakeWatcher
from tests.handover.replicas import Replica, replica_maker
from tests.kit import configmap, unique, wait_until, wait_until_async
from tests.kubekit import call, put_configmap
from tests.servicekit import KubernetesService
from tests.watcher import RecordingWatcher

pytestmark = [pytest.mark.kubernetes, pytest.mark.timeout(120)]
DEBOUNCE = 1.0  # ConfigMapCheckpoints' default
ANNOTATION = "gateways.dev/resource-checkpoints"


class Objects:
    """The watched ConfigMaps; every change made is recorded as the id its event will carry
    (a deletion's resourceVersion is not known to the client: ``<uid>/*/delete``)."""

    def __init__(self, kube: KubernetesService, namespace: str) -> None:
        self.kube, self.namespace = kube, namespace
        self.path = f"/api/v1/namespaces/{namespace}/configmaps"
        self.uids: dict[str, str] = {}
        self.changes: list[str] = []

    async def create(self, name: str) -> None:
        body = {"metadata": {"name": name, "labels": {"app": "watched"}}, "data": {"n": "0"}}
        made = await call(self.kube, "POST", self.path, body)
        self.uids[name] = made["metadata"]["uid"]
        self.changes.append(f"{self.uids[name]}/{made['metadata']['resourceVersion']}/add")

    async def update(self, name: str, value: str) -> None:
        current = await call(self.kube, "GET", f"{self.path}/{name}")
        current["data"] = {"n": value}
        made = await call(self.kube, "PUT", f"{self.path}/{name}", current)
        self.changes.append(f"{self.uids[name]}/{made['metadata']['resourceVersion']}/update")

    async def delete(self, name: str) -> None:
        await call(self.kube, "DELETE", f"{self.path}/{name}")
        self.changes.append(f"{self.uids[name]}/*/delete")


async def checkpoints(kube: KubernetesService, namespace: str, gateway: str) -> dict[str, Any]:
    """The gateway ConfigMap's resource checkpoints (empty before the first write)."""
    document = await call(kube, "GET", f"/api/v1/namespaces/{namespace}/configmaps/{gateway}")
    text = (document["metadata"].get("annotations") or {}).get(ANNOTATION)
    return dict(json.loads(text)) if text else {}


def ids(watcher: RecordingWatcher) -> list[str]:
    return [e.id for e in watcher.events]


def as_change(event_id: str) -> str:
    uid, _, action = event_id.split("/")
    return f"{uid}/*/delete" if action == "delete" else event_id


async def watched_gateway(kubernetes_service: KubernetesService, namespace: str) -> str:
    """A resource gateway watching the ConfigMaps labelled ``app=watched`` in ``namespace``."""
    gateway = unique("resource-")
    source = {
        "namespace": namespace,
        "version": "v1",
        "kind": "ConfigMap",
        "labelSelector": "app=watched",
    }
    await put_configmap(
        kubernetes_service, namespace, configmap(gateway, "resource", {"watched": source}, [])
    )
    return gateway


async def test_changes_while_the_owner_is_killed_are_delivered(
    kubernetes_service: KubernetesService,
    namespace: str,
    make_watcher: MakeWatcher,
    tmp_path: Path,
) -> None:
    gateway = await watched_gateway(kubernetes_service, namespace)
    objects = Objects(kubernetes_service, namespace)
    first_watcher, second_watcher = await make_watcher(), await make_watcher()

    def replica(watcher: RecordingWatcher, name: str) -> Replica:
        return Replica("resource", kubernetes_service, namespace, gateway, watcher, tmp_path, name)

    first = replica(first_watcher, "first")
    second = replica(second_watcher, "second")
    try:
        await first.start()
        await changes_around_a_kill(first, second, objects, first_watcher, second_watcher)
    finally:
        await first.stop()
        await second.stop()
    assert Counter(ids(second_watcher)).most_common(1)[0][1] == 1
    repeated = set(ids(first_watcher)) & set(ids(second_watcher))
    assert first.killed_at is not None
    late = {
        r.event.id
        for r in first_watcher.requests
        if r.event is not None and r.received_at > first.killed_at - DEBOUNCE - 0.5
    }
    print(
        f"changes {len(objects.changes)}; delivered before the kill {len(ids(first_watcher))},"
        f" after {len(ids(second_watcher))}; repeated {len(repeated)}"
        f" (delivered within the debounce before the kill: {len(late)})"
    )
    assert repeated <= late
    assert repeated <= set(objects.changes[4:9])  # of the burst only
    stored = await checkpoints(kubernetes_service, namespace, gateway)
    assert set(stored) == {f"{gateway}/watched"}
    unexpected: Any = {as_change(i) for i in ids(second_watcher)} - set(objects.changes)
    assert not unexpected, unexpected


async def changes_around_a_kill(
    first: Replica,
    second: Replica,
    objects: Objects,
    first_watcher: RecordingWatcher,
    second_watcher: RecordingWatcher,
) -> None:
    """Adds (checkpointed), a burst of updates, the SIGKILL, changes while none runs, the
    next process, and one change after it took over; returns once all were delivered."""
    gateway = first.environment["GATEWAYS_CONFIGMAPS"]
    namespace = first.environment["NAMESPACE"]
    for index in range(4):
        await objects.create(f"w-{index}")
    await wait_until(lambda: len(ids(first_watcher)) >= 4, 30, ids, first_watcher)
    last_add = objects.changes[-1].split("/")[1]

    async def checkpointed() -> bool:
        stored = await checkpoints(objects.kube, namespace, gateway)
        version = stored.get(f"{gateway}/watched", {}).get("resource_version", "0")
        return int(version) >= int(last_add)  # a bookmark may have moved it further

    await wait_until_async(checkpointed, 10)  # the debounced write of the adds came
    for value in range(1, 6):  # a burst, the owner killed right after it
        await objects.update("w-0", str(value))
    first.kill()
    await first.wait()

    await objects.create("w-4")
    await objects.update("w-1", "1")
    await objects.delete("w-2")
    await objects.update("w-3", "1")
    await objects.update("w-3", "2")
    await objects.delete("w-4")

    await second.start()

    def delivered() -> set[str]:
        return {as_change(i) for i in ids(first_watcher) + ids(second_watcher)}

    await wait_until(
        lambda: set(objects.changes) <= delivered(),
        45,
        lambda: set(objects.changes) - delivered(),
    )
    await objects.update("w-1", "2")  # the new owner goes on watching
    await wait_until(lambda: set(objects.changes) <= delivered(), 15)


async def test_three_replicas_owner_killed_twice(
    kubernetes_service: KubernetesService,
    namespace: str,
    make_watcher: MakeWatcher,
    tmp_path: Path,
) -> None:
    """Three replicas, one owner (a Lease per source); the owner is SIGKILLed twice while
    objects change. Every change is delivered; a repeat only of what the killed owner
    delivered in its last second."""
    gateway = await watched_gateway(kubernetes_service, namespace)
    objects = Objects(kubernetes_service, namespace)
    watchers = [await make_watcher() for _ in range(3)]

    replica = replica_maker("resource", kubernetes_service, namespace, gateway, watchers, tmp_path)

    def delivered() -> set[str]:
        return {as_change(i) for w in watchers for i in ids(w)}

    def all_delivered() -> bool:
        return set(objects.changes) <= delivered()

    replicas = [replica(i, 0) for i in range(3)]
    late: set[str] = set()
    try:
        for started in replicas:
            await started.start()
        for index in range(3):
            await objects.create(f"w-{index}")
        await wait_until(all_delivered, 30)
        for kill in range(2):
            owners = [w for w in watchers if ids(w)]
            owner = watchers.index(max(owners, key=lambda w: w.requests[-1].received_at))
            await objects.update(f"w-{kill}", "1")
            await wait_until(all_delivered, 15)
            killed_at = replicas[owner].kill()
            await replicas[owner].wait()
            late |= {
                r.event.id
                for r in watchers[owner].requests
                if r.event is not None and r.received_at > killed_at - DEBOUNCE - 0.5
            }
            await objects.create(f"k-{kill}")
            await objects.update("w-2", str(kill + 2))
            await objects.delete(f"w-{kill}")
            waited = time.monotonic()
            await wait_until(all_delivered, 60, lambda: set(objects.changes) - delivered())
            print(
                f"kill {kill + 1}: replica {owner} killed;"
                f" changes made meanwhile delivered {time.monotonic() - waited:.1f}s later"
            )
            replicas[owner] = await replica(owner, kill + 1).start()
    finally:
        for running in replicas:
            await running.stop()

    counts = Counter(i for w in watchers for i in ids(w))
    repeated = {i for i, n in counts.items() if n > 1}
    print(f"changes {len(objects.changes)}; deliveries {counts.total()}; repeated {len(repeated)}")
    assert repeated <= late
    assert {as_change(i) for i in counts} == set(objects.changes)
