"""The ConfigMap registry against the real API server: edits apply while the gateway runs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from functions.webhook.source import KIND as WEBHOOK
from gateways.runtime import GatewayRuntime
from gateways.settings import Settings
from tests.kit import configmap, free_port, wait_until
from tests.kubekit import delete, events_about, put_configmap, wait_until_async
from tests.servicekit import KubernetesService
from tests.watcher import RecordingWatcher

pytestmark = [pytest.mark.kubernetes, pytest.mark.timeout(90)]
GATEWAY = "webhook-gateway"


def webhook_gateway(port: int, watcher: RecordingWatcher, **sources: Any) -> dict[str, Any]:
    entries = {name: {"port": port, "method": "POST", **source} for name, source in sources.items()}
    return configmap(GATEWAY, "webhook", entries, watchers=[watcher.url])


@pytest.fixture
async def runtime(
    kubernetes_service: KubernetesService,
    namespace: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[GatewayRuntime]:
    monkeypatch.setenv("KUBECONFIG", kubernetes_service.kubeconfig)
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    settings = Settings(
        configmaps=(GATEWAY,),
        namespace=namespace,
        state_dir=tmp_path / "state",
        admin_port=free_port(),
    )
    gateway = GatewayRuntime(settings, kind_table={"webhook": WEBHOOK})
    await gateway.start()
    yield gateway
    await gateway.stop()


def states(runtime: GatewayRuntime) -> dict[str, str]:
    return {status.name: status.state for status in runtime.reconciler.status()}


async def post(port: int, path: str) -> int:
    url = f"http://127.0.0.1:{port}{path}"
    async with aiohttp.ClientSession() as session, session.post(url, json={}) as reply:
        return reply.status


async def test_configmap_edits_apply_while_running(
    kubernetes_service: KubernetesService,
    namespace: str,
    runtime: GatewayRuntime,
    watcher: RecordingWatcher,
) -> None:
    kube, port = kubernetes_service, free_port()
    assert states(runtime) == {}  # the ConfigMap does not exist yet

    await put_configmap(
        kube, namespace, webhook_gateway(port, watcher, alpha={"endpoint": "/alpha"})
    )
    await wait_until(lambda: states(runtime) == {"alpha": "running"}, timeout=10)
    assert await post(port, "/alpha") == 200
    (request,) = await watcher.wait_for(1)
    assert request.event is not None
    assert request.event.attributes["source"] == f"/gateways/{GATEWAY}/alpha"

    # A second endpoint is served without a restart.
    document = webhook_gateway(
        port, watcher, alpha={"endpoint": "/alpha"}, beta={"endpoint": "/beta"}
    )
    await put_configmap(kube, namespace, document)
    await wait_until(lambda: states(runtime).get("beta") == "running", timeout=10)
    assert await post(port, "/beta") == 200
    second = (await watcher.wait_for(2))[1].event
    assert second is not None and second.attributes["source"].endswith("/beta")

    # An entry removed is no longer served.
    await put_configmap(kube, namespace, webhook_gateway(port, watcher, beta={"endpoint": "/beta"}))
    await wait_until(lambda: "alpha" not in states(runtime), timeout=10)
    assert await post(port, "/alpha") == 404

    # An invalid entry is rejected naming the field; the others keep working.
    document = webhook_gateway(
        port, watcher, beta={"endpoint": "/beta"}, broken={"endpoint": "/broken", "method": "FETCH"}
    )
    await put_configmap(kube, namespace, document)
    await wait_until(lambda: states(runtime).get("broken") == "rejected", timeout=10)
    rejected = next(s for s in runtime.reconciler.status() if s.name == "broken")
    assert "method" in rejected.reason and "FETCH" in rejected.reason
    assert states(runtime)["beta"] == "running"
    assert await post(port, "/beta") == 200

    async def event_recorded() -> dict[str, Any] | None:
        found = await events_about(kube, namespace, GATEWAY)
        return next((e for e in found if e["reason"] == "SourceRejected"), None)

    await wait_until_async(event_recorded, timeout=10)
    event = await event_recorded()
    assert event is not None and event["type"] == "Warning"
    assert "webhook/broken: method:" in event["message"]
    assert event["involvedObject"]["name"] == GATEWAY
    reasons = {e["reason"] for e in await events_about(kube, namespace, GATEWAY)}
    assert {"SourceRunning", "SourceStopped", "SourceRejected"} <= reasons

    # The ConfigMap deleted: its sources stop; created again: they start again.
    await delete(kube, namespace, GATEWAY)
    await wait_until(lambda: states(runtime) == {}, timeout=10)
    with pytest.raises(aiohttp.ClientConnectionError):
        await post(port, "/beta")
    await put_configmap(kube, namespace, webhook_gateway(port, watcher, beta={"endpoint": "/beta"}))
    await wait_until(lambda: states(runtime) == {"beta": "running"}, timeout=10)
    assert await post(port, "/beta") == 200
