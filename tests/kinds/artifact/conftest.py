"""Fixtures for the artifact adapter against the real MinIO: a fresh bucket per test."""

from __future__ import annotations

import asyncio
import io
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from minio import Minio

from tests.servicekit import MinioService

ACCESS_KEY_VARIABLE = "GATEWAYS_TEST_ARTIFACT_ACCESS_KEY"
SECRET_KEY_VARIABLE = "GATEWAYS_TEST_ARTIFACT_SECRET_KEY"
FILLER = "zz-filler-"


class Bucket:
    """A bucket of the test MinIO and a client to put objects in it (off the event loop)."""

    def __init__(self, client: Minio, name: str) -> None:
        self.client, self.name = client, name
        self._fillers = 0

    async def put(self, key: str, body: bytes = b"hello", content_type: str = "text/plain") -> None:
        await asyncio.to_thread(
            self.client.put_object, self.name, key, io.BytesIO(body), len(body), content_type
        )

    @property
    def fillers(self) -> int:
        """How many fillers :meth:`pump` put."""
        return self._fillers

    async def make(self) -> None:
        await asyncio.to_thread(self.client.make_bucket, self.name)

    async def remove(self) -> None:
        """Remove the bucket and everything in it (nothing when it does not exist)."""
        if not await asyncio.to_thread(self.client.bucket_exists, self.name):
            return
        listed = await asyncio.to_thread(
            lambda: list(self.client.list_objects(self.name, recursive=True))
        )
        for item in listed:
            await asyncio.to_thread(self.client.remove_object, self.name, item.object_name)
        await asyncio.to_thread(self.client.remove_bucket, self.name)

    async def pump(
        self, done: Callable[[], bool], prefix: str = "", suffix: str = "", timeout: float = 60
    ) -> None:
        """Put filler objects (keys holding ``FILLER``) until ``done()``.

        The MinIO server the tests run answers a listen request, and flushes its stream, only
        once about 4 KB of records are buffered, so a few more records push out the ones a test
        waits for; and a filler arriving shows that the listen request has landed.
        """
        async with asyncio.timeout(timeout):
            while not done():
                await self.put(f"{prefix}{FILLER}{self._fillers}{suffix}")
                self._fillers += 1
                await asyncio.sleep(0.1)


def source_fields(minio: MinioService, bucket: Bucket, **extra: Any) -> dict[str, Any]:
    """An artifact source of ``bucket``, credentials from the environment, a short backoff."""
    return {
        "endpoint": minio.endpoint,
        "bucket": {"name": bucket.name},
        "insecure": True,
        "accessKey": {"env": ACCESS_KEY_VARIABLE},
        "secretKey": {"env": SECRET_KEY_VARIABLE},
        "events": ["s3:ObjectCreated:*"],
        "backoff": {"duration": "100ms", "factor": 2, "jitter": 0, "cap": "1s"},
        **extra,
    }


def subjects(events: Any) -> list[str]:
    """Object keys of the events given, fillers left out."""
    return [e.attributes["subject"] for e in events if FILLER not in e.attributes["subject"]]


@pytest.fixture
async def bucket(
    minio_service: MinioService, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Bucket]:
    monkeypatch.setenv(ACCESS_KEY_VARIABLE, minio_service.access_key)
    monkeypatch.setenv(SECRET_KEY_VARIABLE, minio_service.secret_key)
    client = Minio(
        minio_service.endpoint,
        access_key=minio_service.access_key,
        secret_key=minio_service.secret_key,
        secure=False,
    )
    made = Bucket(client, f"gw-{uuid.uuid4().hex[:12]}")
    await made.make()
    yield made
    await made.remove()
