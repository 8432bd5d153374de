"""Leases against the real API server, with two file-adapter replicas: the Lease of a source
removed from the registry is deleted by its owner; on a graceful stop the Leases of the
sources that stay are released (kept, held by nobody, for the next owner) and each replica's
member Lease is deleted."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from gateways.replicas.leases import ROLE_LABEL, leases_path, source_lease_name
from tests.kit import configmap, wait_until_async
from tests.kubekit import call, put_configmap
from tests.replicas.kit import Replica, shares
from tests.servicekit import KubernetesService
from tests.watcher import RecordingWatcher

pytestmark = [pytest.mark.kubernetes, pytest.mark.timeout(120)]
GATEWAY = "files"


async def lease(kube: KubernetesService, namespace: str, source: str) -> dict[str, Any] | None:
    """The Lease of ``<GATEWAY>/<source>`` (None: there is none)."""
    path = f"{leases_path(namespace)}/{source_lease_name(f'{GATEWAY}/{source}')}"
    status, document = await asyncio.to_thread(kube.request, "GET", path)
    assert status in (200, 404), f"GET {path}: {status} {document.get('message')}"
    return document if status == 200 else None


async def leases(kube: KubernetesService, namespace: str, role: str) -> list[dict[str, Any]]:
    path = f"{leases_path(namespace)}?labelSelector={ROLE_LABEL}={role}"
    return list((await call(kube, "GET", path)).get("items") or [])


async def test_a_removed_source_loses_its_lease_and_a_stop_releases_the_others(
    kubernetes_service: KubernetesService,
    namespace: str,
    watcher: RecordingWatcher,
    tmp_path: Path,
) -> None:
    kube = kubernetes_service
    inbox = tmp_path / "inbox"
    inbox.mkdir()

    def sources(*names: str) -> dict[str, Any]:
        return {name: {"directory": str(inbox), "type": "CREATE", "path": name} for name in names}

    names = ("kept", "removed")
    await put_configmap(kube, namespace, configmap(GATEWAY, "file", sources(*names), [watcher.url]))
    replicas = [Replica(f"file-adapter-{n}", kube, namespace, GATEWAY, tmp_path) for n in range(2)]

    async def running(wanted: set[str]) -> bool:
        found = await shares(replicas)
        every = [name for share in found.values() for name in share]
        return len(found) == 2 and sorted(every) == sorted(wanted)

    try:
        for replica in replicas:
            await replica.start()
        await wait_until_async(lambda: running(set(names)), timeout=60, interval=0.2)
        owned = await lease(kube, namespace, "removed")
        assert owned is not None and owned["spec"]["holderIdentity"].startswith("file-adapter-")

        async def members() -> bool:
            return len(await leases(kube, namespace, "member")) == 2

        await wait_until_async(members, timeout=10, interval=0.2)

        await put_configmap(
            kube, namespace, configmap(GATEWAY, "file", sources("kept"), [watcher.url])
        )

        async def gone() -> bool:
            return await lease(kube, namespace, "removed") is None

        await wait_until_async(gone, timeout=20, interval=0.2)
        await wait_until_async(lambda: running({"kept"}), timeout=10, interval=0.2)
        kept = await lease(kube, namespace, "kept")
        assert kept is not None and kept["spec"].get("holderIdentity")
    finally:
        for replica in replicas:
            await replica.terminate()

    kept = await lease(kube, namespace, "kept")
    assert kept is not None, "a stop releases a source's lease; it does not delete it"
    assert not kept["spec"].get("holderIdentity")
    assert await leases(kube, namespace, "member") == []
    assert [item["metadata"]["name"] for item in await leases(kube, namespace, "source")] == [
        source_lease_name(f"{GATEWAY}/kept")
    ]
