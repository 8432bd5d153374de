"""A topic on moto's SNS server (`scripts/services up sns`) and a gateway whose aws-sns
source subscribes to it: what the ``setup`` fixture (conftest.py) gives the moto tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gateways.runtime import GatewayRuntime
from tests.kit import (
    configmap,
    free_port,
    start_gateway,
    status_of,
    wait_until,
    write_registry,
)
from tests.servicekit import SnsService
from tests.watcher import RecordingWatcher


@dataclass
class Setup:
    """One topic on moto and a gateway (started by ``start``) whose source subscribes to it."""

    sns: Any  # boto3 client
    topic: str
    tmp_path: Path
    watcher: RecordingWatcher
    port: int = field(default_factory=free_port)
    runtime: GatewayRuntime | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    service: SnsService | None = None

    @property
    def hook_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/sns"

    def source(self) -> dict[str, Any]:
        assert self.service is not None
        return {
            "topicArn": self.topic,
            "hook": {"endpoint": "/sns", "port": self.port, "url": self.hook_url},
            "accessKey": {"env": "SNS_TEST_ACCESS_KEY"},
            "secretKey": {"env": "SNS_TEST_SECRET_KEY"},
            "region": self.service.region,
            "endpoint": self.service.endpoint,
            "verifySignatures": False,
            **self.extra,
        }

    def write(self, with_source: bool = True) -> Path:
        sources: dict[str, Any] = {"other": {"port": self.port, "endpoint": "/other"}}
        documents = [configmap("hooks", "webhook", sources, [self.watcher.url])]
        if with_source:
            documents.append(
                configmap("cloud", "aws-sns", {"orders": self.source()}, [self.watcher.url])
            )
        return write_registry(self.tmp_path / "registry.yaml", *documents)

    async def start(self, state: str = "running") -> GatewayRuntime:
        self.runtime = await start_gateway(self.write(), self.tmp_path)
        await self.wait_for(state)
        return self.runtime

    async def stop(self) -> None:
        if self.runtime is not None:
            await self.runtime.stop()
            self.runtime = None

    async def wait_for(self, state: str, timeout: float = 20) -> None:
        runtime = self.runtime
        assert runtime is not None
        await wait_until(lambda: status_of(runtime, "orders").state == state, timeout)

    async def wait_removed(self) -> None:
        runtime = self.runtime
        assert runtime is not None

        def gone() -> bool:
            states = [s.state for s in runtime.reconciler.status() if s.name == "orders"]
            return states in ([], ["stopped"])

        await wait_until(gone, 20)

    def subscriptions(self) -> list[dict[str, str]]:
        found = self.sns.list_subscriptions_by_topic(TopicArn=self.topic)["Subscriptions"]
        return [s for s in found if s["Endpoint"] == self.hook_url]
