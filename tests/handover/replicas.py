"""Replicas for the handover tests: adapter processes against the real API server, as a
Deployment's pods would run them (the registry from ConfigMaps, state on annotations).

Each replica delivers to a watcher of its own (``GATEWAYS_WATCHERS``), so a test knows which
replica delivered what; ``kill()`` is a SIGKILL: nothing is flushed, nothing released.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import aiohttp

from tests.kit import ROOT, wait_until_async
from tests.servicekit import KubernetesService, free_port
from tests.watcher import RecordingWatcher


class Replica:
    """``python -m adapters.<kind>`` (or ``run_adapter(kind)`` for a kind without a module)
    watching ``configmaps`` in ``namespace``."""

    def __init__(
        self,
        kind: str,
        kube: KubernetesService,
        namespace: str,
        configmaps: str,
        watcher: RecordingWatcher,
        state_dir: Path,
        name: str,
    ) -> None:
        self.kind = kind
        self.name = name
        self.watcher = watcher
        self.admin_port = free_port()
        self.environment = {
            **os.environ,
            "KUBECONFIG": kube.kubeconfig,
            "NAMESPACE": namespace,
            "GATEWAYS_CONFIGMAPS": configmaps,
            "GATEWAYS_WATCHERS": watcher.url,
            "GATEWAYS_ADMIN_PORT": str(self.admin_port),
            "GATEWAYS_STATE_DIR": str(state_dir / name),
            "POD_NAME": name,
        }
        self.process: asyncio.subprocess.Process | None = None
        self.killed_at: float | None = None

    async def start(self) -> Replica:
        code = f"from gateways.adapter import run_adapter; run_adapter({self.kind!r})"
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            code,
            cwd=ROOT,
            env=self.environment,
            stdout=subprocess.DEVNULL,
        )
        try:
            await wait_until_async(self._answers, timeout=30)
        except BaseException:
            await self.stop()  # no process outlives a failed test
            raise
        return self

    def kill(self) -> float:
        """SIGKILL; returns when (time.monotonic()) it was sent."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.killed_at = time.monotonic()
        return self.killed_at

    async def stop(self) -> None:
        if self.process is None or self.process.returncode is not None:
            return
        self.process.terminate()
        try:
            await asyncio.wait_for(self.process.wait(), 30)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()

    async def wait(self) -> None:
        assert self.process is not None
        await self.process.wait()

    async def _answers(self) -> bool:
        """Its status page lists the sources: running, or (with ownership) owned elsewhere."""
        assert self.process is not None
        if self.process.returncode is not None:
            raise AssertionError(f"replica {self.name} exited with {self.process.returncode}")
        url = f"http://127.0.0.1:{self.admin_port}/status"
        try:
            async with aiohttp.ClientSession() as session, session.get(url) as response:
                page = await response.json()
        except (aiohttp.ClientError, OSError, ValueError):
            return False
        return bool(page.get("sources"))


def replica_maker(
    kind: str,
    kube: KubernetesService,
    namespace: str,
    configmaps: str,
    watchers: list[RecordingWatcher],
    state_dir: Path,
) -> Callable[[int, int], Replica]:
    """``make(index, generation)``: replica ``index`` (with its own watcher), started for the
    ``generation``-th time."""

    def make(index: int, generation: int) -> Replica:
        name = f"replica-{index}-{generation}"
        return Replica(kind, kube, namespace, configmaps, watchers[index], state_dir, name)

    return make
