"""The webhook function over real HTTP: request -> CloudEvent at a real watcher; every refusal."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import ssl
from pathlib import Path

import aiohttp
import pytest
from cloudevents.http import from_http as sdk_from_http

from tests.kit import configmap, free_port, self_signed, start_gateway, status_of, write_registry
from tests.watcher import RecordingWatcher, Reply


async def _post(
    url: str, body: bytes = b"{}", **kwargs: object
) -> tuple[int, bytes, dict[str, str]]:
    headers = kwargs.pop("headers", {"content-type": "application/json"})
    method = str(kwargs.pop("method", "POST"))
    async with (
        aiohttp.ClientSession() as session,
        session.request(
            method,
            url,
            data=body,
            headers=headers,
            **kwargs,  # type: ignore[arg-type]
        ) as reply,
    ):
        return reply.status, await reply.read(), dict(reply.headers)


@pytest.fixture
async def gateway(tmp_path: Path, watcher: RecordingWatcher, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("HOOK_TOKEN", "s3cret-token")
    monkeypatch.setenv("HOOK_HMAC", "hmac-key")
    port = free_port()
    registry = write_registry(
        tmp_path / "registry.yaml",
        configmap(
            "hooks",
            "webhook",
            {
                "example": {
                    "port": port,
                    "endpoint": "/example",
                    "method": "POST",
                    "maxPayloadSize": 1024,
                },
                "multi": {"port": port, "endpoint": "/multi", "methods": ["PUT", "PATCH"]},
                "bearer": {
                    "port": port,
                    "endpoint": "/bearer",
                    "auth": {"bearerToken": {"env": "HOOK_TOKEN"}},
                },
                "github": {
                    "port": port,
                    "endpoint": "/github",
                    "auth": {"hmac": {"secret": {"env": "HOOK_HMAC"}}},
                },
            },
            watchers=[watcher.url],
            delivery={"retry": 2, "backoffDelay": "PT0.05S"},
        ),
    )
    runtime = await start_gateway(registry, tmp_path)
    yield runtime, f"http://127.0.0.1:{port}"
    await runtime.stop()


async def test_post_reaches_the_watcher_as_a_cloudevent(gateway, watcher: RecordingWatcher) -> None:
    _, base = gateway
    status, body, _ = await _post(
        base + "/example?page=2&q=a%20b",
        b'{"hello": "world"}',
        headers={"content-type": "application/json", "x-request-id": "r-1"},
    )
    assert status == 200, body
    [request] = await watcher.wait_for(1)
    event = request.event
    assert event is not None
    assert event.type == "dev.gateways.webhook.request"
    assert event.source == "/gateways/hooks/example"
    assert event.attributes["subject"] == "/example"
    assert event.attributes["httpmethod"] == "POST"
    assert event.attributes["httpquery"] == "page=2&q=a%20b"
    assert json.loads(event.attributes["httpheaders"])["x-request-id"] == "r-1"
    assert event.content_type == "application/json"
    assert event.json() == {"hello": "world"}  # JSON as JSON, not base64
    # An independent decoder agrees.
    sdk_event = sdk_from_http(request.headers, request.body)
    assert sdk_event["id"] == event.id and sdk_event.data == {"hello": "world"}
    runtime, _ = gateway
    admin = f"http://127.0.0.1:{runtime.settings.admin_port}"
    async with aiohttp.ClientSession() as session, session.get(admin + "/metrics") as reply:
        metrics = await reply.text()
    delivered = f'gateways_watcher_deliveries_total{{outcome="delivered",watcher="{watcher.url}"}}'
    assert delivered in metrics
    assert 'gateways_webhook_requests_total{code="200",gateway="hooks",source="example"}' in metrics


async def test_refusals_404_405_413(gateway, watcher: RecordingWatcher) -> None:
    _, base = gateway
    assert (await _post(base + "/nowhere"))[0] == 404
    status, _, headers = await _post(base + "/example", method="GET")
    assert status == 405 and headers["Allow"] == "POST"
    assert (await _post(base + "/example", b"x" * 2048))[0] == 413
    assert (await _post(base + "/multi", method="PATCH"))[0] == 200
    assert (await _post(base + "/multi", method="POST"))[0] == 405
    assert len(watcher.requests) == 1


async def test_bearer_token(gateway, watcher: RecordingWatcher) -> None:
    _, base = gateway
    assert (await _post(base + "/bearer"))[0] == 401
    wrong = {"authorization": "Bearer nope", "content-type": "application/json"}
    assert (await _post(base + "/bearer", headers=wrong))[0] == 403
    right = {"authorization": "Bearer s3cret-token", "content-type": "application/json"}
    assert (await _post(base + "/bearer", headers=right))[0] == 200
    [request] = await watcher.wait_for(1)
    assert "s3cret-token" not in request.body.decode() + json.dumps(request.headers)


async def test_github_hmac_signature(gateway, watcher: RecordingWatcher) -> None:
    _, base = gateway
    body = b'{"action": "opened"}'
    signature = "sha256=" + hmac.new(b"hmac-key", body, hashlib.sha256).hexdigest()
    assert (await _post(base + "/github", body))[0] == 401
    bad = {"x-hub-signature-256": "sha256=" + "0" * 64, "content-type": "application/json"}
    assert (await _post(base + "/github", body, headers=bad))[0] == 403
    good = {
        "x-hub-signature-256": signature,
        "content-type": "application/json",
        "x-github-event": "pull_request",
    }
    assert (await _post(base + "/github", body, headers=good))[0] == 200
    [request] = await watcher.wait_for(1)
    assert request.event is not None and request.event.json() == {"action": "opened"}


async def test_watcher_down_is_retried_then_503(gateway, watcher: RecordingWatcher) -> None:
    _, base = gateway
    watcher.answer(503, 503, 503)
    status, body, _ = await _post(base + "/example")
    assert status == 503, body
    assert len(watcher.requests) == 3  # the first try and two retries
    assert "503" in json.loads(body)["failures"][0]
    await watcher.down()
    assert (await _post(base + "/example"))[0] == 503


async def test_dead_letter_sink_turns_failure_into_2xx(tmp_path: Path, make_watcher) -> None:
    watcher, dead = await make_watcher(), await make_watcher()
    watcher.answer(500, Reply(500, b"boom"))
    port = free_port()
    registry = write_registry(
        tmp_path / "registry.yaml",
        configmap(
            "hooks",
            "webhook",
            {"example": {"port": port, "endpoint": "/x"}},
            watchers=[watcher.url],
            delivery={"retry": 1, "backoffDelay": "PT0.01S", "deadLetterSink": dead.url},
        ),
    )
    runtime = await start_gateway(registry, tmp_path)
    try:
        assert (await _post(f"http://127.0.0.1:{port}/x", b'{"n": 1}'))[0] == 200
        [dead_request] = await dead.wait_for(1)
        event = dead_request.event
        assert event is not None
        assert event.attributes["knativeerrordest"] == watcher.url
        assert event.attributes["knativeerrorcode"] == "500"
        assert base64.b64decode(event.attributes["knativeerrordata"]) == b"boom"
        assert event.json() == {"n": 1}
    finally:
        await runtime.stop()


async def test_incoming_cloudevent_passes_through_unchanged(
    gateway, watcher: RecordingWatcher
) -> None:
    _, base = gateway
    headers = {
        "ce-specversion": "1.0",
        "ce-id": "abc-1",
        "ce-type": "com.example.thing",
        "ce-source": "/elsewhere",
        "ce-myext": "v",
        "content-type": "text/plain",
    }
    assert (await _post(base + "/example", b"hi", headers=headers))[0] == 200
    [request] = await watcher.wait_for(1)
    assert request.event is not None
    assert request.event.attributes == {
        "specversion": "1.0",
        "id": "abc-1",
        "type": "com.example.thing",
        "source": "/elsewhere",
        "myext": "v",
        "datacontenttype": "text/plain",
    }
    assert request.body == b"hi"


async def test_tls_endpoint_and_missing_certificate_reported(
    tmp_path: Path, watcher: RecordingWatcher
) -> None:
    cert, key = self_signed(tmp_path)
    secure, plain = free_port(), free_port()
    registry = write_registry(
        tmp_path / "registry.yaml",
        configmap(
            "hooks",
            "webhook",
            {
                "secure": {
                    "port": secure,
                    "endpoint": "/s",
                    "serverCertPath": str(cert),
                    "serverKeyPath": str(key),
                },
                "broken": {
                    "port": free_port(),
                    "endpoint": "/b",
                    "serverCertPath": "/nonexistent/crt",
                    "serverKeyPath": "/nonexistent/key",
                },
                "plain": {"port": plain, "endpoint": "/p"},
            },
            watchers=[watcher.url],
        ),
    )
    runtime = await start_gateway(registry, tmp_path)
    try:
        context = ssl.create_default_context(cafile=str(cert))
        assert (await _post(f"https://127.0.0.1:{secure}/s", ssl=context))[0] == 200
        assert (await _post(f"http://127.0.0.1:{plain}/p"))[0] == 200
        broken = status_of(runtime, "broken")
        assert broken.state == "failed"
        assert "serverCertPath: /nonexistent/crt does not exist" in broken.reason
    finally:
        await runtime.stop()
