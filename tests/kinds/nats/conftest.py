"""Fixtures of the NATS tests (the adapter tests, which drive NATS sources, share them)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import nats
import pytest
from nats.aio.client import Client

from tests.servicekit import NatsService


@pytest.fixture
async def client(nats_service: NatsService) -> AsyncIterator[Client]:
    """A NATS connection to the shared test server."""
    connection = await nats.connect(nats_service.url)
    yield connection
    await connection.close()
