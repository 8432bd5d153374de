"""The artifact kind across a SIGKILL and a SIGTERM of its owner, with two replicas against the
real API server and a MinIO of the test's own (the service's build, which flushes each
notification).

The registry is a ConfigMap, so the listing checkpoint lives on the gateway ConfigMap's
annotation ``gateways.dev/artifact-checkpoints`` (no replica writes a checkpoint file). The
owner is SIGKILLed while it delivers a window of uploads; more are uploaded while no replica
runs the source; the other replica takes it over once its Lease expires and lists the bucket
from that checkpoint. Every upload is delivered; the objects the checkpoint covers are not
delivered again (a replica that started afresh would deliver nothing it lists, and one that
ignored ``recent`` would send the last ones again); a repeat only of what the killed owner
delivered in the last debounce (1 s) before the kill, with the same id. On a SIGTERM the
owner writes its last checkpoint before it releases the Lease, so nothing comes twice.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from gateways.replicas.hashing import preferred
from tests.conftest import MakeWatcher
from tests.handover.replicas import Replica
from tests.kinds.artifact.conftest import (
    ACCESS_KEY_VARIABLE,
    SECRET_KEY_VARIABLE,
    Bucket,
    source_fields,
)
from tests.kinds.artifact.kit import accepted, by_key, new_bucket, put_all, window
from tests.kit import configmap, unique, wait_until, wait_until_async
from tests.kubekit import call, put_configmap
from tests.servicekit import KubernetesService, MinioService

pytestmark = [pytest.mark.kubernetes, pytest.mark.minio, pytest.mark.timeout(120)]
ANNOTATION = "gateways.dev/artifact-checkpoints"
SOURCE = "uploads"
DEBOUNCE = 1.0  # ConfigMapCheckpoints' default
DELAY = 0.3  # the owner's watcher, slowed down so that the kill lands mid-window
# Short leases: the takeover takes seconds (the uploads "while down" take well under one).
TIMINGS = {
    "GATEWAYS_LEASE_DURATION": "5s",
    "GATEWAYS_RENEW_DEADLINE": "3s",
    "GATEWAYS_RETRY_PERIOD": "500ms",
}


async def stored(kube: KubernetesService, namespace: str, gateway: str) -> dict[str, Any]:
    """The gateway ConfigMap's artifact checkpoints (empty before the first write)."""
    document = await call(kube, "GET", f"/api/v1/namespaces/{namespace}/configmaps/{gateway}")
    text = (document["metadata"].get("annotations") or {}).get(ANNOTATION)
    return dict(json.loads(text)) if text else {}


async def settled(replicas: list[Replica], owner: Replica) -> bool:
    """``owner`` runs the source; every other replica is on standby naming it."""
    for replica in replicas:
        found = await _source(replica)
        state = "running" if replica is owner else "standby"
        if found.get("state") != state or found.get("owner") != owner.name:
            return False
    return True


async def _source(replica: Replica) -> dict[str, Any]:
    url = f"http://127.0.0.1:{replica.admin_port}/status"
    try:
        async with aiohttp.ClientSession() as session, session.get(url) as response:
            page = await response.json()
    except (aiohttp.ClientError, OSError, ValueError):
        return {}
    return next((s for s in page.get("sources") or [] if s["name"] == SOURCE), {})


@dataclass
class Pair:
    """Two replicas of the artifact adapter; ``owner`` (the one rendezvous hashing prefers)
    starts first, so it owns the source from its start and no handover comes before the test's."""

    owner: Replica
    heir: Replica
    bucket: Bucket
    gateway: str

    @property
    def key(self) -> str:
        return f"{self.gateway}/{SOURCE}"

    @property
    def replicas(self) -> list[Replica]:
        return [self.owner, self.heir]

    async def start(self) -> None:
        for replica in self.replicas:
            await replica.start()
        await wait_until_async(lambda: settled(self.replicas, self.owner), 30, 0.2)
        await self.bucket.pump(lambda: bool(self.owner.watcher.requests))  # listening

    async def stop(self) -> None:
        for replica in self.replicas:
            await replica.stop()
        await self.bucket.remove()

    def delivered(self) -> set[str]:
        return set(by_key(self.owner.watcher)) | set(by_key(self.heir.watcher))


async def two_replicas(
    kube: KubernetesService,
    namespace: str,
    minio: MinioService,
    make_watcher: MakeWatcher,
    tmp_path: Path,
) -> Pair:
    bucket = await new_bucket(minio)
    gateway = unique("artifact-")
    document = configmap(gateway, "artifact", {SOURCE: source_fields(minio, bucket)}, [])
    await put_configmap(kube, namespace, document)
    replicas = [
        Replica("artifact", kube, namespace, gateway, await make_watcher(), tmp_path, name)
        for name in ("replica-0", "replica-1")
    ]
    for replica in replicas:
        replica.environment.update(TIMINGS)
        replica.environment[ACCESS_KEY_VARIABLE] = minio.access_key
        replica.environment[SECRET_KEY_VARIABLE] = minio.secret_key
    first = preferred(f"{gateway}/{SOURCE}", [r.name for r in replicas])
    replicas.sort(key=lambda r: r.name != first)
    return Pair(replicas[0], replicas[1], bucket, gateway)


async def test_uploads_while_the_owner_is_killed_are_listed_from_the_configmap_checkpoint(
    kubernetes_service: KubernetesService,
    namespace: str,
    own_minio: Any,
    make_watcher: MakeWatcher,
    tmp_path: Path,
) -> None:
    pair = await two_replicas(kubernetes_service, namespace, own_minio(), make_watcher, tmp_path)
    owner, heir, bucket, gateway, key = pair.owner, pair.heir, pair.bucket, pair.gateway, pair.key
    owner_watcher, heir_watcher = owner.watcher, heir.watcher
    try:
        await pair.start()
        await put_all(bucket, window("before"))
        await wait_until(lambda: set(window("before")) <= set(by_key(owner_watcher)), 30)
        newest = max(_time(e) for e in accepted(owner_watcher))

        async def checkpointed() -> bool:  # the debounced write of "before" came
            entry = (await stored(kubernetes_service, namespace, gateway)).get(key, {})
            return bool(entry) and datetime.fromisoformat(entry["since"]) >= newest

        await wait_until_async(checkpointed, 10)

        owner_watcher.delay = DELAY  # most of the next window is still undelivered at the kill
        await put_all(bucket, window("during"))
        await wait_until(lambda: len(set(by_key(owner_watcher)) & set(window("during"))) >= 2, 30)
        killed_at = owner.kill()
        await owner.wait()
        await put_all(bucket, window("down"))
        down_done = time.monotonic() - killed_at

        everything = window("before") + window("during") + window("down")
        await wait_until(
            lambda: set(everything) <= pair.delivered(),
            60,
            lambda: set(everything) - pair.delivered(),
        )
        took_over = min(r.received_at for r in heir_watcher.requests) - killed_at
        await put_all(bucket, window("after"))
        await wait_until(lambda: set(window("after")) <= set(by_key(heir_watcher)), 30)
        entry = (await stored(kubernetes_service, namespace, gateway))[key]
    finally:
        await pair.stop()

    first, second = by_key(owner_watcher), by_key(heir_watcher)
    late = {
        r.event.attributes["s3key"]
        for r in owner_watcher.requests
        if r.event is not None and r.received_at > killed_at - DEBOUNCE - DELAY - 0.5
    }
    repeated = set(first) & set(second)
    listed = {k for k, found in second.items() if found[0].attributes.get("s3listed")}
    print(
        f"\nartifact owner SIGKILLed: the heir delivered its first event {took_over:.1f}s later;"
        f" {len(first)} keys delivered before, {len(second)} after; {len(listed)} from the"
        f" listing; repeated {len(repeated)} (delivered within the debounce before the kill:"
        f" {len(late)})"
    )
    assert down_done < 3.0, "the uploads 'while down' must be made before the takeover"
    assert set(everything + window("after")) <= set(first) | set(second)
    assert not set(window("before")) & set(second), "the checkpoint covered these"
    assert set(window("down")) <= listed  # listed from the checkpoint, not started afresh
    assert not set(window("after")) & listed  # notified, once the heir's stream was open
    assert repeated <= late & set(window("during"))
    for found in (first, second):
        for k in repeated:
            assert {e.id for e in found[k]} == {first[k][0].id}, k
    assert entry["target"].endswith(f"/{bucket.name}/*")
    # The registry is ConfigMaps: no replica keeps a checkpoint file.
    assert not list(tmp_path.glob("*/artifact-checkpoints.json"))


def _time(event: Any) -> datetime:
    return datetime.fromisoformat(event.attributes["time"].replace("Z", "+00:00"))


async def test_a_graceful_handover_repeats_nothing(
    kubernetes_service: KubernetesService,
    namespace: str,
    own_minio: Any,
    make_watcher: MakeWatcher,
    tmp_path: Path,
) -> None:
    """SIGTERM right after a burst: the owner stops the source, writes the checkpoint its
    debounce still held back, and only then releases the Lease; the heir lists from there and
    sends nothing again (without that write, the burst's last second would come again)."""
    pair = await two_replicas(kubernetes_service, namespace, own_minio(), make_watcher, tmp_path)
    owner, heir, bucket = pair.owner, pair.heir, pair.bucket
    try:
        await pair.start()
        await put_all(bucket, window("burst"))
        await wait_until(lambda: set(window("burst")) <= set(by_key(owner.watcher)), 30)
        assert owner.process is not None
        owner.process.terminate()  # at once: the burst's checkpoint is still debounced
        await owner.wait()
        await put_all(bucket, window("after"))
        everything = window("burst") + window("after")
        await wait_until(
            lambda: set(everything) <= pair.delivered(),
            60,
            lambda: set(everything) - pair.delivered(),
        )
    finally:
        await pair.stop()
    first, second = by_key(owner.watcher), by_key(heir.watcher)
    repeated = set(first) & set(second)
    print(
        f"\ngraceful handover: {len(first)} keys before, {len(second)} after, {len(repeated)} twice"
    )
    assert not repeated
    assert all(len(found) == 1 for found in (*first.values(), *second.values()))
