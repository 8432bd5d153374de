"""Thirty exclusive (file) sources over three file-adapter replicas against the real API server:
each owns about a third; one leaves and the others take its share; it comes back and the
shares rebalance; one is SIGKILLed and its sources are taken over once its leases expire."""

from __future__ import annotations

import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from gateways.replicas.hashing import assign
from tests.kit import configmap, wait_until_async
from tests.kubekit import put_configmap
from tests.replicas.kit import LEASE_DURATION, RETRY_PERIOD, Replica, shares
from tests.servicekit import KubernetesService
from tests.watcher import RecordingWatcher

pytestmark = [pytest.mark.kubernetes, pytest.mark.timeout(120)]
GATEWAY = "files"
SOURCES = {f"s{n:02}" for n in range(30)}
# Noticing a dead member and its leases expiring, plus a round or two to act on it.
TAKEOVER_BOUND = LEASE_DURATION + 4 * RETRY_PERIOD + 2.0


async def test_sources_spread_over_three_replicas_and_move_when_one_leaves(
    kubernetes_service: KubernetesService,
    namespace: str,
    watcher: RecordingWatcher,
    tmp_path: Path,
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    sources = {
        name: {"directory": str(inbox), "type": "CREATE", "path": f"{name}.json"}
        for name in SOURCES
    }
    await put_configmap(
        kubernetes_service, namespace, configmap(GATEWAY, "file", sources, [watcher.url])
    )
    replicas = [
        Replica(f"file-adapter-{n}", kubernetes_service, namespace, GATEWAY, tmp_path)
        for n in range(3)
    ]
    for replica in replicas:
        await replica.start()
    found: dict[str, set[str]] = {}

    async def spread(count: int) -> bool:
        """Every source runs once, on the replica rendezvous hashing prefers among the live."""
        nonlocal found
        found = await shares(replicas)
        return len(found) == count and found == expected(found)

    try:
        await wait_until_async(lambda: spread(3), timeout=60, interval=0.2)
        print("three replicas:", {name: len(share) for name, share in found.items()})
        for share in found.values():
            assert 5 <= len(share) <= 15
        await _standby_names_the_owner(replicas, found)
        await _each_source_delivers_once(inbox, watcher, 1)

        leaving, kept = replicas[2], dict(found)
        await leaving.terminate()
        started = time.monotonic()
        await wait_until_async(lambda: spread(2), timeout=TAKEOVER_BOUND, interval=0.1)
        print(f"after a SIGTERM: shared again in {time.monotonic() - started:.1f}s")
        for replica in replicas[:2]:  # only the leaving replica's sources moved
            assert kept[replica.name] <= found[replica.name]

        await leaving.start()
        await wait_until_async(lambda: spread(3), timeout=30, interval=0.2)
        print("it came back:", {name: len(share) for name, share in found.items()})
        assert found == kept  # the same members, so the same assignment

        killed = replicas[0]
        await killed.kill()
        started = time.monotonic()
        await wait_until_async(lambda: spread(2), timeout=TAKEOVER_BOUND, interval=0.1)
        took = time.monotonic() - started
        print(f"after a SIGKILL: taken over in {took:.1f}s (lease duration {LEASE_DURATION}s)")
        for replica in replicas[1:]:
            assert kept[replica.name] <= found[replica.name]
        await _each_source_delivers_once(inbox, watcher, 2)  # after every handover, still once
    finally:
        for replica in replicas:
            await replica.terminate()


async def _each_source_delivers_once(inbox: Path, watcher: RecordingWatcher, round: int) -> None:
    """A file for each source: each delivers its CREATE, and no source runs twice."""
    for name in SOURCES:
        (inbox / f"{name}.json").unlink(missing_ok=True)
        (inbox / f"{name}.json").write_text(str(round))
    await watcher.wait_for(round * len(SOURCES), timeout=30)
    delivered = Counter(event.source.rsplit("/", 1)[1] for event in watcher.events)
    assert delivered == dict.fromkeys(SOURCES, round)


def expected(found: dict[str, set[str]]) -> dict[str, set[str]]:
    wanted = assign([f"{GATEWAY}/{name}" for name in SOURCES], found)
    return {member: {k.split("/")[1] for k, m in wanted.items() if m == member} for member in found}


async def _standby_names_the_owner(replicas: list[Replica], found: dict[str, set[str]]) -> None:
    """On the replicas that do not run a source, its status is standby naming its owner."""
    owner = {name: replica for replica, share in found.items() for name in share}

    async def shown() -> bool:
        for replica in replicas:
            for name, source in replica.sources().items():
                if owner[name] == replica.name:
                    continue
                if source["state"] != "standby" or source.get("owner") != owner[name]:
                    return False
        return True

    await wait_until_async(shown, timeout=10, interval=0.2)
    replica = replicas[0]
    address = f"http://127.0.0.1:{replica.admin_port}"
    printed = subprocess.run(
        [sys.executable, "-m", "gateways", "status", "--admin", address],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout.splitlines()
    assert printed[0].split()[:5] == ["GATEWAY", "SOURCE", "KIND", "STATE", "OWNER"]
    rows = {line.split()[1]: line.split()[3:5] for line in printed[1:]}
    for name, owned_by in owner.items():
        state = "running" if owned_by == replica.name else "standby"
        assert rows[name] == [state, owned_by], name
