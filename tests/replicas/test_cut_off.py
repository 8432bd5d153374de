"""A replica cut off from the API server stops its exclusive sources by the renew deadline
(it cannot renew their leases), the others take them once the leases expire, and it gets its
share back when it can reach the API server again."""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from gateways.replicas.hashing import assign
from tests.kit import configmap, wait_until_async
from tests.kubekit import put_configmap
from tests.registry.proxy import CuttableProxy
from tests.replicas.kit import (
    LEASE_DURATION,
    RENEW_DEADLINE,
    RETRY_PERIOD,
    Replica,
    kubeconfig_through,
    shares,
)
from tests.servicekit import KubernetesService
from tests.watcher import RecordingWatcher

pytestmark = [pytest.mark.kubernetes, pytest.mark.timeout(120)]
GATEWAY = "files"
SOURCES = {f"s{n:02}" for n in range(12)}


async def test_a_replica_cut_off_stops_its_sources_and_the_others_take_them(
    kubernetes_service: KubernetesService,
    namespace: str,
    watcher: RecordingWatcher,
    tmp_path: Path,
) -> None:
    kube = kubernetes_service
    upstream = urlsplit(kube.server)
    proxy = await CuttableProxy(upstream.hostname or "127.0.0.1", upstream.port or 443).start()
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    sources = {
        name: {"directory": str(inbox), "type": "CREATE", "path": f"{name}.json"}
        for name in SOURCES
    }
    await put_configmap(kube, namespace, configmap(GATEWAY, "file", sources, [watcher.url]))
    cut_off = Replica(
        "file-adapter-0",
        kube,
        namespace,
        GATEWAY,
        tmp_path,
        kubeconfig_through(kube, proxy.url, tmp_path / "through-proxy.yaml"),
    )
    replicas = [
        cut_off,
        *(Replica(f"file-adapter-{n}", kube, namespace, GATEWAY, tmp_path) for n in (1, 2)),
    ]
    for replica in replicas:
        await replica.start()
    found: dict[str, set[str]] = {}

    async def spread(members: set[str]) -> bool:
        nonlocal found
        found = {name: share for name, share in (await shares(replicas)).items() if share}
        wanted = assign([f"{GATEWAY}/{name}" for name in SOURCES], members)
        expected = {m: {k.split("/")[1] for k, o in wanted.items() if o == m} for m in members}
        return found == {m: share for m, share in expected.items() if share}

    try:
        everyone = {replica.name for replica in replicas}
        await wait_until_async(lambda: spread(everyone), timeout=60, interval=0.2)
        assert found.get(cut_off.name), "the cut-off replica owns some sources first"

        await proxy.cut()
        started = time.monotonic()
        await wait_until_async(
            lambda: _runs_nothing(cut_off), timeout=RENEW_DEADLINE + 2 * RETRY_PERIOD + 1.0
        )
        stopped = time.monotonic() - started
        await wait_until_async(
            lambda: spread(everyone - {cut_off.name}),
            timeout=LEASE_DURATION + 4 * RETRY_PERIOD + 2.0,
            interval=0.1,
        )
        took = time.monotonic() - started
        print(f"cut off: its sources stopped after {stopped:.1f}s, run elsewhere after {took:.1f}s")

        await proxy.start()
        await wait_until_async(lambda: spread(everyone), timeout=30, interval=0.2)
    finally:
        for replica in replicas:
            await replica.terminate()
        await proxy.cut()


async def _runs_nothing(replica: Replica) -> bool:
    sources = replica.sources()
    return bool(sources) and not any(s["state"] == "running" for s in sources.values())
