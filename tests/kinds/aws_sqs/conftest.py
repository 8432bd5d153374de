"""Fixtures of the SQS tests: fresh queues on the shared ElasticMQ (deleted after the test),
and the test credentials as the secrets the sources reference."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.kinds.aws_sqs.kit import SECRET_ENV, Queues
from tests.servicekit import SqsService


def pytest_configure(config: pytest.Config) -> None:
    # Until pyproject.toml lists it with the other service markers.
    config.addinivalue_line("markers", "sqs: needs the ElasticMQ SQS server from scripts/services")


@pytest.fixture
def queues(sqs_service: SqsService, monkeypatch: pytest.MonkeyPatch) -> Iterator[Queues]:
    monkeypatch.setenv(SECRET_ENV["access"], sqs_service.access_key)
    monkeypatch.setenv(SECRET_ENV["secret"], sqs_service.secret_key)
    made = Queues(sqs_service)
    try:
        yield made
    finally:
        made.delete_all()
