"""One resource source against the real API server, emitting into the real delivery pipeline:
a change whose delivery fails ends the session and comes again, in order, after a backoff."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest

from adapters.resource.config import ResourceConfig
from adapters.resource.source import ResourceSource
from gateways.config import parse_source
from gateways.config.common import Backoff
from tests.kit import Pipeline, wait_until
from tests.kubekit import put_configmap
from tests.servicekit import KubernetesService
from tests.watcher import RecordingWatcher

pytestmark = [pytest.mark.kubernetes, pytest.mark.timeout(60)]
BACKOFF = Backoff(duration=timedelta(milliseconds=100), jitter=0, cap=timedelta(seconds=1))


def configmap_named(name: str) -> dict[str, object]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {}}


async def test_a_failed_delivery_comes_again_in_order_after_a_growing_backoff(
    kubernetes_service: KubernetesService,
    namespace: str,
    kubeconfig: None,
    watcher: RecordingWatcher,
    tmp_path: Path,
) -> None:
    kube = kubernetes_service
    config = parse_source(
        "resource", "configmaps", {"namespace": namespace, "version": "v1", "kind": "ConfigMap"}
    )
    assert isinstance(config, ResourceConfig)
    async with Pipeline(watcher) as pipeline:
        pipeline.context.settings = SimpleNamespace(state_dir=tmp_path)
        source = ResourceSource(
            pipeline.origin("resource"), config, pipeline.context, backoff=BACKOFF
        )
        await source.start(pipeline.emitter("resource"))
        try:
            await put_configmap(kube, namespace, configmap_named("a"))
            await wait_until(lambda: len(pipeline.accepted()) == 1, timeout=10)
            pipeline.refuse()
            await put_configmap(kube, namespace, configmap_named("b"))
            await put_configmap(kube, namespace, configmap_named("c"))
            await wait_until(lambda: len(pipeline.statuses) >= 3, timeout=10)
            pipeline.accept()
            await wait_until(lambda: len(pipeline.accepted()) == 3, timeout=10)
            await wait_until(lambda: pipeline.statuses[-1] == ("running", ""), timeout=10)
        finally:
            await source.stop()

    subjects = [event.attributes["subject"] for event in pipeline.accepted()]
    assert subjects == [f"{namespace}/{name}" for name in ("a", "b", "c")]
    *failures, running = pipeline.statuses
    assert running == ("running", "")
    assert {state for state, _ in failures} == {"degraded"}
    # Not connected again until the change that failed was delivered: the backoff grows.
    assert failures[0][1].endswith("reconnecting in 0.1s")
    assert failures[1][1].endswith("reconnecting in 0.2s")
    assert failures[2][1].endswith("reconnecting in 0.4s")
