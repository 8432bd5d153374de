"""The moto tests' fixture: a fresh topic on moto and its :class:`~.motokit.Setup`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.kinds.aws_sns.motokit import Setup
from tests.kit import unique
from tests.servicekit import SnsService
from tests.watcher import RecordingWatcher


@pytest.fixture
async def setup(
    sns_service: SnsService,
    tmp_path: Path,
    watcher: RecordingWatcher,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[Setup]:
    monkeypatch.setenv("SNS_TEST_ACCESS_KEY", sns_service.access_key)
    monkeypatch.setenv("SNS_TEST_SECRET_KEY", sns_service.secret_key)
    client = sns_service.client()
    topic = client.create_topic(Name=unique("gw-orders-"))["TopicArn"]
    found = Setup(client, topic, tmp_path, watcher, service=sns_service)
    try:
        yield found
    finally:
        await found.stop()
        client.delete_topic(TopicArn=topic)
