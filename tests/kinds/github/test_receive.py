"""GitHub deliveries over real HTTP: every refusal (4xx, nothing delivered, the other sources
still serving), ping, events not subscribed to, redeliveries, and the deployed function."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml

from functions.webhook.app import WebhookFunction
from gateways.hosting.server import Listener
from gateways.runtime import GatewayRuntime
from gateways.settings import Settings
from tests.kinds.github.support import (
    SECRET,
    SECRET_ENV,
    delivery,
    post,
    registry,
    signature,
    source,
)
from tests.kit import ROOT, free_port, start_gateway, status_of, wait_until, write_registry
from tests.watcher import RecordingWatcher

pytestmark = pytest.mark.timeout(60)
PUSH = {"ref": "refs/heads/main", "repository": {"full_name": "octo-org/hello-world"}}
OPENED = {"action": "opened", "repository": {"full_name": "octo-org/hello-world"}}


class Gateway:
    def __init__(self, runtime: GatewayRuntime, port: int) -> None:
        self.runtime = runtime
        self.base = f"http://127.0.0.1:{port}"
        self.session = aiohttp.ClientSession()

    async def send(
        self, path: str, body: bytes, headers: dict[str, str]
    ) -> tuple[int, dict[str, Any]]:
        return await post(self.session, self.base + path, body, headers)

    async def push(self, path: str = "/push", **options: Any) -> tuple[int, dict[str, Any]]:
        return await self.send(path, *delivery("push", PUSH, **options))

    async def others_still_serve(self, watcher: RecordingWatcher) -> None:
        """A good delivery, and a request to the plain webhook beside it, both delivered."""
        before = len(watcher.requests)
        assert (await self.push())[0] == 200
        plain = {"Content-Type": "application/json"}
        assert (await self.send("/plain", b'{"n": 1}', plain))[0] == 200
        await watcher.wait_for(before + 2)


@pytest.fixture
async def gateway(
    tmp_path: Path, watcher: RecordingWatcher, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Gateway]:
    for name, value in SECRET_ENV.items():
        monkeypatch.setenv(name, value)
    port = free_port()
    path = registry(
        tmp_path,
        watcher.url,
        {
            "example": source(port, events=["push", "issues"]),
            "legacy": source(port, "/legacy", allowSha1Signature=True),
            "unconfigured": source(
                port, "/unconfigured", webHookSecret={"name": "nowhere", "key": "secret"}
            ),
        },
        delivery={"retry": 0},  # a watcher's 503 fails the delivery at once
        hooks=("webhook", {"plain": {"port": port, "endpoint": "/plain"}}),
    )
    runtime = await start_gateway(path, tmp_path)
    gateway = Gateway(runtime, port)
    yield gateway
    await gateway.session.close()
    await runtime.stop()


async def test_signature_refusals_deliver_nothing(
    gateway: Gateway, watcher: RecordingWatcher
) -> None:
    body, headers = delivery("push", PUSH)
    missing = {k: v for k, v in headers.items() if not k.startswith("X-Hub-Signature")}
    status, answer = await gateway.send("/push", body, missing)
    assert (status, answer["error"]) == (401, "X-Hub-Signature-256 required")
    assert (await gateway.push(key="not the secret"))[0] == 403
    tampered = body.replace(b"main", b"evil")
    status, answer = await gateway.send("/push", tampered, headers)
    assert (status, answer["error"]) == (403, "X-Hub-Signature-256 does not match the body")
    bare = {**headers, "X-Hub-Signature-256": signature(body).removeprefix("sha256=")}
    assert (await gateway.send("/push", body, bare))[0] == 403
    sha1_only = {k: v for k, v in headers.items() if k != "X-Hub-Signature-256"}
    status, answer = await gateway.send("/push", body, sha1_only)
    assert status == 401 and "sha1 signatures are not accepted" in answer["error"]
    assert watcher.requests == []
    await gateway.others_still_serve(watcher)


async def test_sha1_is_accepted_only_where_configured(
    gateway: Gateway, watcher: RecordingWatcher
) -> None:
    body, headers = delivery("push", PUSH)
    sha1_only = {k: v for k, v in headers.items() if k != "X-Hub-Signature-256"}
    assert (await gateway.send("/legacy", body, sha1_only))[0] == 200
    wrong = {**sha1_only, "X-Hub-Signature": signature(body, "other", "sha1")}
    assert (await gateway.send("/legacy", body, wrong))[0] == 403
    [request] = await watcher.wait_for(1)
    assert request.event is not None and request.event.type == "dev.gateways.github.push"


@pytest.mark.parametrize(
    ("change", "status", "error"),
    [
        ({"body": b"{not json"}, 400, "payload is not JSON"),
        ({"body": b'["a list"]'}, 400, "payload is not a JSON object"),
        ({"body": b""}, 400, "payload is not JSON"),
        ({"body": b"payload=%7Bnope", "form": True}, 400, "payload is not JSON"),
        ({"body": b"nothing=here", "form": True}, 400, "needs exactly one payload field"),
        ({"X-GitHub-Event": None}, 400, "X-GitHub-Event header required"),
        ({"X-GitHub-Event": "../push"}, 400, "is not an event name"),
        ({"X-GitHub-Delivery": "not a guid"}, 400, "X-GitHub-Delivery"),
        ({"Content-Type": "text/plain"}, 415, "GitHub sends application/json"),
    ],
)
async def test_malformed_deliveries_are_refused_and_nothing_delivered(
    gateway: Gateway, watcher: RecordingWatcher, change: dict[str, Any], status: int, error: str
) -> None:
    body, headers = delivery("push", PUSH)
    if "body" in change:
        body = change.pop("body")
        if change.pop("form", False):
            headers["Content-Type"] = "application/x-www-form-urlencoded"
    for name, value in change.items():
        headers.pop(name)
        if value is not None:
            headers[name] = value
    headers["X-Hub-Signature-256"] = signature(body)  # correctly signed, still refused
    answered, answer = await gateway.send("/push", body, headers)
    assert answered == status and error in answer["error"], answer
    assert watcher.requests == []
    await gateway.others_still_serve(watcher)


async def test_ping_is_answered_and_not_delivered(
    gateway: Gateway, watcher: RecordingWatcher
) -> None:
    ping = {"zen": "Design for failure.", "hook_id": 292430182, "hook": {"type": "Repository"}}
    status, answer = await gateway.send("/push", *delivery("ping", ping))
    assert (status, answer) == (200, {"status": "pong", "hookid": "292430182"})
    status, _ = await gateway.send("/push", *delivery("ping", ping, key="wrong"))
    assert status == 403  # a ping is signed like every delivery
    await gateway.others_still_serve(watcher)
    assert [r.event.attributes["githubevent"] for r in watcher.requests[:1] if r.event] == ["push"]


async def test_events_not_subscribed_to_are_ignored(
    gateway: Gateway, watcher: RecordingWatcher
) -> None:
    status, answer = await gateway.send("/push", *delivery("pull_request", OPENED))
    assert (status, answer) == (200, {"status": "ignored", "event": "pull_request"})
    assert watcher.requests == []
    assert (await gateway.send("/push", *delivery("issues", OPENED)))[0] == 200
    [request] = await watcher.wait_for(1)
    assert request.event is not None and request.event.type == "dev.gateways.github.issues.opened"


async def test_a_failed_delivery_is_503_and_the_redelivery_keeps_its_id(
    gateway: Gateway, watcher: RecordingWatcher
) -> None:
    watcher.answer(503)
    body, headers = delivery("push", PUSH)
    status, answer = await gateway.send("/push", body, headers)
    assert status == 503 and answer["error"] == "delivery to watchers failed"
    # GitHub's "Redeliver" sends the same delivery GUID: the same CloudEvent id.
    assert (await gateway.send("/push", body, headers))[0] == 200
    first, second = await watcher.wait_for(2)
    assert first.event is not None and second.event is not None
    assert first.event.id == second.event.id == headers["X-GitHub-Delivery"]
    assert first.event.data == second.event.data == body


async def test_a_source_without_its_secret_fails_and_says_which(gateway: Gateway) -> None:
    status = status_of(gateway.runtime, "unconfigured")
    assert status.state == "failed"
    assert "secret nowhere/secret not found" in status.reason
    assert SECRET not in status.reason
    assert (await gateway.push("/unconfigured"))[0] == 404  # never routed
    assert status_of(gateway.runtime, "example").state == "running"


async def test_served_by_the_webhook_function_on_its_one_port(
    tmp_path: Path, watcher: RecordingWatcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in SECRET_ENV.items():
        monkeypatch.setenv(name, value)
    path = registry(tmp_path, watcher.url, {"example": source(free_port())})
    settings = Settings(registry_file=path, state_dir=tmp_path / "state", admin_port=free_port())
    function = WebhookFunction(settings)
    listener = Listener(function)
    await function.startup()
    await listener.start()
    try:
        async with aiohttp.ClientSession() as session:
            body, headers = delivery("issues", OPENED)
            status, answer = await post(session, listener.url + "/push", body, headers)
        assert status == 200, answer
        [request] = await watcher.wait_for(1)
        assert request.event is not None
        assert request.event.type == "dev.gateways.github.issues.opened"
        assert request.event.id == headers["X-GitHub-Delivery"]
        assert json.loads(request.body) == OPENED
        await wait_until(lambda: bool(function.runtime.reconciler.status()))
    finally:
        await listener.stop()
        await function.shutdown()


async def test_the_example_registry_file_runs(
    tmp_path: Path, watcher: RecordingWatcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    """examples/github.yaml as shipped, but for its port and its console watcher."""
    for name, value in SECRET_ENV.items():
        monkeypatch.setenv(name, value)
    port = free_port()
    text = (ROOT / "examples" / "github.yaml").read_text().replace("port: 12000", f"port: {port}")
    [document] = [d for d in yaml.safe_load_all(text) if d]
    annotations = document["metadata"]["annotations"]
    assert yaml.safe_load(annotations["gateways.dev/watchers"]) == ["console"]
    annotations["gateways.dev/watchers"] = yaml.safe_dump([watcher.url])
    runtime = await start_gateway(write_registry(tmp_path / "example.yaml", document), tmp_path)
    try:
        assert status_of(runtime, "repository").state == "running"
        async with aiohttp.ClientSession() as session:
            url = f"http://127.0.0.1:{port}/github"
            status, answer = await post(session, url, *delivery("issues", OPENED))
            assert status == 200, answer
            status, answer = await post(session, url, *delivery("ping", {"zen": "hi"}))
            assert answer["status"] == "pong"
            status, answer = await post(session, url, *delivery("star", OPENED))
            assert answer == {"status": "ignored", "event": "star"}
        [request] = await watcher.wait_for(1)
        assert request.event is not None
        assert request.event.type == "dev.gateways.github.issues.opened"
        assert request.event.source == "/gateways/github-gateway/repository"
    finally:
        await runtime.stop()
