"""Fixtures for the artifact adapter against the real MinIO: a fresh bucket per test."""

from __future__ import annotations

import asyncio
import io
import uuid
from collections.abc import AsyncIterator

import pytest
from minio import Minio

from tests.servicekit import MinioService

ACCESS_KEY_VARIABLE = "GATEWAYS_TEST_ARTIFACT_ACCESS_KEY"
SECRET_KEY_VARIABLE = "GATEWAYS_TEST_ARTIFACT_SECRET_KEY"


class Bucket:
    """A bucket of the test MinIO and a client to put objects in it (off the event loop)."""

    def __init__(self, client: Minio, name: str) -> None:
        self.client, self.name = client, name

    async def put(self, key: str, body: bytes = b"hello", content_type: str = "text/plain") -> None:
        await asyncio.to_thread(
            self.client.put_object, self.name, key, io.BytesIO(body), len(body), content_type
        )


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
    name = f"gw-{uuid.uuid4().hex[:12]}"
    await asyncio.to_thread(client.make_bucket, name)
    yield Bucket(client, name)
    objects = await asyncio.to_thread(lambda: list(client.list_objects(name, recursive=True)))
    for item in objects:
        await asyncio.to_thread(client.remove_object, name, item.object_name)
    await asyncio.to_thread(client.remove_bucket, name)
