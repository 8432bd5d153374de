"""Smoke test: the MinIO server from scripts/services, through the minio client."""

from __future__ import annotations

import io
import queue
import threading
import time
import uuid
from typing import Any

import pytest
from minio import Minio

from tests.servicekit import MinioService

pytestmark = [pytest.mark.minio, pytest.mark.timeout(60)]


def test_listen_bucket_notification_sees_put(minio_service: MinioService) -> None:
    client = Minio(
        minio_service.endpoint,
        access_key=minio_service.access_key,
        secret_key=minio_service.secret_key,
        secure=False,
    )
    bucket = f"gw-smoke-{uuid.uuid4().hex[:12]}"
    client.make_bucket(bucket)
    assert client.bucket_exists(bucket)

    events = client.listen_bucket_notification(bucket, events=["s3:ObjectCreated:*"])
    seen: queue.Queue[dict[str, Any]] = queue.Queue()

    def listen() -> None:
        try:
            with events:
                for event in events:  # the HTTP request starts on the first next()
                    for record in event.get("Records") or []:
                        seen.put(record)
                    return  # stop after the first batch; leaving `with` closes the stream
        except Exception as exc:  # reported to the test below
            seen.put({"error": repr(exc)})

    threading.Thread(target=listen, daemon=True).start()
    put: set[str] = set()
    record: dict[str, Any] | None = None
    try:
        # The listener registers asynchronously: put objects until one is reported.
        deadline = time.monotonic() + 30
        while record is None and time.monotonic() < deadline:
            key = f"obj-{len(put)}.txt"
            client.put_object(
                bucket, key, io.BytesIO(b"hello"), length=5, content_type="text/plain"
            )
            put.add(key)
            try:
                record = seen.get(timeout=1)
            except queue.Empty:
                continue
        assert record is not None, "no bucket notification within 30s"
        assert "error" not in record, record
        assert record["eventName"].startswith("s3:ObjectCreated:")
        assert record["s3"]["bucket"]["name"] == bucket
        assert record["s3"]["object"]["key"] in put
        assert record["s3"]["object"]["size"] == 5
    finally:
        for key in put:
            client.remove_object(bucket, key)
        client.remove_bucket(bucket)
