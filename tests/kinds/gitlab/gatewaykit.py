"""What the GitLab tests share: GitLab's deliveries posted over HTTP, and an embedded gateway
with a GitLab source registering its hook on the stand-in API, a receive-only one and a webhook
source on the same port."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from gateways.runtime import GatewayRuntime
from tests.kinds.gitlab.gitlab_api import GitLabAPI
from tests.kinds.gitlab.payloads import Example, headers
from tests.kit import configmap, free_port, start_gateway, write_registry
from tests.watcher import RecordingWatcher

HOOK_TOKEN = "hook-s3cret"
SUBSCRIBED = [
    "PushEvents",
    "tag_push_events",
    "Issue Hook",
    "NoteEvents",
    "MergeRequestsEvents",
    "PipelineEvents",
    "JobEvents",
    "ReleasesEvents",
]


async def post(
    url: str, body: bytes, sent: dict[str, str], method: str = "POST", **options: Any
) -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, url, data=body, headers=sent, **options) as reply,
    ):
        text = await reply.read()
        try:
            return reply.status, json.loads(text)
        except ValueError:
            return reply.status, text


def delivery(example: Example, token: str | None = HOOK_TOKEN) -> tuple[bytes, dict[str, str]]:
    """The example as GitLab posts it, with a fresh Idempotency-Key."""
    key = str(uuid.uuid4())
    return json.dumps(example.payload).encode(), headers(example, token, {"Idempotency-Key": key})


def listed(runtime: GatewayRuntime, name: str) -> bool:
    return any(status.name == name for status in runtime.reconciler.status())


@dataclass
class Gateway:
    runtime: GatewayRuntime
    base: str
    registry: Path
    documents: list[dict[str, Any]]

    def hook_url(self, endpoint: str = "/gitlab") -> str:
        return self.base + endpoint

    def rewrite(self, *documents: dict[str, Any]) -> None:
        write_registry(self.registry, *documents)


def gitlab_source(port: int, api: GitLabAPI, **overrides: Any) -> dict[str, Any]:
    source: dict[str, Any] = {
        "projectId": "1",
        "hook": {"endpoint": "/gitlab", "port": port, "url": f"http://127.0.0.1:{port}/gitlab"},
        "events": SUBSCRIBED,
        "accessToken": {"env": "GITLAB_API_TOKEN"},
        "secretToken": {"env": "GITLAB_HOOK_TOKEN"},
        "enableSSLVerification": False,
        "gitlabBaseUrl": api.url,
        "deleteHookOnFinish": True,
    }
    source.update(overrides)
    return source


def documents(port: int, api: GitLabAPI, watcher: RecordingWatcher, **source: Any) -> list[Any]:
    delivery_spec = {"retry": 1, "backoffDelay": "PT0.05S"}
    return [
        configmap(
            "gitlab-gateway",
            "gitlab",
            {
                "project": gitlab_source(port, api, **source),
                "pushes": {
                    "hook": {"endpoint": "/pushes", "port": port},
                    "event": "PushEvents",
                    "secretToken": {"env": "GITLAB_HOOK_TOKEN"},
                },
            },
            watchers=[watcher.url],
            delivery=delivery_spec,
        ),
        configmap(
            "plain",
            "webhook",
            {"other": {"port": port, "endpoint": "/other"}},
            watchers=[watcher.url],
            delivery=delivery_spec,
        ),
    ]


async def start(
    tmp_path: Path, api: GitLabAPI, watcher: RecordingWatcher, **source: Any
) -> Gateway:
    port = free_port()
    docs = documents(port, api, watcher, **source)
    registry = write_registry(tmp_path / "registry.yaml", *docs)
    runtime = await start_gateway(registry, tmp_path)
    return Gateway(runtime, f"http://127.0.0.1:{port}", registry, docs)
