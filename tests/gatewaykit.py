"""Helpers to run a gateway in-process over a real registry file, for integration tests."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from gateways.registry.status import SourceStatus
from gateways.runtime import GatewayRuntime
from gateways.settings import Settings


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def configmap(
    name: str,
    kind: str | None,
    sources: Mapping[str, Mapping[str, Any] | str],
    watchers: list[Any] | None = None,
    delivery: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A registry ConfigMap document; each source is a mapping (dumped to YAML) or YAML text."""
    metadata: dict[str, Any] = {"name": name}
    if kind:
        metadata["labels"] = {"gateways.dev/type": kind}
    annotations = {}
    if watchers is not None:
        annotations["gateways.dev/watchers"] = yaml.safe_dump(watchers)
    if delivery is not None:
        annotations["gateways.dev/delivery"] = yaml.safe_dump(dict(delivery))
    if annotations:
        metadata["annotations"] = annotations
    data = {
        key: value if isinstance(value, str) else yaml.safe_dump(dict(value))
        for key, value in sources.items()
    }
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata, "data": data}


def write_registry(path: Path, *documents: Mapping[str, Any]) -> Path:
    path.write_text(yaml.safe_dump_all(list(documents), sort_keys=False))
    return path


async def start_gateway(registry: Path, tmp_path: Path, **options: Any) -> GatewayRuntime:
    """The embedded default over ``registry`` (webhook ports honoured), admin on a free port."""
    settings = Settings(
        registry_file=registry,
        state_dir=tmp_path / "state",
        admin_port=free_port(),
        **options,
    )
    runtime = GatewayRuntime(settings)
    await runtime.start()
    return runtime


def status_of(runtime: GatewayRuntime, name: str) -> SourceStatus:
    return next(s for s in runtime.reconciler.status() if s.name == name)


async def wait_until(condition: Any, timeout: float = 5.0, interval: float = 0.05) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(interval)
