"""The listen path with its adapter SIGKILLed: MinIO keeps nothing for a listener that is gone,
so the next start lists the bucket and delivers what was created since the checkpoint. Uploads
before, during and after the kill, and while the adapter is down, all arrive (checked by key);
an object delivered twice has one id. Runs on a MinIO of its own (the service's build, which
flushes each notification), and prints how long a single upload on an idle bucket takes; and
on the `minio` service, what MinIO had not sent when the adapter stopped arrives after it."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import pytest

from tests.kinds.artifact.conftest import (
    ACCESS_KEY_VARIABLE,
    SECRET_KEY_VARIABLE,
    Bucket,
    source_fields,
)
from tests.kinds.artifact.kit import (
    AdapterProcess,
    accepted,
    arrive,
    by_key,
    new_bucket,
    put_all,
    registry,
    single_upload_latency,
    window,
)
from tests.kit import configmap, start_gateway, status_of, wait_until, write_registry
from tests.servicekit import MinioService
from tests.watcher import RecordingWatcher

pytestmark = [pytest.mark.minio, pytest.mark.timeout(180)]
SOURCE = "uploads"


async def test_uploads_around_a_sigkill_all_arrive_through_the_listing(
    own_minio: Any, make_watcher: Any, tmp_path: Path
) -> None:
    minio: MinioService = own_minio()
    bucket = await new_bucket(minio)
    watcher: RecordingWatcher = await make_watcher()
    path = registry(
        tmp_path / "registry.yaml", "artifact", {SOURCE: source_fields(minio, bucket)}, watcher
    )
    adapter = AdapterProcess("adapters.artifact", path, tmp_path, minio).start()
    try:
        await bucket.pump(lambda: bool(watcher.requests))  # the listen request landed
        await put_all(bucket, window("before"))
        await arrive(watcher, window("before"), 30, adapter.log)

        watcher.delay = 0.3  # slow: most of the next window is still unsent at the kill
        await put_all(bucket, window("during"))
        await wait_until(lambda: len(set(by_key(watcher)) & set(window("during"))) >= 2, 30)
        await adapter.kill()
        sent_before_kill = set(by_key(watcher)) & set(window("during"))

        await put_all(bucket, window("down"))
        watcher.delay = 0.0
        adapter.start()
        await arrive(watcher, window("down"), 60, adapter.log)  # reconciled: the stream is open
        await put_all(bucket, window("after"))
        everything = window("before") + window("during") + window("down") + window("after")
        await arrive(watcher, everything, 60, adapter.log)
    finally:
        await adapter.stop()
        await bucket.remove()

    events = by_key(watcher)
    assert set(everything) <= set(events)
    assert len(sent_before_kill) < len(window("during")), "the kill must land mid-window"
    # What MinIO had sent but the adapter had not delivered, and what was uploaded while it was
    # down, came from the listing.
    listed = {key for key, found in events.items() if found[-1].attributes.get("s3listed")}
    assert set(window("down")) <= listed
    assert set(window("during")) - sent_before_kill <= listed
    assert not set(window("after")) & listed  # notified again once the stream was open
    for key, found in events.items():
        assert {event.attributes["id"] for event in found} == {found[0].attributes["id"]}, key
        assert found[0].attributes["type"] == "dev.gateways.artifact.objectcreated.put"
    duplicates = len(accepted(watcher)) - len(events)
    print(
        f"\nlisten path: {len(everything)} uploads around a SIGKILL, all arrived; "
        f"{len(listed)} from the listing, {duplicates} delivered twice (same id)"
    )


async def test_a_single_upload_on_an_idle_bucket(
    own_minio: Any,
    minio_service: MinioService,
    watcher: RecordingWatcher,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The figure for the listen path, on a MinIO of the test's own (the service's build) and on
    the running `minio` service (which holds notifications back until about 4 KB are waiting
    if it was started before its build got the flush; see scripts/_services/minio.py)."""
    monkeypatch.setenv(ACCESS_KEY_VARIABLE, minio_service.access_key)
    monkeypatch.setenv(SECRET_KEY_VARIABLE, minio_service.secret_key)
    figures = [
        await idle_latency("own MinIO", own_minio(), watcher, tmp_path),
        await idle_latency("the minio service", minio_service, watcher, tmp_path),
    ]
    print("\nlisten path, one upload on an idle bucket to its event: " + "; ".join(figures))


async def idle_latency(
    name: str, minio: MinioService, watcher: RecordingWatcher, tmp_path: Path
) -> str:
    bucket = await new_bucket(minio)
    document = configmap("idle", "artifact", {SOURCE: source_fields(minio, bucket)}, [watcher.url])
    runtime = await start_gateway(write_registry(tmp_path / "idle.yaml", document), tmp_path)
    try:
        await wait_until(lambda: status_of(runtime, SOURCE).state == "running", timeout=10)
        await bucket.pump(lambda: bool(watcher.requests))  # the listen request landed
        with contextlib.suppress(TimeoutError):  # a server that holds back keeps some fillers
            await wait_until(lambda: len(watcher.requests) >= bucket.fillers, timeout=5)
        seconds = await single_upload_latency(bucket, watcher, "idle.txt", 3.0)
    finally:
        await runtime.stop()
        await bucket.remove()
        watcher.requests.clear()
    return f"{name}: " + (f"{seconds:.3f} s" if seconds is not None else "nothing within 3 s")


async def test_what_minio_had_not_sent_arrives_after_a_restart(
    minio_service: MinioService, bucket: Bucket, watcher: RecordingWatcher, tmp_path: Path
) -> None:
    """On the `minio` service: an upload whose notification MinIO has not sent when the adapter
    stops (a build that holds back sends nothing until ~4 KB wait) comes from the next start's
    listing; on a build that flushes it was delivered already. Either way it arrives once."""
    path = write_registry(
        tmp_path / "registry.yaml",
        configmap(
            "held", "artifact", {SOURCE: source_fields(minio_service, bucket)}, [watcher.url]
        ),
    )
    runtime = await start_gateway(path, tmp_path)
    try:
        await wait_until(lambda: status_of(runtime, SOURCE).state == "running", timeout=10)
        await bucket.pump(lambda: bool(watcher.requests))  # the listen request landed
        await bucket.put("held.txt")
    finally:
        await runtime.stop()
    sent_before = "held.txt" in by_key(watcher)
    runtime = await start_gateway(path, tmp_path)
    try:
        await arrive(watcher, ["held.txt"], 30, lambda: str(status_of(runtime, SOURCE)))
    finally:
        await runtime.stop()
    [event] = by_key(watcher)["held.txt"]
    assert event.attributes.get("s3listed") == (None if sent_before else "true")
    print(f"\nheld.txt {'was sent before the stop' if sent_before else 'came from the listing'}")
