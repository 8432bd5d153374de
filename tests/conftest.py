"""Fixtures every test may use: a real recording HTTP watcher (see tests/watcher.py), and a
fresh namespace and an admin client on the real Kubernetes API server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from gateways.registry.kubeapi import KubeAPI, load_api_client
from tests.kit import unique
from tests.kubekit import call
from tests.servicekit import KubernetesService
from tests.watcher import RecordingWatcher, Reply

MakeWatcher = Callable[..., Awaitable[RecordingWatcher]]


@pytest.fixture
async def watcher() -> AsyncIterator[RecordingWatcher]:
    """A started watcher answering 200; script it with ``watcher.answer(503, 200)``."""
    recording = await RecordingWatcher().start()
    yield recording
    await recording.stop()


@pytest.fixture
async def make_watcher() -> AsyncIterator[MakeWatcher]:
    """``await make_watcher(default=200, delay=0.0, up=True)``: as many watchers as a test needs.

    ``up=False`` gives a watcher whose port refuses connections until ``await w.start()``.
    """
    made: list[RecordingWatcher] = []

    async def make(
        default: Reply | int = 200, *, delay: float = 0.0, up: bool = True
    ) -> RecordingWatcher:
        recording = RecordingWatcher(default, delay=delay)
        made.append(recording)
        return await recording.start() if up else recording

    yield make
    for recording in made:
        await recording.stop()


@pytest.fixture
async def namespace(kubernetes_service: KubernetesService) -> AsyncIterator[str]:
    name = unique("gw-")
    await call(kubernetes_service, "POST", "/api/v1/namespaces", {"metadata": {"name": name}})
    yield name
    # No controller-manager runs, so the namespace stays Terminating; its name is unique.
    await call(kubernetes_service, "DELETE", f"/api/v1/namespaces/{name}", expect=(200, 202, 404))


@pytest.fixture
def admin_api(kubernetes_service: KubernetesService) -> KubeAPI:
    return KubeAPI(load_api_client(kubernetes_service.kubeconfig))
