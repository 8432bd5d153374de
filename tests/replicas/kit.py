"""Replicas of the file adapter as separate processes on one ConfigMap registry."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import urllib.request
from pathlib import Path
from typing import Any

import yaml

from tests.kit import free_port
from tests.servicekit import KubernetesService

# Short leases, so that a takeover takes seconds (the defaults are 15 s / 10 s / 2 s).
LEASE_DURATION, RENEW_DEADLINE, RETRY_PERIOD = 3.0, 2.0, 0.5


class Replica:
    """``python -m adapters.file`` with its own identity and admin port."""

    def __init__(
        self,
        name: str,
        kube: KubernetesService,
        namespace: str,
        gateway: str,
        folder: Path,
        kubeconfig: str | None = None,
    ) -> None:
        self.name = name
        self.admin_port = free_port()
        self.log = folder / f"{name}.log"
        inherited = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("GATEWAYS_", "K_", "POD_")) and key != "KUBERNETES_SERVICE_HOST"
        }
        self.env = {
            **inherited,
            "KUBECONFIG": kubeconfig or kube.kubeconfig,
            "NAMESPACE": namespace,
            "GATEWAYS_CONFIGMAPS": gateway,
            "GATEWAYS_ADMIN_PORT": str(self.admin_port),
            "GATEWAYS_STATE_DIR": str(folder / name),
            "POD_NAME": name,
            "GATEWAYS_LEASE_DURATION": f"{LEASE_DURATION}s",
            "GATEWAYS_RENEW_DEADLINE": f"{RENEW_DEADLINE}s",
            "GATEWAYS_RETRY_PERIOD": f"{RETRY_PERIOD}s",
        }
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> Replica:
        with self.log.open("ab") as stderr:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "adapters.file", env=self.env, stderr=stderr
            )
        return self

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.returncode is None

    async def terminate(self) -> None:
        """SIGTERM, as Kubernetes stops a pod: it stops its sources and frees their leases."""
        if self.alive:
            assert self.process is not None
            self.process.terminate()
            await asyncio.wait_for(self.process.wait(), 30)

    async def kill(self) -> None:
        """SIGKILL: nothing is released; the others wait for the leases to expire."""
        if self.alive:
            assert self.process is not None
            self.process.send_signal(signal.SIGKILL)
            await self.process.wait()

    def sources(self) -> dict[str, dict[str, Any]]:
        """The /status page's sources by name ({} while it does not answer)."""
        if not self.alive:
            return {}
        url = f"http://127.0.0.1:{self.admin_port}/status"
        try:
            with urllib.request.urlopen(url, timeout=2) as reply:
                page = json.loads(reply.read())
        except OSError:
            return {}
        return {source["name"]: source for source in page["sources"]}

    def running(self) -> set[str]:
        """The sources this replica runs as their owner."""
        return {
            name
            for name, source in self.sources().items()
            if source["state"] == "running" and source.get("owner") == self.name
        }


async def shares(replicas: list[Replica]) -> dict[str, set[str]]:
    """What each live replica runs, asked of all of them at once."""
    live = [r for r in replicas if r.alive]
    answers = await asyncio.gather(*(asyncio.to_thread(r.running) for r in live))
    return {replica.name: answer for replica, answer in zip(live, answers, strict=True)}


def kubeconfig_through(kube: KubernetesService, server: str, path: Path) -> str:
    """The admin kubeconfig with its API server address replaced (by a proxy's, say)."""
    document = yaml.safe_load(Path(kube.kubeconfig).read_text())
    for cluster in document["clusters"]:
        cluster["cluster"]["server"] = server
    path.write_text(yaml.safe_dump(document))
    return str(path)
