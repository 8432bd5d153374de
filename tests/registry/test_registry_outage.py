"""API server unreachable: what runs keeps running, and the watch resumes once it is back."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
import pytest

from functions.webhook.source import KIND as WEBHOOK
from gateways.config.common import Backoff
from gateways.dispatch import Dispatcher
from gateways.kinds import SourceContext
from gateways.registry.kube import KubeRegistry
from gateways.registry.kubeapi import KubeAPI, token_api_client
from gateways.registry.reconciler import Reconciler
from gateways.settings import Settings
from tests.kit import configmap, free_port, wait_until
from tests.kubekit import put_configmap
from tests.registry.proxy import CuttableProxy
from tests.servicekit import KubernetesService
from tests.watcher import RecordingWatcher

pytestmark = [pytest.mark.kubernetes, pytest.mark.timeout(90)]
GATEWAY = "webhook-gateway"
FAST = Backoff(duration=timedelta(milliseconds=100), factor=2, jitter=0, cap=timedelta(seconds=1))


async def test_sources_keep_running_and_changes_arrive_after_an_outage(
    kubernetes_service: KubernetesService,
    namespace: str,
    watcher: RecordingWatcher,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="gateways.registry")
    kube, port = kubernetes_service, free_port()
    upstream = urlsplit(kube.server)
    proxy = await CuttableProxy(upstream.hostname or "127.0.0.1", upstream.port or 443).start()

    def document(*names: str) -> dict[str, object]:
        sources = {n: {"port": port, "endpoint": f"/{n}", "method": "POST"} for n in names}
        return configmap(GATEWAY, "webhook", sources, [watcher.url])

    await put_configmap(kube, namespace, document("alpha"))
    reconciler = Reconciler(
        SourceContext(Settings(state_dir=tmp_path)), Dispatcher(), {"webhook": WEBHOOK}
    )
    api = KubeAPI(token_api_client(proxy.url, kube.token, kube.ca), request_timeout=5)
    registry = KubeRegistry(namespace, [GATEWAY], reconciler.apply, api=api, backoff=FAST)
    await registry.start()
    try:
        assert {s.name: s.state for s in reconciler.status()} == {"alpha": "running"}

        await proxy.cut()
        await wait_until(lambda: bool(reconciler.registry_problems), timeout=10)
        assert f"configmap/{GATEWAY}" in reconciler.registry_problems[0]
        assert "keeping the sources that run" in reconciler.registry_problems[0]
        url = f"http://127.0.0.1:{port}/alpha"
        async with aiohttp.ClientSession() as session, session.post(url, json={}) as reply:
            assert reply.status == 200  # still served while the API server is away
        await watcher.wait_for(1)

        await put_configmap(kube, namespace, document("alpha", "beta"))  # made during the outage
        await proxy.start()
        await wait_until(lambda: any(s.name == "beta" for s in reconciler.status()), timeout=15)
        await wait_until(lambda: not reconciler.registry_problems, timeout=10)
        assert {s.name: s.state for s in reconciler.status()} == {
            "alpha": "running",
            "beta": "running",
        }
        assert "listing again" not in caplog.text  # resumed from the last resourceVersion
    finally:
        await registry.stop()
        await reconciler.close()
        await proxy.cut()
