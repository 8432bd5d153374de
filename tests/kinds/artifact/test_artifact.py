"""The artifact adapter against the real MinIO: bucket notifications as CloudEvents."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gateways.events.model import CloudEvent
from gateways.runtime import GatewayRuntime
from tests.kinds.artifact.conftest import (
    FILLER,
    SECRET_KEY_VARIABLE,
    Bucket,
    source_fields,
    subjects,
)
from tests.kit import configmap, start_gateway, status_of, wait_until, write_registry
from tests.servicekit import MinioService
from tests.watcher import RecordingWatcher

pytestmark = [pytest.mark.minio, pytest.mark.timeout(120)]
GATEWAY, SOURCE = "artifact-gateway", "uploads"


async def run_gateway(
    tmp_path: Path,
    source: dict[str, Any],
    watcher: RecordingWatcher,
    bucket: Bucket,
    filler: tuple[str, str] = ("", ""),
) -> GatewayRuntime:
    """The gateway running the source, its listen request landed (a filler arrived)."""
    document = configmap(GATEWAY, "artifact", {SOURCE: source}, watchers=[watcher.url])
    runtime = await start_gateway(write_registry(tmp_path / "registry.yaml", document), tmp_path)
    await wait_until(lambda: status_of(runtime, SOURCE).state == "running", timeout=10)
    await bucket.pump(lambda: bool(watcher.events), *filler)
    return runtime


def keys(watcher: RecordingWatcher) -> list[str]:
    """Object keys of the events received, fillers left out."""
    return subjects(watcher.events)


def record(event: CloudEvent) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(event.data or b"null")
    return data


async def test_two_objects_two_events(
    minio_service: MinioService, bucket: Bucket, watcher: RecordingWatcher, tmp_path: Path
) -> None:
    runtime = await run_gateway(tmp_path, source_fields(minio_service, bucket), watcher, bucket)
    try:
        await bucket.put("reports/one.csv", b"a,b\n1,2\n", "text/csv")
        await bucket.put("reports/two.json", b'{"x": 1}', "application/json")
        await bucket.pump(lambda: {"reports/one.csv", "reports/two.json"} <= set(keys(watcher)))
    finally:
        await runtime.stop()

    assert keys(watcher) == ["reports/one.csv", "reports/two.json"]
    one, two = (e for e in watcher.events if FILLER not in e.attributes["subject"])
    for event, size in ((one, 8), (two, 8)):
        attributes = event.attributes
        data = record(event)
        assert attributes["type"] == "dev.gateways.artifact.objectcreated.put"
        assert attributes["source"] == f"/gateways/{GATEWAY}/{SOURCE}"
        assert attributes["datacontenttype"] == "application/json"
        assert attributes["s3bucket"] == bucket.name
        assert attributes["s3key"] == attributes["subject"]
        assert attributes["s3eventname"] == "s3:ObjectCreated:Put"
        assert attributes["s3size"] == str(size)
        sequencer = data["s3"]["object"]["sequencer"]
        assert attributes["s3sequencer"] == sequencer
        millisecond = int(sequencer, 16) // 1_000_000 * 1_000_000  # the id keeps milliseconds
        assert attributes["id"] == f"{millisecond:X}/{attributes['subject']}"
        assert data["eventName"] == "s3:ObjectCreated:Put"  # the record travels as JSON
        assert data["s3"]["bucket"]["name"] == bucket.name
    assert one.attributes["s3contenttype"] == "text/csv"
    assert one.attributes["id"] != two.attributes["id"]


async def test_prefix_and_suffix_filter(
    minio_service: MinioService, bucket: Bucket, watcher: RecordingWatcher, tmp_path: Path
) -> None:
    source = source_fields(minio_service, bucket, filter={"prefix": "in/", "suffix": ".txt"})
    runtime = await run_gateway(tmp_path, source, watcher, bucket, filler=("in/", ".txt"))
    try:
        for key in ("in/a.txt", "out/b.txt", "in/c.bin", "in/d.txt"):
            await bucket.put(key)
        await bucket.pump(lambda: {"in/a.txt", "in/d.txt"} <= set(keys(watcher)), "in/", ".txt")
    finally:
        await runtime.stop()
    assert keys(watcher) == ["in/a.txt", "in/d.txt"]
    assert all(e.attributes["subject"].startswith("in/") for e in watcher.events)
    assert all(e.attributes["subject"].endswith(".txt") for e in watcher.events)


async def test_wrong_credentials_are_reported(
    minio_service: MinioService,
    bucket: Bucket,
    watcher: RecordingWatcher,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(SECRET_KEY_VARIABLE, "not-the-secret")
    document = configmap(
        GATEWAY, "artifact", {SOURCE: source_fields(minio_service, bucket)}, [watcher.url]
    )
    runtime = await start_gateway(write_registry(tmp_path / "registry.yaml", document), tmp_path)
    try:
        await wait_until(lambda: status_of(runtime, SOURCE).state == "degraded", timeout=10)
        assert "SignatureDoesNotMatch" in status_of(runtime, SOURCE).reason
    finally:
        await runtime.stop()
