"""Fixtures of the GCP Pub/Sub tests: a publisher for the shared pstest server, topics."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from tests.adapter.kit import FAST_BACKOFF, FAST_DELIVERY
from tests.kit import configmap, unique, write_registry
from tests.servicekit import PubsubService

KIND = "gcp-pubsub"


def pytest_configure(config: pytest.Config) -> None:
    # Until the marker is in pyproject.toml's list with the others.
    config.addinivalue_line(
        "markers", "pubsub: needs the Pub/Sub server (pstest) from scripts/services"
    )


@pytest.fixture
def publisher(pubsub_service: PubsubService) -> Iterator[Any]:
    client = pubsub_service.publisher(ordering=True)
    yield client
    client.transport.close()


@pytest.fixture
def topic(pubsub_service: PubsubService, publisher: Any) -> str:
    """A new topic's id, in the test project."""
    name = unique("gw-topic-")
    publisher.create_topic(name=publisher.topic_path(pubsub_service.project, name))
    return name


def source(service: PubsubService, topic: str, **extra: Any) -> dict[str, Any]:
    return {
        "projectID": service.project,
        "topic": topic,
        "endpoint": service.emulator_host,
        "backoff": FAST_BACKOFF,
        **extra,
    }


def registry(
    path: Path,
    sources: Mapping[str, Mapping[str, Any] | str],
    watcher_url: str,
    gateway: str | None = None,
    delivery: Mapping[str, Any] = FAST_DELIVERY,
) -> Path:
    """A registry of one gateway (by default a new name each time: the default subscription,
    ``gateways-<gateway>-<source>``, is then the test's own)."""
    name = gateway or unique("pubsub-")
    return write_registry(
        path, configmap(name, KIND, sources, watchers=[watcher_url], delivery=delivery)
    )


def publish(
    publisher: Any, project: str, topic: str, count: int, *, ordering_key: str = ""
) -> list[str]:
    """``count`` JSON messages {"n": i} with attribute ``number``; their message ids in order."""
    path = publisher.topic_path(project, topic)
    futures = [
        publisher.publish(
            path,
            f'{{"n": {n}}}'.encode(),
            ordering_key=ordering_key,
            number=str(n),
            **{"content-type": "application/json"},
        )
        for n in range(count)
    ]
    return [future.result(timeout=30) for future in futures]
