"""Helpers of the at-least-once tests: a MinIO of the test's own (the service's build, which
flushes each notification), an adapter process that can be SIGKILLed, and uploads checked by
key."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from minio import Minio

from adapters.artifact.config import ArtifactConfig
from gateways.config import parse_source
from gateways.events.model import CloudEvent
from tests.kinds.artifact.conftest import (
    ACCESS_KEY_VARIABLE,
    FILLER,
    SECRET_KEY_VARIABLE,
    Bucket,
)
from tests.kit import configmap, free_port, wait_until, write_registry
from tests.servicekit import MinioService
from tests.watcher import RecordingWatcher

GATEWAY = "artifact-gateway"
WINDOW = 10  # uploads per window: before, during, while down, after
# The dispatcher in the adapter retries a watcher quickly and not for long.
DELIVERY = {"retry": 2, "backoffPolicy": "linear", "backoffDelay": "PT0.05S"}


def config(**extra: Any) -> ArtifactConfig:
    """An artifact source's config for unit tests: a bucket on 127.0.0.1, creation events."""
    fields = {
        "endpoint": "127.0.0.1:9000",
        "bucket": {"name": "uploads"},
        "insecure": True,
        "accessKey": {"env": "UNUSED"},
        "secretKey": {"env": "UNUSED"},
        "events": ["s3:ObjectCreated:*"],
        **extra,
    }
    parsed = parse_source("artifact", "uploads", fields)
    assert isinstance(parsed, ArtifactConfig)
    return parsed


def client_of(minio: MinioService) -> Minio:
    return Minio(
        minio.endpoint, access_key=minio.access_key, secret_key=minio.secret_key, secure=False
    )


async def new_bucket(minio: MinioService) -> Bucket:
    bucket = Bucket(client_of(minio), f"gw-{uuid.uuid4().hex[:12]}")
    await bucket.make()
    return bucket


def registry(
    path: Path, kind: str, sources: Mapping[str, Mapping[str, Any]], watcher: RecordingWatcher
) -> Path:
    document = configmap(GATEWAY, kind, sources, watchers=[watcher.url], delivery=DELIVERY)
    return write_registry(path, document)


class AdapterProcess:
    """``python -m <module>`` over a registry file, delivering straight to its watchers, with a
    state directory that outlives the process."""

    def __init__(self, module: str, registry: Path, folder: Path, minio: MinioService) -> None:
        self.module, self.folder = module, folder
        self.env = {
            **os.environ,
            "GATEWAYS_REGISTRY_FILE": str(registry),
            "GATEWAYS_STATE_DIR": str(folder / "state"),
            "GATEWAYS_DISPATCH": "direct",
            ACCESS_KEY_VARIABLE: minio.access_key,
            SECRET_KEY_VARIABLE: minio.secret_key,
        }
        for name in ("K_SINK", "GATEWAYS_DISPATCHER_URL", "GATEWAYS_WATCHERS"):
            self.env.pop(name, None)
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> AdapterProcess:
        self.env["GATEWAYS_ADMIN_PORT"] = str(free_port())
        with (self.folder / "adapter.log").open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", self.module], env=self.env, stdout=log, stderr=log
            )
        return self

    async def kill(self) -> float:
        """SIGKILL: nothing is flushed, nothing acknowledged. Returns when it died."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        await asyncio.to_thread(self.process.wait, 10)
        return time.monotonic()

    async def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                await asyncio.to_thread(self.process.wait, 20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                await asyncio.to_thread(self.process.wait)

    def log(self) -> str:
        return (self.folder / "adapter.log").read_text(errors="replace")[-3000:]


def accepted(watcher: RecordingWatcher) -> list[CloudEvent]:
    """Events the watcher answered 2xx (duplicates included), fillers left out."""
    return [
        r.event
        for r in watcher.requests
        if r.event is not None
        and r.status < 300
        and FILLER not in r.event.attributes.get("subject", "")
    ]


def by_key(watcher: RecordingWatcher) -> dict[str, list[CloudEvent]]:
    found: dict[str, list[CloudEvent]] = {}
    for event in accepted(watcher):
        found.setdefault(event.attributes["s3key"], []).append(event)
    return found


async def put_all(bucket: Bucket, keys: Iterable[str]) -> None:
    for key in keys:
        await bucket.put(key)


async def arrive(
    watcher: RecordingWatcher, keys: Iterable[str], timeout: float, why: Callable[[], str]
) -> None:
    wanted = set(keys)
    try:
        await wait_until(lambda: wanted <= set(by_key(watcher)), timeout=timeout)
    except (TimeoutError, AssertionError) as exc:
        missing = sorted(wanted - set(by_key(watcher)))
        raise AssertionError(f"never arrived: {missing}\n{why()}") from exc


def window(name: str) -> list[str]:
    return [f"{name}/{number}.txt" for number in range(WINDOW)]


async def single_upload_latency(
    bucket: Bucket, watcher: RecordingWatcher, key: str, timeout: float = 5.0
) -> float | None:
    """Seconds from an upload (on an idle bucket) to its event at the watcher; None: not within
    ``timeout``."""
    began = time.monotonic()
    await bucket.put(key)
    try:
        await wait_until(lambda: key in by_key(watcher), timeout=timeout)
    except (TimeoutError, AssertionError):
        return None
    arrived = next(
        r
        for r in watcher.requests
        if r.event is not None and r.event.attributes.get("subject") == key
    )
    return arrived.received_at - began
