"""One artifact source against the real MinIO, emitting into the real delivery pipeline: what
it does when deliveries fail (MinIO replays nothing) and how it stops."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from adapters.artifact.config import ArtifactConfig
from adapters.artifact.source import JOIN_WITHIN, ArtifactSource
from gateways.config import parse_source
from tests.kinds.artifact.conftest import Bucket, source_fields, subjects
from tests.kit import Pipeline, wait_until
from tests.servicekit import MinioService
from tests.watcher import RecordingWatcher

pytestmark = [pytest.mark.minio, pytest.mark.timeout(120)]


def config_of(minio: MinioService, bucket: Bucket) -> ArtifactConfig:
    config = parse_source("artifact", "uploads", source_fields(minio, bucket))
    assert isinstance(config, ArtifactConfig)
    return config


async def test_records_whose_delivery_failed_are_held_until_delivered(
    minio_service: MinioService, bucket: Bucket, watcher: RecordingWatcher, tmp_path: Path
) -> None:
    async with Pipeline(watcher) as pipeline:
        pipeline.context.settings = SimpleNamespace(state_dir=tmp_path)
        source = ArtifactSource(
            pipeline.origin("artifact"), config_of(minio_service, bucket), pipeline.context
        )
        await source.start(pipeline.emitter("artifact"))
        try:
            await bucket.pump(lambda: bool(pipeline.accepted()))  # the listen request landed
            pipeline.refuse()
            wanted = [f"held/{number}.txt" for number in range(5)]
            for key in wanted:
                await bucket.put(key)
            await bucket.pump(lambda: any(s == "degraded" for s, _ in pipeline.statuses))
            pipeline.accept()
            await bucket.pump(lambda: set(wanted) <= set(subjects(pipeline.accepted())))
            await wait_until(lambda: pipeline.statuses[-1] == ("running", ""), timeout=10)
        finally:
            await source.stop()

    # Nothing put while deliveries failed was lost, and each key came in order, once.
    assert subjects(pipeline.accepted()) == wanted
    degraded = [reason for state, reason in pipeline.statuses if state == "degraded"]
    assert "delivery of " in degraded[0] and "failed" in degraded[0]
    assert minio_service.endpoint in degraded[0]


async def test_a_source_stops_promptly_before_minio_first_answers(
    minio_service: MinioService, bucket: Bucket, watcher: RecordingWatcher, tmp_path: Path
) -> None:
    async with Pipeline(watcher) as pipeline:
        pipeline.context.settings = SimpleNamespace(state_dir=tmp_path)
        source = ArtifactSource(
            pipeline.origin("artifact"), config_of(minio_service, bucket), pipeline.context
        )
        await source.start(pipeline.emitter("artifact"))
        # MinIO tells nothing until it answers, so there is no condition to wait on here.
        await asyncio.sleep(0.5)  # the listen request is out, waiting for records
        began = time.monotonic()
        await source.stop()
        assert time.monotonic() - began < JOIN_WITHIN  # woken, not waited for and left
    # The thread told its end just before returning: it is gone a moment later.
    await wait_until(lambda: source.label not in {t.name for t in threading.enumerate()}, 1.0)
    assert pipeline.statuses == []  # running from the start; stopping tells nothing


async def test_a_missing_bucket_is_reported_and_found_once_made(
    minio_service: MinioService, bucket: Bucket, watcher: RecordingWatcher, tmp_path: Path
) -> None:
    missing = Bucket(bucket.client, f"{bucket.name}-later")
    async with Pipeline(watcher) as pipeline:
        pipeline.context.settings = SimpleNamespace(state_dir=tmp_path)
        source = ArtifactSource(
            pipeline.origin("artifact"), config_of(minio_service, missing), pipeline.context
        )
        await source.start(pipeline.emitter("artifact"))
        try:
            await wait_until(lambda: bool(pipeline.statuses), timeout=10)
            state, reason = pipeline.statuses[0]
            assert state == "degraded" and "does not exist" in reason
            await missing.make()
            await wait_until(lambda: pipeline.statuses[-1] == ("running", ""), timeout=10)
            await missing.pump(lambda: bool(pipeline.accepted()))
        finally:
            await source.stop()
            await missing.remove()
